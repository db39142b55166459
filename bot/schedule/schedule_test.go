package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/bot/schedule"
	"minyuan/store"
	"minyuan/store/redistest"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// Two replicas on one Redis, each with its own pump running on real ticks, share
// 10,000 due reminders: every one fires exactly once.
func TestTwoSchedulersFireEachReminderOnce(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	const n = 10_000
	rs := make([]bot.Reminder, n)
	for i := range rs {
		rs[i] = reminder(fmt.Sprintf("r%05d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	st := replica(t, prefix)
	if err := st.Schedule(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
	clk := newClock(t0.Add(time.Hour))
	var mu sync.Mutex
	fired := map[string]int{}
	perReplica := [2]int{}
	var total atomic.Int64
	scheds := make([]*schedule.Scheduler, 2)
	for i := range scheds {
		s := newScheduler(t, schedule.Options{Due: replica(t, prefix), Clock: clk, Tick: 5 * time.Millisecond, Batch: 50})
		s.Handle("ping", func(_ context.Context, r bot.Reminder) error {
			mu.Lock()
			fired[r.ID]++
			perReplica[i]++
			mu.Unlock()
			total.Add(1)
			return nil
		})
		scheds[i] = s
	}
	for _, s := range scheds {
		s.Start()
	}
	eventually(t, 60*time.Second, "all reminders fired", func() bool { return total.Load() >= n })
	for _, s := range scheds {
		if err := s.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(fired) != n || total.Load() != n {
		t.Fatalf("%d distinct reminders fired %d times, want %d once each", len(fired), total.Load(), n)
	}
	for id, c := range fired {
		if c != 1 {
			t.Errorf("%s fired %d times", id, c)
		}
	}
	if p, _ := st.Pending(context.Background()); p != 0 {
		t.Errorf("%d reminders still pending", p)
	}
	t.Logf("replica shares: %v", perReplica)
}

// A scheduler that is stopped, then started again after its reminders fell due
// (a deploy, an outage), fires them at once.
func TestRestartFiresWhatFellDueMeanwhile(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	clk := newClock(t0)
	st := replica(t, prefix)
	ctx := context.Background()
	for i, d := range []time.Duration{time.Hour, 2 * time.Hour, 5 * time.Hour} {
		if err := st.Schedule(ctx, reminder(fmt.Sprint("r", i), t0.Add(d))); err != nil {
			t.Fatal(err)
		}
	}
	var fired sync.Map
	var count atomic.Int64
	handle := func(_ context.Context, r bot.Reminder) error {
		fired.Store(r.ID, true)
		count.Add(1)
		return nil
	}

	first := newScheduler(t, schedule.Options{Due: replica(t, prefix), Clock: clk})
	first.Handle("ping", handle)
	first.Start()
	if n, err := first.PumpOnce(ctx); n != 0 || err != nil {
		t.Fatalf("fired %d (%v) before anything was due", n, err)
	}
	if err := first.Shutdown(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(3 * time.Hour)
	// The tick is long on purpose: the restart must fire at once, not a tick later.
	second := newScheduler(t, schedule.Options{Due: replica(t, prefix), Clock: clk, Tick: time.Hour})
	second.Handle("ping", handle)
	second.Start()
	eventually(t, 10*time.Second, "the two overdue reminders fired", func() bool { return count.Load() == 2 })
	if err := second.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, ok := fired.Load("r2"); ok || count.Load() != 2 {
		t.Fatalf("fired %d, r2 (not yet due) among them: %v", count.Load(), ok)
	}
	if p, _ := st.Pending(ctx); p != 1 {
		t.Fatalf("pending %d, want 1", p)
	}
}

// A replica that claimed reminders and died: another fires them once the lease ends.
func TestCrashedClaimerIsTakenOver(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	dead := replica(t, prefix)
	if err := dead.Schedule(ctx, reminder("r", t0)); err != nil {
		t.Fatal(err)
	}
	if rs, err := dead.Claim(ctx, t0, 10, time.Minute); err != nil || len(rs) != 1 {
		t.Fatalf("claim: %v %v", rs, err)
	}
	clk := newClock(t0.Add(30 * time.Second))
	s := newScheduler(t, schedule.Options{Due: replica(t, prefix), Clock: clk, Lease: time.Minute})
	var count atomic.Int64
	s.Handle("ping", func(context.Context, bot.Reminder) error { count.Add(1); return nil })
	if n, _ := s.PumpOnce(ctx); n != 0 {
		t.Fatalf("fired %d within the dead claimer's lease", n)
	}
	clk.Advance(time.Minute)
	if n, err := s.PumpOnce(ctx); n != 1 || err != nil || count.Load() != 1 {
		t.Fatalf("after the lease: fired %d (%v), handler ran %d times", n, err, count.Load())
	}
}

// A failing handler's reminder comes back after a backoff that grows, carrying its
// attempt count, and fires once the handler succeeds.
func TestHandlerErrorIsRetriedLater(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	st := replica(t, prefix)
	clk := newClock(t0)
	var logs logBuf
	s := newScheduler(t, schedule.Options{Due: st, Clock: clk, Log: logs.logger(), MinBackoff: time.Minute, MaxBackoff: time.Hour})
	var attempts []int
	s.Handle("ping", func(_ context.Context, r bot.Reminder) error {
		attempts = append(attempts, r.Attempt)
		if len(attempts) < 3 {
			return errors.New("wechat is down")
		}
		return nil
	})
	if err := st.Schedule(ctx, reminder("r", t0)); err != nil {
		t.Fatal(err)
	}
	pump := func(want int) {
		t.Helper()
		if n, err := s.PumpOnce(ctx); n != want || err != nil {
			t.Fatalf("at %s fired %d (%v), want %d", clk.Now().Sub(t0), n, err, want)
		}
	}
	pump(1) // fails
	pump(0) // not yet
	// The first retry comes within MinBackoff, less its jitter (a fifth at most).
	clk.Advance(47 * time.Second)
	pump(0)
	clk.Advance(13 * time.Second)
	pump(1) // fails again; the next wait is about two minutes
	clk.Advance(time.Minute)
	pump(0)
	clk.Advance(time.Minute)
	pump(1) // succeeds
	if fmt.Sprint(attempts) != "[0 1 2]" {
		t.Fatalf("attempts %v", attempts)
	}
	if p, _ := st.Pending(ctx); p != 0 {
		t.Fatalf("pending %d after success", p)
	}
	if !strings.Contains(logs.String(), "will retry") {
		t.Errorf("retries not logged:\n%s", logs.String())
	}
}

// A reminder that never succeeds is dropped after MaxAttempts with an error in the
// log, as is one of a kind nobody handles: neither may clog the due set.
func TestGiveUpAndUnknownKind(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	ctx := context.Background()
	st := replica(t, prefix)
	clk := newClock(t0)
	var logs logBuf
	s := newScheduler(t, schedule.Options{Due: st, Clock: clk, Log: logs.logger(), MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: time.Second})
	calls := 0
	s.Handle("ping", func(context.Context, bot.Reminder) error { calls++; panic("handler bug") })
	for _, r := range []bot.Reminder{reminder("doomed", t0), {ID: "stray", Kind: "nobody", Due: t0}} {
		if err := st.Schedule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if _, err := s.PumpOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if calls != 3 {
		t.Errorf("handler ran %d times, want MaxAttempts=3", calls)
	}
	if p, _ := st.Pending(ctx); p != 0 {
		t.Errorf("pending %d, want both dropped", p)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR msg=\"schedule: reminder failed for the last time; dropped\" component=schedule reminder=doomed",
		"panic: handler bug", "level=ERROR msg=\"schedule: no handler for this kind of reminder; dropped\" component=schedule reminder=stray"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// countHook counts the commands a client sends, pipelined ones included.
type countHook struct {
	mu   sync.Mutex
	cmds []string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		for _, c := range cmds {
			h.cmds = append(h.cmds, c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.cmds
	h.cmds = nil
	return out
}

// With nothing due, a tick is one Redis command: the claim script by its hash.
func TestIdleTickIsOneRedisCall(t *testing.T) {
	t.Parallel()
	rdb := srv.Client(t)
	hook := &countHook{}
	rdb.AddHook(hook)
	st := store.New(rdb, store.Options{Prefix: redistest.Prefix(t)})
	clk := newClock(t0)
	s := newScheduler(t, schedule.Options{Due: st, Clock: clk})
	ctx := context.Background()
	// The first call of a process may find the script not yet loaded (EVALSHA,
	// then EVAL); after that the server knows it.
	if _, err := s.PumpOnce(ctx); err != nil {
		t.Fatal(err)
	}
	hook.take()
	for range 3 {
		if _, err := s.PumpOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := hook.take(); fmt.Sprint(got) != "[evalsha]" {
			t.Fatalf("idle tick sent %v, want [evalsha]", got)
		}
	}
	// Something scheduled but not yet due still makes for an idle tick.
	if err := st.Schedule(ctx, reminder("later", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	hook.take()
	if _, err := s.PumpOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hook.take(); fmt.Sprint(got) != "[evalsha]" {
		t.Fatalf("idle tick with a future reminder sent %v, want [evalsha]", got)
	}
}

// A recurring job runs on the replica holding the lease only; when that replica
// shuts down, the other takes over.
func TestRecurringJobRunsOnTheLeaderOnly(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	// The TTL is long against the renewal (every third of it) so that a slow test
	// machine does not lose the lease by accident; takeover after a shutdown does
	// not wait for it, since a leader that stops gives the lease up.
	const ttl = 3 * time.Second
	var runs [2]atomic.Int64
	scheds := make([]*schedule.Scheduler, 2)
	for i := range scheds {
		st := replica(t, prefix)
		s := newScheduler(t, schedule.Options{Due: st, Leases: st, LeaderTTL: ttl, Tick: time.Hour})
		err := s.Every("digest", gocron.DurationJob(20*time.Millisecond), func(context.Context) error {
			runs[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		scheds[i] = s
	}
	a, b := scheds[0], scheds[1]
	a.Start()
	eventually(t, 5*time.Second, "A leads", a.Leader)
	b.Start()
	eventually(t, 5*time.Second, "A ran the job a few times", func() bool { return runs[0].Load() >= 5 })
	if b.Leader() || runs[1].Load() != 0 {
		t.Fatalf("B leads %v, ran the job %d times while A led", b.Leader(), runs[1].Load())
	}
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	ranA := runs[0].Load()
	eventually(t, 5*time.Second, "B took over", func() bool { return runs[1].Load() >= 3 })
	if !b.Leader() || a.Leader() {
		t.Fatalf("after takeover: A leads %v, B leads %v", a.Leader(), b.Leader())
	}
	if runs[0].Load() != ranA {
		t.Fatalf("A ran the job after its shutdown")
	}
}

func TestNewValidates(t *testing.T) {
	st := store.New(srv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	for _, opt := range []schedule.Options{
		{},
		{Due: st, Batch: 1001},
		{Due: st, MinBackoff: time.Hour, MaxBackoff: time.Minute},
	} {
		if _, err := schedule.New(opt); err == nil {
			t.Errorf("New(%+v) accepted", opt)
		}
	}
	s := newScheduler(t, schedule.Options{Due: st})
	if err := s.Every("x", gocron.DurationJob(time.Hour), func(context.Context) error { return nil }); err == nil {
		t.Error("Every without Leases accepted")
	}
}
