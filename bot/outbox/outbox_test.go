package outbox_test

// These tests run the workers against a real Redis and the WeChat simulator over
// loopback HTTP. The library's HTTP client is a package global pointed at each
// test's simulator, so no test here runs in parallel with another.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
	"minyuan/bot/outbox"
	"minyuan/bot/sim"
	"minyuan/bot/wechat"
	"minyuan/store"
	"minyuan/store/redistest"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &redisSrv) }

const (
	appID     = "wx0123456789abcdef"
	appSecret = "s3cret"
	alice     = "o-alice"
)

type env struct {
	api       *sim.API
	clock     *bot.ManualClock
	st        *store.Store
	deliverer *wechat.Deliverer
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	clock := bot.NewManualClock(time.Date(2025, 3, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	api := sim.NewAPI(appID, appSecret, clock)
	srv := httptest.NewServer(api)
	tb.Cleanup(srv.Close)
	old := util.DefaultHTTPClient
	if err := wechat.UseAPIBase(srv.URL, 2*time.Second); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { util.DefaultHTTPClient = old })

	st := store.New(redisSrv.Client(tb), store.Options{Prefix: redistest.Prefix(tb), Clock: clock})
	tok, err := wechat.NewToken(appID, appSecret, st, wechat.TokenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := wechat.NewDeliverer(wechat.DelivererConfig{
		AppID: appID, Token: tok, Allowance: st, Callbacks: st, Clock: clock,
		Templates: wechat.Templates{"ticket_reply": {ID: "tpl-reply", Fields: map[string]string{"keyword1": "{ref}", "keyword2": "{text}"}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{api: api, clock: clock, st: st, deliverer: d}
}

// wrote has openid write to the account now: their window opens.
func (e *env) wrote(tb testing.TB, openid string) {
	tb.Helper()
	e.api.Touch(openid, e.clock.Now())
	err := e.st.Acted(context.Background(), openid, bot.ActionMessage, e.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
}

func (e *env) options(name string) outbox.Options {
	return outbox.Options{
		Store:        e.st,
		Deliverer:    e.deliverer,
		Clock:        e.clock,
		Log:          testLog,
		Name:         name,
		Workers:      2,
		ReclaimIdle:  2 * time.Second,
		ReclaimEvery: 50 * time.Millisecond,
		Block:        50 * time.Millisecond,
		Gather:       -1, // the clock stands still
	}
}

// run starts a Worker until the test ends or stop is called; stop waits for Run.
func run(tb testing.TB, opt outbox.Options) (w *outbox.Worker, stop func()) {
	tb.Helper()
	w, err := outbox.New(opt)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			tb.Error(err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	tb.Cleanup(stop)
	return w, stop
}

// fireRetries runs the due retries as the scheduler would, with the real due set,
// as if their time had come; it returns them.
func (e *env) fireRetries(t *testing.T, w *outbox.Worker) []bot.Reminder {
	t.Helper()
	ctx := context.Background()
	rs, err := e.st.Claim(ctx, e.clock.Now().Add(24*time.Hour), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Kind != outbox.RetryKind {
			t.Fatalf("reminder of kind %q", r.Kind)
		}
		if err := w.Retry(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Done(ctx, r.ID, r.Due); err != nil {
			t.Fatal(err)
		}
	}
	return rs
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) settled(t testing.TB) func() bool {
	return func() bool {
		s, err := e.st.OutboxStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s.Waiting == 0 && s.Pending == 0
	}
}

func (e *env) state(t testing.TB, id string) string {
	t.Helper()
	s, err := e.st.PushState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reply(id string) bot.Push {
	return bot.Push{ID: id, To: alice, Kind: "ticket_reply", Text: "工作人员回复：已安排维修。", Ref: "Q7K2", Community: "c1", Important: true}
}

func customSends(api *sim.API) (ok, failed int) {
	for _, c := range api.Calls() {
		if c.Kind == sim.KindCustom || c.Kind == sim.KindTemplate {
			if c.OK() {
				ok++
			} else {
				failed++
			}
		}
	}
	return ok, failed
}

// The same push ID queued twice, and once more after it went: sent once.
func TestSameIDDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	run(t, e.options("r1"))
	ctx := context.Background()
	for range 2 {
		if err := e.st.Push(ctx, reply("ticket:Q7K2:reply:1")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the push sent", func() bool { return e.state(t, "ticket:Q7K2:reply:1") == store.PushSent })
	if err := e.st.Push(ctx, reply("ticket:Q7K2:reply:1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the outbox empty", e.settled(t))
	time.Sleep(100 * time.Millisecond)
	if sent := e.api.Sent(alice); len(sent) != 1 || sent[0].Kind != sim.KindCustom {
		t.Fatalf("sent %+v", sent)
	}
}

// After 48 hours of silence the push goes as a template message; a refused token is
// refreshed once on the way.
func TestWindowClosedAndTokenRefusedThroughWorkers(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	e.clock.Advance(49 * time.Hour)
	// Warm the token so that the refresh is counted alone.
	if err := e.st.Push(context.Background(), reply("warm")); err != nil {
		t.Fatal(err)
	}
	run(t, e.options("r1"))
	eventually(t, "warm-up sent", func() bool { return e.state(t, "warm") == store.PushSent })
	e.api.Reset()
	e.api.FailNext(1, sim.Fault{ErrCode: sim.ErrInvalidToken})
	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p1 sent", func() bool { return e.state(t, "p1") == store.PushSent })
	if sent := e.api.Sent(alice); len(sent) != 1 || sent[0].Kind != sim.KindTemplate {
		t.Fatalf("sent %+v", sent)
	}
	if n := e.api.TokenFetches(); n != 1 {
		t.Fatalf("TokenFetches = %d, want one refresh", n)
	}
}

// HTTP 500 three times, then success: retried through the due set, delivered once.
func TestServerErrorsRetriedThroughDueSet(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	opt := e.options("r1")
	opt.BackoffBase, opt.BackoffCap = 10*time.Second, time.Minute
	w, _ := run(t, opt)
	e.api.FailNext(3, sim.Fault{Status: 500})
	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		eventually(t, fmt.Sprintf("retry %d scheduled", attempt), func() bool {
			n, err := e.st.Pending(context.Background())
			return err == nil && n == 1
		})
		eventually(t, "the outbox empty while the retry waits", e.settled(t))
		r, ok, err := e.st.Parked(context.Background(), alice)
		if err != nil || !ok {
			t.Fatalf("reminder: %v, %v", ok, err)
		}
		// base·2^(n-1), capped, upper half jittered.
		full := min(opt.BackoffBase<<(attempt-1), opt.BackoffCap)
		if wait := r.Due.Sub(e.clock.Now()); wait < full/2 || wait > full {
			t.Fatalf("attempt %d: retry in %s, want %s..%s", attempt, wait, full/2, full)
		}
		if e.state(t, "p1") != store.PushQueued {
			t.Fatalf("state while waiting: %q", e.state(t, "p1"))
		}
		if rs := e.fireRetries(t, w); len(rs) != 1 {
			t.Fatalf("fired %d", len(rs))
		}
	}
	eventually(t, "p1 sent", func() bool { return e.state(t, "p1") == store.PushSent })
	eventually(t, "the outbox empty", e.settled(t))
	ok, failed := customSends(e.api)
	if ok != 1 || failed != 3 || len(e.api.Sent(alice)) != 1 {
		t.Fatalf("sends: %d ok, %d failed", ok, failed)
	}
	if n, _ := e.st.Pending(context.Background()); n != 0 {
		t.Fatalf("%d reminders left", n)
	}
	// A late duplicate of the retry does nothing.
	if err := w.Retry(context.Background(), bot.Reminder{ID: "x", Kind: outbox.RetryKind, Payload: []byte(`{"push":{"id":"p1","to":"o-alice"},"attempt":2}`)}); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.st.OutboxStats(context.Background()); s.Waiting != 0 {
		t.Fatalf("a finished push was queued again: %+v", s)
	}
}

// A push the platform refuses for good is dead-lettered at once; one that keeps
// failing is after the last attempt. Replay delivers both.
func TestDeadLetterAndReplay(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	opt := e.options("r1")
	opt.MaxAttempts = 2
	w, _ := run(t, opt)
	ctx := context.Background()

	e.api.FailNext(1, sim.Fault{ErrCode: 47001})
	if err := e.st.Push(ctx, reply("p-bad")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p-bad dead", func() bool { return e.state(t, "p-bad") == store.PushDead })

	e.api.FailNext(2, sim.Fault{Status: 503})
	if err := e.st.Push(ctx, reply("p-flaky")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retry scheduled", func() bool { n, _ := e.st.Pending(ctx); return n == 1 })
	e.fireRetries(t, w)
	eventually(t, "p-flaky dead", func() bool { return e.state(t, "p-flaky") == store.PushDead })

	dead, err := e.st.ListDead(ctx)
	if err != nil || len(dead) != 2 {
		t.Fatalf("ListDead = %+v, %v", dead, err)
	}
	if dead[0].Push.ID != "p-bad" || dead[0].Attempt != 1 || dead[1].Push.ID != "p-flaky" || dead[1].Attempt != 2 {
		t.Fatalf("dead %+v", dead)
	}
	for _, d := range dead {
		if d.Reason == "" || d.At.IsZero() {
			t.Fatalf("dead entry without a reason: %+v", d)
		}
	}
	if len(e.api.Sent(alice)) != 0 {
		t.Fatal("sent")
	}

	if n, err := e.st.Replay(ctx, dead[0].ID); err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	if n, err := e.st.ReplayAll(ctx); err != nil || n != 1 {
		t.Fatalf("ReplayAll = %d, %v", n, err)
	}
	eventually(t, "both sent", func() bool {
		return e.state(t, "p-bad") == store.PushSent && e.state(t, "p-flaky") == store.PushSent
	})
	if n := len(e.api.Sent(alice)); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	if dead, _ := e.st.ListDead(ctx); len(dead) != 0 {
		t.Fatalf("dead after replay: %+v", dead)
	}
}

// 43004: no message, a call-back task, and the push is finished.
func TestUnsubscribedBecomesCallback(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	e.api.Unsubscribe(alice)
	run(t, e.options("r1"))
	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p1 undeliverable", func() bool { return e.state(t, "p1") == store.PushUndeliverable })
	cbs, err := e.st.ListCallbacks(context.Background(), "c1")
	if err != nil || len(cbs) != 1 || cbs[0].OpenID != alice || cbs[0].Reason != wechat.ReasonUnsubscribed {
		t.Fatalf("call-backs %+v, %v", cbs, err)
	}
	if dead, _ := e.st.ListDead(context.Background()); len(dead) != 0 {
		t.Fatalf("dead %+v", dead)
	}
}

// gate holds the first delivery it sees until released or its context ends.
type gate struct {
	next    outbox.Deliverer
	got     chan bot.Push
	release chan struct{}
	calls   atomic.Int32
}

func newGate(next outbox.Deliverer) *gate {
	return &gate{next: next, got: make(chan bot.Push, 10), release: make(chan struct{})}
}

func (g *gate) DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome {
	g.calls.Add(1)
	g.got <- ps[0]
	select {
	case <-g.release:
		return g.next.DeliverAll(ctx, ps)
	case <-ctx.Done():
		return []bot.Outcome{{Result: wechat.Retry, Via: wechat.OpCustom, Reason: "killed", Err: ctx.Err()}}
	}
}

func (g *gate) Mergeable(ps []bot.Push) bool { return g.next.Mergeable(ps) }

// Two workers; one is killed mid-send, after it read the entry and before it
// finished it. The other reclaims the entry and delivers it, once.
func TestKilledWorkerEntryReclaimed(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)

	optA := e.options("replica-a")
	optA.Workers = 1
	optA.Drain = 10 * time.Millisecond // no time to finish: as good as killed
	stuck := newGate(e.deliverer)
	optA.Deliverer = stuck
	_, killA := run(t, optA)

	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stuck.got:
	case <-time.After(10 * time.Second):
		t.Fatal("replica a never read the push")
	}
	optB := e.options("replica-b")
	optB.ReclaimIdle = 300 * time.Millisecond
	run(t, optB)

	start := time.Now()
	killA()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("killing a took %s", d)
	}
	if s, _ := e.st.OutboxStats(context.Background()); s.Pending != 1 {
		t.Fatalf("the entry is not left pending: %+v", s)
	}
	eventually(t, "p1 sent by replica b", func() bool { return e.state(t, "p1") == store.PushSent })
	eventually(t, "the outbox empty", e.settled(t))
	time.Sleep(200 * time.Millisecond)
	if n := len(e.api.Sent(alice)); n != 1 || stuck.calls.Load() != 1 {
		t.Fatalf("sent %d times, replica a tried %d", n, stuck.calls.Load())
	}
	if dead, _ := e.st.ListDead(context.Background()); len(dead) != 0 {
		t.Fatalf("dead %+v", dead)
	}
}

// Stopping drains: a delivery under way finishes and is recorded as sent, although
// the worker's context has ended.
func TestStopDrainsAndRecordsSent(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	opt := e.options("r1")
	held := newGate(e.deliverer)
	opt.Deliverer = held
	_, stop := run(t, opt)
	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	<-held.got
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond) // Run's context is over now
	close(held.release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if st := e.state(t, "p1"); st != store.PushSent || len(e.api.Sent(alice)) != 1 {
		t.Fatalf("state %q, sent %d", st, len(e.api.Sent(alice)))
	}
	if s, _ := e.st.OutboxStats(context.Background()); s.Pending != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

type panicky struct{}

func (panicky) DeliverAll(context.Context, []bot.Push) []bot.Outcome { panic("boom") }
func (panicky) Mergeable([]bot.Push) bool                            { return false }

// A delivery that panics costs an attempt, not the process.
func TestPanicCountsAsFailedAttempt(t *testing.T) {
	e := newEnv(t)
	opt := e.options("r1")
	opt.Deliverer = panicky{}
	opt.MaxAttempts = 1
	run(t, opt)
	if err := e.st.Push(context.Background(), reply("p1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p1 dead", func() bool { return e.state(t, "p1") == store.PushDead })
}

func TestRetryBadPayload(t *testing.T) {
	e := newEnv(t)
	w, err := outbox.New(e.options("r1"))
	if err != nil {
		t.Fatal(err)
	}
	err = w.Retry(context.Background(), bot.Reminder{ID: "x", Kind: outbox.RetryKind, Payload: []byte("nope")})
	if bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Retry(bad) = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t)
	for _, opt := range []outbox.Options{
		{},
		{Store: e.st},
		{Store: e.st, Deliverer: e.deliverer, BackoffBase: time.Minute, BackoffCap: time.Second},
	} {
		if _, err := outbox.New(opt); err == nil {
			t.Errorf("New(%+v) passed", opt)
		}
	}
}

// counting tells when n pushes have been delivered.
type counting struct {
	next outbox.Deliverer
	n    atomic.Int64
	done chan struct{}
	want int64
}

func (c *counting) DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome {
	outs := c.next.DeliverAll(ctx, ps)
	for _, out := range outs {
		if out.Result == wechat.Sent && c.n.Add(1) == c.want {
			close(c.done)
		}
	}
	return outs
}

func (c *counting) Mergeable(ps []bot.Push) bool { return c.next.Mergeable(ps) }

// BenchmarkOutbox measures pushes per second from Push through the workers and the
// delivery ladder to the simulated platform on loopback, against real Redis.
func BenchmarkOutbox(b *testing.B) {
	e := newEnv(b)
	const users = 200
	for i := range users {
		e.wrote(b, fmt.Sprintf("o-user-%d", i))
	}
	cnt := &counting{next: e.deliverer, done: make(chan struct{}), want: int64(b.N)}
	opt := e.options("bench")
	opt.Deliverer = cnt
	opt.Workers = 32
	opt.Block = time.Second
	_, stop := run(b, opt)
	ctx := context.Background()
	// Warm the token outside the timing.
	if out := e.deliverer.Deliver(ctx, bot.Push{ID: "warm", To: "o-user-0", Text: "warm"}); out.Result != wechat.Sent {
		b.Fatalf("warm-up: %+v", out)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const producers = 8
	for g := range producers {
		wg.Go(func() {
			for i := g; i < b.N; i += producers {
				p := bot.Push{ID: fmt.Sprintf("bench:%d", i), To: fmt.Sprintf("o-user-%d", i%users), Kind: "ticket_reply", Text: "您的诉求有新回复"}
				if err := e.st.Push(ctx, p); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-cnt.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", cnt.n.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pushes/s")
	stop()
	if ok, failed := customSends(e.api); failed != 0 {
		b.Fatalf("%d sends failed (%d ok)", failed, ok)
	}
}

// testLog discards; point it at os.Stderr to watch the workers.
var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// A push that must be retried holds back the recipient's later pushes: they arrive
// after it, in order, and another recipient is not held up.
func TestRetryKeepsOrderPerRecipient(t *testing.T) {
	e := newEnv(t)
	const bob = "o-bob"
	e.wrote(t, alice)
	e.wrote(t, bob)
	w, _ := run(t, e.options("r1"))
	ctx := context.Background()
	e.api.FailFor(alice, sim.Fault{Status: 502})
	for i, text := range []string{"一", "二", "三"} {
		p := reply(fmt.Sprintf("o%d", i))
		p.Text = text
		if err := e.st.Push(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	other := reply("b1")
	other.To = bob
	if err := e.st.Push(ctx, other); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob served", func() bool { return len(e.api.Sent(bob)) == 1 })
	eventually(t, "alice's turn waiting", func() bool { n, _ := e.st.Pending(ctx); return n == 1 })
	if n := len(e.api.Sent(alice)); n != 0 {
		t.Fatalf("alice got %d while the first failed", n)
	}
	e.api.Heal(alice)
	e.fireRetries(t, w)
	eventually(t, "alice served", func() bool { return len(e.api.Sent(alice)) == 3 })
	if got := strings.Join(texts(t, e.api, alice), "|"); got != "一|二|三" {
		t.Fatalf("alice got %q", got)
	}
}

// With one customer-service message left, replies typed in a row wait a moment and
// go as one message, in order, ending with the invitation to reply; what comes
// after goes by template. No send is refused.
func TestMergeIntoTheLastMessage(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	ctx := context.Background()
	// Four of the five are spent.
	for range 4 {
		if _, code, err := e.st.TakeCustom(ctx, alice, e.clock.Now()); err != nil || code != 0 {
			t.Fatal(code, err)
		}
	}
	d, err := wechat.NewDeliverer(wechat.DelivererConfig{
		AppID: appID, Token: mustToken(t, e), Allowance: e.st, Callbacks: e.st, Clock: e.clock, KeepInTouch: "（回复任意内容可继续收到进展）",
		Templates: wechat.Templates{"ticket_reply": {ID: "tpl-reply", Fields: map[string]string{"keyword1": "{ref}", "keyword2": "{text}"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	opt := e.options("r1")
	opt.Deliverer, opt.Gather = d, 20*time.Second
	w, _ := run(t, opt)
	for i, text := range []string{"师傅明天上午到。", "请家里留人。"} {
		p := reply(fmt.Sprintf("m%d", i))
		p.Text = text
		if err := e.st.Push(ctx, p); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the turn waiting to gather", func() bool { n, _ := e.st.Pending(ctx); return n == 1 })
		e.clock.Advance(5 * time.Second)
	}
	if n := len(e.api.Sent(alice)); n != 0 {
		t.Fatalf("sent %d before the gathering time", n)
	}
	e.clock.Advance(20 * time.Second)
	e.fireRetries(t, w)
	eventually(t, "the merged message", func() bool { return len(e.api.Sent(alice)) == 1 })
	if err := e.st.Push(ctx, reply("m2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the template", func() bool { return len(e.api.Sent(alice)) == 2 })
	sent := e.api.Sent(alice)
	got := texts(t, e.api, alice)
	if sent[0].Kind != sim.KindCustom || got[0] != "师傅明天上午到。\n\n请家里留人。\n\n（回复任意内容可继续收到进展）" {
		t.Fatalf("merged message %q", got[0])
	}
	if sent[1].Kind != sim.KindTemplate {
		t.Fatalf("after the allowance: %+v", sent[1])
	}
	for _, c := range e.api.Calls() {
		if c.ErrCode != 0 {
			t.Fatalf("a call was refused: %+v", c)
		}
	}
}

// Allowance spent and no template for the kind: an important push becomes a
// call-back task and its sender is told at once.
func TestImportantPushNeverDiesOnTheAllowance(t *testing.T) {
	e := newEnv(t)
	e.wrote(t, alice)
	ctx := context.Background()
	for range 5 {
		if _, _, err := e.st.TakeCustom(ctx, alice, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var told []bot.Push
	var mu sync.Mutex
	opt := e.options("r1")
	opt.Undelivered = func(_ context.Context, p bot.Push, out bot.Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		if out.Callback {
			told = append(told, p)
		}
		return nil
	}
	run(t, opt)
	p := reply("p1")
	p.Kind, p.Sender = "no_template_kind", "o-staff"
	if err := e.st.Push(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p1 undeliverable", func() bool { return e.state(t, "p1") == store.PushUndeliverable })
	cbs, err := e.st.ListCallbacks(ctx, "c1")
	if err != nil || len(cbs) != 1 || cbs[0].Reason != wechat.ReasonNoTemplate {
		t.Fatalf("call-backs %+v, %v", cbs, err)
	}
	eventually(t, "the sender told", func() bool { mu.Lock(); defer mu.Unlock(); return len(told) == 1 })
	for _, c := range e.api.Calls() {
		if c.Kind == sim.KindCustom {
			t.Fatalf("tried a customer-service message with the allowance spent: %+v", c)
		}
	}
}

func mustToken(t *testing.T, e *env) *wechat.Token {
	t.Helper()
	tok, err := wechat.NewToken(appID, appSecret, e.st, wechat.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
