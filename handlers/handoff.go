package handlers

import (
	"context"
	"time"

	"minyuan/bot"
)

// 转人工 (talk to a person) in chat: the resident asks (the word or the menu), the
// staff member asked accepts with 接入 and a live relay opens on a new ticket; if
// nobody accepts, or the desk is closed, the resident is offered to leave a request
// (留言) with what they already typed. The rules are bot.HandoffService's; this file
// words them, and is the service's notifier.

var (
	wordsHandoff       = bot.Words("words.handoff")
	wordsHandoffAccept = bot.Words("words.handoff_accept")
	wordsHandoffLeave  = bot.Words("words.handoff_leave")
)

var (
	msgHandoffWaiting  = bot.Msg("handoff.waiting")
	msgHandoffAlready  = bot.Msg("handoff.already")
	msgHandoffNobody   = bot.Msg("handoff.nobody")
	msgHandoffClosed   = bot.Msg("handoff.closed")
	msgHandoffInRelay  = bot.Msg("handoff.in_relay")
	msgHandoffNoted    = bot.Msg("handoff.noted")
	msgHandoffNone     = bot.Msg("handoff.accept_none")
	msgHandoffTaken    = bot.Msg("handoff.accept_taken")
	msgHandoffSubject  = bot.Msg("handoff.subject")
	msgHandoffResident = bot.Msg("handoff.resident_said")
	msgPushHandoffAsk  = bot.Msg("push.handoff.offer")
	msgPushHandoffNone = bot.Msg("push.handoff.nobody")
)

// HandoffFlow is 转人工's chat side.
type HandoffFlow struct {
	Handoff     *bot.HandoffService
	Profiles    bot.Profiles
	Pusher      bot.Pusher
	Catalog     *bot.Catalog
	Communities Communities
	// Community takes a resident whose profile names none.
	Community string
	// Number is the hotline's number, told outside service hours ("" : not told).
	Number string
	// Relay opens the conversation; Requests is the form a request is left with
	// (NewMux sets both).
	Relay    *RelayFlow
	Requests *RequestFlow
}

func (f *HandoffFlow) register(m *bot.Mux) {
	if f.Handoff == nil {
		return // not wired (route tests)
	}
	m.Command(wordsHandoff, bot.RoleResident, bot.HandlerFunc(f.request))
	m.Menu("HANDOFF", bot.RoleResident, bot.HandlerFunc(f.request))
	m.Command(wordsHandoffAccept, bot.RoleStaff, bot.HandlerFunc(f.accept))
	m.Command(wordsHandoffLeave, bot.RoleResident, bot.HandlerFunc(f.leave))
}

// community is where the resident's request goes: their profile's, else the desk's.
func (f *HandoffFlow) community(ctx context.Context, openid string) (bot.Community, error) {
	p, err := f.Profiles.Profile(ctx, openid)
	if err != nil {
		return bot.Community{}, err
	}
	if c, ok := f.Communities.byCode(p.Community); ok {
		return c, nil
	}
	if c, ok := f.Communities.byCode(f.Community); ok {
		return c, nil
	}
	if len(f.Communities) > 0 {
		return f.Communities[0], nil
	}
	return bot.Community{}, bot.Errorf(bot.EInvalid, "handoff: no community served")
}

// request: 转人工 [what about].
func (f *HandoffFlow) request(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if rl := r.Relay; rl != nil {
		return r.Say(msgHandoffInRelay, map[string]string{"No": rl.Ticket}), nil
	}
	com, err := f.community(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	out, err := f.Handoff.Request(ctx, resident(r), r.Now, com.Code, r.Args)
	if err != nil {
		return bot.Reply{}, err
	}
	switch {
	case out.Already:
		return r.Say(msgHandoffAlready, map[string]any{"Minutes": out.Minutes}), nil
	case out.State == bot.HandoffWaiting:
		return r.Say(msgHandoffWaiting, map[string]any{"Community": com.Name, "Staff": out.Asked.Name, "Minutes": out.Minutes}), nil
	case out.Closed:
		return r.Say(msgHandoffClosed, f.closedView(out.NextOpen, r.Args)), nil
	}
	return r.Say(msgHandoffNobody, map[string]any{"Text": excerpt(r.Args, 40)}), nil
}

func (f *HandoffFlow) closedView(next time.Time, text string) map[string]any {
	opens := ""
	if !next.IsZero() {
		opens = bot.When(f.Catalog, next)
	}
	return map[string]any{"Opens": opens, "Number": f.Number, "Text": excerpt(text, 40)}
}

// accept: 接入, by the staff member asked (or one asked before, still waiting).
func (f *HandoffFlow) accept(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	a := staff(r)
	h, t, err := f.Handoff.Accept(ctx, a, r.Now, r.T(msgHandoffSubject, nil))
	switch bot.ErrorCode(err) {
	case "":
	case bot.ENotFound:
		return r.Say(msgHandoffNone, nil), nil
	case bot.EConflict:
		return r.Say(msgHandoffTaken, nil), nil
	default:
		return bot.Reply{}, err
	}
	rep, err := f.Relay.open(ctx, r, a, t)
	if err != nil || h.Text == "" {
		return rep, err
	}
	rep.Text += "\n" + r.T(msgHandoffResident, map[string]string{"Text": h.Text})
	return rep, nil
}

// leave: 留言 [text] starts a request, filled in with what the resident typed with
// 转人工 (and while waiting) when nobody could take it.
func (f *HandoffFlow) leave(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	h, ok, err := f.Handoff.Pending(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	if ok && h.State != bot.HandoffAccepted {
		if err := f.Handoff.Cancel(ctx, r.Update.From); err != nil {
			return bot.Reply{}, err
		}
		if r.Args == "" {
			r.Args = h.Text
		}
	}
	return f.Requests.requestForm().Serve(ctx, r)
}

// waiting keeps what a resident types while their 转人工 waits: whoever accepts
// reads it, and it fills a request they may leave instead.
func (f *HandoffFlow) waiting(ctx context.Context, r *bot.Request) (bot.Reply, bool, error) {
	u := r.Update
	if f.Handoff == nil || (u.Kind != bot.KindText && u.Kind != bot.KindVoice) {
		return bot.Reply{}, false, nil
	}
	ok, err := f.Handoff.Note(ctx, u.From, u.Text)
	if err != nil || !ok {
		return bot.Reply{}, false, err
	}
	return r.Say(msgHandoffNoted, nil), true, nil
}

// HandoffOffer asks a staff member to accept.
func (f *HandoffFlow) HandoffOffer(ctx context.Context, h *bot.Handoff, g bot.Grant, within time.Duration) error {
	com, _ := f.Communities.byCode(h.Community)
	name := ""
	if p, err := f.Profiles.Profile(ctx, h.OpenID); err == nil {
		name = p.Name
	}
	text := f.Catalog.T(msgPushHandoffAsk, map[string]any{
		"Community": com.Name, "Name": name, "Text": excerpt(h.Text, 60), "Minutes": int(within.Minutes()),
	})
	return f.Pusher.Push(ctx, bot.Push{
		ID: bot.HandoffNextID(h.OpenID, h.Started, h.Index) + ":offer:" + bot.Recipient(g.OpenID), To: g.OpenID,
		Kind: bot.PushTicketAlert, Text: text, Fields: map[string]string{"no": "", "category": "", "text": text},
		Community: h.Community,
	})
}

// HandoffUnanswered tells the resident nobody accepted, and offers 留言.
func (f *HandoffFlow) HandoffUnanswered(ctx context.Context, h *bot.Handoff) error {
	text := f.Catalog.T(msgPushHandoffNone, map[string]any{"Text": excerpt(h.Text, 40)})
	return f.Pusher.Push(ctx, bot.Push{
		ID: bot.HandoffNextID(h.OpenID, h.Started, h.Index) + ":nobody", To: h.OpenID,
		Kind: bot.PushTicketUpdate, Text: text, Fields: map[string]string{"no": "", "text": text},
		Community: h.Community, Important: true,
	})
}
