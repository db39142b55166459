// Package schedule runs Minyuan's timed work: the reminder pump, which fires the rows
// of the durable due set on every replica, and recurring jobs (daily digests,
// monthly reports), which run only on the replica holding the leader lease.
//
// The due set guarantees that a reminder is claimed by one replica at a time and
// comes back if its claimer dies, so the pump can run everywhere at once; recurring
// jobs have no such row, so only one replica may run them.
package schedule

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// DueStore is the durable due set as the pump uses it (store.Store implements it).
type DueStore interface {
	// Claim leases up to limit reminders due at now to the caller until now+lease.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]bot.Reminder, error)
	// Done removes a handled reminder, unless it was moved after claimedDue was read.
	Done(ctx context.Context, id string, claimedDue time.Time) error
	// Retry schedules a claimed reminder again at at with Attempt one higher.
	Retry(ctx context.Context, r bot.Reminder, at time.Time) error
}

// LeaseStore keeps the leader lease (store.Store implements it).
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, token string) error
}

// Handler does what a reminder of one kind stands for. It should be quick (queue a
// push, open an escalation), not deliver anything itself: a handler still running
// when the claim's lease ends may see its reminder fired again elsewhere. An error
// retries the reminder later.
type Handler func(ctx context.Context, r bot.Reminder) error

// Options configure a Scheduler. Zero values take the defaults.
type Options struct {
	Due DueStore // required
	// Leases is required only for recurring jobs (Every).
	Leases LeaseStore
	Clock  bot.Clock    // default the system clock
	Log    *slog.Logger // default discards
	// Location is the time zone of recurring jobs' wall-clock times (default
	// Asia/Shanghai).
	Location *time.Location

	Tick  time.Duration // how often the pump looks for due reminders (default 1s)
	Batch int           // reminders per claim (default 100, at most 1000)
	// Lease is how long a claimed batch belongs to this replica before another may
	// fire it again (default 1m). It must exceed the time a batch takes to handle.
	Lease   time.Duration
	Workers int // handlers run at once within a batch (default 8)

	// A failing reminder is retried after MinBackoff, doubling up to MaxBackoff
	// (defaults 1m and 1h), less up to a fifth at random so that rows that failed
	// together (WeChat down) do not all come back in the same second. After
	// MaxAttempts (default 10, about 5 hours) it is logged as an error and dropped.
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int

	// LeaderName names the lease in Redis (default "scheduler").
	LeaderName string
	// LeaderTTL is how long the lease outlives a leader that stops renewing it
	// (default 15s); it is renewed every third of it.
	LeaderTTL time.Duration
	// StopTimeout bounds how long Shutdown waits for running jobs (default 30s).
	StopTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = bot.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = calendar.Location()
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.LeaderName == "" {
		o.LeaderName = "scheduler"
	}
	if o.LeaderTTL <= 0 {
		o.LeaderTTL = 15 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
	return o
}

// maxBatch matches store.MaxClaim; the schedule package does not import store.
const maxBatch = 1000

// Scheduler runs the reminder pump and the recurring jobs.
type Scheduler struct {
	opt Options
	log *slog.Logger

	// all runs on every replica (the pump and the lease keeper); leader runs the
	// recurring jobs, each run gated by gocron's elector on the lease.
	all    gocron.Scheduler
	leader gocron.Scheduler

	mu       sync.RWMutex
	handlers map[string]Handler

	// token identifies this process as the lease holder.
	token string
	// heldUntil is when this process's lease ends by the local monotonic clock
	// (nil: not leader), measured from before the request that took or renewed
	// it, so it never outlasts the lease Redis keeps.
	heldUntil atomic.Pointer[time.Time]

	pumpFailing atomic.Bool

	stopOnce sync.Once
	stopErr  error
}

// New makes a Scheduler; register handlers and recurring jobs, then Start it.
func New(opt Options) (*Scheduler, error) {
	opt = opt.withDefaults()
	if opt.Due == nil {
		return nil, errors.New("schedule: Options.Due is required")
	}
	if opt.Batch > maxBatch {
		return nil, fmt.Errorf("schedule: batch %d: at most %d", opt.Batch, maxBatch)
	}
	if opt.MinBackoff > opt.MaxBackoff {
		return nil, fmt.Errorf("schedule: min backoff %s exceeds max backoff %s", opt.MinBackoff, opt.MaxBackoff)
	}
	s := &Scheduler{
		opt:      opt,
		log:      opt.Log.With("component", "schedule"),
		handlers: map[string]Handler{},
		token:    rand.Text(),
	}
	common := []gocron.SchedulerOption{
		gocron.WithLocation(opt.Location),
		gocron.WithLogger(s.log),
		gocron.WithStopTimeout(opt.StopTimeout),
	}
	var err error
	if s.all, err = gocron.NewScheduler(common...); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if s.leader, err = gocron.NewScheduler(append(common, gocron.WithDistributedElector(elector{s}))...); err != nil {
		s.all.Shutdown()
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if err := s.addJobs(); err != nil {
		// gocron schedulers run goroutines from birth.
		s.all.Shutdown()
		s.leader.Shutdown()
		return nil, err
	}
	return s, nil
}

func (s *Scheduler) addJobs() error {
	opt := s.opt
	// Starting at once fires what fell due while this replica (or all of them) was
	// down without waiting a tick; singleton mode skips a tick while a slow pump is
	// still draining instead of running two.
	_, err := s.all.NewJob(gocron.DurationJob(opt.Tick), gocron.NewTask(s.tick),
		gocron.WithName("reminder-pump"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		return fmt.Errorf("schedule: pump job: %w", err)
	}
	if opt.Leases != nil {
		_, err = s.all.NewJob(gocron.DurationJob(opt.LeaderTTL/3), gocron.NewTask(s.keepLease),
			gocron.WithName("leader-lease"),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()),
		)
		if err != nil {
			return fmt.Errorf("schedule: lease job: %w", err)
		}
	}
	return nil
}

// Handle registers the handler of a kind of reminder. It panics on an empty kind, a
// nil handler or a kind registered twice: those are programming errors.
func (s *Scheduler) Handle(kind string, h Handler) {
	if kind == "" || h == nil {
		panic("schedule: Handle needs a kind and a handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.handlers[kind]; dup {
		panic("schedule: kind " + kind + " registered twice")
	}
	s.handlers[kind] = h
}

func (s *Scheduler) handler(kind string) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[kind]
}

// Every registers a recurring job, e.g.
//
//	s.Every("daily-digest", gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(8, 0, 0))), digest)
//
// It runs only on the replica holding the leader lease, in Options.Location. A run
// that falls while no replica holds the lease (all down, or the moments of a
// takeover) is skipped, not made up: work that must happen exactly once at a time
// belongs in the due set, as a reminder that schedules its successor.
func (s *Scheduler) Every(name string, def gocron.JobDefinition, fn func(ctx context.Context) error) error {
	if s.opt.Leases == nil {
		return errors.New("schedule: recurring jobs need Options.Leases")
	}
	if name == "" || fn == nil {
		return errors.New("schedule: Every needs a name and a function")
	}
	run := func(ctx context.Context) {
		log := s.log.With("job", name)
		start := time.Now()
		if err := safeCall(func() error { return fn(ctx) }); err != nil {
			log.Error("schedule: recurring job failed", "err", err)
			return
		}
		log.Info("schedule: recurring job done", "took", time.Since(start))
	}
	_, err := s.leader.NewJob(def, gocron.NewTask(run),
		gocron.WithName(name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	)
	if err != nil {
		return fmt.Errorf("schedule: job %s: %w", name, err)
	}
	return nil
}

// Start starts the pump and the recurring jobs; it does not block.
func (s *Scheduler) Start() {
	s.all.Start()
	s.leader.Start()
}

// Shutdown stops the recurring jobs, then the pump, waiting for running ones (up to
// StopTimeout), and then gives up the leader lease so that another replica takes
// over at once rather than when it lapses. Reminders claimed but not finished come
// back when their lease ends.
// Calling it again returns the first call's result.
func (s *Scheduler) Shutdown() error {
	s.stopOnce.Do(func() { s.stopErr = s.shutdown() })
	return s.stopErr
}

func (s *Scheduler) shutdown() error {
	errLeader := s.leader.Shutdown()
	errAll := s.all.Shutdown()
	var errLease error
	if s.opt.Leases != nil && s.heldUntil.Swap(nil) != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errLease = s.opt.Leases.ReleaseLease(ctx, s.opt.LeaderName, s.token)
		cancel()
	}
	if err := errors.Join(errLeader, errAll, errLease); err != nil {
		return fmt.Errorf("schedule: shutdown: %w", err)
	}
	return nil
}

// tick is the pump job. A Redis outage would fail every tick; it is logged when it
// starts and when it ends, not once a second.
func (s *Scheduler) tick(ctx context.Context) {
	n, err := s.PumpOnce(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		if !s.pumpFailing.Swap(true) {
			s.log.Error("schedule: pump failing", "err", err)
		}
	case err == nil && s.pumpFailing.Swap(false):
		s.log.Info("schedule: pump working again")
	}
	if n > 0 {
		s.log.Debug("schedule: fired reminders", "n", n)
	}
}

// PumpOnce fires every reminder due now, batch after batch until a claim comes back
// short, and returns how many it fired (handled, retried or dropped). Tests and the
// demo's clock button call it to fire what is due without waiting for a tick.
//
// When ctx ends PumpOnce claims no more, but finishes the batch it holds: abandoned
// rows would only wait for their lease to end and fire elsewhere.
func (s *Scheduler) PumpOnce(ctx context.Context) (int, error) {
	fired := 0
	for ctx.Err() == nil {
		rs, err := s.opt.Due.Claim(ctx, s.opt.Clock.Now(), s.opt.Batch, s.opt.Lease)
		if err != nil {
			return fired, fmt.Errorf("schedule: claim: %w", err)
		}
		s.fireAll(ctx, rs)
		fired += len(rs)
		if len(rs) < s.opt.Batch {
			return fired, nil
		}
	}
	return fired, ctx.Err()
}

func (s *Scheduler) fireAll(ctx context.Context, rs []bot.Reminder) {
	if len(rs) == 0 {
		return
	}
	// Past the lease another replica may fire these rows again, so working on is
	// pointless; short of it, a shutdown should not cut a batch in half.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.Lease)
	defer cancel()
	if s.opt.Workers == 1 || len(rs) == 1 {
		for _, r := range rs {
			s.fire(ctx, r)
		}
		return
	}
	sem := make(chan struct{}, s.opt.Workers)
	var wg sync.WaitGroup
	for _, r := range rs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.fire(ctx, r)
		})
	}
	wg.Wait()
}

// fire runs one reminder's handler and settles the row: Done on success, Retry with
// backoff on error, Done with an error log when it is unknown or out of attempts.
// When settling fails the row stays claimed and comes back after its lease.
func (s *Scheduler) fire(ctx context.Context, r bot.Reminder) {
	log := s.log.With("reminder", r.ID, "kind", r.Kind, "attempt", r.Attempt)
	h := s.handler(r.Kind)
	if h == nil {
		log.Error("schedule: no handler for this kind of reminder; dropped")
		s.done(ctx, log, r)
		return
	}
	err := safeCall(func() error { return h(ctx, r) })
	if err == nil {
		s.done(ctx, log, r)
		return
	}
	switch code := bot.ErrorCode(err); code {
	case bot.EInvalid, bot.ENotFound, bot.EForbidden, bot.EConflict, bot.EExpired:
		// The rules refused it: the same reminder would be refused every time.
		log.Warn("schedule: reminder refused; not retried", "code", code, "err", err)
		s.done(ctx, log, r)
		return
	}
	if r.Attempt+1 >= s.opt.MaxAttempts {
		log.Error("schedule: reminder failed for the last time; dropped", "err", err, "attempts", r.Attempt+1)
		s.done(ctx, log, r)
		return
	}
	at := s.opt.Clock.Now().Add(s.backoff(r.Attempt))
	log.Warn("schedule: reminder failed; will retry", "err", err, "at", at)
	if err := s.opt.Due.Retry(ctx, r, at); err != nil {
		log.Error("schedule: could not reschedule reminder; it fires again when its lease ends", "err", err)
	}
}

func (s *Scheduler) done(ctx context.Context, log *slog.Logger, r bot.Reminder) {
	if err := s.opt.Due.Done(ctx, r.ID, r.Due); err != nil {
		log.Error("schedule: could not mark reminder done; it fires again when its lease ends", "err", err)
	}
}

// backoff is the wait before attempt+1: MinBackoff doubled attempt times, capped at
// MaxBackoff, less up to a fifth at random.
func (s *Scheduler) backoff(attempt int) time.Duration {
	d := s.opt.MinBackoff
	for i := 0; i < attempt && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	return d - randv2.N(d/5+1)
}

// safeCall turns a panic into an error so that one bad handler neither abandons the
// rest of its batch nor escapes into gocron.
func safeCall(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}

// Leader reports whether this process holds the leader lease now.
func (s *Scheduler) Leader() bool {
	until := s.heldUntil.Load()
	return until != nil && time.Now().Before(*until)
}

// keepLease renews the lease while this process holds it and tries to take it
// while it does not.
func (s *Scheduler) keepLease(ctx context.Context) {
	ttl, name := s.opt.LeaderTTL, s.opt.LeaderName
	start := time.Now()
	was := s.Leader()
	var ok bool
	var err error
	// Renew even a lease that lapsed by the local clock: Redis may still hold it for
	// us, and compare-and-expire cannot extend anyone else's.
	if s.heldUntil.Load() != nil {
		ok, err = s.opt.Leases.RenewLease(ctx, name, s.token, ttl)
	}
	if err == nil && !ok {
		// Also after a renewal refused: the lease may have lapsed (a long pause)
		// with no one else taking it yet.
		ok, err = s.opt.Leases.AcquireLease(ctx, name, s.token, ttl)
	}
	switch {
	case err != nil:
		// Keep what we have: it lapses by itself at heldUntil, as it does in Redis.
		if ctx.Err() == nil {
			s.log.Warn("schedule: leader lease", "err", err)
		}
		return
	case ok:
		until := start.Add(ttl)
		s.heldUntil.Store(&until)
	default:
		s.heldUntil.Store(nil)
	}
	if ok != was {
		s.log.Info("schedule: leadership changed", "leader", ok)
	}
}

var errNotLeader = errors.New("schedule: not the leader")

// elector gates the recurring jobs on the lease without a Redis call per run.
type elector struct{ s *Scheduler }

func (e elector) IsLeader(context.Context) error {
	if e.s.Leader() {
		return nil
	}
	return errNotLeader
}
