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

// DutyFlow keeps the on-duty roster.
type DutyFlow struct {
	Duty        Duty
	Communities Communities
}

func (f *DutyFlow) register(m *bot.Mux) {
	m.Command(wordsDutyOn, bot.RoleStaff, bot.HandlerFunc(f.on))
	m.Command(wordsDutyOff, bot.RoleStaff, bot.HandlerFunc(f.off))
}

func (f *DutyFlow) on(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	return f.set(ctx, r, true)
}
func (f *DutyFlow) off(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	return f.set(ctx, r, false)
}

// set: 值班 / 下班, in every community the staff member serves.
func (f *DutyFlow) set(ctx context.Context, r *bot.Request, on bool) (bot.Reply, error) {
	codes, all := r.User.Communities(bot.RoleStaff)
	if all {
		codes = codes[:0]
		for _, c := range f.Communities {
			codes = append(codes, c.Code)
		}
	}
	if err := f.Duty.SetOnDuty(ctx, r.Update.From, codes, on); err != nil {
		return bot.Reply{}, err
	}
	names := make([]string, 0, len(codes))
	for _, code := range codes {
		if c, ok := f.Communities.byCode(code); ok {
			names = append(names, c.Name)
		}
	}
	key := msgDutyOff
	if on {
		key = msgDutyOn
	}
	return r.Say(key, map[string]string{"Communities": strings.Join(names, "、")}), nil
}
