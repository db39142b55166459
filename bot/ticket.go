package bot

import (
	"context"
	"slices"
	"time"
)

// Status is where a ticket is in its lifecycle (受理 → 办理 → 办结).
type Status string

const (
	StatusNew     Status = "new"     // 待受理: waiting for a staff member to claim it
	StatusClaimed Status = "claimed" // 办理中: a handler has it
	StatusClosed  Status = "closed"  // 已办结: closed with a result
)

// Rating is a resident's satisfaction with a closed ticket.
type Rating string

const (
	RatingSatisfied   Rating = "satisfied"   // 满意
	RatingBasic       Rating = "basic"       // 基本满意
	RatingUnsatisfied Rating = "unsatisfied" // 不满意
)

// Urgency orders the queue.
type Urgency int

const (
	UrgencyHigh   Urgency = 0
	UrgencyNormal Urgency = 1
	UrgencyLow    Urgency = 2
)

// Category is a kind of request with its deadlines (in working days) and what it
// counts towards in the reports.
type Category struct {
	Code        string  `json:"code" yaml:"code"`
	Name        string  `json:"name" yaml:"name"`
	SignDays    int     `json:"sign_days" yaml:"sign_days"`       // to claim it (签收)
	ResolveDays int     `json:"resolve_days" yaml:"resolve_days"` // to close it (办结)
	Urgency     Urgency `json:"urgency" yaml:"urgency"`
	// Counts says which report figure a closed ticket of this category adds to:
	// "disputes" (矛盾纠纷调处), "hardships" (困难解决), "jobs" (就业安置), or "".
	Counts string `json:"counts,omitempty" yaml:"counts"`
	// Aliases are other words residents use for it (物业 for 物业维修): the form
	// accepts them.
	Aliases []string `json:"aliases,omitempty" yaml:"aliases"`
	// Hint follows the name in the list residents choose from (「水电、漏水、电梯」),
	// so that they recognise their case.
	Hint string `json:"hint,omitempty" yaml:"hint"`
	// Private categories (disputes, noise) show the resident's name and phone only to
	// the handler and the community's secretary, and the resident is told so.
	Private bool `json:"private,omitempty" yaml:"private"`
	// Care is illness or a death in the family: the resident hears a caring word
	// when filing and is not asked to rate the visit.
	Care bool `json:"care,omitempty" yaml:"care"`
}

// Ticket is one resident's request (民愿/诉求).
type Ticket struct {
	No          string   `json:"no"` // short, digits only: easy to type on a phone
	Community   string   `json:"community"`
	Category    string   `json:"category"`
	Urgency     Urgency  `json:"urgency"`
	Description string   `json:"description"`
	Photos      []string `json:"photos,omitempty"`
	// Voices are the voice messages without words the resident sent about it
	// (VoiceRef of each), kept like photos so that staff can hear them later.
	Voices      []string  `json:"voices,omitempty"`
	Source      string    `json:"source"`           // "wechat" or "hotline"
	OpenID      string    `json:"openid,omitempty"` // the resident, when known
	Name        string    `json:"name,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Status      Status    `json:"status"`
	Handler     string    `json:"handler,omitempty"` // openid of the staff member
	HandlerName string    `json:"handler_name,omitempty"`
	Created     time.Time `json:"created"`
	SignBy      time.Time `json:"sign_by"`
	DueBy       time.Time `json:"due_by"`
	Claimed     time.Time `json:"claimed,omitzero"`
	Responded   time.Time `json:"responded,omitzero"` // first reply to the resident
	Closed      time.Time `json:"closed,omitzero"`
	Result      string    `json:"result,omitempty"`
	Rating      Rating    `json:"rating,omitempty"`
	RatingNote  string    `json:"rating_note,omitempty"`
	Reopened    int       `json:"reopened,omitempty"` // times reopened after 不满意
	Flagged     bool      `json:"flagged,omitempty"`  // needs the secretary's attention
	Escalated   bool      `json:"escalated,omitempty"`
	// Nudged is the resident's latest 催办 (see TicketService.Nudge).
	Nudged time.Time `json:"nudged,omitzero"`
	// Added marks the latest 补充 or follow-up, so that the same words sent again
	// soon (after an answer was lost) are not added twice.
	Added *AddMark `json:"added,omitempty"`
	// Confidential (a counselling call to the hotline): only its handler reads the
	// contents; reports count it and show nothing of it.
	Confidential bool `json:"confidential,omitempty"`
	Version      int  `json:"version"`
	// Erased is when its personal data was erased (a resident's request, or the
	// retention after it closed); zero while it holds them.
	Erased time.Time `json:"erased,omitzero"`
}

// Open reports whether the ticket still waits for work.
func (t *Ticket) Open() bool { return t.Status != StatusClosed }

// VoiceRef names a voice message by its media id, as tickets and the attachment
// keeper know it.
func VoiceRef(mediaID string) string { return "voice:" + mediaID }

// Attachments are a ticket's photos and voice messages, by the refs the attachment
// keeper knows them by.
func (t *Ticket) Attachments() []string { return append(slices.Clone(t.Photos), t.Voices...) }

// AddMark is who added what to a ticket (a digest of it), when, and the version
// that made.
type AddMark struct {
	By      string    `json:"by"`
	Sum     string    `json:"sum"`
	At      time.Time `json:"at"`
	Version int       `json:"version"`
}

// Relay is one side of a live relay (对话) between a staff member and a resident:
// who the messages go to, about which ticket.
type Relay struct {
	Peer   string `json:"peer"`
	Ticket string `json:"ticket"`
}

// Event is one line of a ticket's timeline: every state change and message, with who
// did it and when.
type Event struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"` // openid, "system", or "hotline:<operator>"
	Name    string    `json:"name,omitempty"`
	Kind    EventKind `json:"kind"`
	Text    string    `json:"text,omitempty"`
	Private bool      `json:"private,omitempty"` // staff notes: never shown to the resident
}

// EventKind is what a timeline event records.
type EventKind string

// Timeline event kinds of a ticket. They are stored: never rename one.
const (
	EventCreated      EventKind = "created"
	EventClaimed      EventKind = "claimed"
	EventAssigned     EventKind = "assigned" // by the round-robin: not yet signed for
	EventReply        EventKind = "reply"
	EventRelay        EventKind = "relay" // one message of a live relay
	EventRelayStarted EventKind = "relay_started"
	EventRelayEnded   EventKind = "relay_ended"
	EventRelayTimeout EventKind = "relay_timeout" // the relay ended for want of messages
	EventNote         EventKind = "note"
	EventAdded        EventKind = "added" // the resident added information
	EventReassigned   EventKind = "reassigned"
	EventEscalated    EventKind = "escalated"
	EventClosed       EventKind = "closed"
	EventRated        EventKind = "rated"
	EventReopened     EventKind = "reopened"
	EventWarned       EventKind = "warned" // a deadline warning went out
	EventNudged       EventKind = "nudged" // the resident asked to hurry (催办)
)

// Counter names a report figure: a field of a community's monthly counters.
type Counter string

// Report counters of tickets. They are stored: never rename one.
const (
	CounterReceived       Counter = "received"
	CounterSigned         Counter = "signed"
	CounterSignedInTime   Counter = "signed_in_time"
	CounterResponded      Counter = "responded"
	CounterClosed         Counter = "closed"
	CounterClosedInTime   Counter = "closed_in_time"
	CounterReopened       Counter = "reopened"
	CounterRated          Counter = "rated"
	CounterEscalated      Counter = "escalated"
	CounterDisputes       Counter = "disputes"  // a Category's Counts
	CounterHardships      Counter = "hardships" // a Category's Counts
	CounterJobs           Counter = "jobs"      // a Category's Counts
	counterCategoryPrefix         = "category:"
	counterSourcePrefix           = "source:"
	counterRatingPrefix           = "rating:"
)

// CounterCategory counts the tickets received in a category.
func CounterCategory(code string) Counter { return Counter(counterCategoryPrefix + code) }

// CounterSource counts the tickets received through a source ("wechat", "hotline").
func CounterSource(source string) Counter { return Counter(counterSourcePrefix + source) }

// CounterRating counts the final ratings of one kind.
func CounterRating(r Rating) Counter { return Counter(counterRatingPrefix + string(r)) }

// Tickets is the ticket repository.
type Tickets interface {
	// Create stores a new ticket, numbering it; the same key (the confirming
	// Update's ID) never creates two tickets.
	Create(ctx context.Context, t *Ticket, key string, ev Event) (*Ticket, error)
	Ticket(ctx context.Context, no string) (*Ticket, error)
	// Update changes a ticket atomically: fn gets the current ticket and returns the
	// events to add; an error from fn changes nothing.
	Update(ctx context.Context, no string, fn func(t *Ticket) ([]Event, error)) (*Ticket, error)
	Timeline(ctx context.Context, no string) ([]Event, error)
	ByResident(ctx context.Context, openid string, limit int) ([]*Ticket, error)
	Queue(ctx context.Context, community string, limit int) ([]*Ticket, error)
}

// Period is the month a report figure belongs to, in China time: "2026-11".
func Period(t time.Time) string { return t.In(chinaTime).Format("2006-01") }

var chinaTime = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

// StatDeltas says how a change of a ticket moves the report counters of its
// community: what is counted is derived from the change itself, so the counters can
// be kept in the same atomic write. before is nil for a new ticket.
func StatDeltas(before, after *Ticket, cats map[string]Category) map[Counter]int64 {
	d := map[Counter]int64{}
	if before == nil {
		d[CounterReceived]++
		if !after.Confidential {
			d[CounterCategory(after.Category)]++
		}
		d[CounterSource(after.Source)]++
		return d
	}
	if before.Claimed.IsZero() && !after.Claimed.IsZero() {
		d[CounterSigned]++
		if !after.Claimed.After(after.SignBy) {
			d[CounterSignedInTime]++
		}
	}
	if before.Responded.IsZero() && !after.Responded.IsZero() {
		d[CounterResponded]++
	}
	if before.Status != StatusClosed && after.Status == StatusClosed {
		d[CounterClosed]++
		if !after.Closed.After(after.DueBy) {
			d[CounterClosedInTime]++
		}
		if c := cats[after.Category].Counts; c != "" {
			d[Counter(c)]++
		}
	}
	if before.Status == StatusClosed && after.Status != StatusClosed {
		// Reopened: the closing no longer counts.
		d[CounterClosed]--
		if !before.Closed.After(before.DueBy) {
			d[CounterClosedInTime]--
		}
		if c := cats[after.Category].Counts; c != "" {
			d[Counter(c)]--
		}
		d[CounterReopened]++
	}
	if before.Rating == "" && after.Rating != "" {
		d[CounterRated]++
		d[CounterRating(after.Rating)]++
	}
	if !before.Escalated && after.Escalated {
		d[CounterEscalated]++
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}
