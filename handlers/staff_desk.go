package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsDeskQueue    = bot.Words("words.desk_queue")
	wordsDeskClaim    = bot.Words("words.desk_claim")
	wordsDeskReply    = bot.Words("words.desk_reply")
	wordsDeskReassign = bot.Words("words.desk_reassign")
	wordsDeskNote     = bot.Words("words.desk_note")
	wordsDeskEscalate = bot.Words("words.desk_escalate")
	wordsDeskClose    = bot.Words("words.desk_close")
	wordsDeskDetail   = bot.Words("words.desk_detail")
	wordsDeskQueueAll = bot.Words("words.desk_queue_all")
)

// The staff desk (民愿接待室) in chat: a staff member lists the queue of their
// communities, claims, replies, reassigns, notes, escalates and closes (the live
// relay is relay.go's). Each command reads the message, calls the ticket service as
// the sender, and says what it did; the service decides who may do what.

var (
	msgUsageClaim    = bot.Msg("desk.usage.claim")
	msgUsageReply    = bot.Msg("desk.usage.reply")
	msgUsageReassign = bot.Msg("desk.usage.reassign")
	msgUsageNote     = bot.Msg("desk.usage.note")
	msgUsageEscalate = bot.Msg("desk.usage.escalate")
	msgUsageClose    = bot.Msg("desk.usage.close")
	msgUsageDetail   = bot.Msg("desk.usage.detail")

	msgQueueHead  = bot.Msg("desk.queue.head")
	msgQueueLine  = bot.Msg("desk.queue.line")
	msgQueueMore  = bot.Msg("desk.queue.more")
	msgQueueFoot  = bot.Msg("desk.queue.foot")
	msgQueueEmpty = bot.Msg("desk.queue.empty")

	msgClaimed       = bot.Msg("desk.claimed")
	msgReplied       = bot.Msg("desk.replied")
	msgRepliedByCall = bot.Msg("desk.replied.offline")

	msgReassignedCommunity = bot.Msg("desk.reassigned.community")
	msgReassignedStaff     = bot.Msg("desk.reassigned.staff")
	msgReassignUnknown     = bot.Msg("desk.reassign.unknown")
	msgReassignAmbiguous   = bot.Msg("desk.reassign.ambiguous")

	msgNoted      = bot.Msg("desk.noted")
	msgEscalated  = bot.Msg("desk.escalated")
	msgClosedOK   = bot.Msg("desk.closed_ok")
	msgDetail     = bot.Msg("desk.detail")
	msgDetailMore = bot.Msg("desk.detail.earlier")
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

// DeskFlow is the staff desk.
type DeskFlow struct {
	Tickets     *bot.TicketService
	Communities Communities
	// Attachments makes the links 详情 shows to the photos kept (nil: none kept).
	Attachments AttachmentLinks
	// Callbacks lists the open call-back tasks (回电) under 待办 (hotline.go).
	Callbacks func(ctx context.Context, r *bot.Request) ([]string, error)
	// TicketCallbacks lists a ticket's open call-back tasks under 详情 (hotline.go).
	TicketCallbacks func(ctx context.Context, r *bot.Request, t *bot.Ticket) ([]string, error)
}

func (f *DeskFlow) register(m *bot.Mux) {
	m.Command(wordsDeskQueue, bot.RoleStaff, bot.ReadOnly(bot.HandlerFunc(f.deskQueue)))
	m.Command(wordsDeskClaim, bot.RoleStaff, bot.HandlerFunc(f.deskClaim))
	m.Command(wordsDeskReply, bot.RoleStaff, bot.HandlerFunc(f.deskReply))
	m.Command(wordsDeskReassign, bot.RoleStaff, bot.HandlerFunc(f.deskReassign))
	m.Command(wordsDeskNote, bot.RoleStaff, bot.HandlerFunc(f.deskNote))
	m.Command(wordsDeskEscalate, bot.RoleStaff, bot.HandlerFunc(f.deskEscalate))
	m.Command(wordsDeskClose, bot.RoleStaff, bot.HandlerFunc(f.deskClose))
	m.Command(wordsDeskDetail, bot.RoleStaff, bot.HandlerFunc(f.deskDetail))
}

// staffName is how the sender is named on a ticket of community.
func staffName(u *bot.User, community string) string {
	return bot.ChatActor(u, bot.ActorStaff).NameIn(community)
}

// 待办 [全部]: by default the tickets waiting for someone to claim them and those
// the sender handles, most urgent and oldest first; 全部 adds those colleagues have.
func (f *DeskFlow) deskQueue(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	all := slices.Contains(r.Catalog.Words(wordsDeskQueueAll), r.Args)
	ts, communities, err := f.Tickets.Queue(ctx, staff(r), queueScan)
	if err != nil {
		return bot.Reply{}, err
	}
	open := slices.DeleteFunc(ts, func(t *bot.Ticket) bool {
		return !all && t.Status != bot.StatusNew && t.Handler != r.Update.From
	})
	flags := map[string]any{"All": all}
	var calls []string
	if f.Callbacks != nil {
		if calls, err = f.Callbacks(ctx, r); err != nil {
			return bot.Reply{}, err
		}
	}
	gaps, err := f.roleGaps(ctx, r, communities > 1)
	if err != nil {
		return bot.Reply{}, err
	}
	calls = append(calls, gaps...)
	if len(open) == 0 {
		if len(calls) > 0 {
			return bot.Text(strings.Join(append([]string{r.T(msgQueueEmpty, flags)}, calls...), "\n")), nil
		}
		return r.Say(msgQueueEmpty, flags), nil
	}
	lines := []string{r.T(msgQueueHead, map[string]any{"All": all, "Count": len(open)})}
	for _, t := range open[:min(len(open), deskListLimit)] {
		v := f.Tickets.ViewAt(t, r.Now)
		v["Colour"] = r.T(colourNames[f.Tickets.Colour(t, r.Now)], nil)
		v["Short"] = excerpt(fmt.Sprint(v["Description"]), shortRunes) // a confidential call's is hidden
		if communities == 1 {
			v["Community"] = ""
		}
		lines = append(lines, r.T(msgQueueLine, v))
	}
	if more := len(open) - deskListLimit; more > 0 {
		lines = append(lines, r.T(msgQueueMore, map[string]any{"More": more}))
	}
	lines = append(lines, calls...)
	lines = append(lines, r.T(msgQueueFoot, flags))
	return bot.Text(strings.Join(lines, "\n")), nil
}

var (
	msgGapSecretary = bot.Msg("desk.gap.secretary")
	msgGapAdmin     = bot.Msg("desk.gap.admin")
)

// roleGaps warns, under 待办, of the escalation roles nobody holds in the sender's
// communities: their warnings go to the desk until an administrator binds someone.
func (f *DeskFlow) roleGaps(ctx context.Context, r *bot.Request, named bool) ([]string, error) {
	gaps, err := f.Tickets.EmptyRoles(ctx, staff(r))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gaps {
		if g.Role == bot.RoleAdmin {
			out = append(out, r.T(msgGapAdmin, nil))
			continue
		}
		name := ""
		if c, _ := f.Communities.byCode(g.Community); named {
			name = c.Name
		}
		out = append(out, r.T(msgGapSecretary, map[string]string{"Community": name}))
	}
	return out, nil
}

// 接单 <no>: sign for a ticket (签收), also one assigned to the sender.
func (f *DeskFlow) deskClaim(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageClaim, nil), nil
	}
	t, err := f.Tickets.Claim(ctx, staff(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgClaimed, f.Tickets.StaffViewFor(staff(r), t, nil)), nil
}

// 回复 <no> <text>: a message to the resident, down the delivery ladder.
func (f *DeskFlow) deskReply(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, ok := splitTicketNo(r.Args)
	if !ok || text == "" {
		return r.Say(msgUsageReply, nil), nil
	}
	t, held, err := f.Tickets.Reply(ctx, staff(r), r.Now, no, text)
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.Tickets.StaffViewFor(staff(r), t, map[string]any{"Staff": staffName(r.User, t.Community), "Text": text})
	view["Held"] = ""
	if !held.IsZero() {
		view["Held"] = bot.When(r.Catalog, held)
	}
	if t.OpenID == "" {
		return r.Say(msgRepliedByCall, view), nil
	}
	return r.Say(msgReplied, view), nil
}

// 转派 <no> <target>: to another community (by code or name), where it waits to be
// claimed again, or to a named colleague of the same community, who signs for it.
func (f *DeskFlow) deskReassign(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, target, ok := splitTicketNo(r.Args)
	if !ok || target == "" {
		return r.Say(msgUsageReassign, nil), nil
	}
	a := staff(r)
	t, err := f.Tickets.Get(ctx, a, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !t.Open() {
		return bot.Reply{}, bot.TicketClosed(no)
	}
	if c, ok := f.Communities.find(target); ok {
		if _, err := f.Tickets.MoveTo(ctx, a, r.Now, no, c.Code); err != nil {
			return bot.Reply{}, err
		}
		return r.Say(msgReassignedCommunity, map[string]string{"No": no, "To": c.Name}), nil
	}
	colleagues, err := f.Tickets.StaffOf(ctx, t.Community)
	if err != nil {
		return bot.Reply{}, err
	}
	match := slices.DeleteFunc(colleagues, func(g bot.Grant) bool { return g.Name != target })
	switch len(match) {
	case 0:
		return r.Say(msgReassignUnknown, map[string]string{"Target": target}), nil
	case 1:
		if _, err := f.Tickets.AssignTo(ctx, a, r.Now, no, match[0]); err != nil {
			return bot.Reply{}, err
		}
		return r.Say(msgReassignedStaff, map[string]string{"No": no, "To": match[0].Name}), nil
	}
	return r.Say(msgReassignAmbiguous, map[string]string{"Target": target}), nil
}

// 备注 <no> <text>: a note for colleagues, never shown to the resident.
func (f *DeskFlow) deskNote(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, ok := splitTicketNo(r.Args)
	if !ok || text == "" {
		return r.Say(msgUsageNote, nil), nil
	}
	if _, err := f.Tickets.Note(ctx, staff(r), r.Now, no, text); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgNoted, map[string]string{"No": no}), nil
}

// 上报 <no> <reason> (问题追踪): the district admins are told.
func (f *DeskFlow) deskEscalate(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, reason, ok := splitTicketNo(r.Args)
	if !ok || reason == "" {
		return r.Say(msgUsageEscalate, nil), nil
	}
	_, told, desk, err := f.Tickets.Escalate(ctx, staff(r), r.Now, no, reason)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgEscalated, map[string]any{"No": no, "Admins": told, "Desk": desk}), nil
}

// 办结 <no> <result>: close with a result; the resident gets it and is asked to
// rate (the answer is the resident flow's).
func (f *DeskFlow) deskClose(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, result, ok := splitTicketNo(r.Args)
	if !ok || result == "" {
		return r.Say(msgUsageClose, nil), nil
	}
	t, err := f.Tickets.Close(ctx, staff(r), r.Now, no, result)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgClosedOK, f.Tickets.StaffViewFor(staff(r), t, nil)), nil
}

// 详情 <no>: the ticket and its latest timeline, private notes included.
func (f *DeskFlow) deskDetail(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgUsageDetail, nil), nil
	}
	t, evs, err := f.Tickets.Detail(ctx, staff(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	lines := []string{r.T(msgDetail, f.Tickets.HandlerView(staff(r), t, map[string]any{"Status": f.Tickets.StatusWords(t, r.Now)}))}
	lines = append(lines, f.photoLinks(ctx, r, t)...)
	if n := len(evs) - detailEvents; n > 0 {
		lines = append(lines, r.T(msgDetailMore, map[string]int{"N": n}))
		evs = evs[n:]
	}
	for _, ev := range evs {
		lines = append(lines, timelineLine(r, t, ev))
	}
	if f.TicketCallbacks != nil {
		// The calls still owed on it, with the number: what staff came here for.
		calls, err := f.TicketCallbacks(ctx, r, t)
		if err != nil {
			return bot.Reply{}, err
		}
		lines = append(lines, calls...)
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

var (
	msgTimelineLine  = bot.Msg("timeline.line")
	msgActorSystem   = bot.Msg("timeline.actor.system")
	msgActorResident = bot.Msg("timeline.actor.resident")
)

// timelineLine renders one event for staff: 11-20 09:30 王芳 回复：……
func timelineLine(r *bot.Request, t *bot.Ticket, ev bot.Event) string {
	who := ev.Name
	switch {
	case ev.Actor == bot.SystemActor.ID:
		who = r.T(msgActorSystem, nil)
	case ev.Actor == t.OpenID && t.OpenID != "":
		who = r.T(msgActorResident, nil)
	case who == "":
		who = ev.Actor
	}
	if ev.Kind != bot.EventWarned {
		ev.Text = excerpt(ev.Text, shortRunes*2)
	}
	return r.T(msgTimelineLine, map[string]any{
		"At":      when(r, ev.At),
		"Who":     who,
		"What":    bot.EventWhat(r.Catalog, ev),
		"Private": ev.Private,
	})
}

// AttachmentLinks makes a viewer's signed, expiring link to a kept photo.
type AttachmentLinks interface {
	Link(ctx context.Context, viewer bot.Actor, ref string) (link string, ok bool, err error)
}

var (
	msgDetailPhoto = bot.Msg("desk.detail.photo")
	msgDetailVoice = bot.Msg("desk.detail.voice")
)

// photoLinks are 详情's lines for the ticket's photos and voice messages kept so
// far: one link each, for the sender, that works for a while.
func (f *DeskFlow) photoLinks(ctx context.Context, r *bot.Request, t *bot.Ticket) []string {
	if f.Attachments == nil || (t.Confidential && t.Handler != r.Update.From) {
		return nil
	}
	var out []string
	for _, kind := range []struct {
		refs []string
		key  bot.MsgKey
	}{{t.Photos, msgDetailPhoto}, {t.Voices, msgDetailVoice}} {
		for i, ref := range kind.refs {
			link, ok, err := f.Attachments.Link(ctx, staff(r), ref)
			if err != nil || !ok {
				continue
			}
			out = append(out, r.T(kind.key, map[string]any{"N": i + 1, "URL": link}))
		}
	}
	return out
}
