package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"minyuan/bot"
)

// The live relay (对话): a staff member and a resident talk about a ticket, each
// one's plain messages going straight to the other until either says 结束 or the
// time-out. The desk opens one with 对话 <no>; 转人工 will open one too.

var (
	wordsDeskRelay = bot.Words("words.desk_relay")
	wordsRelayEnd  = bot.Words("words.relay_end")
)

var (
	msgUsageRelay       = bot.Msg("desk.usage.relay")
	msgRelayStarted     = bot.Msg("desk.relay.started")
	msgRelayBusy        = bot.Msg("desk.relay.busy")
	msgRelayOffline     = bot.Msg("desk.relay.offline")
	msgRelayEnded       = bot.Msg("desk.relay.ended")
	msgRelayNone        = bot.Msg("desk.relay.none")
	msgRelayUnsupported = bot.Msg("relay.unsupported")
	msgRelayImage       = bot.Msg("relay.image") // the timeline line of a photo
	msgRelayPhoto       = bot.Msg("relay.photo") // a photo, as the peer reads of it
	msgPushRelayStarted = bot.Msg("push.relay.started")
	msgPushRelayEnded   = bot.Msg("push.relay.ended")
	msgPushFromResident = bot.Msg("push.relay.from_resident")
	msgPushFromStaff    = bot.Msg("push.relay.from_staff")
)

// RelayFlow is the live relay.
type RelayFlow struct {
	Tickets   *bot.TicketService
	Relays    Relays
	Pusher    bot.Pusher
	Reminders bot.Reminders
	Clock     bot.Clock // when a time-out is handled
	Catalog   *bot.Catalog
	// Timeout ends a relay nobody speaks in. It is a reminder in the due set, moved
	// by every message: it follows the injected clock like every other deadline.
	Timeout time.Duration
}

// ReminderRelayTimeout is the due-set kind of a relay's time-out.
const ReminderRelayTimeout = "relay.timeout"

// relayKeep bounds how long Redis keeps a relay whose time-out was lost: garbage
// collection only, the time-out itself is the reminder's.
const relayKeep = 7 * 24 * time.Hour

var msgPushRelayTimeout = bot.Msg("push.relay.timeout")

// relayDue is the payload of a relay's time-out.
type relayDue struct {
	No       string `json:"no"`
	Resident string `json:"resident"`
	Staff    string `json:"staff"`
}

func (f *RelayFlow) register(m *bot.Mux) {
	m.Command(wordsDeskRelay, bot.RoleStaff, bot.HandlerFunc(f.deskRelay))
	// Either side of a relay ends it.
	m.Command(wordsRelayEnd, bot.RoleResident, bot.HandlerFunc(f.endRelay))
	// What is not a command the sender may run goes to the other side of a relay
	// (NewMux passes it through f.relayed).
}

// pushRelay tells peer about ticket t (as it stands after event): a resident as an
// update (important ones become a call-back task if WeChat cannot reach them),
// staff as an alert.
func (f *RelayFlow) pushRelay(ctx context.Context, t *bot.Ticket, event bot.EventKind, peer, text, body string) error {
	return f.pushRelayAs(ctx, t, event, peer, text, body, "", "", event != bot.EventRelayEnded && event != bot.EventRelayTimeout)
}

// pushRelayAs is pushRelay with a photo and a sender: image, when set, is its media
// id, and the photo itself is sent (text only makes the template, when the window
// is closed); sender, the staff member whose message it is, is told should it not
// reach the resident.
func (f *RelayFlow) pushRelayAs(ctx context.Context, t *bot.Ticket, event bot.EventKind, peer, text, body, image, sender string, important bool) error {
	p := bot.Push{ID: bot.TicketPushID(t.No, t.Version, event, peer), To: peer, Text: text, Image: image,
		Fields: map[string]string{"no": t.No, "text": body}, Ref: t.No, Community: t.Community}
	if peer == t.OpenID {
		p.Kind, p.Important, p.Sender = bot.PushTicketUpdate, important, sender
	} else {
		cat, _ := f.Tickets.Category(t.Category)
		p.Kind, p.Fields["category"] = bot.PushTicketAlert, cat.Name
	}
	return f.Pusher.Push(ctx, p)
}

// 对话 <no>: a live relay with the resident.
func (f *RelayFlow) deskRelay(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageRelay, nil), nil
	}
	a := staff(r)
	t, err := f.Tickets.Get(ctx, a, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !t.Open() {
		return bot.Reply{}, bot.TicketClosed(no)
	}
	if t.OpenID == "" {
		return r.Say(msgRelayOffline, f.Tickets.StaffViewFor(staff(r), t, nil)), nil
	}
	return f.open(ctx, r, a, t)
}

// open starts a live relay between the sender (staff actor a) and ticket t's
// resident: 对话 <no>, or an accepted 转人工.
func (f *RelayFlow) open(ctx context.Context, r *bot.Request, a bot.Actor, t *bot.Ticket) (bot.Reply, error) {
	no := t.No
	me := r.Update.From
	if rl, ok, err := f.Relays.Relay(ctx, t.OpenID); err != nil {
		return bot.Reply{}, err
	} else if ok && rl.Peer != me {
		return r.Say(msgRelayBusy, map[string]string{"No": no}), nil
	}
	// A relay the sender had with another resident ends here; that resident is told.
	if rl := r.Relay; rl != nil && rl.Peer != t.OpenID {
		if err := f.relayEnded(ctx, r, *rl); err != nil {
			return bot.Reply{}, err
		}
	}
	if err := f.Relays.StartRelay(ctx, me, t.OpenID, no, relayKeep); err != nil {
		return bot.Reply{}, err
	}
	if err := f.armTimeout(ctx, no, t.OpenID, me, r.Now); err != nil {
		return bot.Reply{}, err
	}
	t, err := f.Tickets.Record(ctx, a, r.Now, no, bot.EventRelayStarted, "")
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.Tickets.StaffViewFor(staff(r), t, map[string]any{"Staff": staffName(r.User, t.Community), "Minutes": int(f.Timeout.Minutes())})
	text := r.T(msgPushRelayStarted, view)
	if err := f.pushRelay(ctx, t, bot.EventRelayStarted, t.OpenID, text, text); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgRelayStarted, view), nil
}

// relaySide finds the ticket of relay rl and on which side of it the sender is: the
// ticket's resident, or staff who may still work on it. ok is false when the relay
// no longer holds for them (the ticket is gone, or no longer theirs).
func (f *RelayFlow) relaySide(ctx context.Context, r *bot.Request, rl bot.Relay) (a bot.Actor, t *bot.Ticket, ok bool, err error) {
	for _, a := range []bot.Actor{resident(r), staff(r)} {
		t, err := f.Tickets.Get(ctx, a, rl.Ticket)
		if err == nil {
			return a, t, true, nil
		}
		if bot.ErrorCode(err) != bot.ENotFound {
			return bot.Actor{}, nil, false, err
		}
	}
	return bot.Actor{}, nil, false, nil
}

// relayed forwards the sender's message to their peer when they are in a live
// relay; ok is false when they are not (or the relay no longer holds).
func (f *RelayFlow) relayed(ctx context.Context, r *bot.Request) (rep bot.Reply, ok bool, err error) {
	u := r.Update
	if r.Relay == nil {
		return bot.Reply{}, false, nil
	}
	rl := *r.Relay
	a, t, ok, err := f.relaySide(ctx, r, rl)
	if err != nil {
		return bot.Reply{}, false, err
	}
	if !ok {
		// The ticket is gone, or the staff member lost it (reassigned, role
		// revoked): the relay is over for them.
		_, _, err := f.Relays.EndRelay(ctx, u.From)
		return bot.Reply{}, false, err
	}
	// said is what the peer reads; the timeline keeps a photo's address too.
	text := strings.TrimSpace(u.Text)
	said, image := text, ""
	switch {
	case u.Kind == bot.KindImage && u.PicURL != "":
		text = r.T(msgRelayImage, map[string]string{"URL": u.PicURL})
		said, image = r.T(msgRelayPhoto, nil), u.MediaID
	case (u.Kind == bot.KindText || u.Kind == bot.KindVoice) && text != "":
	default:
		return r.Say(msgRelayUnsupported, nil), true, nil
	}
	if t, err = f.Tickets.Record(ctx, a, r.Now, t.No, bot.EventRelay, text); err != nil {
		return bot.Reply{}, true, err
	}
	var push string
	if a.Kind == bot.ActorResident {
		push = r.T(msgPushFromResident, f.Tickets.StaffView(t, map[string]any{"Text": said}))
	} else {
		push = r.T(msgPushFromStaff, map[string]string{"No": t.No, "Staff": staffName(r.User, t.Community), "Text": said})
	}
	// The photo itself goes (its media id); the words make the template.
	if err := f.pushRelayAs(ctx, t, bot.EventRelay, rl.Peer, push, said, image, u.From, true); err != nil {
		return bot.Reply{}, true, err
	}
	if err := f.Relays.TouchRelay(ctx, u.From, rl.Peer, relayKeep); err != nil {
		return bot.Reply{}, true, err
	}
	resident, staff := rl.Peer, u.From
	if a.Kind == bot.ActorResident {
		resident, staff = u.From, rl.Peer
	}
	// Nothing is said back: in a conversation an echo is noise.
	return bot.Reply{}, true, f.armTimeout(ctx, t.No, resident, staff, r.Now)
}

// The collision rule. In a live 对话 people talk, and some of what they say is also
// a command word: a resident's 满意 (很满意, 不满意...) and 帮助, staff's 下班 and
// 详情. There, such a word is conversation: it goes to the other side, and the
// sender is told (once per message) how to use the command instead. It is a
// command only when clearly meant as one: followed by a ticket number (满意 1001,
// 详情 1001), or outside a relay. 结束 alone is the one word that ends the relay;
// 结束 with more (「结束了吗？」) is conversation too (endRelay).
var (
	conversationWords = map[string]bool{
		string(wordsRateSatisfied): true, string(wordsRateBasic): true, string(wordsRateUnsatisfied): true,
		string(wordsHelp): true, string(wordsDutyOff): true, string(wordsDeskDetail): true,
	}
	msgRelayPassed = bot.Msg("relay.passed")
)

// conversationFirst is the middleware that applies the collision rule.
func (f *RelayFlow) conversationFirst(next bot.Handler) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		rt := r.Route
		if (rt.Kind != bot.RouteCommand && rt.Kind != bot.RouteGlobal) || !conversationWords[rt.Pattern] || f.Relays == nil {
			return next.Serve(ctx, r)
		}
		if _, _, numbered := splitTicketNo(r.Args); numbered {
			return next.Serve(ctx, r)
		}
		rep, ok, err := f.relayed(ctx, r)
		if err != nil || !ok {
			if err != nil {
				return bot.Reply{}, err
			}
			return next.Serve(ctx, r)
		}
		word := "" // the command word as typed: 「很满意，谢谢」 is 很满意
		for _, w := range r.Catalog.Words(bot.WordsKey(rt.Pattern)) {
			if strings.HasPrefix(strings.TrimSpace(r.Update.Text), w) && len(w) > len(word) {
				word = w
			}
		}
		rep.Text = r.T(msgRelayPassed, map[string]any{"Word": word, "ToResident": !r.User.Can(bot.RoleStaff),
			"Numbered": rt.Pattern != string(wordsHelp) && rt.Pattern != string(wordsDutyOff)})
		return rep, nil
	})
}

// 结束: either side ends the relay; the other is told.
func (f *RelayFlow) endRelay(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Args != "" {
		// "结束了吗？" is a sentence, not the command.
		if rep, ok, err := f.relayed(ctx, r); ok || err != nil {
			return rep, err
		}
		return fallback(ctx, r)
	}
	rl, ok, err := f.Relays.EndRelay(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	if !ok {
		return r.Say(msgRelayNone, nil), nil
	}
	if err := f.relayEnded(ctx, r, rl); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgRelayEnded, map[string]string{"No": rl.Ticket}), nil
}

// relayEnded records that the sender ended relay rl and tells the peer. A ticket
// the sender may no longer see gets no timeline line and the peer is not told by
// this ticket (the change that took it away told them).
func (f *RelayFlow) relayEnded(ctx context.Context, r *bot.Request, rl bot.Relay) error {
	if err := f.Reminders.Cancel(ctx, relayTimeoutID(rl.Ticket)); err != nil {
		return err
	}
	a, _, ok, err := f.relaySide(ctx, r, rl)
	if err != nil || !ok {
		return err
	}
	t, err := f.Tickets.Record(ctx, a, r.Now, rl.Ticket, bot.EventRelayEnded, "")
	if err != nil {
		return err
	}
	text := r.T(msgPushRelayEnded, map[string]any{"No": t.No, "ToResident": rl.Peer == t.OpenID})
	return f.pushRelay(ctx, t, bot.EventRelayEnded, rl.Peer, text, text)
}

// TicketChanged is the ticket service's hook (register it once, when wiring): it
// ends the relay the ticket's resident is in about it when the ticket leaves the
// desk (closed, moved to another community). The staff member in
// the relay is told, unless they made the change; the resident learns what
// happened from the push about the closing or the move.
func (f *RelayFlow) TicketChanged(ctx context.Context, c bot.TicketChange) error {
	t := c.After
	if c.Before == nil || t.OpenID == "" {
		return nil
	}
	closed := c.Before.Open() && !t.Open()
	moved := c.Before.Community != t.Community
	if !closed && !moved {
		return nil
	}
	rl, ok, err := f.Relays.Relay(ctx, t.OpenID)
	if err != nil || !ok || rl.Ticket != t.No {
		return err
	}
	if _, _, err := f.Relays.EndRelay(ctx, t.OpenID); err != nil {
		return err
	}
	if err := f.Reminders.Cancel(ctx, relayTimeoutID(t.No)); err != nil {
		return err
	}
	if rl.Peer == c.Actor.ID {
		return nil // they learn it from the answer to what they did
	}
	text := f.Catalog.T(msgPushRelayEnded, map[string]any{"No": t.No, "ToResident": false})
	return f.pushRelay(ctx, t, bot.EventRelayEnded, rl.Peer, text, text)
}

// relayTimeoutID is the reminder of ticket no's relay (a ticket has one resident,
// who is in one relay at most).
func relayTimeoutID(no string) string { return bot.TicketReminderID(no, "relay:timeout") }

// armTimeout (re)sets the relay's time-out: Timeout after now.
func (f *RelayFlow) armTimeout(ctx context.Context, no, resident, staff string, now time.Time) error {
	payload, _ := json.Marshal(relayDue{No: no, Resident: resident, Staff: staff})
	return f.Reminders.Schedule(ctx, bot.Reminder{ID: relayTimeoutID(no), Kind: ReminderRelayTimeout,
		Due: now.Add(f.Timeout), Payload: payload})
}

// ReminderHandlers are the due-set kinds of the relay, for the scheduler.
func (f *RelayFlow) ReminderHandlers() map[string]func(ctx context.Context, r bot.Reminder) error {
	return map[string]func(context.Context, bot.Reminder) error{ReminderRelayTimeout: f.timedOut}
}

// timedOut ends a relay nobody spoke in for Timeout: both sides are told, and the
// timeline says so. A relay that ended meanwhile, or moved on, is left alone.
func (f *RelayFlow) timedOut(ctx context.Context, rem bot.Reminder) error {
	var p relayDue
	if err := json.Unmarshal(rem.Payload, &p); err != nil || p.No == "" {
		return bot.Errorf(bot.EInvalid, "relay time-out payload %q: %v", rem.Payload, err)
	}
	rl, ok, err := f.Relays.Relay(ctx, p.Resident)
	if err != nil || !ok || rl.Ticket != p.No || rl.Peer != p.Staff {
		return err
	}
	if _, _, err := f.Relays.EndRelay(ctx, p.Resident); err != nil {
		return err
	}
	minutes := int(f.Timeout.Minutes())
	t, err := f.Tickets.Record(ctx, bot.SystemActor, f.Clock.Now(), p.No, bot.EventRelayTimeout, fmt.Sprint(minutes))
	if bot.ErrorCode(err) == bot.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for _, to := range []string{p.Resident, p.Staff} {
		text := f.Catalog.T(msgPushRelayTimeout, map[string]any{"No": t.No, "Minutes": minutes, "ToResident": to == p.Resident})
		if err := f.pushRelay(ctx, t, bot.EventRelayTimeout, to, text, text); err != nil {
			return err
		}
	}
	return nil
}
