package handlers

import (
	"context"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsProfile = bot.Words("words.profile")
)

var (
	msgProfileTitle     = bot.Msg("profile.title")
	msgProfileName      = bot.Msg("profile.name")
	msgProfilePhone     = bot.Msg("profile.phone")
	msgProfileCommunity = bot.Msg("profile.community")
	msgProfileSummary   = bot.Msg("profile.summary")
	msgProfileSaved     = bot.Msg("profile.saved")
)

// profileForm: 我的资料. A resident tells us how to address them, their phone (so
// hotline calls and replies reach them) and their community; later forms skip what is
// known.
func profileForm(d *Deps) *bot.Form {
	return &bot.Form{
		ID:      "profile",
		Heading: msgProfileTitle,
		Fields: []bot.Field{
			{Key: "name", Prompt: msgProfileName, Validate: validName, Optional: true},
			{Key: "phone", Prompt: msgProfilePhone, Validate: validPhone},
			{Key: "community", Prompt: msgProfileCommunity, Choices: d.communityChoices},
		},
		Confirm: msgProfileSummary,
		View: func(_ *bot.Request, a bot.Answers) any {
			return d.profileView(bot.Profile{Name: a["name"], Phone: a["phone"], Community: a["community"]})
		},
		Submit: func(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			p, err := d.Profiles.Profile(ctx, r.Update.From)
			if err != nil {
				return bot.Reply{}, err
			}
			p.Name, p.Phone, p.Community, p.Updated = a["name"], a["phone"], a["community"], r.Now
			if err := d.Profiles.SaveProfile(ctx, p); err != nil {
				return bot.Reply{}, err
			}
			return r.Say(msgProfileSaved, d.profileView(p)), nil
		},
	}
}

func registerProfile(m *bot.Mux, d *Deps) {
	f := profileForm(d)
	m.Command(wordsProfile, bot.RoleResident, f)
	m.Menu("PROFILE", bot.RoleResident, f)
}

// communityChoices lists the communities served.
func (d *Deps) communityChoices(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	out := make([]bot.Choice, len(d.Communities))
	for i, c := range d.Communities {
		out[i] = bot.Choice{Value: c.Code, Label: c.Name}
	}
	return out, nil
}

// profileView is a profile as templates show it: phone masked, community by name.
func (d *Deps) profileView(p bot.Profile) map[string]string {
	c, _ := d.community(p.Community)
	return map[string]string{"Name": p.Name, "Phone": maskPhone(p.Phone), "Community": c.Name}
}
