package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsDeskQueue    = bot.Words("words.desk_queue")
	wordsDeskClaim    = bot.Words("words.desk_claim")
	wordsDeskReply    = bot.Words("words.desk_reply")
	wordsDeskRelay    = bot.Words("words.desk_relay")
	wordsDeskReassign = bot.Words("words.desk_reassign")
	wordsDeskNote     = bot.Words("words.desk_note")
	wordsDeskEscalate = bot.Words("words.desk_escalate")
	wordsDeskClose    = bot.Words("words.desk_close")
	wordsDeskDetail   = bot.Words("words.desk_detail")
	wordsRelayEnd     = bot.Words("words.relay_end")
	wordsDeskQueueAll = bot.Words("words.desk_queue_all")
)

// The staff desk (民愿接待室) in chat: a staff member lists the queue of their
// communities, claims, replies, talks live with the resident, reassigns, notes,
// escalates and closes. Every action is a timeline event with actor and time.
//
// A staff member acts only on tickets of their own communities (admins on all); a
// ticket of another community is answered exactly like a missing one, so that its
// number tells an outsider nothing.

var (
	// The words the engine itself uses for a route the sender's role lacks.

	msgUsageClaim    = bot.Msg("desk.usage.claim")
	msgUsageReply    = bot.Msg("desk.usage.reply")
	msgUsageRelay    = bot.Msg("desk.usage.relay")
	msgUsageReassign = bot.Msg("desk.usage.reassign")
	msgUsageNote     = bot.Msg("desk.usage.note")
	msgUsageEscalate = bot.Msg("desk.usage.escalate")
	msgUsageClose    = bot.Msg("desk.usage.close")
	msgUsageDetail   = bot.Msg("desk.usage.detail")

	msgDeskClosed = bot.Msg("desk.closed")

	msgQueueHead  = bot.Msg("desk.queue.head")
	msgQueueLine  = bot.Msg("desk.queue.line")
	msgQueueMore  = bot.Msg("desk.queue.more")
	msgQueueFoot  = bot.Msg("desk.queue.foot")
	msgQueueEmpty = bot.Msg("desk.queue.empty")

	msgClaimed       = bot.Msg("desk.claimed")
	msgClaimMine     = bot.Msg("desk.claim.mine")
	msgClaimTaken    = bot.Msg("desk.claim.taken")
	msgPushClaimed   = bot.Msg("push.claimed")
	msgReplied       = bot.Msg("desk.replied")
	msgRepliedByCall = bot.Msg("desk.replied.offline")
	msgPushReply     = bot.Msg("push.reply")

	msgRelayStarted     = bot.Msg("desk.relay.started")
	msgRelayBusy        = bot.Msg("desk.relay.busy")
	msgRelayOffline     = bot.Msg("desk.relay.offline")
	msgRelayEnded       = bot.Msg("desk.relay.ended")
	msgRelayNone        = bot.Msg("desk.relay.none")
	msgRelayUnsupported = bot.Msg("relay.unsupported")
	msgRelayImage       = bot.Msg("relay.image")
	msgPushRelayStarted = bot.Msg("push.relay.started")
	msgPushRelayEnded   = bot.Msg("push.relay.ended")
	msgPushFromResident = bot.Msg("push.relay.from_resident")
	msgPushFromStaff    = bot.Msg("push.relay.from_staff")

	msgReassignedCommunity  = bot.Msg("desk.reassigned.community")
	msgReassignedStaff      = bot.Msg("desk.reassigned.staff")
	msgReassignUnknown      = bot.Msg("desk.reassign.unknown")
	msgReassignAmbiguous    = bot.Msg("desk.reassign.ambiguous")
	msgReassignSame         = bot.Msg("desk.reassign.same")
	msgPushReassignedDesk   = bot.Msg("push.reassigned.community")
	msgPushReassignedStaff  = bot.Msg("push.reassigned.staff")
	msgPushMovedToCommunity = bot.Msg("push.moved")

	msgNoted         = bot.Msg("desk.noted")
	msgEscalated     = bot.Msg("desk.escalated")
	msgPushEscalated = bot.Msg("push.escalated")
	msgClosedOK      = bot.Msg("desk.closed_ok")
	msgPushClosed    = bot.Msg("push.closed")

	msgDetail         = bot.Msg("desk.detail")
	msgDetailEarlier  = bot.Msg("desk.detail.earlier")
	msgTimelineLine   = bot.Msg("timeline.line")
	msgActorSystem    = bot.Msg("timeline.actor.system")
	msgActorResident  = bot.Msg("timeline.actor.resident")
	msgTimelineOther  = bot.Msg("timeline.kind.other")
	timelineKindNames = map[string]bot.MsgKey{
		"created":       bot.Msg("timeline.kind.created"),
		"claimed":       bot.Msg("timeline.kind.claimed"),
		"assigned":      bot.Msg("timeline.kind.assigned"),
		"reply":         bot.Msg("timeline.kind.reply"),
		"relay":         bot.Msg("timeline.kind.relay"),
		"relay_started": bot.Msg("timeline.kind.relay_started"),
		"relay_ended":   bot.Msg("timeline.kind.relay_ended"),
		"note":          bot.Msg("timeline.kind.note"),
		"added":         bot.Msg("timeline.kind.added"),
		"reassigned":    bot.Msg("timeline.kind.reassigned"),
		"escalated":     bot.Msg("timeline.kind.escalated"),
		"closed":        bot.Msg("timeline.kind.closed"),
		"rated":         bot.Msg("timeline.kind.rated"),
		"reopened":      bot.Msg("timeline.kind.reopened"),
		"warned":        bot.Msg("timeline.kind.warned"),
	}
)

const (
	// deskListLimit keeps 待办 inside one chat message (the platform caps a text at
	// 2048 bytes); the rest is counted, not listed.
	deskListLimit = 10
	// queueScan bounds how much of each community's queue 待办 reads.
	queueScan = 200
	// detailEvents is how much of a timeline 详情 shows; the CLI shows all of it.
	detailEvents = 12
	// shortRunes clips descriptions and texts in lists.
	shortRunes = 24
)

func registerStaffDesk(m *bot.Mux, d *Deps) {
	m.Command(wordsDeskQueue, bot.RoleStaff, bot.HandlerFunc(d.deskQueue))
	m.Command(wordsDeskClaim, bot.RoleStaff, bot.HandlerFunc(d.deskClaim))
	m.Command(wordsDeskReply, bot.RoleStaff, bot.HandlerFunc(d.deskReply))
	m.Command(wordsDeskRelay, bot.RoleStaff, bot.HandlerFunc(d.deskRelay))
	m.Command(wordsDeskReassign, bot.RoleStaff, bot.HandlerFunc(d.deskReassign))
	m.Command(wordsDeskNote, bot.RoleStaff, bot.HandlerFunc(d.deskNote))
	m.Command(wordsDeskEscalate, bot.RoleStaff, bot.HandlerFunc(d.deskEscalate))
	m.Command(wordsDeskClose, bot.RoleStaff, bot.HandlerFunc(d.deskClose))
	m.Command(wordsDeskDetail, bot.RoleStaff, bot.HandlerFunc(d.deskDetail))
	m.Menu("DESK_TODO", bot.RoleStaff, bot.HandlerFunc(d.deskQueue))
	// Either side of a relay ends it.
	m.Command(wordsRelayEnd, bot.RoleResident, bot.HandlerFunc(d.deskEndRelay))
	// What is not a command the sender may run goes to the other side of a relay.
	m.Through(d.relayed)
}

// mayAct reports whether u may see and act on t.
func mayAct(u *bot.User, t *bot.Ticket) bool { return u.CanIn(bot.RoleStaff, t.Community) }

func ticketClosed(no string) error {
	return bot.UserError(bot.EConflict, msgDeskClosed, map[string]string{"No": no})
}

// deskTicket loads a ticket the sender may act on; any other answers as missing.
func (d *Deps) deskTicket(ctx context.Context, r *bot.Request, no string) (*bot.Ticket, error) {
	t, err := d.Tickets.Ticket(ctx, no)
	if bot.ErrorCode(err) == bot.ENotFound || (err == nil && !mayAct(r.User, t)) {
		return nil, ticketNotFound(no)
	}
	return t, err
}

// change updates ticket no for the sender. Whether they may act on it is checked
// again inside the atomic update: the ticket may have moved since it was read.
func (d *Deps) change(ctx context.Context, r *bot.Request, no string, fn func(t *bot.Ticket) ([]bot.Event, error)) (*bot.Ticket, error) {
	t, err := d.Tickets.Update(ctx, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if !mayAct(r.User, t) {
			return nil, ticketNotFound(no)
		}
		return fn(t)
	})
	if err != nil && bot.ErrorCode(err) == bot.ENotFound {
		return nil, ticketNotFound(no)
	}
	return t, err
}

// staffName is how the sender is named on a ticket of community: the name of their
// grant there, else of any grant (an admin's).
func staffName(u *bot.User, community string) string {
	name := ""
	for _, g := range u.Grants {
		if g.Community == community && g.Role.Includes(bot.RoleStaff) {
			return g.Name
		}
		if name == "" || g.Role == bot.RoleAdmin {
			name = g.Name
		}
	}
	return name
}

// event is a timeline event done by the sender now.
func event(r *bot.Request, kind, name, text string) bot.Event {
	return bot.Event{At: r.Now, Actor: r.Update.From, Name: name, Kind: kind, Text: text}
}

// deskView is a ticket as staff see it: with the phone in full, since they may
// have to call.
func (d *Deps) deskView(r *bot.Request, t *bot.Ticket, extra map[string]any) map[string]any {
	v := d.ticketView(r, t)
	v["PhoneFull"] = t.Phone
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// 待办 [全部]: by default the tickets waiting for someone to claim them and those
// the sender handles, most urgent and oldest first; 全部 adds those colleagues have.
func (d *Deps) deskQueue(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	// 待办 全部 lists every open ticket, not only the unclaimed and mine.
	all := slices.Contains(r.Catalog.Words(wordsDeskQueueAll), r.Args)
	codes, every := r.User.Communities(bot.RoleStaff)
	if every {
		codes = codes[:0]
		for _, c := range d.Communities {
			codes = append(codes, c.Code)
		}
	}
	var open []*bot.Ticket
	for _, code := range codes {
		ts, err := d.Tickets.Queue(ctx, code, queueScan)
		if err != nil {
			return bot.Reply{}, err
		}
		for _, t := range ts {
			if all || t.Status == bot.StatusNew || t.Handler == r.Update.From {
				open = append(open, t)
			}
		}
	}
	flags := map[string]any{"All": all}
	if len(open) == 0 {
		return r.Say(msgQueueEmpty, flags), nil
	}
	slices.SortStableFunc(open, func(a, b *bot.Ticket) int {
		if a.Urgency != b.Urgency {
			return int(a.Urgency) - int(b.Urgency)
		}
		return a.Created.Compare(b.Created)
	})
	lines := []string{r.T(msgQueueHead, map[string]any{"All": all, "Count": len(open)})}
	for _, t := range open[:min(len(open), deskListLimit)] {
		v := d.ticketView(r, t)
		v["Colour"] = r.T(d.colour(t, r.Now), nil)
		v["Short"] = excerpt(t.Description, shortRunes)
		if len(codes) == 1 {
			v["Community"] = ""
		}
		lines = append(lines, r.T(msgQueueLine, v))
	}
	if more := len(open) - deskListLimit; more > 0 {
		lines = append(lines, r.T(msgQueueMore, map[string]any{"More": more}))
	}
	lines = append(lines, r.T(msgQueueFoot, flags))
	return bot.Text(strings.Join(lines, "\n")), nil
}

// 接单 <no>: sign for a ticket (签收). A ticket assigned to the sender (round-robin
// or by a colleague) is signed for by the same word.
func (d *Deps) deskClaim(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageClaim, nil), nil
	}
	me := r.Update.From
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		switch {
		case !t.Open():
			return nil, ticketClosed(no)
		case t.Handler != "" && t.Handler != me:
			return nil, bot.UserError(bot.EConflict, msgClaimTaken, map[string]string{"No": no, "Handler": t.HandlerName})
		case t.Handler == me && !t.Claimed.IsZero():
			return nil, bot.UserError(bot.EConflict, msgClaimMine, map[string]string{"No": no})
		}
		name := staffName(r.User, t.Community)
		t.Status, t.Handler, t.HandlerName, t.Claimed = bot.StatusClaimed, me, name, r.Now
		return []bot.Event{event(r, "claimed", name, "")}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if err := d.tellResident(ctx, t, "t:"+no+":claimed", r.T(msgPushClaimed, d.ticketView(r, t))); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgClaimed, d.deskView(r, t, nil)), nil
}

// 回复 <no> <text>: a message to the resident. The outbox takes it down the delivery
// ladder (customer-service message in the 48-hour window, then a template, then a
// call-back task).
func (d *Deps) deskReply(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, ok := splitTicketNo(r.Args)
	if !ok || text == "" {
		return r.Say(msgUsageReply, nil), nil
	}
	var name string
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		name = staffName(r.User, t.Community)
		if t.Responded.IsZero() {
			t.Responded = r.Now
		}
		return []bot.Event{event(r, "reply", name, text)}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	view := d.deskView(r, t, map[string]any{"Staff": name, "Text": text})
	if t.OpenID == "" {
		return r.Say(msgRepliedByCall, view), nil
	}
	if err := d.tellResident(ctx, t, fmt.Sprintf("t:%s:reply:%d", no, t.Version), r.T(msgPushReply, view)); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgReplied, view), nil
}

// 对话 <no>: a live relay with the resident. From now on the plain messages of
// either side go to the other (see relayed) until 结束 or the time-out.
func (d *Deps) deskRelay(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageRelay, nil), nil
	}
	t, err := d.deskTicket(ctx, r, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !t.Open() {
		return bot.Reply{}, ticketClosed(no)
	}
	if t.OpenID == "" {
		return r.Say(msgRelayOffline, d.deskView(r, t, nil)), nil
	}
	me := r.Update.From
	if rl, ok, err := d.Relays.Relay(ctx, t.OpenID); err != nil {
		return bot.Reply{}, err
	} else if ok && rl.Peer != me {
		return r.Say(msgRelayBusy, map[string]string{"No": no}), nil
	}
	// A relay the sender had with another resident ends here; that resident is told.
	if rl, ok, err := d.Relays.Relay(ctx, me); err != nil {
		return bot.Reply{}, err
	} else if ok && rl.Peer != t.OpenID {
		if err := d.relayEnded(ctx, r, rl, me); err != nil {
			return bot.Reply{}, err
		}
	}
	if err := d.Relays.StartRelay(ctx, me, t.OpenID, no, d.Desk.RelayTimeout); err != nil {
		return bot.Reply{}, err
	}
	name := staffName(r.User, t.Community)
	if t, err = d.change(ctx, r, no, func(*bot.Ticket) ([]bot.Event, error) {
		return []bot.Event{event(r, "relay_started", name, "")}, nil
	}); err != nil {
		return bot.Reply{}, err
	}
	view := d.deskView(r, t, map[string]any{"Staff": name, "Minutes": int(d.Desk.RelayTimeout.Minutes())})
	if err := d.tellResident(ctx, t, "t:"+no+":relay:"+r.Update.ID, r.T(msgPushRelayStarted, view)); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgRelayStarted, view), nil
}

// relayed forwards the sender's message to their peer when they are in a live
// relay; ok is false when they are not (or the relay no longer holds).
func (d *Deps) relayed(ctx context.Context, r *bot.Request) (rep bot.Reply, ok bool, err error) {
	u := r.Update
	rl, ok, err := d.Relays.Relay(ctx, u.From)
	if err != nil || !ok {
		return bot.Reply{}, false, err
	}
	t, err := d.Tickets.Ticket(ctx, rl.Ticket)
	if bot.ErrorCode(err) == bot.ENotFound {
		_, _, err := d.Relays.EndRelay(ctx, u.From)
		return bot.Reply{}, false, err
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	fromResident := u.From == t.OpenID
	if !fromResident && !mayAct(r.User, t) {
		// The staff member lost the ticket (reassigned, role revoked): the relay
		// is over for them.
		_, _, err := d.Relays.EndRelay(ctx, u.From)
		return bot.Reply{}, false, err
	}
	text := strings.TrimSpace(u.Text)
	switch {
	case u.Kind == bot.KindImage && u.PicURL != "":
		text = r.T(msgRelayImage, map[string]string{"URL": u.PicURL})
	case (u.Kind == bot.KindText || u.Kind == bot.KindVoice) && text != "":
	default:
		return r.Say(msgRelayUnsupported, nil), true, nil
	}
	id := "t:" + t.No + ":relay:" + u.ID
	var name string
	if fromResident {
		name = t.Name
		view := d.deskView(r, t, map[string]any{"Text": text})
		err = d.push(ctx, bot.Push{ID: id, To: rl.Peer, Kind: pushTicketAlert, Text: r.T(msgPushFromResident, view),
			Fields: map[string]string{"no": t.No, "category": fmt.Sprint(view["Category"]), "text": text},
			Ref:    t.No, Community: t.Community})
	} else {
		name = staffName(r.User, t.Community)
		err = d.push(ctx, bot.Push{ID: id, To: rl.Peer, Kind: pushTicketUpdate,
			Text:   r.T(msgPushFromStaff, map[string]string{"No": t.No, "Staff": name, "Text": text}),
			Fields: map[string]string{"no": t.No, "text": text}, Important: true, Ref: t.No, Community: t.Community})
	}
	if err != nil {
		return bot.Reply{}, true, err
	}
	if _, err := d.Tickets.Update(ctx, t.No, func(*bot.Ticket) ([]bot.Event, error) {
		return []bot.Event{event(r, "relay", name, text)}, nil
	}); err != nil {
		return bot.Reply{}, true, err
	}
	// Nothing is said back: in a conversation an echo is noise.
	return bot.Reply{}, true, d.Relays.TouchRelay(ctx, u.From, rl.Peer, d.Desk.RelayTimeout)
}

// 结束: either side ends the relay; the other is told.
func (d *Deps) deskEndRelay(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Args != "" {
		// "结束了吗？" is a sentence, not the command.
		if rep, ok, err := d.relayed(ctx, r); ok || err != nil {
			return rep, err
		}
		return fallback(ctx, r)
	}
	me := r.Update.From
	rl, ok, err := d.Relays.EndRelay(ctx, me)
	if err != nil {
		return bot.Reply{}, err
	}
	if !ok {
		return r.Say(msgRelayNone, nil), nil
	}
	if err := d.relayEnded(ctx, r, rl, me); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgRelayEnded, map[string]string{"No": rl.Ticket}), nil
}

// relayEnded records that by ended relay rl and tells the peer.
func (d *Deps) relayEnded(ctx context.Context, r *bot.Request, rl bot.Relay, by string) error {
	t, err := d.Tickets.Update(ctx, rl.Ticket, func(t *bot.Ticket) ([]bot.Event, error) {
		name := t.Name
		if by != t.OpenID {
			name = staffName(r.User, t.Community)
		}
		return []bot.Event{{At: r.Now, Actor: by, Name: name, Kind: "relay_ended"}}, nil
	})
	if err != nil {
		return err
	}
	toResident := rl.Peer == t.OpenID
	kind := pushTicketAlert
	if toResident {
		kind = pushTicketUpdate
	}
	text := r.T(msgPushRelayEnded, map[string]any{"No": t.No, "ToResident": toResident})
	return d.push(ctx, bot.Push{ID: "t:" + t.No + ":relay_end:" + r.Update.ID, To: rl.Peer, Kind: kind, Text: text,
		Fields: map[string]string{"no": t.No, "text": text}, Ref: t.No, Community: t.Community})
}

// endTicketRelay ends the relay the ticket's resident is in about t, if any, when
// the ticket leaves the desk (closed, moved to another community).
func (d *Deps) endTicketRelay(ctx context.Context, r *bot.Request, t *bot.Ticket) error {
	if t.OpenID == "" {
		return nil
	}
	rl, ok, err := d.Relays.Relay(ctx, t.OpenID)
	if err != nil || !ok || rl.Ticket != t.No {
		return err
	}
	if _, _, err := d.Relays.EndRelay(ctx, t.OpenID); err != nil {
		return err
	}
	if rl.Peer == r.Update.From {
		return nil // the sender learns it from the reply
	}
	// The staff member in the relay is told; the resident learns what happened from
	// the push about the closing or the move.
	return d.push(ctx, bot.Push{ID: "t:" + t.No + ":relay_end:" + r.Update.ID, To: rl.Peer, Kind: pushTicketAlert,
		Text: r.T(msgPushRelayEnded, map[string]any{"No": t.No}), Ref: t.No, Community: t.Community})
}

// 转派 <no> <target>: to another community (by code or name), where it waits to be
// claimed again, or to a named colleague of the same community, who signs for it.
func (d *Deps) deskReassign(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, target, ok := splitTicketNo(r.Args)
	if !ok || target == "" {
		return r.Say(msgUsageReassign, nil), nil
	}
	t, err := d.deskTicket(ctx, r, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !t.Open() {
		return bot.Reply{}, ticketClosed(no)
	}
	if c, ok := d.findCommunity(target); ok {
		return d.reassignCommunity(ctx, r, t, c)
	}
	staff, err := d.staffOf(ctx, t.Community)
	if err != nil {
		return bot.Reply{}, err
	}
	var match []bot.Grant
	for _, g := range staff {
		if g.Name == target {
			match = append(match, g)
		}
	}
	switch len(match) {
	case 0:
		return r.Say(msgReassignUnknown, map[string]string{"Target": target}), nil
	case 1:
		return d.reassignStaff(ctx, r, t, match[0])
	}
	return r.Say(msgReassignAmbiguous, map[string]string{"Target": target}), nil
}

// findCommunity matches a community by code (any case) or name, with or without its
// 社区 suffix, as people type it.
func (d *Deps) findCommunity(s string) (bot.Community, bool) {
	bare := func(n string) string { return strings.TrimSuffix(strings.TrimSpace(n), "社区") }
	for _, c := range d.Communities {
		if strings.EqualFold(c.Code, s) || c.Name == s || bare(c.Name) == bare(s) {
			return c, true
		}
	}
	return bot.Community{}, false
}

func (d *Deps) reassignCommunity(ctx context.Context, r *bot.Request, t *bot.Ticket, c bot.Community) (bot.Reply, error) {
	no := t.No
	from, _ := d.community(t.Community)
	var name string
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if !t.Open() {
			return nil, ticketClosed(no)
		}
		if t.Community == c.Code {
			return nil, bot.UserError(bot.EConflict, msgReassignSame, map[string]string{"No": no, "To": c.Name})
		}
		name = staffName(r.User, t.Community)
		// The new desk signs for it again; the deadlines keep running, since the
		// resident has been waiting all along.
		t.Community, t.Status, t.Handler, t.HandlerName, t.Claimed = c.Code, bot.StatusNew, "", "", time.Time{}
		return []bot.Event{event(r, "reassigned", name, c.Name)}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if err := d.endTicketRelay(ctx, r, t); err != nil {
		return bot.Reply{}, err
	}
	if err := d.scheduleAutoAssign(ctx, t, r.Now); err != nil {
		return bot.Reply{}, err
	}
	desk, err := d.onDutyFirst(ctx, c.Code)
	if err != nil {
		return bot.Reply{}, err
	}
	id := fmt.Sprintf("t:%s:reassigned:%d", no, t.Version)
	extra := map[string]any{"From": from.Name, "By": name}
	if err := d.tellStaff(ctx, r, t, desk, id, msgPushReassignedDesk, extra); err != nil {
		return bot.Reply{}, err
	}
	if err := d.tellResident(ctx, t, id, r.T(msgPushMovedToCommunity, d.ticketView(r, t))); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgReassignedCommunity, map[string]string{"No": no, "To": c.Name}), nil
}

func (d *Deps) reassignStaff(ctx context.Context, r *bot.Request, t *bot.Ticket, g bot.Grant) (bot.Reply, error) {
	no := t.No
	var name string
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if !t.Open() {
			return nil, ticketClosed(no)
		}
		if t.Community != g.Community || t.Handler == g.OpenID {
			return nil, bot.UserError(bot.EConflict, msgReassignSame, map[string]any{"No": no, "To": g.Name, "Staff": true})
		}
		name = staffName(r.User, t.Community)
		// Assigned, as by the round-robin: they sign for it with 接单. A ticket the
		// desk had already signed for stays signed for.
		t.Status, t.Handler, t.HandlerName = bot.StatusClaimed, g.OpenID, g.Name
		return []bot.Event{event(r, "reassigned", name, g.Name)}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	id := fmt.Sprintf("t:%s:reassigned:%d", no, t.Version)
	extra := map[string]any{"By": name, "Signed": !t.Claimed.IsZero()}
	if err := d.tellStaff(ctx, r, t, []bot.Grant{g}, id, msgPushReassignedStaff, extra); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgReassignedStaff, map[string]string{"No": no, "To": g.Name}), nil
}

// 备注 <no> <text>: a note for colleagues, never shown to the resident.
func (d *Deps) deskNote(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, ok := splitTicketNo(r.Args)
	if !ok || text == "" {
		return r.Say(msgUsageNote, nil), nil
	}
	_, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		ev := event(r, "note", staffName(r.User, t.Community), text)
		ev.Private = true
		return []bot.Event{ev}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgNoted, map[string]string{"No": no}), nil
}

// 上报 <no> <reason> (问题追踪): the community cannot solve it; the district admins
// are told.
func (d *Deps) deskEscalate(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, reason, ok := splitTicketNo(r.Args)
	if !ok || reason == "" {
		return r.Say(msgUsageEscalate, nil), nil
	}
	var name string
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if !t.Open() {
			return nil, ticketClosed(no)
		}
		name = staffName(r.User, t.Community)
		t.Escalated = true
		return []bot.Event{event(r, "escalated", name, reason)}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	admins, err := d.withRole(ctx, bot.RoleAdmin, "")
	if err != nil {
		return bot.Reply{}, err
	}
	admins = slices.DeleteFunc(admins, func(g bot.Grant) bool { return g.OpenID == r.Update.From })
	id := fmt.Sprintf("t:%s:escalated:%d", no, t.Version)
	if err := d.tellStaff(ctx, r, t, admins, id, msgPushEscalated, map[string]any{"By": name, "Reason": reason}); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgEscalated, map[string]any{"No": no, "Admins": len(admins)}), nil
}

// 办结 <no> <result>: close with a result; the resident gets it and is asked to
// rate (the answer is the resident flow's).
func (d *Deps) deskClose(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, result, ok := splitTicketNo(r.Args)
	if !ok || result == "" {
		return r.Say(msgUsageClose, nil), nil
	}
	me := r.Update.From
	t, err := d.change(ctx, r, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if !t.Open() {
			return nil, ticketClosed(no)
		}
		name := staffName(r.User, t.Community)
		// Closing an unclaimed ticket signs for it too: whoever closes it handled it.
		if t.Handler == "" {
			t.Handler, t.HandlerName = me, name
		}
		if t.Claimed.IsZero() {
			t.Claimed = r.Now
		}
		t.Status, t.Closed, t.Result = bot.StatusClosed, r.Now, result
		return []bot.Event{event(r, "closed", name, result)}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if err := d.cancelDeadlines(ctx, no); err != nil {
		return bot.Reply{}, err
	}
	if err := d.endTicketRelay(ctx, r, t); err != nil {
		return bot.Reply{}, err
	}
	id := fmt.Sprintf("t:%s:closed:%d", no, t.Version)
	if err := d.tellResident(ctx, t, id, r.T(msgPushClosed, d.ticketView(r, t))); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgClosedOK, d.deskView(r, t, nil)), nil
}

// 详情 <no>: the ticket and its latest timeline, private notes included.
func (d *Deps) deskDetail(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageDetail, nil), nil
	}
	t, err := d.deskTicket(ctx, r, no)
	if err != nil {
		return bot.Reply{}, err
	}
	evs, err := d.Tickets.Timeline(ctx, no)
	if err != nil {
		return bot.Reply{}, err
	}
	lines := []string{r.T(msgDetail, d.deskView(r, t, nil))}
	if n := len(evs) - detailEvents; n > 0 {
		lines = append(lines, r.T(msgDetailEarlier, map[string]int{"N": n}))
		evs = evs[n:]
	}
	for _, ev := range evs {
		lines = append(lines, timelineLine(r, t, ev))
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

// timelineLine renders one event for staff: 11-20 09:30 王芳 回复：……
func timelineLine(r *bot.Request, t *bot.Ticket, ev bot.Event) string {
	who := ev.Name
	switch {
	case ev.Actor == "system":
		who = r.T(msgActorSystem, nil)
	case ev.Actor == t.OpenID && t.OpenID != "":
		who = r.T(msgActorResident, nil)
	case who == "":
		who = ev.Actor
	}
	data := map[string]any{"Kind": ev.Kind, "Text": excerpt(ev.Text, shortRunes*2), "Name": ev.Name}
	key, ok := timelineKindNames[ev.Kind]
	if !ok {
		key = msgTimelineOther
	}
	return r.T(msgTimelineLine, map[string]any{
		"At":      ev.At.In(calendar.Location()).Format("01-02 15:04"),
		"Who":     who,
		"What":    r.T(key, data),
		"Private": ev.Private,
	})
}
