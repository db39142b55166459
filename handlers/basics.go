package handlers

import (
	"context"
	"slices"
	"strings"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsHelp  = bot.Words("words.help")
	wordsPhone = bot.Words("words.community_phone")
)

var (
	msgWelcome          = bot.Msg("welcome")
	msgWelcomeCommunity = bot.Msg("welcome.community")
	msgFallback         = bot.Msg("fallback")
	msgForbidden        = bot.Msg("engine.forbidden")
	msgFallbackMedia    = bot.Msg("fallback.media")
	msgPhone            = bot.Msg("basics.phone")
	msgHelpResident     = bot.Msg("help.resident")
	msgHelpStaff        = bot.Msg("help.staff")
	msgHelpStaffMore    = bot.Msg("help.staff.more") // 帮助 全部: what staff use less often
	msgHelpMore         = bot.Msg("help.more")
	msgHelpParty        = bot.Msg("help.party")
	msgHelpHotline      = bot.Msg("help.hotline")
	msgHelpAdmin        = bot.Msg("help.admin")
	msgHelpSecretary    = bot.Msg("help.secretary")
	msgHelpInstructor   = bot.Msg("help.instructor")
)

// helpByRole is the order in which help sections are shown.
var helpByRole = []struct {
	role bot.Role
	msg  bot.MsgKey
}{
	{bot.RoleStaff, msgHelpStaff},
	{bot.RoleHotline, msgHelpHotline},
	{bot.RoleParty, msgHelpParty},
	{bot.RoleSecretary, msgHelpSecretary},
	{bot.RoleInstructor, msgHelpInstructor},
	{bot.RoleAdmin, msgHelpAdmin},
}

// BasicsFlow greets followers and helps.
type BasicsFlow struct {
	Profiles    bot.Profiles
	Communities Communities
	// Callbacks, when set, sends someone who follows again what could not reach
	// them meanwhile.
	Callbacks *bot.CallbackService
}

func (f *BasicsFlow) register(m *bot.Mux) {
	h := bot.HandlerFunc(help)
	m.Global(wordsHelp, bot.RoleResident, bot.ReadOnly(h))
	m.Menu("HELP", bot.RoleResident, h)
	// Safety first: answered inside a form too.
	m.Global(wordsPhone, bot.RoleResident, bot.ReadOnly(bot.HandlerFunc(f.phone)))
	m.Event(bot.EventSubscribe, bot.HandlerFunc(f.welcome))
	m.Event(bot.EventScan, bot.HandlerFunc(f.welcome))
	m.Event(bot.EventUnsubscribe, bot.HandlerFunc(func(context.Context, *bot.Request) (bot.Reply, error) {
		return bot.Reply{}, nil
	}))
}

// helpMore are the sections 「帮助 全部」 adds after a role's daily lines.
var helpMore = map[bot.Role]bot.MsgKey{bot.RoleStaff: msgHelpStaffMore}

// help lists what the sender may do, their own lines first: a resident, the
// resident's commands; someone with a role, that role's daily lines and how to see
// the rest (「帮助 全部」: every section, the resident's too).
func help(_ context.Context, r *bot.Request) (bot.Reply, error) {
	all := slices.Contains(r.Catalog.Words(wordsDeskQueueAll), strings.TrimSpace(r.Args))
	var parts []string
	for _, s := range helpByRole {
		if holds(r.User, s.role) {
			parts = append(parts, r.T(s.msg, nil))
			if more, ok := helpMore[s.role]; ok && all {
				parts = append(parts, r.T(more, nil))
			}
		}
	}
	switch {
	case len(parts) == 0:
		parts = []string{r.T(msgHelpResident, nil)}
	case all:
		parts = append(parts, r.T(msgHelpResident, nil))
	default:
		parts = append(parts, r.T(msgHelpMore, nil))
	}
	return bot.Text(strings.Join(parts, "\n\n")), nil
}

func holds(u *bot.User, role bot.Role) bool { return u.Can(role) }

// phone: 社区电话. The telephone and hours of the resident's community (every
// community's when we do not know theirs), after the emergency numbers.
func (f *BasicsFlow) phone(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	p, err := f.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	list := f.Communities
	if c, ok := f.Communities.byCode(p.Community); ok {
		list = Communities{c}
	}
	var items []bot.Community
	for _, c := range list {
		if c.Phone != "" {
			items = append(items, c)
		}
	}
	return r.Say(msgPhone, map[string]any{"Items": items}), nil
}

var msgForbiddenRole = bot.Msg("forbidden.role")

// refuse answers what the sender's roles do not allow. A resident is told how a
// role is given (绑定 an invite code); someone who holds a role already is told
// whose function this is and what theirs offers, never to bind again.
func refuse(_ context.Context, r *bot.Request) (bot.Reply, error) {
	var held, sections []string
	for _, s := range helpByRole {
		if holds(r.User, s.role) {
			held = append(held, r.T(roleNames[s.role], nil))
			sections = append(sections, r.T(s.msg, nil))
		}
	}
	if len(held) == 0 {
		return r.Say(msgForbidden, nil), nil
	}
	need := ""
	if k, ok := roleNames[r.Route.Role]; ok {
		need = r.T(k, nil)
	}
	return r.Say(msgForbiddenRole, map[string]any{
		"Need": need, "Held": strings.Join(held, "、"), "Help": strings.Join(sections, "\n\n"),
	}), nil
}

// welcome greets a new follower. A follow (or a scan) through a community's QR code,
// whose scene is the community code, also remembers that community for them.
func (f *BasicsFlow) welcome(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Update.Event == bot.EventSubscribe && f.Callbacks != nil {
		codes := make([]string, len(f.Communities))
		for i, c := range f.Communities {
			codes[i] = c.Code
		}
		if _, err := f.Callbacks.Followed(ctx, r.Now, r.Update.From, codes); err != nil {
			return bot.Reply{}, err
		}
	}
	c, ok := f.Communities.byCode(r.Update.EventKey)
	if !ok {
		if r.Update.Event == bot.EventScan {
			return bot.Reply{}, nil
		}
		return r.Say(msgWelcome, nil), nil
	}
	p, err := f.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	p.Community, p.Updated = c.Code, r.Now
	if err := f.Profiles.SaveProfile(ctx, p); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgWelcomeCommunity, map[string]string{"Community": c.Name}), nil
}
