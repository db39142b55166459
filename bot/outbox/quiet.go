package outbox

import (
	"context"
	"encoding/json"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// DeferredKind is the reminder kind of a push held back by quiet hours in the
// version before per-recipient queues; Release still takes those.
const DeferredKind = "outbox.deferred"

// HeldQueue is the outbox as Pusher needs it; *store.Store is one.
type HeldQueue interface {
	bot.Pusher
	// PushAt queues p to go no earlier than hold, in its place in the recipient's
	// queue.
	PushAt(ctx context.Context, p bot.Push, hold time.Time) error
}

// Pusher is what the flows push through: a push due in quiet hours that is not urgent
// is queued to go at the end of them, in its place among the recipient's pushes; any
// other goes at once.
type Pusher struct {
	Queue HeldQueue
	Quiet calendar.Quiet
	Clock bot.Clock
}

// HeldUntil says whether p, pushed now, waits for the end of quiet hours, and until
// when: a flow tells the sender so.
func (q *Pusher) HeldUntil(p bot.Push) (time.Time, bool) {
	if p.Urgent {
		return time.Time{}, false
	}
	now := q.Clock.Now()
	at := q.Quiet.Defer(now)
	return at, at.After(now)
}

// Push queues p now, or to go at the end of the quiet hours.
func (q *Pusher) Push(ctx context.Context, p bot.Push) error {
	if at, held := q.HeldUntil(p); held {
		return q.Queue.PushAt(ctx, p, at)
	}
	return q.Queue.Push(ctx, p)
}

// Release is the handler of DeferredKind reminders left by the older version: the
// quiet hours are over, queue the push.
func (q *Pusher) Release(ctx context.Context, r bot.Reminder) error {
	var p bot.Push
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return bot.Errorf(bot.EInvalid, "outbox: deferred push %s: %v", r.ID, err)
	}
	return q.Queue.Push(ctx, p)
}
