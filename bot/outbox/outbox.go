// Package outbox runs the workers that send what is queued in the durable outbox.
// The outbox keeps one queue per recipient, and a recipient's turn goes to one
// worker at a time, so that a recipient's pushes arrive in the order they were made
// whatever fails or waits in between: order is a property of the queue, not of
// timing. A turn sends what is due down the delivery ladder, merging pushes into one
// customer-service message when the recipient's allowance is shorter than the queue;
// a failure that may pass is retried later through the due set (never by sleeping in
// a worker), holding back the pushes behind it, and after the last attempt the push
// is dead-lettered for an admin to replay.
//
// The package depends on bot only: the store and the WeChat ladder come in through
// the interfaces below, wired in cmd/minyuan/app.
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
)

// RetryKind is the reminder kind of a recipient's next turn, after a failure or
// until held pushes may go; register Worker.Retry for it with the scheduler.
const RetryKind = "outbox.retry"

// Queue is the outbox; *store.Store is one.
type Queue interface {
	bot.Pusher
	Read(ctx context.Context, consumer string, count int, block time.Duration) ([]bot.Turn, error)
	Reclaim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]bot.Turn, error)
	// Queued returns up to n of a recipient's pushes, in order.
	Queued(ctx context.Context, to string, n int) ([]bot.Queued, error)
	// Contact is what is known of the recipient's customer-service allowance.
	Contact(ctx context.Context, to string) (bot.Contact, error)
	Sent(ctx context.Context, q bot.Queued) error
	Undeliverable(ctx context.Context, q bot.Queued) error
	// Failed records a failed attempt of q, which keeps its place.
	Failed(ctx context.Context, q bot.Queued, attempt int) error
	Dead(ctx context.Context, to string, q bot.Queued, attempt int, reason string, at time.Time) error
	// Release ends a turn; Later parks it in the due set until reminder w, which
	// it schedules; Wake brings it back when reminder id is the one it waits for.
	Release(ctx context.Context, r bot.Turn) error
	Later(ctx context.Context, r bot.Turn, w bot.Reminder) error
	// Held is Later for a turn whose pushes all wait for the end of quiet hours:
	// a push that may go now wakes it early, and so does one queued after the
	// first seen were read (seen < 0: do not look).
	Held(ctx context.Context, r bot.Turn, w bot.Reminder, seen int) error
	Wake(ctx context.Context, to, id string) error
	PruneConsumers(ctx context.Context, idle time.Duration) (int, error)
}

// Deliverer sends pushes to one recipient down the ladder; *wechat.Deliverer is one.
type Deliverer interface {
	// DeliverAll sends ps in one customer-service message if the allowance has
	// one, each by template otherwise; it returns an outcome per push it got to.
	DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome
	// Mergeable says whether ps fit one message.
	Mergeable(ps []bot.Push) bool
}

// Options configure a Worker. Zero values take the defaults.
type Options struct {
	Store     Queue
	Deliverer Deliverer
	Clock     bot.Clock // default bot.SystemClock
	Log       *slog.Logger
	// Undelivered, when set, is told of each push that could reach nobody (to tell
	// its sender).
	Undelivered func(ctx context.Context, p bot.Push, out bot.Outcome) error
	// Gather is how long the last customer-service message of a recipient's
	// allowance waits for more pushes to merge into it (staff typing several
	// replies in a row); urgent pushes never wait (default 20s; negative: never).
	Gather time.Duration
	// Batch is how many of a recipient's pushes one turn looks at (default 20).
	Batch int
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
	if o.Gather == 0 {
		o.Gather = 20 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 20
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
	work := make(chan bot.Turn)
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
func dispatch(msgs []bot.Turn, n int, idle chan struct{}, work chan<- bot.Turn) {
	for _, m := range msgs {
		work <- m
	}
	giveBack(idle, n-len(msgs))
}

func (w *Worker) readLoop(ctx context.Context, idle chan struct{}, work chan<- bot.Turn) {
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
			w.log.Error("outbox: read", "err", err)
			pause(ctx, readErrorPause)
			continue
		}
		dispatch(msgs, n, idle, work)
	}
}

// reclaimLoop takes over the entries of consumers that died with them, and now and
// then forgets consumers long gone.
func (w *Worker) reclaimLoop(ctx context.Context, idle chan struct{}, work chan<- bot.Turn) {
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
				w.log.Error("outbox: reclaim", "err", err)
			}
			continue
		}
		for _, m := range msgs {
			w.log.Warn("outbox: reclaimed a turn its worker left unfinished", "entry", m.Entry)
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

// retryPayload is what a RetryKind reminder carries: the recipient whose turn it
// is. Reminders made by the version before per-recipient queues carry a push.
type retryPayload struct {
	To      string    `json:"to,omitempty"`
	Push    *bot.Push `json:"push,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
}

// handle runs one recipient's turn. ctx is the hard context: it ends only when the
// drain time is up.
func (w *Worker) handle(ctx context.Context, r bot.Turn) {
	log := w.log.With("entry", r.Entry)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if ctx.Err() != nil {
		return
	}
	items, err := w.opt.Store.Queued(mctx, r.To, w.opt.Batch)
	if err != nil {
		// The turn stays pending and comes back through Reclaim.
		log.Error("outbox: read a recipient's queue", "err", err)
		return
	}
	now := w.opt.Clock.Now()
	var ready []bot.Queued
	var hold time.Time
	for _, q := range items {
		switch {
		case q.Push.ID == "":
			log.Error("outbox: malformed push dead-lettered")
			if err := w.opt.Store.Dead(mctx, r.To, q, q.Attempt, "undecodable push", now); err != nil {
				log.Error("outbox: dead-letter", "err", err)
				return
			}
		case q.Hold.After(now):
			// Held for quiet hours; urgent pushes queued after it may go first.
			if hold.IsZero() || q.Hold.Before(hold) {
				hold = q.Hold
			}
		default:
			ready = append(ready, q)
		}
	}
	if len(ready) == 0 {
		if !hold.IsZero() {
			seen := len(items)
			if seen >= w.opt.Batch {
				seen = -1 // only part of the queue was read
			}
			w.park(mctx, r, hold, seen, log)
			return
		}
		w.release(mctx, r, log)
		return
	}
	c, err := w.opt.Store.Contact(mctx, r.To)
	if err != nil {
		log.Error("outbox: read the allowance", "err", err)
		return
	}
	left, _ := c.Left(now)
	if at, ok := w.gather(ready, left, now); ok {
		w.later(mctx, r, at, log)
		return
	}
	for _, g := range plan(ready, left, w.opt.Deliverer.Mergeable) {
		// A delivery may not outlive its claim on the turn, or another worker
		// would reclaim it and send the same pushes a second time.
		dctx, dcancel := context.WithTimeout(ctx, w.opt.ReclaimIdle/2)
		outs := w.deliver(dctx, g)
		dcancel()
		for i, q := range g {
			if i >= len(outs) {
				// Not tried: it waits behind the one that must be retried.
				return
			}
			if !w.record(ctx, mctx, r, q, outs[i], log.With("push", q.Push.ID, "kind", q.Push.Kind, "attempt", q.Attempt+1)) {
				return
			}
		}
	}
	w.release(mctx, r, log)
}

// gather says whether the turn should wait for more pushes to merge: the
// allowance has one customer-service message left, one push is ready, and it came
// in less than Gather ago.
func (w *Worker) gather(ready []bot.Queued, left int, now time.Time) (time.Time, bool) {
	if w.opt.Gather <= 0 || left != 1 || len(ready) != 1 {
		return time.Time{}, false
	}
	p := ready[0]
	if p.Push.Urgent || p.Push.Text == "" || p.Push.Image != "" || p.Push.Voice != "" {
		// Nothing to wait for: a photo or a voice message merges with nothing.
		return time.Time{}, false
	}
	at := p.At.Add(w.opt.Gather)
	return at, at.After(now)
}

// plan groups the ready pushes into messages: each alone while the allowance lasts
// (or when it has none: templates need none), and, when the allowance is shorter
// than the queue, the rest merged into its last customer-service message, as many
// as fit.
func plan(ready []bot.Queued, left int, mergeable func([]bot.Push) bool) [][]bot.Queued {
	var groups [][]bot.Queued
	if left <= 0 || len(ready) <= left {
		for _, q := range ready {
			groups = append(groups, []bot.Queued{q})
		}
		return groups
	}
	for _, q := range ready[:left-1] {
		groups = append(groups, []bot.Queued{q})
	}
	rest := ready[left-1:]
	n := len(rest)
	for n > 1 && !mergeable(pushes(rest[:n])) {
		n--
	}
	groups = append(groups, rest[:n])
	for _, q := range rest[n:] {
		groups = append(groups, []bot.Queued{q})
	}
	return groups
}

func pushes(qs []bot.Queued) []bot.Push {
	out := make([]bot.Push, len(qs))
	for i, q := range qs {
		out[i] = q.Push
	}
	return out
}

// record writes how q's delivery went. It returns false when the turn must stop
// here: q will be retried, or its outcome could not be written.
func (w *Worker) record(ctx, mctx context.Context, r bot.Turn, q bot.Queued, out bot.Outcome, log *slog.Logger) bool {
	var err error
	switch out.Result {
	case bot.Sent:
		log.Info("outbox: sent", "via", out.Via, "merged", out.Merged)
		err = w.opt.Store.Sent(mctx, q)
	case bot.Undeliverable:
		log.Warn("outbox: undeliverable", "reason", out.Reason, "callback", out.Callback, "err", errText(out.Err))
		if err = w.opt.Store.Undeliverable(mctx, q); err == nil && w.opt.Undelivered != nil {
			if nerr := w.opt.Undelivered(mctx, q.Push, out); nerr != nil {
				log.Error("outbox: tell the sender of an undeliverable push", "err", nerr)
			}
		}
	case bot.Failed:
		log.Error("outbox: refused by the platform; dead-lettered", "via", out.Via, "err", errText(out.Err))
		err = w.opt.Store.Dead(mctx, r.To, q, q.Attempt+1, out.Reason, w.opt.Clock.Now())
	default: // Retry
		if ctx.Err() != nil {
			// Stopped mid-send: this attempt does not count, and another worker
			// picks the turn up once it has been idle long enough.
			log.Info("outbox: delivery abandoned at shutdown; left to be reclaimed")
			return false
		}
		failed := q.Attempt + 1
		if failed >= w.opt.MaxAttempts {
			reason := fmt.Sprintf("gave up after %d attempts: %s", failed, out.Reason)
			log.Error("outbox: dead-lettered after the last attempt", "err", errText(out.Err))
			err = w.opt.Store.Dead(mctx, r.To, q, failed, reason, w.opt.Clock.Now())
			break
		}
		if err := w.opt.Store.Failed(mctx, q, failed); err != nil {
			log.Error("outbox: record a failed attempt", "err", err)
			return false
		}
		wait := w.backoff(failed)
		log.Warn("outbox: will retry", "in", wait.String(), "err", errText(out.Err))
		w.later(mctx, r, w.opt.Clock.Now().Add(wait), log)
		return false
	}
	if err != nil {
		// The turn stays pending and comes back through Reclaim; a push already
		// sent may then go twice (its template carries a client_msg_id the
		// platform dedupes on).
		log.Error("outbox: record outcome", "result", out.Result.String(), "err", err)
		return false
	}
	return true
}

// later hands the turn to the due set until at.
func (w *Worker) later(ctx context.Context, r bot.Turn, at time.Time, log *slog.Logger) {
	w.park(ctx, r, at, notHeld, log)
}

// notHeld: park's turn waits for something other than the end of quiet hours.
const notHeld = -2

// park hands the turn to the due set until at. A turn whose pushes all wait for the
// end of quiet hours (seen > notHeld: the worker read the first seen of them, -1
// when only part of the queue) is woken by an urgent push queued meanwhile.
func (w *Worker) park(ctx context.Context, r bot.Turn, at time.Time, seen int, log *slog.Logger) {
	payload, err := json.Marshal(retryPayload{To: r.To})
	if err == nil {
		rem := bot.Reminder{ID: TurnID(r.To, r.Entry), Kind: RetryKind, Due: at, Payload: payload}
		if seen > notHeld {
			err = w.opt.Store.Held(ctx, r, rem, seen)
		} else {
			err = w.opt.Store.Later(ctx, r, rem)
		}
	}
	if err != nil {
		log.Error("outbox: hand a turn to the due set", "err", err)
	}
}

func (w *Worker) release(ctx context.Context, r bot.Turn, log *slog.Logger) {
	if err := w.opt.Store.Release(ctx, r); err != nil {
		log.Error("outbox: release a turn", "err", err)
	}
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
func (w *Worker) deliver(ctx context.Context, g []bot.Queued) (outs []bot.Outcome) {
	defer func() {
		if r := recover(); r != nil {
			outs = []bot.Outcome{{Result: bot.Retry, Via: "panic", Reason: fmt.Sprint(r), Err: fmt.Errorf("outbox: deliver panicked: %v", r)}}
		}
	}()
	return w.opt.Deliverer.DeliverAll(ctx, pushes(g))
}

// Retry is the handler of RetryKind reminders: the recipient's turn comes back to
// the outbox, if it is still parked until this reminder (a push may have woken it
// meanwhile). A reminder whose payload cannot be read returns an EInvalid error:
// retrying it cannot help.
func (w *Worker) Retry(ctx context.Context, r bot.Reminder) error {
	var p retryPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil || (p.To == "" && p.Push == nil) {
		w.log.Error("outbox: retry reminder without a recipient", "reminder", r.ID, "err", err)
		return bot.Errorf(bot.EInvalid, "outbox: retry reminder %s: bad payload: %v", r.ID, err)
	}
	if p.Push != nil {
		return w.opt.Store.Push(ctx, *p.Push)
	}
	return w.opt.Store.Wake(ctx, p.To, r.ID)
}

// TurnID is the id of the reminder that brings back a recipient's turn parked as
// outbox entry turn; the openid is hashed, to keep it out of reminder ids. Every
// parking has its own: a reminder of an earlier one, should it fire while this
// one waits, must not be taken for it (see store.Store.Wake).
func TurnID(openid, turn string) string {
	return RetryKind + ":" + bot.Recipient(openid) + ":" + turn
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
