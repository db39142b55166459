package handlers

import (
	"context"
	"strings"
	"unicode/utf8"

	"minyuan/bot"
)

// 来电: a hotline operator logs a call in chat with a quick form (caller number,
// category, summary, community, confidential?). The hotline service files it as a
// ticket with channel hotline, exactly as a call logged by call-centre software.

var wordsCallLog = bot.Words("words.call_log")

var (
	msgCallTitle        = bot.Msg("call.title")
	msgCallCaller       = bot.Msg("call.caller")
	msgCallCategory     = bot.Msg("call.category")
	msgCallSummary      = bot.Msg("call.summary")
	msgCallCommunity    = bot.Msg("call.community")
	msgCallConfidential = bot.Msg("call.confidential")
	msgCallConfYes      = bot.Msg("call.confidential_yes")
	msgCallConfNo       = bot.Msg("call.confidential_no")
	msgCallConfirm      = bot.Msg("call.confirm")
	msgCallDone         = bot.Msg("call.done")
	msgCallBadSummary   = bot.Msg("call.bad_summary")
)

// callForm: 来电 [number].
func (f *HotlineFlow) callForm() *bot.Form {
	return &bot.Form{
		ID:      "call",
		Heading: msgCallTitle,
		Fields: []bot.Field{
			{Key: "caller", Prompt: msgCallCaller, Validate: validPhone, FromArgs: true},
			{Key: "category", Prompt: msgCallCategory, Choices: f.categoryChoices},
			{Key: "summary", Prompt: msgCallSummary, Validate: validCallSummary},
			{Key: "community", Prompt: msgCallCommunity, Choices: f.operatorCommunities, Skip: f.onlyCommunity},
			{Key: "confidential", Prompt: msgCallConfidential, Choices: yesNo(msgCallConfYes, msgCallConfNo)},
		},
		Confirm: msgCallConfirm,
		View: func(r *bot.Request, a bot.Answers) any {
			cat, _ := f.Tickets.Category(a["category"])
			com, _ := f.Communities.byCode(a["community"])
			return map[string]any{"Caller": a["caller"], "Category": cat.Name, "Summary": a["summary"],
				"Community": com.Name, "Confidential": a["confidential"] == "yes"}
		},
		Submit: f.logCall,
	}
}

func validCallSummary(_ *bot.Request, in string) (string, error) {
	in = strings.TrimSpace(in)
	if n := utf8.RuneCountInString(in); n == 0 || n > bot.MaxTicketText {
		return "", bot.UserError(bot.EInvalid, msgCallBadSummary, map[string]int{"Max": bot.MaxTicketText})
	}
	return in, nil
}

func (f *HotlineFlow) categoryChoices(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	out := make([]bot.Choice, len(f.Categories))
	for i, c := range f.Categories {
		out[i] = bot.Choice{Value: c.Code, Label: c.Name}
	}
	return out, nil
}

// operatorCommunities are the communities whose calls the operator takes.
func (f *HotlineFlow) operatorCommunities(_ context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
	codes, all := r.User.Communities(bot.RoleHotline)
	var out []bot.Choice
	for _, c := range f.Communities {
		if all || contains(codes, c.Code) {
			out = append(out, bot.Choice{Value: c.Code, Label: c.Name})
		}
	}
	return out, nil
}

func (f *HotlineFlow) onlyCommunity(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	cs, err := f.operatorCommunities(ctx, r, a)
	if err != nil || len(cs) != 1 {
		return false, err
	}
	a["community"] = cs[0].Value
	return true, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// yesNo is a question answered 是 or 否 (labels from the catalogue).
func yesNo(yes, no bot.MsgKey) func(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	return func(_ context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
		return []bot.Choice{{Value: "no", Label: r.T(no, nil)}, {Value: "yes", Label: r.T(yes, nil)}}, nil
	}
}

// operatorName is the name the operator was bound with in community.
func operatorName(u *bot.User, community string) string {
	name := ""
	for _, g := range u.Grants {
		if g.Name != "" && (name == "" || g.Community == community) {
			name = g.Name
		}
	}
	return name
}

// logCall files the call. The form's run is the call's id, so a confirm handled
// twice logs one call.
func (f *HotlineFlow) logCall(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
	actor := bot.ChatActor(r.User, bot.ActorHotline)
	_, t, _, err := f.Hotline.LogCall(ctx, actor, r.Now, bot.CallLog{
		CallID: "chat:" + r.OnceKey(), Caller: a["caller"], StartedAt: r.Now,
		Operator: operatorName(r.User, a["community"]), Category: a["category"], Summary: a["summary"],
		Community: a["community"], Confidential: a["confidential"] == "yes", Via: bot.CallViaChat,
	})
	if err != nil {
		return bot.Reply{}, err
	}
	v := f.Tickets.View(t)
	v["Linked"], v["Confidential"] = t.OpenID != "", t.Confidential
	return r.Say(msgCallDone, v), nil
}
