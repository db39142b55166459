package outbox_test

// These tests run the steps of a held turn's races one by one, in a chosen order,
// against the real outbox and due set: a worker taking a turn, an urgent push
// waking it, the quiet-hours reminder firing (claim, wake, done as the scheduler
// does them), and the turn parking again. Each push must arrive exactly once.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/outbox"
)

// night is a recipient's turn parked until 08:00 with two held pushes.
type night struct {
	*env
	w       *outbox.Worker
	p       *outbox.Pusher
	along   *together
	morning time.Time
}

func newNight(t *testing.T) *night {
	t.Helper()
	e := newEnv(t)
	e.clock.Set(time.Date(2026, 11, 25, 21, 0, 0, 0, calendar.Location()))
	e.wrote(t, alice)
	e.clock.Set(time.Date(2026, 11, 25, 23, 0, 0, 0, calendar.Location()))
	n := &night{env: e, along: &together{next: e.deliverer}, morning: time.Date(2026, 11, 26, 8, 0, 0, 0, calendar.Location())}
	opt := e.options("r1")
	opt.Deliverer = n.along
	w, err := outbox.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	n.w, n.p = w, &outbox.Pusher{Queue: e.st, Quiet: calendar.DefaultQuiet(), Clock: e.clock}
	for _, id := range []string{"a", "b"} {
		n.push(t, id, false)
	}
	if turns := n.take(t); len(turns) != 1 {
		t.Fatalf("%d turns for the held pushes", len(turns))
	} else {
		n.w.Handle(context.Background(), turns[0])
	}
	if turns := n.take(t); len(turns) != 0 {
		t.Fatalf("the held turn did not park: %d turns", len(turns))
	}
	return n
}

func (n *night) push(t *testing.T, text string, urgent bool) {
	t.Helper()
	p := reply(text)
	p.Text, p.Urgent = text, urgent
	if err := n.p.Push(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// take is every turn waiting in the outbox stream, read as a worker would.
func (n *night) take(t *testing.T) []bot.Turn {
	t.Helper()
	turns, err := n.st.Read(context.Background(), "r1", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	return turns
}

// handleAll runs turns at once, as that many workers would: each reads the queue
// before any sends.
func (n *night) handleAll(turns []bot.Turn) {
	n.along.expect(len(turns))
	var wg sync.WaitGroup
	for _, r := range turns {
		wg.Go(func() { n.w.Handle(context.Background(), r) })
	}
	wg.Wait()
}

// claim takes the due reminders at at as the scheduler would, and wakes their
// turns; done finishes them.
func (n *night) claim(t *testing.T, at time.Time) (done func()) {
	t.Helper()
	ctx := context.Background()
	rs, err := n.st.Claim(ctx, at, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := n.w.Retry(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, r := range rs {
			if err := n.st.Done(ctx, r.ID, r.Due); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// morningCame runs the morning: the due reminders fire, and every turn is run
// until none is left.
func (n *night) morningCame(t *testing.T) {
	t.Helper()
	n.clock.Set(n.morning.Add(time.Second))
	n.claim(t, n.clock.Now())()
	for turns := n.take(t); len(turns) > 0; turns = n.take(t) {
		n.handleAll(turns)
	}
}

func (n *night) arrived(t *testing.T, want ...string) {
	t.Helper()
	if got, w := strings.Join(texts(t, n.api, alice), "|"), strings.Join(want, "|"); got != w {
		t.Fatalf("arrived as %q, want %q", got, w)
	}
}

// together holds each delivery until as many as expected have begun, so that turns
// run at once really overlap.
type together struct {
	next outbox.Deliverer
	mu   sync.Mutex
	want int
	in   int
	all  chan struct{}
}

func (g *together) expect(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.want, g.in, g.all = n, 0, make(chan struct{})
}

func (g *together) DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome {
	g.mu.Lock()
	all := g.all
	if all != nil {
		if g.in++; g.in == g.want {
			close(all)
		}
	}
	g.mu.Unlock()
	if all != nil {
		select {
		case <-all:
		case <-time.After(200 * time.Millisecond): // the others had nothing to send
		}
	}
	return g.next.DeliverAll(ctx, ps)
}

func (g *together) Mergeable(ps []bot.Push) bool { return g.next.Mergeable(ps) }

// The urgent push wakes the held turn; the worker sends it and queues a fresh turn
// for the held ones. The 08:00 reminder fires before a worker takes that turn: it
// must not add a second one, or two workers send the held pushes.
func TestReminderWhileTheWokenTurnWaitsAddsNoTurn(t *testing.T) {
	n := newNight(t)
	n.push(t, "fire", true)
	turns := n.take(t)
	if len(turns) != 1 {
		t.Fatalf("the urgent push gave %d turns", len(turns))
	}
	n.w.Handle(context.Background(), turns[0])
	n.arrived(t, "fire")

	n.clock.Set(n.morning)
	n.claim(t, n.morning)()
	turns = n.take(t)
	n.handleAll(turns)
	n.morningCame(t)
	n.arrived(t, "fire", "a", "b")
	if len(turns) != 1 {
		t.Fatalf("%d turns for alice after the reminder", len(turns))
	}
}

// A worker takes the woken turn a second before 08:00; the reminder fires and is
// woken while that turn runs; the turn sends the urgent push and parks the held ones
// again until 08:00; only then does the scheduler finish the reminder. The new
// parking must still wake at 08:00.
func TestReminderWhileTheWokenTurnRunsIsNotLost(t *testing.T) {
	n := newNight(t)
	n.push(t, "fire", true)
	n.clock.Set(n.morning.Add(-time.Second))
	woken := n.take(t)
	if len(woken) != 1 {
		t.Fatalf("the urgent push gave %d turns", len(woken))
	}
	done := n.claim(t, n.morning)
	n.handleAll(woken)
	n.arrived(t, "fire")
	n.handleAll(n.take(t)) // the held ones park again, a second short of 08:00
	done()

	n.morningCame(t)
	n.arrived(t, "fire", "a", "b")
}

// The reminder fires and is finished while the turn that parks again runs, before
// it parks; then a second urgent push comes. Each push goes once.
func TestReminderBeforeTheTurnParksAgain(t *testing.T) {
	n := newNight(t)
	n.push(t, "fire", true)
	n.clock.Set(n.morning.Add(-time.Second))
	n.handleAll(n.take(t))
	n.arrived(t, "fire")
	again := n.take(t)
	n.claim(t, n.morning)()
	n.handleAll(again)
	n.push(t, "flood", true)
	n.morningCame(t)
	n.arrived(t, "fire", "a", "b", "flood")
}
