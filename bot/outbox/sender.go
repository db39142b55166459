package outbox

import (
	"context"

	"minyuan/bot"
)

// Catalogue keys of the delivery notices.
var (
	msgKeepInTouch  = bot.Msg("push.keep_in_touch")
	msgUndelivered  = bot.Msg("push.undelivered")
	undeliveredWhys = map[string]bot.MsgKey{
		"unsubscribed":     bot.Msg("push.undelivered.unsubscribed"),
		"invalid_openid":   bot.Msg("push.undelivered.invalid_openid"),
		"no_template":      bot.Msg("push.undelivered.no_template"),
		"template_refused": bot.Msg("push.undelivered.template_refused"),
	}
	msgUndeliveredOther = bot.Msg("push.undelivered.other")
)

// KeepInTouch is the line that ends the last customer-service message the allowance
// leaves a resident with a case in progress.
func KeepInTouch(cat *bot.Catalog) string { return cat.T(msgKeepInTouch, nil) }

// TellSender makes the Undelivered hook that tells a push's sender, at once, that it
// could not reach its recipient and why (and whether a call-back task was made),
// with a push of kind.
func TellSender(cat *bot.Catalog, pusher bot.Pusher, kind string) func(context.Context, bot.Push, bot.Outcome) error {
	return func(ctx context.Context, p bot.Push, out bot.Outcome) error {
		if p.Sender == "" || p.Sender == p.To {
			return nil
		}
		why, ok := undeliveredWhys[out.Reason]
		if !ok {
			why = msgUndeliveredOther
		}
		text := cat.T(msgUndelivered, map[string]any{"Ref": p.Ref, "Reason": cat.T(why, nil), "Callback": out.Callback})
		return pusher.Push(ctx, bot.Push{
			// One notice per push, however often this runs.
			ID: "undelivered:" + p.ID, To: p.Sender, Kind: kind, Text: text,
			Fields: map[string]string{"no": p.Ref, "text": text}, Ref: p.Ref, Community: p.Community, Urgent: true,
		})
	}
}
