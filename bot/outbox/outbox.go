// Package outbox runs the workers that send what is queued in the durable outbox:
// each push goes down the delivery ladder once per attempt; a failure that may pass
// is retried later through the due set (never by sleeping in a worker), and after
// the last attempt the push is dead-lettered for an admin to replay.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"minyuan/bot"
	"minyuan/bot/wechat"
	"minyuan/store"
)

// RetryKind is the reminder kind of a push's next attempt; register Worker.Retry
// for it with the scheduler.
const RetryKind = "outbox.retry"

// Queue is the outbox; *store.Store is one.
type Queue interface {
	Read(ctx context.Context, consumer string, count int, block time.Duration) ([]store.OutboxMsg, error)
	Reclaim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]store.OutboxMsg, error)
	Sent(ctx context.Context, msg store.OutboxMsg) error
	Undeliverable(ctx context.Context, msg store.OutboxMsg) error
	Ack(ctx context.Context, msg store.OutboxMsg) error
	Defer(ctx context.Context, msg store.OutboxMsg, due bot.Reminders, r bot.Reminder) error
	Dead(ctx context.Context, msg store.OutboxMsg, attempt int, reason string, at time.Time) error
	Requeue(ctx context.Context, p bot.Push, attempt int) (bool, error)
	PruneConsumers(ctx context.Context, idle time.Duration) (int, error)
}

// Deliverer sends one push once; *wechat.Deliverer is one.
type Deliverer interface {
	Deliver(ctx context.Context, p bot.Push) wechat.Outcome
}

// Options configure a Worker. Zero values take the defaults.
type Options struct {
	Store     Queue
	Deliverer Deliverer
	Reminders bot.Reminders
	Clock     bot.Clock // default bot.SystemClock
	Log       *slog.Logger
	// Name tells this replica's consumers apart in the group (default host, pid
	// and a random suffix: a restarted replica must not inherit the entries of its
	// previous life under the same name, they are reclaimed instead).
	Name string
	// Workers is how many pushes this replica sends at once (default 4).
	Workers int
	// MaxAttempts is how many failed attempts a push gets before it is
	// dead-lettered (default 8).
	MaxAttempts int
	// BackoffBase and BackoffCap shape the wait before attempt n+1: base·2^(n-1),
	// at most cap, of which a random half is taken off so that pushes failed
	// together do not come back together (default 5s and 10m).
	BackoffBase time.Duration
	BackoffCap  time.Duration
	// ReclaimIdle is how long an entry read by a worker may stay unfinished before
	// another takes it over; it must exceed the longest delivery (a few API calls,
	// each bounded by the HTTP time-out), or a slow send is doubled (default 2m).
	ReclaimIdle time.Duration
	// ReclaimEvery is how often to look for such entries (default ReclaimIdle/4).
	ReclaimEvery time.Duration
	// Block is how long one read waits for new entries; it also bounds how long
	// Run takes to notice its context has ended (default 2s).
	Block time.Duration
	// Drain is how long deliveries under way may finish once Run's context ends;
	// those still running after it are abandoned, their entries left to be
	// reclaimed (default 10s).
	Drain time.Duration
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Store == nil:
		return o, errors.New("outbox: Store is required")
	case o.Deliverer == nil:
		return o, errors.New("outbox: Deliverer is required")
	case o.Reminders == nil:
		return o, errors.New("outbox: Reminders is required")
	}
	if o.Clock == nil {
		o.Clock = bot.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:6])
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = 10 * time.Minute
	}
	if o.BackoffCap < o.BackoffBase {
		return o, fmt.Errorf("outbox: BackoffCap %s is below BackoffBase %s", o.BackoffCap, o.BackoffBase)
	}
	if o.ReclaimIdle <= 0 {
		o.ReclaimIdle = 2 * time.Minute
	}
	if o.ReclaimEvery <= 0 {
		o.ReclaimEvery = o.ReclaimIdle / 4
	}
	if o.Block <= 0 {
		o.Block = 2 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	return o, nil
}

const (
	// markTimeout bounds recording an outcome. It runs on a context of its own:
	// once the platform has taken a message, "sent" must be written even when the
	// worker is being stopped, or the push would be sent again.
	markTimeout = 5 * time.Second
	// readErrorPause keeps a worker from spinning while Redis is unreachable.
	readErrorPause = time.Second
	// pruneEvery and pruneIdle: consumers of replicas long gone are dropped from
	// the group.
	pruneEvery = time.Hour
	pruneIdle  = 24 * time.Hour
)

// Worker is one replica's pool of outbox workers.
type Worker struct {
	opt Options
	log *slog.Logger
}

// New checks opt and makes a Worker.
func New(opt Options) (*Worker, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Worker{opt: opt, log: opt.Log.With("component", "outbox")}, nil
}

// Run sends until ctx ends, then stops reading, lets deliveries under way finish
// within Drain, and returns.
//
// One reader per replica waits on the stream, for as many entries as there are
// idle workers, and hands them out: a blocking read holds a Redis connection for
// its whole wait, and one per worker would starve the pool the workers need for
// everything else.
func (w *Worker) Run(ctx context.Context) error {
	// hard ends deliveries: Drain after ctx does.
	hard, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	idle := make(chan struct{}, w.opt.Workers) // a token per idle worker
	for range w.opt.Workers {
		idle <- struct{}{}
	}
	work := make(chan store.OutboxMsg)
	var workers, feeders sync.WaitGroup
	for range w.opt.Workers {
		workers.Go(func() {
			for m := range work {
				w.handle(hard, m)
				idle <- struct{}{}
			}
		})
	}
	feeders.Go(func() { w.readLoop(ctx, idle, work) })
	feeders.Go(func() { w.reclaimLoop(ctx, idle, work) })

	done := make(chan struct{})
	go func() {
		feeders.Wait()
		close(work)
		workers.Wait()
		close(done)
	}()
	<-ctx.Done()
	w.log.Info("outbox: stopping; draining deliveries under way", "drain", w.opt.Drain.String())
	t := time.NewTimer(w.opt.Drain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		w.log.Warn("outbox: drain time is up; abandoning deliveries under way to be reclaimed")
		kill()
		<-done
	}
	return nil
}

// take reserves idle workers: one, waiting for it until ctx ends, and as many more
// as are idle now. It returns how many; 0 when ctx ended first.
func take(ctx context.Context, idle chan struct{}) int {
	select {
	case <-ctx.Done():
		return 0
	case <-idle:
	}
	n := 1
	for {
		select {
		case <-idle:
			n++
		default:
			return n
		}
	}
}

func giveBack(idle chan struct{}, n int) {
	for range n {
		idle <- struct{}{}
	}
}

// dispatch hands msgs to the workers reserved for them (n of them) and returns the
// rest. Entries already read are handed out even when ctx has ended: they are
// delivered within the drain rather than left for a reclaim much later.
func dispatch(msgs []store.OutboxMsg, n int, idle chan struct{}, work chan<- store.OutboxMsg) {
	for _, m := range msgs {
		work <- m
	}
	giveBack(idle, n-len(msgs))
}

func (w *Worker) readLoop(ctx context.Context, idle chan struct{}, work chan<- store.OutboxMsg) {
	for {
		n := take(ctx, idle)
		if n == 0 {
			return
		}
		if ctx.Err() != nil {
			giveBack(idle, n)
			return
		}
		msgs, err := w.opt.Store.Read(ctx, w.opt.Name, n, w.opt.Block)
		if err != nil {
			giveBack(idle, n)
			if ctx.Err() != nil {
				return
			}
			w.log.Error("outbox: read", "err", wechat.Redact(err.Error()))
			pause(ctx, readErrorPause)
			continue
		}
		dispatch(msgs, n, idle, work)
	}
}

// reclaimLoop takes over the entries of consumers that died with them, and now and
// then forgets consumers long gone.
func (w *Worker) reclaimLoop(ctx context.Context, idle chan struct{}, work chan<- store.OutboxMsg) {
	tick := time.NewTicker(w.opt.ReclaimEvery)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// The reader holds the idle workers while it waits on the stream; this
		// waits its turn (at most one Block) rather than skip, or an idle replica
		// would never reclaim anything.
		n := take(ctx, idle)
		if n == 0 {
			return
		}
		msgs, err := w.opt.Store.Reclaim(ctx, w.opt.Name, w.opt.ReclaimIdle, n)
		if err != nil {
			giveBack(idle, n)
			if ctx.Err() == nil {
				w.log.Error("outbox: reclaim", "err", wechat.Redact(err.Error()))
			}
			continue
		}
		for _, m := range msgs {
			w.log.Warn("outbox: reclaimed an entry its worker left unfinished", "push", m.Push.ID, "entry", m.ID)
		}
		dispatch(msgs, n, idle, work)
		if time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			if n, err := w.opt.Store.PruneConsumers(ctx, pruneIdle); err != nil {
				w.log.Warn("outbox: prune consumers", "err", err)
			} else if n > 0 {
				w.log.Info("outbox: pruned idle consumers", "count", n)
			}
		}
	}
}

// retryPayload is what a RetryKind reminder carries.
type retryPayload struct {
	Push    bot.Push `json:"push"`
	Attempt int      `json:"attempt"` // failed attempts so far
}

// handle sends one entry and records how it went. ctx is the hard context: it ends
// only when the drain time is up.
func (w *Worker) handle(ctx context.Context, m store.OutboxMsg) {
	log := w.log.With("push", m.Push.ID, "kind", m.Push.Kind, "entry", m.ID, "attempt", m.Attempt+1)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()

	if m.Malformed != "" {
		log.Error("outbox: malformed entry dead-lettered", "reason", m.Malformed)
		if err := w.opt.Store.Dead(mctx, m, m.Attempt, m.Malformed, w.opt.Clock.Now()); err != nil {
			log.Error("outbox: dead-letter", "err", err)
		}
		return
	}
	switch m.State {
	case store.PushSent, store.PushUndeliverable, store.PushDead:
		// A second entry of a push already finished: the first got through.
		log.Info("outbox: duplicate entry of a finished push dropped", "state", m.State)
		if err := w.opt.Store.Ack(mctx, m); err != nil {
			log.Error("outbox: ack duplicate", "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}

	// A delivery may not outlive its claim on the entry, or another worker would
	// reclaim and send it a second time.
	dctx, dcancel := context.WithTimeout(ctx, w.opt.ReclaimIdle/2)
	out := w.deliver(dctx, m.Push)
	dcancel()

	var err error
	switch out.Result {
	case wechat.Sent:
		log.Info("outbox: sent", "via", out.Via)
		err = w.opt.Store.Sent(mctx, m)
	case wechat.Undeliverable:
		log.Warn("outbox: undeliverable", "reason", out.Reason, "callback", out.Callback, "err", errText(out.Err))
		err = w.opt.Store.Undeliverable(mctx, m)
	case wechat.Failed:
		log.Error("outbox: refused by the platform; dead-lettered", "via", out.Via, "err", errText(out.Err))
		err = w.opt.Store.Dead(mctx, m, m.Attempt+1, out.Reason, w.opt.Clock.Now())
	default: // Retry
		if ctx.Err() != nil {
			// Stopped mid-send: this attempt does not count, and another worker
			// picks the entry up once it has been idle long enough.
			log.Info("outbox: delivery abandoned at shutdown; left to be reclaimed")
			return
		}
		err = w.retryLater(mctx, m, out, log)
	}
	if err != nil {
		// The entry stays pending and comes back through Reclaim; a push already
		// sent may then go twice (its template carries a client_msg_id the
		// platform dedupes on).
		log.Error("outbox: record outcome", "result", out.Result.String(), "err", err)
	}
}

func (w *Worker) retryLater(ctx context.Context, m store.OutboxMsg, out wechat.Outcome, log *slog.Logger) error {
	failed := m.Attempt + 1
	if failed >= w.opt.MaxAttempts {
		reason := fmt.Sprintf("gave up after %d attempts: %s", failed, out.Reason)
		log.Error("outbox: dead-lettered after the last attempt", "err", errText(out.Err))
		return w.opt.Store.Dead(ctx, m, failed, reason, w.opt.Clock.Now())
	}
	payload, err := json.Marshal(retryPayload{Push: m.Push, Attempt: failed})
	if err != nil {
		return err
	}
	wait := w.backoff(failed)
	r := bot.Reminder{
		// One retry per push at a time: scheduling it again moves it.
		ID:      RetryKind + ":" + m.Push.ID,
		Kind:    RetryKind,
		Due:     w.opt.Clock.Now().Add(wait),
		Payload: payload,
	}
	log.Warn("outbox: will retry", "in", wait.String(), "err", errText(out.Err))
	return w.opt.Store.Defer(ctx, m, w.opt.Reminders, r)
}

// backoff is the wait after the n-th failed attempt: exponential, capped, with the
// upper half jittered.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opt.BackoffCap
	if n-1 < 32 {
		if e := w.opt.BackoffBase << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return half + mrand.N(half+1)
}

// deliver runs the Deliverer, turning a panic into a failed attempt so that one
// poisoned push costs attempts, not the process.
func (w *Worker) deliver(ctx context.Context, p bot.Push) (out wechat.Outcome) {
	defer func() {
		if r := recover(); r != nil {
			out = wechat.Outcome{Result: wechat.Retry, Via: "panic", Reason: fmt.Sprint(r), Err: fmt.Errorf("outbox: deliver panicked: %v", r)}
		}
	}()
	return w.opt.Deliverer.Deliver(ctx, p)
}

// Retry is the handler of RetryKind reminders: it puts the push back in the
// outbox for its next attempt, unless it has been sent meanwhile. A reminder whose
// payload cannot be read returns an EInvalid error: retrying it cannot help.
func (w *Worker) Retry(ctx context.Context, r bot.Reminder) error {
	var p retryPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil || p.Push.ID == "" {
		w.log.Error("outbox: retry reminder without a push", "reminder", r.ID, "err", err)
		return bot.Errorf(bot.EInvalid, "outbox: retry reminder %s: bad payload: %v", r.ID, err)
	}
	queued, err := w.opt.Store.Requeue(ctx, p.Push, p.Attempt)
	if err != nil {
		return err
	}
	if !queued {
		w.log.Info("outbox: retry skipped, push already finished", "push", p.Push.ID)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return wechat.Redact(err.Error())
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
