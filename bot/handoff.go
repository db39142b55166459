package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// 转人工 (talk to a person): in service hours a resident's request goes to the staff
// member on duty in their community; if they do not accept (接入) within a few
// minutes, to the next on duty, then to any staff of the community; if nobody does,
// the resident is offered to leave a request with what they already typed. Outside
// hours they are told when the desk opens next and the hotline's number. An
// accepted request becomes a live relay on a ticket (the chat flow opens it).

// HandoffState is where a request to talk to a person is.
type HandoffState string

const (
	HandoffWaiting  HandoffState = "waiting"
	HandoffAccepted HandoffState = "accepted"
	HandoffNobody   HandoffState = "nobody"
)

// Handoff is one resident's request to talk to a person.
type Handoff struct {
	OpenID     string       `json:"openid"`
	Community  string       `json:"community"`
	Text       string       `json:"text,omitempty"` // what they typed with it, for a request
	Candidates []Grant      `json:"candidates"`     // whom to ask, in order
	Index      int          `json:"index"`          // who is asked now
	State      HandoffState `json:"state"`
	Started    time.Time    `json:"started"`
	Asked      time.Time    `json:"asked"`
	Staff      string       `json:"staff,omitempty"`  // who accepted
	Ticket     string       `json:"ticket,omitempty"` // the ticket the relay is kept on
}

// Asking is the staff member asked now.
func (h *Handoff) Asking() (Grant, bool) {
	if h.State != HandoffWaiting || h.Index >= len(h.Candidates) {
		return Grant{}, false
	}
	return h.Candidates[h.Index], true
}

// HandoffStore keeps requests to talk to a person.
type HandoffStore interface {
	// SaveHandoff stores h (by resident) and, while it waits, whom it is offered to.
	SaveHandoff(ctx context.Context, h *Handoff, ttl time.Duration) error
	Handoff(ctx context.Context, resident string) (*Handoff, bool, error)
	// OfferedTo is the resident whose request staff was asked to accept.
	OfferedTo(ctx context.Context, staff string) (string, bool, error)
}

// ServiceHours knows when the desk is open.
type ServiceHours interface {
	IsOpen(t time.Time) bool
	NextOpen(t time.Time) time.Time
}

// StaffDirectory finds the staff of a community and who is on duty.
type StaffDirectory interface {
	// Desk is a community's secretaries and staff (as Directory.Holders gives them,
	// in that order) and the openids on duty, read together in one round trip.
	Desk(ctx context.Context, community string) (secretaries, staff []Grant, onDuty []string, err error)
}

// HandoffNotifier tells people; the chat flows implement it.
type HandoffNotifier interface {
	// HandoffOffer asks staff to accept h.
	HandoffOffer(ctx context.Context, h *Handoff, staff Grant, within time.Duration) error
	// HandoffUnanswered tells the resident nobody accepted.
	HandoffUnanswered(ctx context.Context, h *Handoff) error
}

// HandoffNextKind is the reminder that moves a waiting request to the next person.
const HandoffNextKind = "handoff.next"

// HandoffNextID is the reminder of h's ask number index.
func HandoffNextID(resident string, started time.Time, index int) string {
	return fmt.Sprintf("handoff:%s:%d:%d", Recipient(resident), started.UnixMilli(), index)
}

type handoffNext struct {
	OpenID  string    `json:"openid"`
	Started time.Time `json:"started"`
	Index   int       `json:"index"`
}

// HandoffOutcome says what became of a request.
type HandoffOutcome struct {
	State    HandoffState
	Closed   bool      // outside service hours
	NextOpen time.Time // when the desk opens (Closed)
	Asked    Grant     // who was asked (Waiting)
	Minutes  int       // how long they have (Waiting)
	Already  bool      // the request was waiting already
}

// HandoffService holds the rules of 转人工.
type HandoffService struct {
	Store     HandoffStore
	Hours     ServiceHours
	Directory StaffDirectory
	Reminders Reminders
	Notify    HandoffNotifier
	// AcceptWithin is how long each person asked has to accept.
	AcceptWithin time.Duration
	// Tickets files the ticket an accepted request's conversation is kept on, in
	// Category.
	Tickets  *TicketService
	Category string
	// Profiles give the ticket the resident's name and phone.
	Profiles Profiles
}

func (s *HandoffService) within() time.Duration {
	if s.AcceptWithin <= 0 {
		return 3 * time.Minute
	}
	return s.AcceptWithin
}

// ttl keeps a request long enough for every candidate and the offer to leave a
// request afterwards.
func (s *HandoffService) ttl(h *Handoff) time.Duration {
	return time.Duration(len(h.Candidates)+1)*s.within() + time.Hour
}

// candidates: those on duty first, then the other staff (and secretaries) of the
// community, each once, by name.
func (s *HandoffService) candidates(ctx context.Context, community string) ([]Grant, error) {
	staff, duty, err := deskOf(ctx, s.Directory, community)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(staff, func(a, b Grant) int {
		ad, bd := slices.Contains(duty, a.OpenID), slices.Contains(duty, b.OpenID)
		switch {
		case ad && !bd:
			return -1
		case bd && !ad:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return staff, nil
}

// Request asks for a person on behalf of resident a in community.
func (s *HandoffService) Request(ctx context.Context, a Actor, at time.Time, community, text string) (HandoffOutcome, error) {
	if h, ok, err := s.Store.Handoff(ctx, a.ID); err != nil {
		return HandoffOutcome{}, err
	} else if ok && h.State == HandoffWaiting {
		g, _ := h.Asking()
		return HandoffOutcome{State: HandoffWaiting, Asked: g, Minutes: int(s.within().Minutes()), Already: true}, nil
	}
	h := &Handoff{OpenID: a.ID, Community: community, Text: text, Started: at, Asked: at}
	if !s.Hours.IsOpen(at) {
		h.State = HandoffNobody
		if err := s.Store.SaveHandoff(ctx, h, s.ttl(h)); err != nil {
			return HandoffOutcome{}, err
		}
		return HandoffOutcome{State: HandoffNobody, Closed: true, NextOpen: s.Hours.NextOpen(at)}, nil
	}
	cands, err := s.candidates(ctx, community)
	if err != nil {
		return HandoffOutcome{}, err
	}
	h.Candidates = cands
	if len(cands) == 0 {
		h.State = HandoffNobody
		return HandoffOutcome{State: HandoffNobody}, s.Store.SaveHandoff(ctx, h, s.ttl(h))
	}
	h.State = HandoffWaiting
	if err := s.ask(ctx, h); err != nil {
		return HandoffOutcome{}, err
	}
	return HandoffOutcome{State: HandoffWaiting, Asked: cands[0], Minutes: int(s.within().Minutes())}, nil
}

// ask offers h to its current candidate and sets the reminder to move on.
func (s *HandoffService) ask(ctx context.Context, h *Handoff) error {
	g, _ := h.Asking()
	if err := s.Store.SaveHandoff(ctx, h, s.ttl(h)); err != nil {
		return err
	}
	raw, _ := json.Marshal(handoffNext{OpenID: h.OpenID, Started: h.Started, Index: h.Index})
	if err := s.Reminders.Schedule(ctx, Reminder{ID: HandoffNextID(h.OpenID, h.Started, h.Index), Kind: HandoffNextKind,
		Due: h.Asked.Add(s.within()), Payload: raw}); err != nil {
		return err
	}
	return s.Notify.HandoffOffer(ctx, h, g, s.within())
}

// Next runs when the person asked did not accept in time: the next is asked, or the
// resident is told nobody could.
func (s *HandoffService) Next(ctx context.Context, at time.Time, r Reminder) error {
	var p handoffNext
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return Errorf(EInvalid, "handoff reminder %s: %v", r.ID, err)
	}
	h, ok, err := s.Store.Handoff(ctx, p.OpenID)
	if err != nil || !ok || h.State != HandoffWaiting || !h.Started.Equal(p.Started) || h.Index != p.Index {
		return err // accepted, cancelled or moved on meanwhile
	}
	h.Index++
	h.Asked = at
	if h.Index < len(h.Candidates) {
		return s.ask(ctx, h)
	}
	h.State = HandoffNobody
	if err := s.Store.SaveHandoff(ctx, h, s.ttl(h)); err != nil {
		return err
	}
	return s.Notify.HandoffUnanswered(ctx, h)
}

// Accept takes the request staff was asked to accept (or one they were asked
// before, still waiting). The conversation is kept on a new ticket of the
// resident's (what they typed, or subject when they typed nothing), filed and
// signed for by a; the caller opens the relay on it.
func (s *HandoffService) Accept(ctx context.Context, a Actor, at time.Time, subject string) (*Handoff, *Ticket, error) {
	resident, ok, err := s.Store.OfferedTo(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, Errorf(ENotFound, "handoff: nothing offered to %s", Recipient(a.ID))
	}
	h, ok, err := s.Store.Handoff(ctx, resident)
	if err != nil {
		return nil, nil, err
	}
	if !ok || h.State != HandoffWaiting {
		return nil, nil, Errorf(EConflict, "handoff: no longer waiting")
	}
	pos := slices.IndexFunc(h.Candidates, func(g Grant) bool { return g.OpenID == a.ID })
	if pos < 0 || pos > h.Index || !a.CanIn(RoleStaff, h.Community) {
		return nil, nil, Errorf(ENotFound, "handoff: not offered to %s", Recipient(a.ID))
	}
	if err := s.Reminders.Cancel(ctx, HandoffNextID(h.OpenID, h.Started, h.Index)); err != nil {
		return nil, nil, err
	}
	var t *Ticket
	if s.Tickets != nil {
		if t, err = s.file(ctx, a, at, h, subject); err != nil {
			return nil, nil, err
		}
		h.Ticket = t.No
	}
	h.State, h.Staff = HandoffAccepted, a.ID
	return h, t, s.Store.SaveHandoff(ctx, h, s.ttl(h))
}

// file files the ticket of accepted request h, signed for by a (idempotent on h).
func (s *HandoffService) file(ctx context.Context, a Actor, at time.Time, h *Handoff, subject string) (*Ticket, error) {
	desc := strings.TrimSpace(h.Text)
	if desc == "" {
		desc = subject
	}
	var p Profile
	if s.Profiles != nil {
		var err error
		if p, err = s.Profiles.Profile(ctx, h.OpenID); err != nil {
			return nil, err
		}
	}
	t, err := s.Tickets.Intake(ctx, a, at, NewTicket{
		Community: h.Community, Category: s.Category, Description: desc, Source: "wechat", OpenID: h.OpenID,
		Name: p.Name, Phone: p.Phone,
	}, fmt.Sprintf("handoff:%s:%d", Recipient(h.OpenID), h.Started.UnixMilli()))
	if err != nil {
		return nil, err
	}
	if t.Handler == "" || (t.Handler == a.ID && t.Claimed.IsZero()) {
		if t, err = s.Tickets.Claim(ctx, a, at, t.No); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Note keeps what a waiting resident types for whoever accepts (and for the
// request they may leave instead); ok is false when nothing waits.
func (s *HandoffService) Note(ctx context.Context, resident, text string) (ok bool, err error) {
	h, ok, err := s.Store.Handoff(ctx, resident)
	if err != nil || !ok || h.State != HandoffWaiting {
		return false, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return true, nil
	}
	joined := text
	if h.Text != "" {
		joined = h.Text + "\n" + text
	}
	if len([]rune(joined)) <= MaxTicketText {
		h.Text = joined
	}
	return true, s.Store.SaveHandoff(ctx, h, s.ttl(h))
}

// Pending is the resident's request, if any (to leave it as a request, or see that
// it still waits).
func (s *HandoffService) Pending(ctx context.Context, resident string) (*Handoff, bool, error) {
	return s.Store.Handoff(ctx, resident)
}

// Cancel drops a resident's request (they left a request instead, or gave up).
func (s *HandoffService) Cancel(ctx context.Context, resident string) error {
	h, ok, err := s.Store.Handoff(ctx, resident)
	if err != nil || !ok {
		return err
	}
	if h.State == HandoffWaiting {
		if err := s.Reminders.Cancel(ctx, HandoffNextID(h.OpenID, h.Started, h.Index)); err != nil {
			return err
		}
	}
	h.State, h.Candidates = HandoffAccepted, nil
	return s.Store.SaveHandoff(ctx, h, time.Minute)
}
