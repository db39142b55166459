package handlers

import (
	"context"
	"strings"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsDutyOn  = bot.Words("words.duty_on")
	wordsDutyOff = bot.Words("words.duty_off")
)

var (
	msgDutyOn  = bot.Msg("duty.on")
	msgDutyOff = bot.Msg("duty.off")
)

// Duty is the on-duty roster (值班): new requests and 转人工 go to staff on duty first.
type Duty interface {
	SetOnDuty(ctx context.Context, openid string, communities []string, on bool) error
}

func registerDuty(m *bot.Mux, d *Deps) {
	m.Command(wordsDutyOn, bot.RoleStaff, duty{d, true})
	m.Command(wordsDutyOff, bot.RoleStaff, duty{d, false})
}

// duty: 值班 / 下班, in every community the staff member serves.
type duty struct {
	d  *Deps
	on bool
}

func (h duty) Serve(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	codes, all := r.User.Communities(bot.RoleStaff)
	if all {
		codes = codes[:0]
		for _, c := range h.d.Communities {
			codes = append(codes, c.Code)
		}
	}
	if err := h.d.Duty.SetOnDuty(ctx, r.Update.From, codes, h.on); err != nil {
		return bot.Reply{}, err
	}
	names := make([]string, 0, len(codes))
	for _, code := range codes {
		if c, ok := h.d.community(code); ok {
			names = append(names, c.Name)
		}
	}
	key := msgDutyOff
	if h.on {
		key = msgDutyOn
	}
	return r.Say(key, map[string]string{"Communities": strings.Join(names, "、")}), nil
}
