// Package metrics exposes Minyuan to Prometheus. It counts what passes through
// (messages, replies, dedupe hits, busy answers, flows, pushes) by wrapping the
// parts at their seams — the webhook's handler, the inbox, the router's middleware,
// the deliverer, a go-redis hook — and reads state (tickets, outbox, reminders) at
// scrape time, so no other code has to know it exists. Every name starts minyuan_.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/bot/wechat"
)

// State is what the scrape-time collector reads; *store.Store is one (with
// store.MetricsState).
type State interface {
	// OpenTickets counts a community's open tickets by status.
	OpenTickets(ctx context.Context, community string) (map[bot.Status]int, error)
	// OutboxDepth is the pushes waiting and in flight, the dead letters, and the
	// time the oldest waiting push was queued (zero when none waits).
	OutboxDepth(ctx context.Context) (waiting, pending, dead int64, oldest time.Time, err error)
	// OldestDue is the due time of the earliest reminder not yet fired (zero: none).
	OldestDue(ctx context.Context) (time.Time, error)
}

// Metrics holds Minyuan's collectors in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	messages    *prometheus.CounterVec
	replies     prometheus.Counter
	dedupe      *prometheus.CounterVec
	busy        prometheus.Counter
	flowStarts  *prometheus.CounterVec
	flowEnds    *prometheus.CounterVec
	pushes      *prometheus.CounterVec
	redisLat    *prometheus.HistogramVec
	busyReplies map[string]bool
}

// New registers the collectors. busyTexts are the engine's "busy" answers as the
// catalogue words them; state (may be nil) is read at scrape time for communities.
func New(state State, communities []string, clock bot.Clock, busyTexts ...string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg, busyReplies: map[string]bool{}}
	for _, t := range busyTexts {
		m.busyReplies[t] = true
	}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minyuan_messages_in_total",
		Help: "Updates received from WeChat, by kind (text, image, voice, event, ...)."}, []string{"type"})
	m.replies = prometheus.NewCounter(prometheus.CounterOpts{Name: "minyuan_replies_total",
		Help: "Passive replies with text given to WeChat."})
	m.dedupe = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minyuan_dedupe_hits_total",
		Help: "Deliveries WeChat repeated: answered from the inbox (done) or while the first runs (in_flight)."}, []string{"outcome"})
	m.busy = prometheus.NewCounter(prometheus.CounterOpts{Name: "minyuan_busy_answers_total",
		Help: "Messages answered 'busy' because Redis did not answer in time."})
	m.flowStarts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minyuan_flow_starts_total",
		Help: "Conversations (forms) started, by flow."}, []string{"flow"})
	m.flowEnds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minyuan_flow_completions_total",
		Help: "Conversations (forms) finished by their last step, by flow."}, []string{"flow"})
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minyuan_pushes_total",
		Help: "Push attempts by result, channel (custom, template, callback, ...) and WeChat errcode (0: none)."},
		[]string{"result", "channel", "errcode"})
	m.redisLat = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "minyuan_redis_command_duration_seconds",
		Help: "Redis command (or pipeline) latency, by command.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}},
		[]string{"command"})
	for _, c := range []prometheus.Collector{m.messages, m.replies, m.dedupe, m.busy, m.flowStarts, m.flowEnds, m.pushes, m.redisLat} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "minyuan"}))
	if state != nil {
		f(&stateCollector{state: state, communities: communities, clock: clock})
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Handle wraps the engine's handler as the webhook calls it: messages in, replies,
// busy answers.
func (m *Metrics) Handle(next func(context.Context, bot.Update) bot.Reply) func(context.Context, bot.Update) bot.Reply {
	return func(ctx context.Context, u bot.Update) bot.Reply {
		kind := string(u.Kind)
		if u.Event != "" {
			kind += ":" + strings.ToLower(u.Event)
		}
		m.messages.WithLabelValues(kind).Inc()
		rep := next(ctx, u)
		if rep.Text != "" {
			m.replies.Inc()
		}
		if m.busyReplies[rep.Text] {
			m.busy.Inc()
		}
		return rep
	}
}

// Inbox wraps the inbox to count deliveries WeChat repeated.
func (m *Metrics) Inbox(in bot.Inbox) bot.Inbox { return &inbox{Inbox: in, m: m} }

type inbox struct {
	bot.Inbox
	m *Metrics
}

func (i *inbox) Begin(ctx context.Context, u bot.Update, deadline time.Time) (*bot.Claim, error) {
	c, err := i.Inbox.Begin(ctx, u, deadline)
	switch {
	case errors.Is(err, bot.ErrInFlight):
		i.m.dedupe.WithLabelValues("in_flight").Inc()
	case err == nil && !c.Owner:
		i.m.dedupe.WithLabelValues("done").Inc()
	}
	return c, err
}

func (i *inbox) Peek(ctx context.Context, u bot.Update, seen time.Time) (*bot.Peeked, error) {
	p, err := i.Inbox.Peek(ctx, u, seen)
	if err == nil && p != nil && p.Reply != nil {
		i.m.dedupe.WithLabelValues("done").Inc()
	}
	return p, err
}

// Middleware counts flows started and finished, for Mux.Use.
func (m *Metrics) Middleware(next bot.Handler) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		before := ""
		if r.Session != nil {
			before = r.Session.Flow
		}
		rep, err := next.Serve(ctx, r)
		if err != nil {
			return rep, err
		}
		after := ""
		if r.Session != nil {
			after = r.Session.Flow
		}
		if after != "" && after != before {
			m.flowStarts.WithLabelValues(after).Inc()
		}
		if before != "" && after == "" {
			m.flowEnds.WithLabelValues(before).Inc()
		}
		return rep, err
	})
}

// Deliverer is the outbox's deliverer.
type Deliverer interface {
	DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome
	Mergeable(ps []bot.Push) bool
}

// Deliverer wraps d to count pushes by result, channel and errcode.
func (m *Metrics) Deliverer(d Deliverer) Deliverer { return &deliverer{d: d, m: m} }

type deliverer struct {
	d Deliverer
	m *Metrics
}

func (d *deliverer) DeliverAll(ctx context.Context, ps []bot.Push) []bot.Outcome {
	outs := d.d.DeliverAll(ctx, ps)
	for _, o := range outs {
		via := o.Via
		if via == "" {
			via = "none"
		}
		d.m.pushes.WithLabelValues(o.Result.String(), via, strconv.Itoa(wechat.ErrorCode(o.Err))).Inc()
	}
	return outs
}

func (d *deliverer) Mergeable(ps []bot.Push) bool { return d.d.Mergeable(ps) }

// RedisHook times every Redis command and pipeline: add it with AddHook.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.m.redisLat.WithLabelValues(strings.ToLower(cmd.Name())).Observe(time.Since(start).Seconds())
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.redisLat.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}

// stateCollector reads tickets, outbox and reminders at scrape time.
type stateCollector struct {
	state       State
	communities []string
	clock       bot.Clock
}

var (
	descTickets = prometheus.NewDesc("minyuan_tickets_open", "Open tickets by community and status (new: nobody signed for it; claimed).",
		[]string{"community", "status"}, nil)
	descOutbox     = prometheus.NewDesc("minyuan_outbox_depth", "Pushes in the outbox: waiting (not yet read) and pending (read by a worker, not finished).", []string{"state"}, nil)
	descOutboxAge  = prometheus.NewDesc("minyuan_outbox_oldest_age_seconds", "Age of the oldest push in the outbox (0: none).", nil, nil)
	descDead       = prometheus.NewDesc("minyuan_outbox_dead_letters", "Pushes dead-lettered after their last attempt (list and replay: minyuan outbox dead).", nil, nil)
	descReminder   = prometheus.NewDesc("minyuan_reminder_lag_seconds", "How late the earliest reminder still waiting is (0: none is overdue).", nil, nil)
	descScrapeFail = prometheus.NewDesc("minyuan_state_scrape_errors", "1 when reading state for this scrape failed.", []string{"part"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTickets, descOutbox, descOutboxAge, descDead, descReminder, descScrapeFail} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := c.clock.Now()
	fail := func(part string) { ch <- prometheus.MustNewConstMetric(descScrapeFail, prometheus.GaugeValue, 1, part) }
	for _, com := range c.communities {
		n, err := c.state.OpenTickets(ctx, com)
		if err != nil {
			fail("tickets")
			break
		}
		for _, st := range []bot.Status{bot.StatusNew, bot.StatusClaimed} {
			ch <- prometheus.MustNewConstMetric(descTickets, prometheus.GaugeValue, float64(n[st]), com, string(st))
		}
	}
	if waiting, pending, dead, oldest, err := c.state.OutboxDepth(ctx); err != nil {
		fail("outbox")
	} else {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(waiting), "waiting")
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(pending), "pending")
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(dead))
		age := 0.0
		if !oldest.IsZero() && now.After(oldest) {
			age = now.Sub(oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descOutboxAge, prometheus.GaugeValue, age)
	}
	if due, err := c.state.OldestDue(ctx); err != nil {
		fail("reminders")
	} else {
		lag := 0.0
		if !due.IsZero() && now.After(due) {
			lag = now.Sub(due).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descReminder, prometheus.GaugeValue, lag)
	}
}
