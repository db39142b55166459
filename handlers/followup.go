package handlers

import (
	"context"
	"time"

	"minyuan/bot"
)

// What a resident writes that no command, flow or live relay took is never
// dropped: it goes to their open case (the handler, or the desk, hears of it), or,
// with no case open, it is offered as a new request with the description filled
// in. Staff and the engine's own routes are not touched: this is the fallback.

var (
	msgFollowUpReceipt = bot.Msg("followup.receipt")
	msgFollowUpOffer   = bot.Msg("followup.offer")
)

// FollowUpFlow is the resident's fallback.
type FollowUpFlow struct {
	Tickets *bot.TicketService
	// Within is how long after it was closed a ticket still takes a resident's
	// free message (desk.followup_window).
	Within time.Duration
	// Requests starts the request form for a message with no case to go to.
	Requests *RequestFlow
}

// fallback serves what nothing else took.
func (f *FollowUpFlow) fallback(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if f.Tickets == nil || r.User.Can(bot.RoleStaff) {
		return fallback(ctx, r)
	}
	var text string
	var photos []string
	switch {
	case r.Update.Kind == bot.KindText || r.Update.Kind == bot.KindVoice:
		text = r.Update.Text
	case r.Update.Kind == bot.KindImage && r.Update.PicURL != "":
		photos = []string{r.Update.PicURL}
	default:
		return fallback(ctx, r)
	}
	if text == "" && len(photos) == 0 {
		return fallback(ctx, r)
	}
	t, ok, err := f.Tickets.OpenCase(ctx, resident(r), r.Now, f.Within)
	if err != nil {
		return bot.Reply{}, err
	}
	if ok {
		t, err = f.Tickets.FollowUp(ctx, resident(r), r.Now, t.No, text, photos)
		if err != nil {
			return bot.Reply{}, err
		}
		return r.Say(msgFollowUpReceipt, f.Tickets.View(t)), nil
	}
	if text == "" || f.Requests == nil {
		return fallback(ctx, r)
	}
	// No case: the request form, with what they wrote as its description.
	r.Args = text
	rep, err := f.Requests.requestForm().Serve(ctx, r)
	if err != nil {
		return bot.Reply{}, err
	}
	rep.Text = r.T(msgFollowUpOffer, nil) + "\n" + rep.Text
	return rep, nil
}
