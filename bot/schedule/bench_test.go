package schedule_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/schedule"
	"minyuan/store/redistest"
)

// BenchmarkDispatch100k is the time to fire 100,000 reminders that are all due, with
// a handler that does nothing: the pump's own cost (claim, then Done per reminder).
//
//	go test ./bot/schedule -run '^$' -bench Dispatch -benchtime 1x
func BenchmarkDispatch100k(b *testing.B) {
	for _, c := range []struct{ batch, workers int }{{100, 8}, {1000, 32}} {
		b.Run(fmt.Sprintf("batch=%d/workers=%d", c.batch, c.workers), func(b *testing.B) {
			const n = 100_000
			ctx := context.Background()
			rs := make([]bot.Reminder, n)
			for i := range rs {
				rs[i] = reminder(fmt.Sprintf("bench:%06d", i), t0.Add(time.Duration(i)*time.Millisecond))
			}
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				st := replica(b, redistest.Prefix(b))
				if err := st.Schedule(ctx, rs...); err != nil {
					b.Fatal(err)
				}
				s, err := schedule.New(schedule.Options{Due: st, Clock: newClock(t0.Add(time.Hour)), Batch: c.batch, Workers: c.workers})
				if err != nil {
					b.Fatal(err)
				}
				s.Handle("ping", func(context.Context, bot.Reminder) error { return nil })
				b.StartTimer()
				start := time.Now()
				fired, err := s.PumpOnce(ctx)
				total += time.Since(start)
				if err != nil || fired != n {
					b.Fatalf("fired %d (%v), want %d", fired, err, n)
				}
				b.StopTimer()
				if p, _ := st.Pending(ctx); p != 0 {
					b.Fatalf("%d still pending", p)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "reminders/s")
			b.ReportMetric(total.Seconds()/float64(b.N), "s/100k")
		})
	}
}
