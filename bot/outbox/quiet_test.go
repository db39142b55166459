package outbox_test

import (
	"context"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/outbox"
	"minyuan/store"
	"minyuan/store/redistest"
)

// In quiet hours a push that is not urgent waits in the due set until they end;
// an urgent one is queued at once; releasing the held one queues it.
func TestQuietHoursHoldPushes(t *testing.T) {
	st := store.New(redisSrv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	night := time.Date(2026, 11, 25, 23, 0, 0, 0, calendar.Location())
	clock := bot.NewManualClock(night)
	p := &outbox.Pusher{Queue: st, Reminders: st, Quiet: calendar.DefaultQuiet(), Clock: clock}
	ctx := context.Background()

	cases := []struct {
		push   bot.Push
		queued bool
	}{
		{bot.Push{ID: "calm", To: "o1", Kind: "ticket_update", Text: "您的诉求已受理"}, false},
		{bot.Push{ID: "fire", To: "o2", Kind: "ticket_alert", Text: "紧急：楼道起火", Urgent: true}, true},
	}
	for _, c := range cases {
		if err := p.Push(ctx, c.push); err != nil {
			t.Fatal(err)
		}
		state, err := st.PushState(ctx, c.push.ID)
		if err != nil {
			t.Fatal(err)
		}
		if (state != "") != c.queued {
			t.Fatalf("%s: outbox state %q, want queued=%v", c.push.ID, state, c.queued)
		}
	}
	held, ok, err := st.Reminder(ctx, "push:calm")
	if err != nil || !ok || held.Kind != outbox.DeferredKind {
		t.Fatalf("held push: %+v %v %v", held, ok, err)
	}
	if want := time.Date(2026, 11, 26, 8, 0, 0, 0, calendar.Location()); !held.Due.Equal(want) {
		t.Fatalf("held until %v, want %v", held.Due, want)
	}
	// Pushing it again in the night neither doubles nor moves it.
	if err := p.Push(ctx, cases[0].push); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Pending(ctx); n != 1 {
		t.Fatalf("pending reminders %d, want 1", n)
	}
	if err := p.Release(ctx, held); err != nil {
		t.Fatal(err)
	}
	if state, _ := st.PushState(ctx, "calm"); state == "" {
		t.Fatal("released push not queued")
	}
	// In the day nothing waits.
	clock.Set(time.Date(2026, 11, 26, 10, 0, 0, 0, calendar.Location()))
	if err := p.Push(ctx, bot.Push{ID: "day", To: "o1", Kind: "ticket_update", Text: "白天"}); err != nil {
		t.Fatal(err)
	}
	if state, _ := st.PushState(ctx, "day"); state == "" {
		t.Fatal("a daytime push must be queued at once")
	}
}
