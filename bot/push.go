package bot

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// Push is a message Minyuan sends on its own (not as the answer to an Update): a staff
// reply to a resident, a new-ticket alert, a visit task, an activity reminder. Every
// push goes through the durable outbox and the delivery ladder.
type Push struct {
	// ID is the idempotency key: a push with an ID already queued or sent is not
	// sent again (e.g. "ticket:Q7K2:reply:3").
	ID   string `json:"id"`
	To   string `json:"to"`   // openid
	Kind string `json:"kind"` // picks the template when the 48-hour window is closed
	Text string `json:"text"` // the customer-service message
	// Image, when set, is a media id (see Media) sent as an image message while the
	// 48-hour window is open; Text and Fields still make the template when it is not.
	Image string `json:"image,omitempty"`
	// Voice, likewise, is the media id of a voice message sent on as it is (a
	// resident's voice message that had no words recognised).
	Voice string `json:"voice,omitempty"`
	// Fields are what a template's field texts may name ({name}), used when no
	// customer-service message can go.
	Fields map[string]string `json:"fields,omitempty"`
	// Important pushes (a reply to a ticket) that cannot reach the person become a
	// call-back task for staff.
	Important bool `json:"important,omitempty"`
	// Urgent pushes go out in quiet hours too.
	Urgent bool `json:"urgent,omitempty"`
	// Ref says what the push is about (a ticket number), for call-back tasks and logs.
	Ref       string `json:"ref,omitempty"`
	Community string `json:"community,omitempty"`
	// Sender, when set, is told when the push cannot reach its recipient (the staff
	// member whose reply it is), and why.
	Sender string `json:"sender,omitempty"`
}

// Pusher queues pushes durably; they are sent by the outbox workers.
type Pusher interface {
	Push(ctx context.Context, p Push) error
}

// Holder is a Pusher that holds pushes back in quiet hours (outbox.Pusher): it says
// whether p, pushed now, waits, and until when, so that whoever sent it is told.
type Holder interface {
	HeldUntil(p Push) (time.Time, bool)
}

// Reminder is a row in the due set: something to do at a time. Kinds are handled by
// handlers registered with the scheduler (a push, an escalation, a push retry, ...).
type Reminder struct {
	ID      string          `json:"id"` // scheduling the same ID again moves it
	Kind    string          `json:"kind"`
	Due     time.Time       `json:"due"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
}

// Reminders is the durable due set.
type Reminders interface {
	// Schedule adds reminders, or moves those whose ID exists, in one round trip.
	// Each is written atomically; after an error some may be scheduled.
	Schedule(ctx context.Context, rs ...Reminder) error
	// Cancel removes reminders; cancelling one that does not exist is not an error.
	Cancel(ctx context.Context, ids ...string) error
}

// Media uploads files to the platform (temporary media, kept there 3 days) for image
// pushes; bot/wechat implements it.
type Media interface {
	UploadImage(ctx context.Context, name string, data []byte) (mediaID string, err error)
}

// Customer-service allowance.
//
// Since mid-2023 the platform lets an account send a user customer-service messages
// only after an action of theirs, and only so many: a message gives 5 within 48 hours;
// a menu click of the click or scan-push kinds, a follow or a QR scan gives 3 within
// one minute. Allowances do not add up: each action resets the count to its own limit,
// and the period to the longest still valid. Beyond the count or the period the
// platform answers 45047; 48 hours after the last action, 45015. The passive reply
// uses none of it. The simulator enforces these rules and the delivery ladder plans
// by them.

// Action is what a user did, as far as the allowance goes.
type Action string

const (
	// ActionNone: nothing that opens an allowance (a VIEW click, an unsubscribe, a
	// location report).
	ActionNone Action = ""
	// ActionMessage: the user sent a message (text, voice, photo, location).
	ActionMessage Action = "message"
	// ActionEvent: a click or scan-push menu click, a follow, a QR scan.
	ActionEvent Action = "event"
)

// EventScanPush is the event of a menu button of the scan-push kind (scancode_push).
const EventScanPush = "scancode_push"

// ActionOf says what u does to its sender's allowance.
func ActionOf(u Update) Action {
	switch u.Kind {
	case KindText, KindImage, KindVoice, KindLocation, KindOther:
		return ActionMessage
	case KindEvent:
		switch u.Event {
		case EventSubscribe, EventScan, EventClick, EventScanPush:
			return ActionEvent
		}
	}
	return ActionNone
}

// Allowance is one kind of action's customer-service allowance.
type Allowance struct {
	Limit  int
	Period time.Duration
}

// The platform's allowances, and how long after any action 45015 starts.
var (
	MessageAllowance = Allowance{Limit: 5, Period: 48 * time.Hour}
	EventAllowance   = Allowance{Limit: 3, Period: time.Minute}
)

// CustomWindow is how long after a user's last action the platform answers 45047
// rather than 45015 to a send beyond the allowance.
const CustomWindow = 48 * time.Hour

// AllowanceOf is the allowance an action gives.
func AllowanceOf(a Action) Allowance {
	if a == ActionMessage {
		return MessageAllowance
	}
	return EventAllowance
}

// Contact is what the ladder knows of a recipient's allowance: their last action, its
// kind, their last message (whose 48 hours outlive a later event's minute), and the
// customer-service messages sent since the last action.
type Contact struct {
	Last        time.Time `json:"last,omitzero"`
	Kind        Action    `json:"kind,omitempty"`
	LastMessage time.Time `json:"last_message,omitzero"`
	Sends       int       `json:"sends,omitempty"`
}

// Why a customer-service message cannot go now.
const (
	AllowanceOpen   = 0
	AllowanceSpent  = 45047 // the count or the period is used up
	AllowanceClosed = 45015 // no action in 48 hours
)

// Left returns how many customer-service messages may still go at now, and, when
// none, why (AllowanceSpent or AllowanceClosed).
func (c Contact) Left(now time.Time) (int, int) {
	if c.Last.IsZero() || c.Kind == ActionNone {
		return 0, AllowanceClosed
	}
	latest := c.Last
	if c.LastMessage.After(latest) {
		latest = c.LastMessage
	}
	if !now.Before(latest.Add(CustomWindow)) {
		return 0, AllowanceClosed
	}
	al := AllowanceOf(c.Kind)
	end := c.Last.Add(al.Period)
	if !c.LastMessage.IsZero() {
		if m := c.LastMessage.Add(MessageAllowance.Period); m.After(end) {
			end = m
		}
	}
	if !now.Before(end) || c.Sends >= al.Limit {
		return 0, AllowanceSpent
	}
	return al.Limit - c.Sends, AllowanceOpen
}

// Acted is c after an action of kind a at t. Actions that come out of order (an
// older commit landing late) change nothing.
func (c Contact) Acted(a Action, t time.Time) Contact {
	if a == ActionNone || t.Before(c.Last) {
		return c
	}
	c.Last, c.Kind, c.Sends = t, a, 0
	if a == ActionMessage && t.After(c.LastMessage) {
		c.LastMessage = t
	}
	return c
}

// IsEmoji reports whether r is shown as an emoji: template messages show those as
// 「□」 since 2023-03-30.
func IsEmoji(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF, // pictographs, emoticons, transport, flags, ...
		r >= 0x2600 && r <= 0x27BF, // miscellaneous symbols, dingbats
		r >= 0x2B00 && r <= 0x2BFF && (r == 0x2B50 || r == 0x2B55 || (r >= 0x2B05 && r <= 0x2B07) || r == 0x2B1B || r == 0x2B1C),
		r >= 0x231A && r <= 0x23FF && (r == 0x231A || r == 0x231B || r == 0x2328 || r == 0x23CF || (r >= 0x23E9 && r <= 0x23FA)),
		r == 0x200D, r == 0xFE0F, r == 0x20E3, // joiner, emoji presentation, keycap
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	}
	return false
}

// HasEmoji reports whether s carries an emoji.
func HasEmoji(s string) bool {
	for _, r := range s {
		if IsEmoji(r) {
			return true
		}
	}
	return false
}

// The outbox keeps one queue per recipient: a recipient's pushes go out in the order
// they were queued, whatever fails or waits in between.

// Turn is a turn of one recipient's queue, handed to one worker at a time.
type Turn struct {
	Entry string // the store's handle of this turn
	To    string
}

// Queued is a push waiting in its recipient's queue.
type Queued struct {
	Push    Push
	Attempt int       // failed delivery attempts so far
	At      time.Time // when it was queued
	// Hold is when it may go (the end of quiet hours); zero: at once.
	Hold  time.Time
	Entry string // the store's handle of it
}

// Result is how a delivery ended.
type Result int

const (
	// Sent: the platform accepted the message.
	Sent Result = iota + 1
	// Retry: a failure that may pass (network, 5xx, -1, 45009, a token still
	// refused after one refresh, Redis): try again later.
	Retry
	// Undeliverable: no message can reach the person (unfollowed, no template for
	// the kind with customer-service messages spent, template refused). Final;
	// important pushes have become a call-back task.
	Undeliverable
	// Failed: the platform refused the message for a reason retrying cannot fix.
	// The push belongs in the dead-letter stream, for an admin to look at.
	Failed
)

func (r Result) String() string {
	switch r {
	case Sent:
		return "sent"
	case Retry:
		return "retry"
	case Undeliverable:
		return "undeliverable"
	case Failed:
		return "failed"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Outcome is what a delivery did with a push.
type Outcome struct {
	Result Result
	// Via is how the push went ("custom" or "template") when Sent; otherwise the
	// step that failed.
	Via string
	// Merged is how many pushes went in the one customer-service message that
	// carried this one (0 or 1: alone).
	Merged int
	// Reason is a short machine-readable why, for anything but Sent.
	Reason string
	// Err is the error behind a Retry or Failed, or behind an Undeliverable that
	// came from the platform. Its text is redacted.
	Err error
	// Callback is true when a call-back task was made for staff.
	Callback bool
}
