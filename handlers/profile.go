package handlers

import (
	"context"
	"slices"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsProfile     = bot.Words("words.profile")
	wordsProfileEdit = bot.Words("words.profile_edit")
)

var (
	msgProfileTitle     = bot.Msg("profile.title")
	msgProfileName      = bot.Msg("profile.name")
	msgProfilePhone     = bot.Msg("profile.phone")
	msgProfileCommunity = bot.Msg("profile.community")
	msgProfileSummary   = bot.Msg("profile.summary")
	msgProfileSaved     = bot.Msg("profile.saved")
	msgProfileShow      = bot.Msg("profile.show")
)

// profileForm: 我的资料. A resident tells us how to address them, their phone (so
// hotline calls and replies reach them) and their community; later forms skip what is
// known.
func (f *ProfileFlow) form() *bot.Form {
	return &bot.Form{
		ID:      "profile",
		Heading: msgProfileTitle,
		Fields: []bot.Field{
			{Key: "name", Prompt: msgProfileName, Validate: validName, Optional: true},
			{Key: "phone", Prompt: msgProfilePhone, Validate: validPhone, Optional: true},
			{Key: "community", Prompt: msgProfileCommunity, Choices: f.Communities.choices},
		},
		Confirm: msgProfileSummary,
		View: func(_ *bot.Request, a bot.Answers) any {
			return f.view(bot.Profile{Name: a["name"], Phone: a["phone"], Community: a["community"]})
		},
		Submit: func(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			p, err := f.Profiles.Profile(ctx, r.Update.From)
			if err != nil {
				return bot.Reply{}, err
			}
			p.Name, p.Phone, p.Community, p.Updated = a["name"], a["phone"], a["community"], r.Now
			if err := f.Profiles.SaveProfile(ctx, p); err != nil {
				return bot.Reply{}, err
			}
			return r.Say(msgProfileSaved, f.view(p)), nil
		},
	}
}

// ProfileFlow keeps what residents tell about themselves.
type ProfileFlow struct {
	Profiles    bot.Profiles
	Communities Communities
}

func (f *ProfileFlow) register(m *bot.Mux) {
	form := f.form()
	show := profileShow{form, f}
	m.Command(wordsProfile, bot.RoleResident, show)
	m.Menu("PROFILE", bot.RoleResident, show)
	m.Command(wordsProfileEdit, bot.RoleResident, form)
}

// profileShow: 我的资料 shows what is saved, with 修改 to change it; with nothing
// saved yet (or 「我的资料 修改」) it starts the form at once.
type profileShow struct {
	form *bot.Form
	f    *ProfileFlow
}

func (h profileShow) Serve(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	p, err := h.f.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	edit := slices.Contains(r.Catalog.Words(wordsProfileEdit), bot.Spoken(r.Args))
	if edit || (p.Name == "" && p.Phone == "" && p.Community == "") {
		r.Args = ""
		return h.form.Serve(ctx, r)
	}
	return r.Say(msgProfileShow, h.f.view(p)), nil
}

// view is a profile as templates show it: phone masked, community by name.
func (f *ProfileFlow) view(p bot.Profile) map[string]string {
	c, _ := f.Communities.byCode(p.Community)
	return map[string]string{"Name": p.Name, "Phone": maskPhone(p.Phone), "Community": c.Name}
}

// rememberedCommunity is a form's Skip for its community question: skipped, and
// answered, when the profile names a community we serve (typed once, or set by
// following through a community's QR code).
func rememberedCommunity(profiles bot.Profiles, cs Communities) func(context.Context, *bot.Request, bot.Answers) (bool, error) {
	return func(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
		p, err := profiles.Profile(ctx, r.Update.From)
		if err != nil {
			return false, err
		}
		if _, ok := cs.byCode(p.Community); !ok {
			return false, nil
		}
		a["community"] = p.Community
		return true, nil
	}
}

// rememberedPhone is a form's Skip for its phone question: skipped, and answered,
// when the profile holds a phone.
func rememberedPhone(profiles bot.Profiles) func(context.Context, *bot.Request, bot.Answers) (bool, error) {
	return func(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
		p, err := profiles.Profile(ctx, r.Update.From)
		if err != nil || p.Phone == "" {
			return false, err
		}
		a["phone"] = p.Phone
		return true, nil
	}
}
