package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/schedule"
)

// DeferredKind is the reminder kind of a push held back by quiet hours.
const DeferredKind = "outbox.deferred"

// Pusher is what the flows push through: a push due in quiet hours that is not urgent
// waits in the due set for the end of them; any other goes to the outbox at once.
type Pusher struct {
	Queue     bot.Pusher
	Reminders bot.Reminders
	Quiet     calendar.Quiet
	Clock     bot.Clock
}

// Push queues p now, or at the end of the quiet hours.
func (q *Pusher) Push(ctx context.Context, p bot.Push) error {
	at, deferred := schedule.Defer(q.Quiet, p, q.Clock.Now())
	if !deferred {
		return q.Queue.Push(ctx, p)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("outbox: encode push: %w", err)
	}
	// Keyed by the push ID: pushing the same push again in the night moves nothing
	// and doubles nothing.
	return q.Reminders.Schedule(ctx, bot.Reminder{ID: "push:" + p.ID, Kind: DeferredKind, Due: at, Payload: raw})
}

// Release is the handler of DeferredKind: the quiet hours are over, queue the push.
func (q *Pusher) Release(ctx context.Context, r bot.Reminder) error {
	var p bot.Push
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return bot.Errorf(bot.EInvalid, "outbox: deferred push %s: %v", r.ID, err)
	}
	return q.Queue.Push(ctx, p)
}
