package schedule

import (
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// Defer says when a push that would go out at now may reach a phone: at the end of
// the quiet hours now falls in, with deferred true; otherwise now itself. Urgent
// pushes never wait.
func Defer(q calendar.Quiet, p bot.Push, now time.Time) (at time.Time, deferred bool) {
	if p.Urgent {
		return now, false
	}
	at = q.Defer(now)
	return at, at.After(now)
}
