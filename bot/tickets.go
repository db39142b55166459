package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// TicketService holds the rules of a ticket's life: who may do what to it, in which
// state, and what each change sets in motion (deadlines, who is told, the report
// counters that follow from the change). Every channel — chat, the hotline API, the
// scheduler, the command line — translates into it; none fakes another's message.
//
// Each method takes who acted and when, and returns a *Error whose catalogue text
// the actor may read. A ticket the actor may not see is answered exactly like a
// missing one, so that its number tells an outsider nothing.
type TicketService struct {
	Tickets   Tickets
	Reminders Reminders
	Pusher    Pusher
	Directory Directory
	Calendar  WorkCalendar
	// Catalog renders what people are told.
	Catalog     *Catalog
	Categories  []Category
	Communities []Community
	// AutoAssignAfter is how long a new ticket waits to be claimed before the
	// round-robin assigns it.
	AutoAssignAfter time.Duration
	// Audit records who read a ticket's details (Detail); nil records nothing.
	Audit AuditLog
	// Replicated, when set, returns once what has been written so far is on enough
	// Redis replicas (redis.min_replicas_ack), or an unavailable error: a new ticket's
	// number is told only once a failover cannot lose it. Nil: told at once.
	Replicated func(ctx context.Context) error

	hooks []func(context.Context, TicketChange) error
}

// Directory finds the people of a community.
type Directory interface {
	// Holders lists the grants of role in community (every community when it is
	// ""); admins hold RoleAdmin in every community.
	Holders(ctx context.Context, role Role, community string) ([]Grant, error)
	StaffDirectory
	NextInTurn(ctx context.Context, community string) (int64, error)
}

// WorkCalendar knows working days (bot/calendar implements it).
type WorkCalendar interface {
	AddWorkingDays(t time.Time, n int) time.Time
	IsWorkday(t time.Time) bool
}

// TicketChange is one committed change of a ticket, as hooks see it. Before is nil
// for a new ticket.
type TicketChange struct {
	Before, After *Ticket
	Event         EventKind
	Actor         Actor
	At            time.Time
}

// OnChange registers fn to run after every committed change of a ticket (after the
// service's own deadlines and pushes): how other services react to tickets (a visit
// for a hardship ticket, a hotline call-back, the end of a live relay). Register
// hooks while wiring, before the service is used. An error from fn is returned to
// the caller of the change; the change itself stays.
func (s *TicketService) OnChange(fn func(ctx context.Context, c TicketChange) error) {
	s.hooks = append(s.hooks, fn)
}

func (s *TicketService) changed(ctx context.Context, c TicketChange) error {
	for _, fn := range s.hooks {
		if err := fn(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Push kinds of tickets: each maps to a template in the config, for when the
// 48-hour window is closed.
const (
	PushTicketUpdate = "ticket_update" // to a resident: a reply, a result, a request to rate
	PushTicketAlert  = "ticket_alert"  // to staff: a new, assigned or overdue ticket
)

// Reminder kinds the ticket service schedules; the scheduler's handlers translate
// them into Warn and AutoAssign.
const (
	ReminderDeadline   = "ticket.deadline"
	ReminderAutoAssign = "ticket.autoassign"
)

// Deadline stages and levels.
const (
	StageSign    = "sign"
	StageResolve = "resolve"

	LevelYellow    = "yellow"
	LevelRed       = "red"
	LevelSecretary = "secretary"
	LevelDistrict  = "district"
)

// DeadlineDue is the payload of a ticket's reminders.
type DeadlineDue struct {
	No    string `json:"no"`
	Stage string `json:"stage,omitempty"`
	Level string `json:"level,omitempty"`
	// DueBy pins the reminder to the deadline it was made for: after a reopen the
	// ticket gets new ones, and the old reminders do nothing.
	DueBy time.Time `json:"due_by,omitzero"`
}

// Words of the rules: what an actor is told when a change is refused.
var (
	msgNoSuchTicket      = Msg("ticket.not_found")
	msgTicketClosed      = Msg("desk.closed")
	msgClaimMine         = Msg("desk.claim.mine")
	msgClaimTaken        = Msg("desk.claim.taken")
	msgReassignSame      = Msg("desk.reassign.same")
	msgReassignUnknown   = Msg("desk.reassign.unknown")
	msgAddClosed         = Msg("request.add_closed")
	msgRateNotClosed     = Msg("rate.not_closed")
	msgRateAlready       = Msg("rate.already")
	msgUsageReply        = Msg("desk.usage.reply")
	msgUsageNote         = Msg("desk.usage.note")
	msgUsageEscalate     = Msg("desk.usage.escalate")
	msgUsageClose        = Msg("desk.usage.close")
	msgBadDescriptionLen = Msg("validate.description")
)

// What people are told of changes.
var (
	msgPushNew            = Msg("push.new_ticket")
	msgPushClaimed        = Msg("push.claimed")
	msgPushReply          = Msg("push.reply")
	msgPushReassignedDesk = Msg("push.reassigned.community")
	msgPushReassignedTo   = Msg("push.reassigned.staff")
	msgPushMoved          = Msg("push.moved")
	msgPushEscalated      = Msg("push.escalated")
	msgPushClosed         = Msg("push.closed")
	msgPushAdded          = Msg("push.ticket_added")
	msgPushNudged         = Msg("push.ticket_nudged")
	msgNudgeTooSoon       = Msg("nudge.too_soon")
	msgPushReopened       = Msg("push.reopened")
	msgPushUnsatisfied    = Msg("push.unsatisfied_again")
	msgPushAutoAssigned   = Msg("push.auto_assigned")
	msgPushDigest         = Msg("push.digest")
	msgWarnYellow         = Msg("deadline.yellow")
	msgWarnRed            = Msg("deadline.red")
	msgWarnSignRed        = Msg("deadline.sign_red")
	msgWarnSecretary      = Msg("deadline.secretary")
	msgWarnDistrict       = Msg("deadline.district")
	msgRatingEvent        = Msg("rating.event")
)

// MaxTicketText bounds a description, an addition, a reply (runes).
const MaxTicketText = 1000

// NotFound is the one answer for a ticket that does not exist and for one the actor
// may not see: nobody learns which it was.
func NotFound(no string) *Error {
	return UserError(ENotFound, msgNoSuchTicket, map[string]string{"No": no})
}

// TicketClosed is the answer to work on a closed ticket.
func TicketClosed(no string) *Error { return closedErr(no) }

func closedErr(no string) *Error {
	return UserError(EConflict, msgTicketClosed, map[string]string{"No": no})
}

// maySee reports whether a may see and act on t: the resident who brought it (as a
// resident), staff of its community (admins everywhere), the API and the system.
func maySee(a Actor, t *Ticket) bool {
	switch a.Kind {
	case ActorResident:
		return t.OpenID != "" && t.OpenID == a.ID
	case ActorAPI, ActorSystem:
		return true
	case ActorHotline:
		return a.CanIn(RoleHotline, t.Community) || a.CanIn(RoleStaff, t.Community)
	}
	return a.CanIn(RoleStaff, t.Community)
}

// mayWork reports whether a may work on t as the desk does (claim, reply, close...).
func mayWork(a Actor, t *Ticket) bool { return a.Kind != ActorResident && maySee(a, t) }

// Category finds a category by code.
func (s *TicketService) Category(code string) (Category, bool) {
	for _, c := range s.Categories {
		if c.Code == code {
			return c, true
		}
	}
	return Category{}, false
}

// Community finds a community by code.
func (s *TicketService) Community(code string) (Community, bool) {
	for _, c := range s.Communities {
		if c.Code == code {
			return c, true
		}
	}
	return Community{}, false
}

// Get loads ticket no for a.
func (s *TicketService) Get(ctx context.Context, a Actor, no string) (*Ticket, error) {
	t, err := s.Tickets.Ticket(ctx, no)
	if ErrorCode(err) == ENotFound || (err == nil && !maySee(a, t)) {
		return nil, NotFound(no)
	}
	return t, err
}

// Timeline is ticket no's timeline as a may read it: a resident never sees the
// private notes.
func (s *TicketService) Timeline(ctx context.Context, a Actor, no string) (*Ticket, []Event, error) {
	t, err := s.Get(ctx, a, no)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.Tickets.Timeline(ctx, no)
	if err != nil {
		return nil, nil, err
	}
	if a.Kind == ActorResident {
		evs = slices.DeleteFunc(evs, func(ev Event) bool { return ev.Private })
	}
	return t, evs, nil
}

// Mine lists the tickets a resident brought, newest first.
func (s *TicketService) Mine(ctx context.Context, a Actor, limit int) ([]*Ticket, error) {
	if a.Kind != ActorResident {
		return nil, Errorf(EForbidden, "tickets: only a resident has tickets of their own")
	}
	return s.Tickets.ByResident(ctx, a.ID, limit)
}

// Queue lists the open tickets of the communities a works in (every community for
// an admin), most urgent and oldest first; scan bounds each community's read.
func (s *TicketService) Queue(ctx context.Context, a Actor, scan int) (ts []*Ticket, communities int, err error) {
	codes, every := a.Communities(RoleStaff)
	if a.Kind == ActorResident {
		return nil, 0, Errorf(EForbidden, "tickets: a resident has no desk")
	}
	if every {
		codes = codes[:0]
		for _, c := range s.Communities {
			codes = append(codes, c.Code)
		}
	}
	for _, code := range codes {
		q, err := s.Tickets.Queue(ctx, code, scan)
		if err != nil {
			return nil, 0, err
		}
		ts = append(ts, q...)
	}
	slices.SortStableFunc(ts, func(a, b *Ticket) int {
		if a.Urgency != b.Urgency {
			return int(a.Urgency) - int(b.Urgency)
		}
		return a.Created.Compare(b.Created)
	})
	return ts, len(codes), nil
}

// NewTicket is what Intake needs to file a ticket.
type NewTicket struct {
	Community   string
	Category    string
	Description string
	Photos      []string
	Source      string // "wechat", "hotline"
	OpenID      string // the resident, when known (a resident files for themselves)
	Name        string
	Phone       string
	// Confidential: a counselling call; only its handler reads the contents.
	Confidential bool
}

// Intake files a new ticket: numbered, with its deadlines and the round-robin
// armed, and the desk told. key makes it idempotent: the same key (the confirming
// message, the call's id) files one ticket however often it is given.
func (s *TicketService) Intake(ctx context.Context, a Actor, at time.Time, n NewTicket, key string) (*Ticket, error) {
	cat, ok := s.Category(n.Category)
	if !ok {
		return nil, Errorf(EInvalid, "intake: unknown category %q", n.Category)
	}
	if _, ok := s.Community(n.Community); !ok {
		return nil, Errorf(EInvalid, "intake: unknown community %q", n.Community)
	}
	if len([]rune(n.Description)) > MaxTicketText {
		return nil, UserError(EInvalid, msgBadDescriptionLen, map[string]int{"Max": MaxTicketText})
	}
	switch a.Kind {
	case ActorResident:
		n.OpenID = a.ID // a resident files for themselves only
	case ActorStaff, ActorHotline:
		if !a.CanIn(RoleHotline, n.Community) && !a.CanIn(RoleStaff, n.Community) {
			return nil, Errorf(EForbidden, "intake: %s may not file for %s", a.Kind, n.Community)
		}
	}
	if key == "" {
		return nil, Errorf(EInvalid, "intake: no idempotency key")
	}
	if n.Source == "" {
		n.Source = "wechat"
	}
	t := &Ticket{
		Community: n.Community, Category: cat.Code, Urgency: cat.Urgency,
		Description: n.Description, Photos: n.Photos,
		Source: n.Source, OpenID: n.OpenID, Name: n.Name, Phone: n.Phone, Confidential: n.Confidential,
		Status: StatusNew, Created: at,
		SignBy: s.Calendar.AddWorkingDays(at, cat.SignDays),
		DueBy:  s.Calendar.AddWorkingDays(at, cat.ResolveDays),
	}
	name := n.Name
	if a.Kind != ActorResident {
		name = a.NameIn(n.Community)
	}
	t, err := s.Tickets.Create(ctx, t, key, Event{At: at, Actor: a.EventActor(), Name: name, Kind: EventCreated})
	if err != nil {
		return nil, err
	}
	// Everything after Create is idempotent (reminders move, pushes have fixed ids)
	// and reckoned from the ticket's own creation time, so a retry with the same key
	// completes what a failure left undone.
	if err := s.Reminders.Schedule(ctx, append(s.deadlines(t, t.Created), s.autoAssign(t, t.Created))...); err != nil {
		return nil, err
	}
	staff, err := s.onDutyFirst(ctx, t.Community)
	if err != nil {
		return nil, err
	}
	// Version 1 is the creation, whatever has happened to the ticket since.
	created := *t
	created.Version = 1
	if err := s.tellStaff(ctx, &created, staff, EventCreated, msgPushNew, nil); err != nil {
		return nil, err
	}
	if err := s.changed(ctx, TicketChange{After: t, Event: EventCreated, Actor: a, At: at}); err != nil {
		return nil, err
	}
	if s.Replicated != nil {
		// Not replicated in time: the caller hears "busy", and the same key given
		// again finds this ticket and waits again.
		if err := s.Replicated(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// update changes ticket no for a, when maySee/mayWork holds inside the atomic
// update (the ticket may have moved since it was read), and runs the hooks.
func (s *TicketService) update(ctx context.Context, a Actor, at time.Time, no string, kind EventKind, may func(Actor, *Ticket) bool,
	fn func(t *Ticket) ([]Event, error)) (before, after *Ticket, err error) {
	after, err = s.Tickets.Update(ctx, no, func(t *Ticket) ([]Event, error) {
		if !may(a, t) {
			return nil, NotFound(no)
		}
		b := *t
		before = &b
		return fn(t)
	})
	if ErrorCode(err) == ENotFound {
		return nil, nil, NotFound(no)
	}
	return before, after, err
}

// event is a timeline event of kind done by a at at.
func (s *TicketService) event(a Actor, at time.Time, t *Ticket, kind EventKind, text string) Event {
	name := a.NameIn(t.Community)
	if a.Kind == ActorResident {
		name = t.Name
	}
	return Event{At: at, Actor: a.EventActor(), Name: name, Kind: kind, Text: text}
}

// Claim signs for a ticket (签收). A ticket assigned to a (by the round-robin or by
// a colleague) is signed for the same way. The resident is told who has it.
func (s *TicketService) Claim(ctx context.Context, a Actor, at time.Time, no string) (*Ticket, error) {
	me := a.ID
	before, t, err := s.update(ctx, a, at, no, EventClaimed, mayWork, func(t *Ticket) ([]Event, error) {
		switch {
		case !t.Open():
			return nil, closedErr(no)
		case t.Handler != "" && t.Handler != me:
			return nil, UserError(EConflict, msgClaimTaken, map[string]string{"No": no, "Handler": t.HandlerName})
		case t.Handler == me && !t.Claimed.IsZero():
			return nil, UserError(EConflict, msgClaimMine, map[string]string{"No": no})
		}
		name := a.NameIn(t.Community)
		t.Status, t.Handler, t.HandlerName, t.Claimed = StatusClaimed, me, name, at
		return []Event{s.event(a, at, t, EventClaimed, "")}, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.tellResident(ctx, a, t, EventClaimed, s.Catalog.T(msgPushClaimed, s.View(t))); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventClaimed, Actor: a, At: at})
}

// Reply sends text to the resident (down the delivery ladder: a customer-service
// message, a template, a call-back task) and records it. A ticket from a caller
// with no WeChat is replied to by phone: the reply is only recorded. held is when
// the reply goes out when quiet hours hold it back (zero: at once), for the staff
// member to be told; should it not reach the resident, they are told then.
func (s *TicketService) Reply(ctx context.Context, a Actor, at time.Time, no, text string) (t *Ticket, held time.Time, err error) {
	text = strings.TrimSpace(text)
	if text == "" || len([]rune(text)) > MaxTicketText {
		return nil, time.Time{}, UserError(EInvalid, msgUsageReply, nil)
	}
	before, t, err := s.update(ctx, a, at, no, EventReply, mayWork, func(t *Ticket) ([]Event, error) {
		if t.Responded.IsZero() {
			t.Responded = at
		}
		return []Event{s.event(a, at, t, EventReply, text)}, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	view := s.StaffView(t, map[string]any{"Staff": a.NameIn(t.Community), "Text": text})
	if held, err = s.tellResident(ctx, a, t, EventReply, s.Catalog.T(msgPushReply, view)); err != nil {
		return nil, time.Time{}, err
	}
	return t, held, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventReply, Actor: a, At: at})
}

// Record adds a timeline event of a live relay (started, a message, ended) by a:
// the ticket's resident or its staff.
func (s *TicketService) Record(ctx context.Context, a Actor, at time.Time, no string, kind EventKind, text string) (*Ticket, error) {
	switch kind {
	case EventRelay, EventRelayStarted, EventRelayEnded, EventRelayTimeout:
	default:
		return nil, Errorf(EInvalid, "tickets: %q is not recorded on its own", kind)
	}
	may := maySee
	if a.Kind == ActorResident {
		// In a relay the resident is the ticket's resident.
		may = func(a Actor, t *Ticket) bool { return t.OpenID == a.ID }
	}
	before, t, err := s.update(ctx, a, at, no, kind, may, func(t *Ticket) ([]Event, error) {
		return []Event{s.event(a, at, t, kind, text)}, nil
	})
	if err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: kind, Actor: a, At: at})
}

// MoveTo sends an open ticket to another community's desk, where it waits to be
// claimed again (the deadlines keep running: the resident has been waiting all
// along). The new desk and the resident are told.
func (s *TicketService) MoveTo(ctx context.Context, a Actor, at time.Time, no, community string) (*Ticket, error) {
	c, ok := s.Community(community)
	if !ok {
		return nil, UserError(EInvalid, msgReassignUnknown, map[string]string{"Target": community})
	}
	var name, from string
	before, t, err := s.update(ctx, a, at, no, EventReassigned, mayWork, func(t *Ticket) ([]Event, error) {
		if !t.Open() {
			return nil, closedErr(no)
		}
		if t.Community == c.Code {
			return nil, UserError(EConflict, msgReassignSame, map[string]any{"No": no, "To": c.Name, "Staff": false})
		}
		name, from = a.NameIn(t.Community), t.Community
		ev := s.event(a, at, t, EventReassigned, c.Name)
		t.Community, t.Status, t.Handler, t.HandlerName, t.Claimed = c.Code, StatusNew, "", "", time.Time{}
		return []Event{ev}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Reminders.Schedule(ctx, s.autoAssign(t, at)); err != nil {
		return nil, err
	}
	desk, err := s.onDutyFirst(ctx, c.Code)
	if err != nil {
		return nil, err
	}
	fromC, _ := s.Community(from)
	if err := s.tellStaff(ctx, t, desk, EventReassigned, msgPushReassignedDesk, map[string]any{"From": fromC.Name, "By": name}); err != nil {
		return nil, err
	}
	if _, err := s.tellResident(ctx, a, t, EventReassigned, s.Catalog.T(msgPushMoved, s.View(t))); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventReassigned, Actor: a, At: at})
}

// AssignTo hands an open ticket to a colleague of its community, who signs for it
// with a claim (a ticket the desk had signed for stays signed for). They are told.
func (s *TicketService) AssignTo(ctx context.Context, a Actor, at time.Time, no string, staff Grant) (*Ticket, error) {
	var name string
	before, t, err := s.update(ctx, a, at, no, EventReassigned, mayWork, func(t *Ticket) ([]Event, error) {
		if !t.Open() {
			return nil, closedErr(no)
		}
		if t.Community != staff.Community || t.Handler == staff.OpenID {
			return nil, UserError(EConflict, msgReassignSame, map[string]any{"No": no, "To": staff.Name, "Staff": true})
		}
		name = a.NameIn(t.Community)
		t.Status, t.Handler, t.HandlerName = StatusClaimed, staff.OpenID, staff.Name
		return []Event{s.event(a, at, t, EventReassigned, staff.Name)}, nil
	})
	if err != nil {
		return nil, err
	}
	extra := map[string]any{"By": name, "Signed": !t.Claimed.IsZero()}
	if err := s.tellStaff(ctx, t, []Grant{staff}, EventReassigned, msgPushReassignedTo, extra); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventReassigned, Actor: a, At: at})
}

// Note adds a note for colleagues, never shown to the resident.
func (s *TicketService) Note(ctx context.Context, a Actor, at time.Time, no, text string) (*Ticket, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, UserError(EInvalid, msgUsageNote, nil)
	}
	before, t, err := s.update(ctx, a, at, no, EventNote, mayWork, func(t *Ticket) ([]Event, error) {
		ev := s.event(a, at, t, EventNote, text)
		ev.Private = true
		return []Event{ev}, nil
	})
	if err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventNote, Actor: a, At: at})
}

// Escalate (问题追踪): the community cannot solve it; the district admins (but the
// actor) are told, how many is told. With no admin bound at all, the community's
// other staff are told instead (desk is how many), so that it reaches a person.
func (s *TicketService) Escalate(ctx context.Context, a Actor, at time.Time, no, reason string) (t *Ticket, told, desk int, err error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, 0, 0, UserError(EInvalid, msgUsageEscalate, nil)
	}
	var name string
	before, t, err := s.update(ctx, a, at, no, EventEscalated, mayWork, func(t *Ticket) ([]Event, error) {
		if !t.Open() {
			return nil, closedErr(no)
		}
		name = a.NameIn(t.Community)
		t.Escalated = true
		return []Event{s.event(a, at, t, EventEscalated, reason)}, nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	to, fellBack, err := s.escalationTo(ctx, RoleAdmin, t.Community)
	if err != nil {
		return nil, 0, 0, err
	}
	to = slices.DeleteFunc(to, func(g Grant) bool { return g.OpenID == a.ID })
	if err := s.tellStaff(ctx, t, to, EventEscalated, msgPushEscalated, map[string]any{"By": name, "Reason": reason, "FallBack": fellBack}); err != nil {
		return nil, 0, 0, err
	}
	if fellBack {
		desk = len(to)
	} else {
		told = len(to)
	}
	return t, told, desk, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventEscalated, Actor: a, At: at})
}

// Close closes a ticket with a result; its reminders go, the resident gets the
// result and is asked to rate. Closing an unclaimed ticket signs for it too:
// whoever closes it handled it.
func (s *TicketService) Close(ctx context.Context, a Actor, at time.Time, no, result string) (*Ticket, error) {
	result = strings.TrimSpace(result)
	if result == "" {
		return nil, UserError(EInvalid, msgUsageClose, nil)
	}
	before, t, err := s.update(ctx, a, at, no, EventClosed, mayWork, func(t *Ticket) ([]Event, error) {
		if !t.Open() {
			return nil, closedErr(no)
		}
		name := a.NameIn(t.Community)
		if t.Handler == "" && a.Kind != ActorSystem && a.Kind != ActorAPI {
			t.Handler, t.HandlerName = a.ID, name
		}
		if t.Claimed.IsZero() {
			t.Claimed = at
		}
		t.Status, t.Closed, t.Result = StatusClosed, at, result
		return []Event{s.event(a, at, t, EventClosed, result)}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.cancelDeadlines(ctx, no); err != nil {
		return nil, err
	}
	if _, err := s.tellResident(ctx, a, t, EventClosed, s.Catalog.T(msgPushClosed, s.View(t))); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventClosed, Actor: a, At: at})
}

// AddInfo puts what the resident added in the timeline (photos on the ticket too)
// and tells whoever has the ticket, or the desk.
func (s *TicketService) AddInfo(ctx context.Context, a Actor, at time.Time, no, text string, photos []string) (*Ticket, error) {
	if len([]rune(text)) > MaxTicketText {
		return nil, UserError(EInvalid, msgBadDescriptionLen, map[string]int{"Max": MaxTicketText})
	}
	before, t, err := s.update(ctx, a, at, no, EventAdded, maySee, func(t *Ticket) ([]Event, error) {
		if !t.Open() {
			return nil, UserError(EConflict, msgAddClosed, map[string]string{"No": no})
		}
		body := strings.TrimSpace(strings.Join(append([]string{text}, photos...), "\n"))
		if !markAdded(t, a, at, body) {
			return nil, errAddedAlready
		}
		t.Photos = append(t.Photos, photos...)
		return []Event{s.event(a, at, t, EventAdded, body)}, nil
	})
	t, repeat, goOn, err := s.addition(ctx, no, t, err)
	if err != nil || !goOn {
		return t, err
	}
	to, err := s.handlerOrDesk(ctx, t)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{"Added": text, "AddedPhotos": len(photos)}
	if err := s.tellStaff(ctx, t, to, EventAdded, msgPushAdded, extra); err != nil {
		return nil, err
	}
	if repeat {
		return t, nil
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventAdded, Actor: a, At: at})
}

// errAddedAlready is what an addition's update says when the same person added the
// same words within DefaultRepeatWindow: the first was written, and its answer was
// lost or the resident sent it again.
var errAddedAlready = errors.New("added already")

// markAdded marks t as added to by a now with body, unless the same was added by a
// within DefaultRepeatWindow (false: nothing to add).
func markAdded(t *Ticket, a Actor, at time.Time, body string) bool {
	sum := sha256.Sum256([]byte(a.EventActor() + "\x00" + body))
	m := AddMark{By: a.EventActor(), Sum: hex.EncodeToString(sum[:8]), At: at, Version: t.Version + 1}
	if p := t.Added; p != nil && p.By == m.By && p.Sum == m.Sum && at.Sub(p.At) >= 0 && at.Sub(p.At) < DefaultRepeatWindow {
		return false
	}
	t.Added = &m
	return true
}

// addition is what an addition's update came to: the ticket to go on with, whether
// it was the same words sent again, and whether its pushes are still to go. Sent
// again while nothing else has happened to the ticket, they go again (under their
// fixed IDs, so a push lost with the first try goes once and none twice); after
// something else, the staff have seen the ticket since, and nothing is left to do.
func (s *TicketService) addition(ctx context.Context, no string, t *Ticket, err error) (_ *Ticket, repeat, goOn bool, _ error) {
	if !errors.Is(err, errAddedAlready) {
		return t, false, err == nil, err
	}
	if t, err = s.Tickets.Ticket(ctx, no); err != nil {
		return nil, true, false, err
	}
	return t, true, t.Added != nil && t.Added.Version == t.Version, nil
}

// NudgeEvery is how often a resident may 催办 one ticket: a second nudge within the
// hour would only repeat the first to the same person, who has not had time to act.
const NudgeEvery = time.Hour

// NudgeResult says whom a 催办 reached.
type NudgeResult struct {
	Ticket *Ticket
	// Handler is true when the ticket's handler was told; otherwise the community's
	// staff (on duty first) were, as nobody has signed for it yet.
	Handler bool
	Told    int
}

// Nudge is the resident's 催办 of their open ticket: it goes on the timeline and the
// handler (or, before anyone signs for it, the community's staff, on duty first) is
// pushed a reminder. A ticket may be nudged once per NudgeEvery; a sooner one is
// refused with the time the next may be sent. Only the resident who brought it may.
func (s *TicketService) Nudge(ctx context.Context, a Actor, at time.Time, no string) (NudgeResult, error) {
	if a.Kind != ActorResident {
		return NudgeResult{}, NotFound(no)
	}
	before, t, err := s.update(ctx, a, at, no, EventNudged, maySee, func(t *Ticket) ([]Event, error) {
		switch {
		case !t.Open():
			return nil, closedErr(no)
		case !t.Nudged.IsZero() && at.Sub(t.Nudged) < NudgeEvery:
			next := t.Nudged.Add(NudgeEvery)
			return nil, UserError(ERateLimited, msgNudgeTooSoon, map[string]string{"No": no, "Next": When(s.Catalog, next)})
		}
		t.Nudged = at
		return []Event{s.event(a, at, t, EventNudged, "")}, nil
	})
	if err != nil {
		return NudgeResult{}, err
	}
	to, err := s.handlerOrDesk(ctx, t)
	if err != nil {
		return NudgeResult{}, err
	}
	waited := int(at.Sub(t.Created).Hours() / 24)
	if err := s.tellStaff(ctx, t, to, EventNudged, msgPushNudged, map[string]any{"Days": waited}); err != nil {
		return NudgeResult{}, err
	}
	res := NudgeResult{Ticket: t, Handler: t.Handler != "", Told: len(to)}
	return res, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventNudged, Actor: a, At: at})
}

// RateResult says what a rating did.
type RateResult struct {
	Ticket *Ticket
	// Reopened: the first 不满意 reopened the ticket rather than stay a rating.
	Reopened bool
	// Secretaries is how many of the community's secretaries were told of a 不满意
	// (0 when none is bound: its staff were told instead).
	Secretaries int
}

// Rate records the resident's rating of their closed ticket. The first 不满意 does
// not stay a rating: it reopens the ticket (same handler, a new resolve deadline,
// flagged) and the resident rates again once it is closed again, so the report
// counters hold each ticket's final rating and the reopen counts in "reopened". A
// 不满意 after a reopen is final: recorded and flagged for the secretary. Either way
// the secretaries and the handler are told.
func (s *TicketService) Rate(ctx context.Context, a Actor, at time.Time, no string, rating Rating, reason string) (RateResult, error) {
	if a.Kind != ActorResident {
		return RateResult{}, NotFound(no)
	}
	reason = strings.TrimSpace(reason)
	// The timeline is read by people (详情, the register): the rating in words.
	ratingText := s.Catalog.T(msgRatingEvent, map[string]string{"Rating": s.Catalog.T(RatingName(rating), nil), "Reason": reason})
	var reopened bool
	before, t, err := s.update(ctx, a, at, no, EventRated, maySee, func(t *Ticket) ([]Event, error) {
		reopened = false
		data := map[string]string{"No": no}
		switch {
		case t.Status != StatusClosed:
			return nil, UserError(EConflict, msgRateNotClosed, data)
		case t.Rating != "":
			return nil, UserError(EConflict, msgRateAlready, data)
		}
		evs := []Event{s.event(a, at, t, EventRated, ratingText)}
		if rating != RatingUnsatisfied {
			t.Rating, t.RatingNote = rating, reason
			return evs, nil
		}
		t.Flagged = true
		if t.Reopened > 0 {
			t.Rating, t.RatingNote = rating, reason
			return evs, nil
		}
		reopened = true
		return append(evs, s.reopen(a, at, t, reason)), nil
	})
	if err != nil {
		return RateResult{}, err
	}
	res := RateResult{Ticket: t, Reopened: reopened}
	if rating != RatingUnsatisfied {
		return res, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventRated, Actor: a, At: at})
	}
	to, secs, err := s.secretaryAndHandler(ctx, t)
	if err != nil {
		return RateResult{}, err
	}
	res.Secretaries = secs
	extra := map[string]any{"Reason": reason, "FallBack": secs == 0}
	kind, key := EventRated, msgPushUnsatisfied
	if reopened {
		if err := s.Reminders.Schedule(ctx, s.deadlines(t, at)...); err != nil {
			return RateResult{}, err
		}
		kind, key = EventReopened, msgPushReopened
	}
	if err := s.tellStaff(ctx, t, to, kind, key, extra); err != nil {
		return RateResult{}, err
	}
	return res, s.changed(ctx, TicketChange{Before: before, After: t, Event: kind, Actor: a, At: at})
}

// reopen puts a closed ticket back in work: with its handler when it had one, a new
// resolve deadline, flagged.
func (s *TicketService) reopen(a Actor, at time.Time, t *Ticket, reason string) Event {
	cat, _ := s.Category(t.Category)
	t.Reopened++
	t.Flagged = true
	t.Status, t.Closed = StatusClaimed, time.Time{}
	if t.Handler == "" {
		t.Status = StatusNew
	}
	t.DueBy = s.Calendar.AddWorkingDays(at, cat.ResolveDays)
	return s.event(a, at, t, EventReopened, reason)
}

// Reopen puts a closed ticket back in work on the desk's own decision (the resident
// reopens with 不满意, see Rate): staff of its community may, the resident may not.
// The secretaries and the handler are told.
func (s *TicketService) Reopen(ctx context.Context, a Actor, at time.Time, no, reason string) (*Ticket, error) {
	before, t, err := s.update(ctx, a, at, no, EventReopened, mayWork, func(t *Ticket) ([]Event, error) {
		if t.Open() {
			return nil, UserError(EConflict, msgRateNotClosed, map[string]string{"No": no})
		}
		// The rating it had was of the closing that no longer stands.
		t.Rating, t.RatingNote = "", ""
		return []Event{s.reopen(a, at, t, strings.TrimSpace(reason))}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Reminders.Schedule(ctx, s.deadlines(t, at)...); err != nil {
		return nil, err
	}
	to, secs, err := s.secretaryAndHandler(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := s.tellStaff(ctx, t, to, EventReopened, msgPushReopened, map[string]any{"Reason": reason, "FallBack": secs == 0}); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventReopened, Actor: a, At: at})
}

// Warn is a deadline reminder come due: it warns who the level says (the handler,
// the desk, the secretary, the district), unless the stage is done or the deadline
// was superseded. From the secretary's level on the ticket is flagged.
func (s *TicketService) Warn(ctx context.Context, a Actor, at time.Time, p DeadlineDue) error {
	if a.Kind != ActorSystem {
		return Errorf(EForbidden, "tickets: only the system warns")
	}
	t, err := s.Tickets.Ticket(ctx, p.No)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !t.Open() || !t.DueBy.Equal(p.DueBy) || (p.Stage == StageSign && !t.Claimed.IsZero()) {
		return nil
	}
	var to []Grant
	var key MsgKey
	var fellBack bool
	switch {
	case p.Level == LevelSecretary:
		to, fellBack, err = s.escalationTo(ctx, RoleSecretary, t.Community)
		key = msgWarnSecretary
	case p.Level == LevelDistrict:
		to, fellBack, err = s.escalationTo(ctx, RoleAdmin, t.Community)
		key = msgWarnDistrict
	case p.Stage == StageSign:
		to, err = s.onDutyFirst(ctx, t.Community)
		key = msgWarnSignRed
	default:
		to, err = s.handlerOrDesk(ctx, t)
		key = msgWarnYellow
		if p.Level == LevelRed {
			key = msgWarnRed
		}
	}
	if err != nil {
		return err
	}
	before, t, err := s.update(ctx, a, at, p.No, EventWarned, maySee, func(t *Ticket) ([]Event, error) {
		if p.Level == LevelSecretary || p.Level == LevelDistrict {
			t.Flagged = true
		}
		return []Event{s.event(a, at, t, EventWarned, p.Stage+":"+p.Level)}, nil
	})
	if err != nil {
		return err
	}
	if err := s.tellStaff(ctx, t, to, EventWarned, key, map[string]any{"FallBack": fellBack}); err != nil {
		return err
	}
	return s.changed(ctx, TicketChange{Before: before, After: t, Event: EventWarned, Actor: a, At: at})
}

// AutoAssign gives a ticket nobody claimed in time to the next staff member in turn
// (those on duty first). Assigned is not signed for: the assignee still claims it,
// and the sign-for deadline runs until they do. With nobody to assign to, the
// sign-for reminders take it up the chain.
func (s *TicketService) AutoAssign(ctx context.Context, a Actor, at time.Time, no string) error {
	if a.Kind != ActorSystem {
		return Errorf(EForbidden, "tickets: only the system assigns in turn")
	}
	t, err := s.Tickets.Ticket(ctx, no)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil || t.Status != StatusNew {
		return err
	}
	staff, err := s.onDutyFirst(ctx, t.Community)
	if err != nil || len(staff) == 0 {
		return err
	}
	n, err := s.Directory.NextInTurn(ctx, t.Community)
	if err != nil {
		return err
	}
	g := staff[int(n-1)%len(staff)]
	before, t, err := s.update(ctx, a, at, no, EventAssigned, maySee, func(t *Ticket) ([]Event, error) {
		if t.Status != StatusNew {
			return nil, Errorf(EConflict, "claimed meanwhile")
		}
		t.Status, t.Handler, t.HandlerName = StatusClaimed, g.OpenID, g.Name
		return []Event{{At: at, Actor: a.EventActor(), Kind: EventAssigned, Name: g.Name, Text: g.OpenID}}, nil
	})
	if ErrorCode(err) == EConflict {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.tellStaff(ctx, t, []Grant{g}, EventAssigned, msgPushAutoAssigned, nil); err != nil {
		return err
	}
	return s.changed(ctx, TicketChange{Before: before, After: t, Event: EventAssigned, Actor: a, At: at})
}

// DailyDigest tells each staff member, on working days, what waits on their desk:
// the open requests of their community and how many are overdue. The push ids carry
// the date, so a second run that day sends nothing twice.
func (s *TicketService) DailyDigest(ctx context.Context, at time.Time) error {
	if !s.Calendar.IsWorkday(at) {
		return nil
	}
	day := at.In(chinaTime).Format("2006-01-02")
	for _, c := range s.Communities {
		queue, err := s.Tickets.Queue(ctx, c.Code, 1000)
		if err != nil {
			return err
		}
		if len(queue) == 0 {
			continue
		}
		overdue, unclaimed := 0, 0
		for _, t := range queue {
			if s.Colour(t, at) == ColourRed {
				overdue++
			}
			if t.Handler == "" {
				unclaimed++
			}
		}
		staff, err := s.StaffOf(ctx, c.Code)
		if err != nil {
			return err
		}
		text := s.Catalog.T(msgPushDigest, map[string]any{"Community": c.Name, "Open": len(queue), "Overdue": overdue, "Unclaimed": unclaimed})
		for _, g := range staff {
			err := s.Pusher.Push(ctx, Push{ID: DigestPushID(day, c.Code, g.OpenID), To: g.OpenID,
				Kind: PushTicketAlert, Text: text, Fields: map[string]string{"text": text}, Community: c.Code})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Colour is how a deadline stands.
type Colour string

const (
	ColourGreen  Colour = "green"
	ColourYellow Colour = "yellow"
	ColourRed    Colour = "red"
)

// Colour is the deadline colour of an open ticket at now.
func (s *TicketService) Colour(t *Ticket, now time.Time) Colour {
	cat, _ := s.Category(t.Category)
	switch {
	case now.After(t.DueBy), t.Claimed.IsZero() && now.After(t.SignBy):
		return ColourRed
	case now.After(s.yellowAt(t.Created, t.DueBy, cat.ResolveDays)):
		return ColourYellow
	}
	return ColourGreen
}

// yellowAt is the end of the working day before due, or half-way for short limits.
func (s *TicketService) yellowAt(from, due time.Time, days int) time.Time {
	if days >= 2 {
		return s.Calendar.AddWorkingDays(from, days-1)
	}
	return from.Add(due.Sub(from) / 2)
}

// deadlines are t's reminders for the due set (scheduling moves any it had): a yellow
// warning to the handler the working day before, a red one at the deadline, the
// community secretary the next working day, the district the day after; for an
// unclaimed ticket the sign-for deadline too.
func (s *TicketService) deadlines(t *Ticket, from time.Time) []Reminder {
	cat, _ := s.Category(t.Category)
	type row struct {
		stage, level string
		at           time.Time
	}
	var rows []row
	if t.Claimed.IsZero() {
		rows = append(rows,
			row{StageSign, LevelRed, t.SignBy},
			row{StageSign, LevelSecretary, s.Calendar.AddWorkingDays(t.SignBy, 1)},
		)
	}
	rows = append(rows,
		row{StageResolve, LevelYellow, s.yellowAt(from, t.DueBy, cat.ResolveDays)},
		row{StageResolve, LevelRed, t.DueBy},
		row{StageResolve, LevelSecretary, s.Calendar.AddWorkingDays(t.DueBy, 1)},
		row{StageResolve, LevelDistrict, s.Calendar.AddWorkingDays(t.DueBy, 2)},
	)
	rs := make([]Reminder, len(rows))
	for i, r := range rows {
		payload, _ := json.Marshal(DeadlineDue{No: t.No, Stage: r.stage, Level: r.level, DueBy: t.DueBy})
		rs[i] = Reminder{ID: TicketReminderID(t.No, r.stage+":"+r.level), Kind: ReminderDeadline, Due: r.at, Payload: payload}
	}
	return rs
}

// cancelDeadlines removes what is left of a closed ticket's reminders.
func (s *TicketService) cancelDeadlines(ctx context.Context, no string) error {
	ids := []string{TicketReminderID(no, "assign")}
	for _, stage := range []string{StageSign, StageResolve} {
		for _, level := range []string{LevelYellow, LevelRed, LevelSecretary, LevelDistrict} {
			ids = append(ids, TicketReminderID(no, stage+":"+level))
		}
	}
	return s.Reminders.Cancel(ctx, ids...)
}

// autoAssign is the reminder that assigns t round-robin if nobody claims it in time.
func (s *TicketService) autoAssign(t *Ticket, from time.Time) Reminder {
	payload, _ := json.Marshal(DeadlineDue{No: t.No})
	return Reminder{ID: TicketReminderID(t.No, "assign"), Kind: ReminderAutoAssign, Due: from.Add(s.AutoAssignAfter), Payload: payload}
}
