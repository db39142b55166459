package schedule_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/schedule"
	"minyuan/store/redistest"
)

// Issue 8, item 3: a reminder the rules refuse (EInvalid and its kin) is refused the
// same way every time: it is settled at once with a warning, not retried ten times.
func TestRefusedReminderIsNotRetried(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	st := replica(t, prefix)
	clk := newClock(t0)
	var logs logBuf
	s := newScheduler(t, schedule.Options{Due: st, Clock: clk, Log: logs.logger(), MaxAttempts: 10, MinBackoff: time.Second, MaxBackoff: time.Second})
	calls := 0
	s.Handle("ping", func(context.Context, bot.Reminder) error {
		calls++
		return bot.Errorf(bot.EInvalid, "ticket 1001 is closed")
	})
	if err := st.Schedule(ctx, reminder("refused", t0)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.PumpOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Second)
	}
	if calls != 1 {
		t.Errorf("handler ran %d times, want once", calls)
	}
	if p, _ := st.Pending(ctx); p != 0 {
		t.Errorf("pending %d, want it settled", p)
	}
	if out := logs.String(); !strings.Contains(out, `level=WARN msg="schedule: reminder refused; not retried"`) || strings.Contains(out, "level=ERROR") {
		t.Errorf("log:\n%s", out)
	}
}
