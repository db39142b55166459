package schedule_test

import (
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/schedule"
)

func TestDefer(t *testing.T) {
	sh := calendar.Location()
	at := func(day, h, m int) time.Time { return time.Date(2025, 3, day, h, m, 0, 0, sh) }
	q := calendar.DefaultQuiet() // 21:30-08:00
	for _, tc := range []struct {
		name   string
		q      calendar.Quiet
		urgent bool
		now    time.Time
		want   time.Time
	}{
		{"daytime goes now", q, false, at(3, 14, 0), at(3, 14, 0)},
		{"last minute before quiet", q, false, at(3, 21, 29), at(3, 21, 29)},
		{"evening waits for tomorrow morning", q, false, at(3, 21, 30), at(4, 8, 0)},
		{"small hours wait for this morning", q, false, at(4, 3, 15), at(4, 8, 0)},
		{"quiet ends at 08:00 sharp", q, false, at(4, 8, 0), at(4, 8, 0)},
		{"urgent never waits", q, true, at(3, 23, 0), at(3, 23, 0)},
		{"no quiet hours", calendar.Quiet{Start: 600, End: 600}, false, at(3, 23, 0), at(3, 23, 0)},
		// An instant in another zone is judged by Shanghai's wall clock: 15:00 UTC
		// is 23:00 there.
		{"judged in Shanghai time", q, false, time.Date(2025, 3, 3, 15, 0, 0, 0, time.UTC), at(4, 8, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, deferred := schedule.Defer(tc.q, bot.Push{Urgent: tc.urgent}, tc.now)
			if !got.Equal(tc.want) || deferred != !tc.want.Equal(tc.now) {
				t.Fatalf("Defer(%s) = %s, %v; want %s", tc.now, got, deferred, tc.want)
			}
		})
	}
}
