package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PrivacyStore is what the data-protection rules need of the store.
type PrivacyStore interface {
	Ticket(ctx context.Context, no string) (*Ticket, error)
	Timeline(ctx context.Context, no string) ([]Event, error)
	ByResident(ctx context.Context, openid string, limit int) ([]*Ticket, error)
	EachTicket(ctx context.Context, fn func(t *Ticket) error) error
	Profile(ctx context.Context, openid string) (Profile, error)
	Grants(ctx context.Context, openid string) ([]Grant, error)
	// EraseTicket blanks a ticket's personal data and returns it as it was.
	EraseTicket(ctx context.Context, no string, at time.Time) (*Ticket, error)
	// Scrub removes every other trace of ids (and of texts in caches and queues),
	// returning the keys that still hold any of them.
	Scrub(ctx context.Context, ids, texts []string) ([]string, error)
	// TicketOfKey is the ticket a key left by Scrub is the record of.
	TicketOfKey(key string) (string, bool)
	AllVisits(ctx context.Context) ([]*Visit, error)
	// EraseVisit blanks a visit task's personal data and returns it as it was.
	EraseVisit(ctx context.Context, no string, at time.Time) (*Visit, error)
}

// AttachmentEraser deletes kept attachments (bot/attach's Keeper).
type AttachmentEraser interface {
	// Delete removes the attachment ref names; refs it does not keep are ignored.
	Delete(ctx context.Context, ref string) error
	// DeleteOwner removes every attachment a person sent.
	DeleteOwner(ctx context.Context, openid string) (int, error)
	// Expire removes the attachments kept since before t.
	Expire(ctx context.Context, before time.Time) (int, error)
}

// PrivacyService holds the rules of erasing personal data: on a resident's request
// (forget) and after the retention (expire). Both keep the anonymous counts: the
// report's counters are never touched, and tickets stay with their category,
// community, dates, status and rating.
type PrivacyService struct {
	Store       PrivacyStore
	Audit       AuditLog
	Names       Names
	Attachments AttachmentEraser // nil: none kept
	// Retention is how long a closed ticket keeps its personal data (0: forever).
	Retention time.Duration
}

// Forgotten is what Forget did.
type Forgotten struct {
	Person      string   // the person's name in logs and audit lines (Names.Of)
	Tickets     []string // the tickets erased
	Attachments int      // attachments deleted
	Left        []string // keys that still mention them (none, unless something new keeps them)
}

// Forget erases a resident's personal data: target is their openid, or the number
// of one of their tickets (a caller without WeChat: that ticket and every trace of
// its number). Every ticket of theirs is erased, then every other trace of their
// openid and phone number, and of what they wrote in caches and queues; an audit
// line records each ticket. Only an operator (the command line) or the system may.
func (s *PrivacyService) Forget(ctx context.Context, a Actor, at time.Time, target string) (Forgotten, error) {
	if a.Kind != ActorSystem {
		return Forgotten{}, Errorf(EForbidden, "privacy: only an operator may erase a resident")
	}
	target = strings.TrimSpace(target)
	if target == "" {
		return Forgotten{}, Errorf(EInvalid, "privacy: whom to forget: an openid or a ticket number")
	}
	var openid string
	phones := []string{}
	var tickets []*Ticket
	if isNumber(target) {
		t, err := s.Store.Ticket(ctx, target)
		if err != nil {
			return Forgotten{}, err
		}
		openid = t.OpenID
		tickets = append(tickets, t)
		phones = append(phones, t.Phone)
	} else {
		openid = target
	}
	var texts, names []string
	if openid != "" {
		gs, err := s.Store.Grants(ctx, openid)
		if err != nil {
			return Forgotten{}, err
		}
		if len(gs) > 0 {
			return Forgotten{}, Errorf(EConflict, "privacy: this person holds %d role(s) (staff, party member, …): revoke them first (minyuan roles revoke)", len(gs))
		}
		p, err := s.Store.Profile(ctx, openid)
		if err != nil && ErrorCode(err) != ENotFound {
			return Forgotten{}, err
		}
		phones = append(phones, p.Phone)
		names = append(names, p.Name)
		texts = append(texts, p.Address)
		mine, err := s.Store.ByResident(ctx, openid, 100000)
		if err != nil {
			return Forgotten{}, err
		}
		for _, t := range mine {
			if !slices.ContainsFunc(tickets, func(x *Ticket) bool { return x.No == t.No }) {
				tickets = append(tickets, t)
			}
		}
	}
	out := Forgotten{Person: s.Names.Of(openid)}
	if openid == "" {
		out.Person = "caller:" + s.Names.OfRecipient(Recipient(target))
	}
	erase := func(no string) error {
		evs, err := s.Store.Timeline(ctx, no)
		if err != nil {
			return err
		}
		before, err := s.Store.EraseTicket(ctx, no, at)
		if err != nil {
			return err
		}
		phones = append(phones, before.Phone)
		names = append(names, before.Name)
		texts = append(texts, before.Description, before.RatingNote, before.Result)
		for _, ev := range evs {
			if ev.Actor == openid || (openid == "" && ev.Kind == EventCreated) {
				texts = append(texts, ev.Text)
			}
		}
		n, err := s.deleteAttachments(ctx, before.Attachments())
		out.Attachments += n
		if err != nil {
			return err
		}
		out.Tickets = append(out.Tickets, no)
		return s.Audit.Audit(ctx, AuditEntry{At: at, Actor: a.EventActor(), Action: AuditForget, Ticket: no,
			Detail: "resident " + out.Person})
	}
	for _, t := range tickets {
		if err := erase(t.No); err != nil {
			return out, err
		}
	}
	if openid != "" && s.Attachments != nil {
		// What they sent outside any ticket too (a voice message, a photo in a relay).
		n, err := s.Attachments.DeleteOwner(ctx, openid)
		out.Attachments += n
		if err != nil {
			return out, err
		}
	}
	ids := compact(append([]string{openid}, phones...), 1)
	for range 2 {
		left, err := s.Store.Scrub(ctx, ids, append(compact(texts, 4), compact(names, 2)...))
		if err != nil {
			return out, err
		}
		out.Left = left
		// A ticket of theirs nobody linked to them (a call from their number).
		again := false
		for _, k := range left {
			if no, ok := s.Store.TicketOfKey(k); ok && !slices.Contains(out.Tickets, no) {
				if err := erase(no); err != nil {
					return out, err
				}
				again = true
			}
		}
		if !again {
			break
		}
	}
	if len(out.Tickets) == 0 {
		err := s.Audit.Audit(ctx, AuditEntry{At: at, Actor: a.EventActor(), Action: AuditForget, Detail: "resident " + out.Person})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Expire erases the personal data of every ticket closed longer ago than the
// retention, and of every visit task that ended longer ago (the person visited,
// why, the member's report), with an audit line each, and returns the tickets'
// numbers. The nightly job (leader only) and `minyuan resident expire` call it;
// erasing is idempotent.
func (s *PrivacyService) Expire(ctx context.Context, a Actor, at time.Time) ([]string, error) {
	if s.Retention <= 0 {
		return nil, nil
	}
	cutoff := at.Add(-s.Retention)
	var due []string
	err := s.Store.EachTicket(ctx, func(t *Ticket) error {
		if t.Status == StatusClosed && t.Erased.IsZero() && t.Closed.Before(cutoff) {
			due = append(due, t.No)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.Attachments != nil {
		if _, err := s.Attachments.Expire(ctx, cutoff); err != nil {
			return nil, err
		}
	}
	for _, no := range due {
		before, err := s.Store.EraseTicket(ctx, no, at)
		if err != nil {
			return nil, err
		}
		n, err := s.deleteAttachments(ctx, before.Attachments())
		if err != nil {
			return nil, err
		}
		err = s.Audit.Audit(ctx, AuditEntry{At: at, Actor: a.EventActor(), Action: AuditExpire, Ticket: no,
			Detail: fmt.Sprintf("closed %s; retention %d days; %d attachment(s)", before.Closed.In(chinaTime).Format(time.DateOnly),
				int(s.Retention.Hours()/24), n)})
		if err != nil {
			return nil, err
		}
	}
	return due, s.expireVisits(ctx, a, at, cutoff)
}

// expireVisits erases the visit tasks that ended before cutoff.
func (s *PrivacyService) expireVisits(ctx context.Context, a Actor, at, cutoff time.Time) error {
	vs, err := s.Store.AllVisits(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Open() || !v.Erased.IsZero() || !v.Ended().Before(cutoff) {
			continue
		}
		before, err := s.Store.EraseVisit(ctx, v.No, at)
		if err != nil {
			return err
		}
		n, err := s.deleteAttachments(ctx, before.Photos)
		if err != nil {
			return err
		}
		err = s.Audit.Audit(ctx, AuditEntry{At: at, Actor: a.EventActor(), Action: AuditExpire,
			Detail: fmt.Sprintf("visit task %s ended %s; retention %d days; %d attachment(s)", v.No,
				v.Ended().In(chinaTime).Format(time.DateOnly), int(s.Retention.Hours()/24), n)})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *PrivacyService) deleteAttachments(ctx context.Context, refs []string) (int, error) {
	if s.Attachments == nil {
		return 0, nil
	}
	for _, ref := range refs {
		if err := s.Attachments.Delete(ctx, ref); err != nil {
			return 0, err
		}
	}
	return len(refs), nil
}

// compact drops duplicates and strings shorter than min runes.
func compact(ss []string, min int) []string {
	var out []string
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) >= min && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && !strings.HasPrefix(s, "+")
}
