package bot

import (
	"context"
	"encoding/json"
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
	// Fields fill the template message (the template's own keys, e.g. "first",
	// "keyword1", "remark"), used when the window is closed.
	Fields map[string]string `json:"fields,omitempty"`
	// Important pushes (a reply to a ticket) that cannot reach the person become a
	// call-back task for staff.
	Important bool `json:"important,omitempty"`
	// Urgent pushes go out in quiet hours too.
	Urgent bool `json:"urgent,omitempty"`
	// Ref says what the push is about (a ticket number), for call-back tasks and logs.
	Ref       string `json:"ref,omitempty"`
	Community string `json:"community,omitempty"`
}

// Pusher queues pushes durably; they are sent by the outbox workers.
type Pusher interface {
	Push(ctx context.Context, p Push) error
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
	// Schedule adds a reminder, or moves it when one with the same ID exists.
	Schedule(ctx context.Context, r Reminder) error
	// Cancel removes a reminder; cancelling one that does not exist is not an error.
	Cancel(ctx context.Context, id string) error
}
