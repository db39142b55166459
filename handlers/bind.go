package handlers

import (
	"context"
	"errors"
	"time"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsBind = bot.Words("words.bind")
)

var (
	msgBindUsage   = bot.Msg("bind.usage")
	msgBindOK      = bot.Msg("bind.ok")
	msgBindUnknown = bot.Msg("bind.unknown")
	msgBindUsed    = bot.Msg("bind.used")
	msgBindExpired = bot.Msg("bind.expired")
	msgBindLimited = bot.Msg("bind.limited")
)

var roleNames = map[bot.Role]bot.MsgKey{
	bot.RoleStaff:      bot.Msg("role.staff"),
	bot.RoleSecretary:  bot.Msg("role.secretary"),
	bot.RoleParty:      bot.Msg("role.party"),
	bot.RoleHotline:    bot.Msg("role.hotline"),
	bot.RoleAdmin:      bot.Msg("role.admin"),
	bot.RoleInstructor: bot.Msg("role.instructor"),
}

// BindFlow binds a person to a role with an invite code.
type BindFlow struct {
	Roles       bot.Roles
	Communities Communities
	// Retag, when set, asks for the person's menu to follow their new role (the
	// personalised menus of role_menus).
	Retag func(ctx context.Context, openid string, at time.Time) error
}

func (f *BindFlow) register(m *bot.Mux) {
	m.Command(wordsBind, bot.RoleResident, bot.HandlerFunc(f.bind))
}

// retagAfter is when a new role's menu is set: after the message's whole budget.
const retagAfter = 5 * time.Second

// bind: 绑定 <code>. The code comes from `minyuan invite`; it works once.
func (f *BindFlow) bind(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Args == "" {
		return r.Say(msgBindUsage, nil), nil
	}
	// The menu follows the role: asked for first, for just after this message has
	// been handled (a retag that finds no new role changes nothing), so that the
	// role is never granted without it.
	if f.Retag != nil {
		if err := f.Retag(ctx, r.Update.From, r.Now.Add(retagAfter)); err != nil {
			return bot.Reply{}, err
		}
	}
	g, err := f.Roles.Redeem(ctx, r.Args, r.Update.From, r.Now)
	if err != nil {
		var e *bot.Error
		if !errors.As(err, &e) {
			return bot.Reply{}, err
		}
		switch e.Code {
		case bot.ENotFound, bot.EInvalid:
			return r.Say(msgBindUnknown, nil), nil
		case bot.EConflict:
			return r.Say(msgBindUsed, nil), nil
		case bot.EExpired:
			return r.Say(msgBindExpired, nil), nil
		case bot.ERateLimited:
			return r.Say(msgBindLimited, nil), nil
		}
		return bot.Reply{}, err
	}
	c, _ := f.Communities.byCode(g.Community)
	return r.Say(msgBindOK, map[string]string{
		"Name":      g.Name,
		"Role":      r.T(roleNames[g.Role], nil),
		"Community": c.Name,
	}), nil
}
