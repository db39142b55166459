package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Call-back tasks (回电): someone Minyuan could not reach in WeChat, or who called and
// nobody answered, or who waits for a voice code, to be phoned by the desk. Staff
// see them in 待办 and 详情, and close them with 回电 <n> <result>; a call that does
// not get through is tried again later, and after three such tries the community
// secretary is told.

// Why a call-back task was made. Tasks from the delivery ladder carry the ladder's
// own reason (unsubscribed, no_template, ...).
const (
	CallbackMissedCall = "missed_call" // a hotline call nobody answered
	CallbackVoiceCode  = "voice_code"  // read a resident the code that links their number
	CallbackReply      = "reply"       // a reply to a caller who has no WeChat link
)

// CallbackResult is what came of one call.
type CallbackResult string

const (
	CallbackReached     CallbackResult = "reached"
	CallbackNoAnswer    CallbackResult = "no_answer"
	CallbackWrongNumber CallbackResult = "wrong_number"
	// CallbackResent: no call was needed, the resident followed again and the
	// message went to them in WeChat.
	CallbackResent CallbackResult = "resent"
)

// pushCallbackPrefix starts the ID of a task the delivery ladder made of a push.
const pushCallbackPrefix = "push:"

// CallbackStatus is whether the task still waits.
type CallbackStatus string

const (
	CallbackOpen CallbackStatus = "open"
	CallbackDone CallbackStatus = "done"
)

// CallbackAttempt is one call the desk made.
type CallbackAttempt struct {
	At     time.Time      `json:"at"`
	By     string         `json:"by"`
	Name   string         `json:"name,omitempty"`
	Result CallbackResult `json:"result"`
	Note   string         `json:"note,omitempty"`
}

// Callback is a call-back task for staff.
type Callback struct {
	// ID makes creation idempotent: the same ID never makes two tasks ("push:<id>"
	// from the delivery ladder, "call:<callId>" for a missed call).
	ID string `json:"id"`
	// No is the short number staff type: 回电 <no>.
	No        string `json:"no,omitempty"`
	OpenID    string `json:"openid,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Community string `json:"community,omitempty"`
	Ref       string `json:"ref,omitempty"` // the ticket it is about
	Text      string `json:"text"`          // what to tell them
	Reason    string `json:"reason"`
	CallID    string `json:"call_id,omitempty"`
	// Code is the voice code to read out (reason voice_code).
	Code      string            `json:"code,omitempty"`
	Created   time.Time         `json:"created"`
	Due       time.Time         `json:"due,omitzero"` // when to call (again)
	Status    CallbackStatus    `json:"status,omitempty"`
	Attempts  []CallbackAttempt `json:"attempts,omitempty"`
	Escalated bool              `json:"escalated,omitempty"`
	// EscalatedTo is who was told when it escalated: RoleSecretary, or RoleStaff (the
	// community's staff) when no secretary was bound. Empty in tasks from before it
	// was kept: their secretary was told, if bound.
	EscalatedTo Role           `json:"escalated_to,omitempty"`
	Result      CallbackResult `json:"result,omitempty"`
	Closed      time.Time      `json:"closed,omitzero"`
	Version     int            `json:"version,omitempty"`
}

// Open reports whether the task still waits for a call.
func (c *Callback) Open() bool { return c.Status != CallbackDone }

// Failed counts the calls that did not get through.
func (c *Callback) Failed() int {
	n := 0
	for _, a := range c.Attempts {
		if a.Result == CallbackNoAnswer {
			n++
		}
	}
	return n
}

// CallbackStore keeps call-back tasks.
type CallbackStore interface {
	// CreateCallback numbers and stores c unless a task with c.ID exists, which is
	// returned instead (created false). It counts callback.created in c's community.
	CreateCallback(ctx context.Context, c *Callback) (out *Callback, created bool, err error)
	// Callback loads a task by number (an *Error with ENotFound when there is none).
	Callback(ctx context.Context, no string) (*Callback, error)
	// UpdateCallback changes a task atomically; the counters fn returns are added to
	// the task's community in the same write.
	UpdateCallback(ctx context.Context, no string, fn func(c *Callback) (map[Counter]int64, error)) (*Callback, error)
	// OpenCallbacks lists a community's open tasks, oldest first.
	OpenCallbacks(ctx context.Context, community string) ([]*Callback, error)
}

// CallbackNotifier tells people about tasks; the chat flows implement it (they know
// the words and who is on duty).
type CallbackNotifier interface {
	CallbackCreated(ctx context.Context, c *Callback) error
	CallbackDue(ctx context.Context, c *Callback) error
	CallbackEscalated(ctx context.Context, c *Callback) error
}

// CallbackDueKind is the reminder kind of a task waiting for its call.
const CallbackDueKind = "callback.due"

// CallbackDueID is the reminder of a task for its n-th try: one per try, so a
// reminder left from an earlier try does nothing.
func CallbackDueID(no string, try int) string { return fmt.Sprintf("cb:%s:due:%d", no, try) }

type callbackDue struct {
	No  string `json:"no"`
	Try int    `json:"try"`
}

// CallbackService holds the rules of call-back tasks.
type CallbackService struct {
	Store     CallbackStore
	Reminders Reminders
	Notify    CallbackNotifier
	// Profiles fills in the phone of a resident the delivery ladder could not reach;
	// Tickets, when the profile has none, the phone given on the ticket.
	Profiles Profiles
	Tickets  Tickets
	// Pusher sends a resident's undelivered messages again when they follow again.
	Pusher Pusher
	Clock  Clock
	// Retry is when a call that did not get through is tried again (default 2h).
	Retry time.Duration
	// MaxFailed tries that do not get through escalate to the secretary (default 3).
	MaxFailed int
	// Holders says whether a community has a secretary to escalate to; with none
	// (or no Holders) the community's staff are told instead.
	Holders RoleHolders
	// Community takes tasks that name none (the hotline's desk).
	Community string
}

func (s *CallbackService) retry() time.Duration {
	if s.Retry <= 0 {
		return 2 * time.Hour
	}
	return s.Retry
}

func (s *CallbackService) maxFailed() int {
	if s.MaxFailed <= 0 {
		return 3
	}
	return s.MaxFailed
}

// AddCallback records a task the delivery ladder made, now; it satisfies the
// ladder's interface. The same ID twice makes one task.
func (s *CallbackService) AddCallback(ctx context.Context, c Callback) error {
	_, _, err := s.Create(ctx, s.Clock.Now(), c)
	return err
}

// Create numbers and stores a task, schedules its reminder and tells the desk, once
// per ID: created is false when the task already existed.
func (s *CallbackService) Create(ctx context.Context, at time.Time, c Callback) (*Callback, bool, error) {
	if c.ID == "" {
		return nil, false, Errorf(EInvalid, "callback: needs an id")
	}
	if c.Community == "" {
		c.Community = s.Community
	}
	if c.Phone == "" && c.OpenID != "" && s.Profiles != nil {
		p, err := s.Profiles.Profile(ctx, c.OpenID)
		if err != nil {
			return nil, false, err
		}
		c.Phone = p.Phone
	}
	if c.Phone == "" && c.Ref != "" && s.Tickets != nil {
		t, err := s.Tickets.Ticket(ctx, c.Ref)
		if err != nil && ErrorCode(err) != ENotFound {
			return nil, false, err
		}
		if t != nil {
			c.Phone = t.Phone
		}
	}
	if c.Created.IsZero() {
		c.Created = at
	}
	if c.Due.IsZero() {
		c.Due = at
	}
	c.Status, c.Attempts, c.Escalated, c.Result = CallbackOpen, nil, false, ""
	out, created, err := s.Store.CreateCallback(ctx, &c)
	if err != nil || !created {
		return out, false, err
	}
	if err := s.schedule(ctx, out); err != nil {
		return out, true, err
	}
	if s.Notify != nil {
		if err := s.Notify.CallbackCreated(ctx, out); err != nil {
			return out, true, err
		}
	}
	return out, true, nil
}

func (s *CallbackService) schedule(ctx context.Context, c *Callback) error {
	if s.Reminders == nil {
		return nil
	}
	raw, _ := json.Marshal(callbackDue{No: c.No, Try: len(c.Attempts)})
	return s.Reminders.Schedule(ctx, Reminder{ID: CallbackDueID(c.No, len(c.Attempts)), Kind: CallbackDueKind, Due: c.Due, Payload: raw})
}

// mayCall: staff and hotline operators of the task's community.
func mayCall(a Actor, c *Callback) bool {
	return a.CanIn(RoleStaff, c.Community) || a.CanIn(RoleHotline, c.Community)
}

// Callback loads a task the actor may see; any other is not found.
func (s *CallbackService) Callback(ctx context.Context, actor Actor, no string) (*Callback, error) {
	c, err := s.Store.Callback(ctx, no)
	if err != nil {
		return nil, err
	}
	if !mayCall(actor, c) {
		return nil, Errorf(ENotFound, "callback %s", no)
	}
	return c, nil
}

// Open lists the open tasks of the communities the actor serves.
func (s *CallbackService) Open(ctx context.Context, actor Actor, communities []string) ([]*Callback, error) {
	var out []*Callback
	for _, code := range communities {
		cs, err := s.Store.OpenCallbacks(ctx, code)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if mayCall(actor, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// Attempt records one call of the desk: reached or wrong number closes the task; no
// answer sets the next try, and the third such try tells the secretary.
func (s *CallbackService) Attempt(ctx context.Context, actor Actor, at time.Time, no string, result CallbackResult, note string) (*Callback, error) {
	switch result {
	case CallbackReached, CallbackNoAnswer, CallbackWrongNumber:
	default:
		return nil, Errorf(EInvalid, "callback: result %q", result)
	}
	escalate := false
	escalateTo := RoleStaff
	if result == CallbackNoAnswer {
		// Whom a third failure would tell, asked before the write: the write
		// records it with the escalation, and the caller's answer says it.
		var err error
		if escalateTo, err = s.escalateTo(ctx, no); err != nil {
			return nil, err
		}
	}
	c, err := s.Store.UpdateCallback(ctx, no, func(c *Callback) (map[Counter]int64, error) {
		if !mayCall(actor, c) {
			return nil, Errorf(ENotFound, "callback %s", no)
		}
		if !c.Open() {
			return nil, Errorf(EConflict, "callback %s is closed", no)
		}
		c.Attempts = append(c.Attempts, CallbackAttempt{At: at, By: actor.ID, Name: actor.Name, Result: result, Note: note})
		if result != CallbackNoAnswer {
			c.Status, c.Result, c.Closed = CallbackDone, result, at
			return map[Counter]int64{CounterCallbackDone: 1}, nil
		}
		c.Due = at.Add(s.retry())
		if c.Failed() >= s.maxFailed() && !c.Escalated {
			c.Escalated, c.EscalatedTo, escalate = true, escalateTo, true
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	if s.Reminders != nil {
		if err := s.Reminders.Cancel(ctx, CallbackDueID(c.No, len(c.Attempts)-1)); err != nil {
			return c, err
		}
	}
	if c.Open() {
		if err := s.schedule(ctx, c); err != nil {
			return c, err
		}
	}
	if escalate && s.Notify != nil {
		if err := s.Notify.CallbackEscalated(ctx, c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// escalateTo is who hears of task no's failed calls: its community's secretaries,
// or, with none bound, its staff.
func (s *CallbackService) escalateTo(ctx context.Context, no string) (Role, error) {
	if s.Holders == nil {
		return RoleStaff, nil
	}
	c, err := s.Store.Callback(ctx, no)
	if err != nil {
		return "", err
	}
	secs, err := s.Holders.Holders(ctx, RoleSecretary, c.Community)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(secs, func(g Grant) bool { return g.Role == RoleSecretary && g.Community == c.Community }) {
		return RoleSecretary, nil
	}
	return RoleStaff, nil
}

// Due runs a task's reminder: the desk is reminded of a task still waiting for the
// try the reminder was made for.
func (s *CallbackService) Due(ctx context.Context, r Reminder) error {
	var p callbackDue
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return Errorf(EInvalid, "callback reminder %s: %v", r.ID, err)
	}
	c, err := s.Store.Callback(ctx, p.No)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.Open() || len(c.Attempts) != p.Try || s.Notify == nil {
		return nil
	}
	return s.Notify.CallbackDue(ctx, c)
}

// Close ends a task without a call (the resident got the message another way, or
// linked their number): nothing if it is closed already.
func (s *CallbackService) Close(ctx context.Context, at time.Time, no string, result CallbackResult) error {
	c, err := s.Store.UpdateCallback(ctx, no, func(c *Callback) (map[Counter]int64, error) {
		if !c.Open() {
			return nil, nil
		}
		c.Status, c.Result, c.Closed = CallbackDone, result, at
		return map[Counter]int64{CounterCallbackDone: 1}, nil
	})
	if err != nil {
		return err
	}
	if s.Reminders != nil {
		return s.Reminders.Cancel(ctx, CallbackDueID(c.No, len(c.Attempts)))
	}
	return nil
}

// Followed sends a resident who follows again what could not reach them while they
// did not (the tasks the delivery ladder made of their undelivered messages, in the
// order they were made), and closes those tasks: the desk need not phone. Should a
// message fail again, the ladder makes a new task of it. communities are where to
// look for the resident's tasks.
func (s *CallbackService) Followed(ctx context.Context, at time.Time, openid string, communities []string) (int, error) {
	if s.Pusher == nil || openid == "" {
		return 0, nil
	}
	var mine []*Callback
	for _, code := range communities {
		cs, err := s.Store.OpenCallbacks(ctx, code)
		if err != nil {
			return 0, err
		}
		for _, c := range cs {
			if c.OpenID == openid && strings.HasPrefix(c.ID, pushCallbackPrefix) && c.Text != "" {
				mine = append(mine, c)
			}
		}
	}
	slices.SortStableFunc(mine, func(a, b *Callback) int { return a.Created.Compare(b.Created) })
	for _, c := range mine {
		err := s.Pusher.Push(ctx, Push{
			// Once per task, however often the follow is handled.
			ID: "resent:" + c.No, To: openid, Kind: PushTicketUpdate, Text: c.Text,
			Fields:    map[string]string{"no": c.Ref, "text": c.Text},
			Important: true, Ref: c.Ref, Community: c.Community,
			// They have just followed: they are at their phone, whatever the hour.
			Urgent: true,
		})
		if err != nil {
			return 0, err
		}
		if err := s.Close(ctx, at, c.No, CallbackResent); err != nil {
			return 0, err
		}
	}
	return len(mine), nil
}
