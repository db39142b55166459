// Package app assembles Minyuan from its parts: configuration, Redis store, the
// conversation engine with its flows, and the WeChat channel. cmd/minyuan and the demo
// both start it; tests start it too.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/bot/attach"
	"minyuan/bot/calendar"
	"minyuan/bot/httpapi"
	"minyuan/bot/metrics"
	"minyuan/bot/outbox"
	"minyuan/bot/report"
	"minyuan/bot/schedule"
	"minyuan/bot/wechat"
	"minyuan/configs"
	"minyuan/handlers"
	"minyuan/store"
)

// Options are what differs between serve, demo and tests.
type Options struct {
	Log   *slog.Logger
	Clock bot.Clock
	// Redis, when set, is used instead of dialling cfg.Redis.URL (the demo's in-process
	// Redis). The App does not close it.
	Redis redis.UniversalClient
	// InMemory says that Redis knowingly keeps nothing (the demo's in-process one):
	// the persistence check, and its warning, are skipped.
	InMemory bool
	// ClockDaily: the daily jobs (the morning digest) follow the injected clock and
	// are run by the caller (the demo, when its clock passes DigestAt), not by the
	// wall clock.
	ClockDaily bool
}

// DigestAt is when the morning digest goes out, Beijing time.
const DigestAt = 8*time.Hour + 30*time.Minute

// App is a running Minyuan.
type App struct {
	cfg    configs.Config
	log    *slog.Logger
	clock  bot.Clock
	rdb    redis.UniversalClient
	ownRDB bool
	memory bool
	Store  *store.Store
	Engine *bot.Engine
	// Metrics counts and reads what /metrics shows (metrics.addr).
	Metrics *metrics.Metrics
	// Flows are the chat flows, each with what it needs.
	Flows handlers.Flows
	// Tickets holds the rules of a ticket's life; every channel calls it.
	Tickets  *bot.TicketService
	Calendar *calendar.Calendar
	mux      *http.ServeMux
	// Visits are party members' tasks (三必访, 五包, 四个一).
	Visits *bot.VisitService
	// Volunteers holds the rules of volunteering (志愿服务).
	Volunteers *bot.VolunteerService
	// Stats answers 统计 and pushes the monthly figures (bot/report).
	Stats *report.Service
	// Privacy erases personal data (forget, the retention).
	Privacy *bot.PrivacyService

	// Outbound: pushes wait in the outbox (or, in quiet hours, in the due set) and the
	// workers send them; the scheduler fires reminders.
	token     *wechat.Token
	pusher    *outbox.Pusher
	Outbox    *outbox.Worker
	Scheduler *schedule.Scheduler
	media     bot.Media // uploads images (check-in QR codes)
	deliverer *wechat.Deliverer
	// Attachments keeps residents' photos and voice (nil when attachments are off).
	Attachments *attach.Keeper
	stopBg      func()

	// Hotline bridge (hotline.go).
	Callbacks *bot.CallbackService
	Hotline   *bot.HotlineService
	Handoff   *bot.HandoffService
	api       *httpapi.API

	// Menus (menus.go): the catalogue names the user tags of the roles' menus.
	catalog *bot.Catalog
	tagsMu  sync.Mutex
	tags    map[string]int32
}

// New builds an App: it connects to Redis, checks persistence, loads the catalogue and
// routes the flows. It does not listen yet.
func New(ctx context.Context, cfg configs.Config, opt Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: opt.Log, clock: opt.Clock, rdb: opt.Redis, memory: opt.InMemory,
		Callbacks: &bot.CallbackService{}}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.clock == nil {
		a.clock = bot.SystemClock{}
	}
	store.LogTo(a.log)
	cat, err := loadCatalog(cfg.Messages)
	if err != nil {
		return nil, err
	}
	a.catalog = cat
	if a.rdb == nil {
		if a.rdb, err = store.Connect(cfg.Redis.URL); err != nil {
			return nil, err
		}
		a.ownRDB = true
	}
	a.Store = store.New(a.rdb, store.Options{Prefix: cfg.Redis.Prefix, SessionTTL: cfg.Session.Timeout + 24*time.Hour, Clock: a.clock})
	a.Metrics = newMetrics(cfg, cat, a.Store, a.rdb, a.clock)
	if err := a.checkRedis(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := wechat.UseAPIBase(cfg.WeChat.APIBaseURL, 10*time.Second); err != nil {
		a.Close()
		return nil, err
	}

	// People appear in the logs by a keyed hash of their openid, never the openid.
	names, err := Names(ctx, cfg, a.Store)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.log = slog.New(names.Handler(a.log.Handler()))
	store.LogTo(a.log)

	cal, err := newCalendar(cfg, a.log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Store.SetCategories(cfg.Categories)
	if err := a.outbound(cfg, cat); err != nil {
		a.Close()
		return nil, err
	}
	a.Calendar = cal
	a.Tickets = &bot.TicketService{
		Tickets: a.Store, Reminders: a.Store, Pusher: a.pusher, Directory: a.Store,
		Calendar: cal, Catalog: cat, Categories: cfg.Categories, Communities: Communities(cfg),
		AutoAssignAfter: cfg.Desk.AutoAssignAfter, Audit: a.Store,
	}
	if n := cfg.Redis.MinReplicasAck; n > 0 {
		a.Tickets.Replicated = func(ctx context.Context) error { return a.Store.Replicated(ctx, n, time.Second) }
	}
	if err := a.hotline(ctx, cfg); err != nil {
		a.Close()
		return nil, err
	}
	communities := handlers.Communities(Communities(cfg))
	a.Flows = handlers.Flows{
		Catalog: cat,
		Basics:  handlers.BasicsFlow{Profiles: a.Store, Communities: communities, Callbacks: a.Callbacks},
		Bind: handlers.BindFlow{Roles: a.Store, Communities: communities,
			Retag: func(ctx context.Context, openid string, at time.Time) error {
				return ScheduleRetag(ctx, a.Store, openid, at)
			}},
		Profile:  handlers.ProfileFlow{Profiles: a.Store, Communities: communities},
		Duty:     handlers.DutyFlow{Duty: a.Store, Communities: communities},
		Requests: handlers.RequestFlow{Tickets: a.Tickets, Profiles: a.Store, Categories: cfg.Categories, Communities: communities},
		Desk:     handlers.DeskFlow{Tickets: a.Tickets, Communities: communities},
		Relay: handlers.RelayFlow{Tickets: a.Tickets, Relays: a.Store, Pusher: a.pusher, Reminders: a.Store,
			Clock: a.clock, Catalog: cat, Timeout: cfg.Desk.RelayTimeout},
		FollowUp: handlers.FollowUpFlow{Tickets: a.Tickets, Within: cfg.Desk.FollowUpWindow, Keywords: cfg.Desk.RequestKeywords},
	}
	// Volunteers.
	a.Volunteers = NewVolunteers(cfg, a.Store, a.pusher, cat, a.clock)
	a.Flows.Volunteers = handlers.VolunteerFlow{Volunteers: a.Volunteers, Profiles: a.Store, Communities: communities,
		Media: a.media, Pusher: a.pusher, Seen: a.Store, Log: a.log}
	a.Scheduler.Handle(bot.ActivityReminderKind, a.Volunteers.Remind)
	a.Tickets.OnChange(a.Flows.Relay.TicketChanged)
	for kind, h := range a.Flows.Relay.ReminderHandlers() {
		a.Scheduler.Handle(kind, h)
	}
	a.hotlineFlows(cat) // call-backs and linking numbers in chat (hotline.go)
	for kind, h := range handlers.ReminderHandlers(a.Tickets, a.clock) {
		a.Scheduler.Handle(kind, h)
	}
	a.newVisits(cfg, cal, cat)
	if err := a.Visits.ScheduleNovember(ctx, a.clock.Now()); err != nil {
		a.Close()
		return nil, err
	}
	// 统计 in chat, and last month's figures to the district admins.
	a.Stats = &report.Service{Source: a.Store, Communities: Communities(cfg), Categories: cfg.Categories,
		Catalog: cat, Calendar: cal, Directory: a.Store, Pusher: a.pusher, Reminders: a.Store}
	a.Flows.Stats = handlers.StatsFlow{Stats: a.Stats}
	a.Scheduler.Handle(report.MonthlyReminderKind, func(ctx context.Context, r bot.Reminder) error {
		return a.Stats.FireMonthly(ctx, a.clock.Now(), r)
	})
	if err := a.Stats.ScheduleMonthly(ctx, a.clock.Now()); err != nil {
		a.Close()
		return nil, err
	}
	// Attachments: residents' photos and voice, fetched while the platform keeps them.
	if a.Attachments, err = newKeeper(ctx, cfg, a.Store, a.deliverer, a.clock); err != nil {
		a.Close()
		return nil, err
	}
	var eraser bot.AttachmentEraser
	if a.Attachments != nil {
		a.Attachments.Log = a.log
		a.Scheduler.Handle(attach.FetchKind, a.Attachments.Fetched)
		a.Flows.Desk.Attachments = a.Attachments
		eraser = a.Attachments
	}
	// Data protection: every night, on the leader, the retention.
	if a.Privacy, err = NewPrivacy(ctx, cfg, a.Store, eraser); err != nil {
		a.Close()
		return nil, err
	}
	expire := gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(3, 30, 0)))
	if err := a.Scheduler.Every("privacy-expire", expire, a.expireDaily); err != nil {
		a.Close()
		return nil, err
	}
	// Every morning, on the leader only: each desk's open requests.
	if !opt.ClockDaily {
		digest := gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(uint(DigestAt/time.Hour), uint(DigestAt%time.Hour/time.Minute), 0)))
		if err := a.Scheduler.Every("daily-digest", digest, a.DailyDigest); err != nil {
			a.Close()
			return nil, err
		}
	}
	a.Engine = &bot.Engine{
		Mux:            handlers.NewMux(a.Flows),
		Catalog:        cat,
		Clock:          a.clock,
		Inbox:          a.Metrics.Inbox(a.Store),
		Log:            a.log,
		SessionTimeout: cfg.Session.Timeout,
	}
	a.Engine.Mux.Use(a.Metrics.Middleware)
	if a.Attachments != nil {
		a.Engine.Mux.Use(a.Attachments.Middleware)
	}
	hook, err := wechat.NewWebhook(wechat.Config{
		Token:          cfg.WeChat.Token,
		AppID:          cfg.WeChat.AppID,
		EncodingAESKey: cfg.WeChat.EncodingAESKey,
		Mode:           cfg.WeChat.Mode,
		MaxBody:        cfg.WeChat.MaxBody,
		Window:         cfg.WeChat.ReplayWindow,
		Clock:          a.clock,
	}, a.Metrics.Handle(a.Engine.Handle), a.log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.mux = http.NewServeMux()
	a.mux.Handle(cfg.WeChat.Path, hook)
	a.api.Mount(a.mux) // the hotline's API (hotline.go)
	if a.Attachments != nil {
		a.mux.Handle("GET /attachments/", a.Attachments)
	}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.mux.HandleFunc("GET /readyz", a.ready)
	return a, nil
}

// DailyDigest tells each desk, on working days, what waits on it (the leader runs it
// every morning).
func (a *App) DailyDigest(ctx context.Context) error {
	return a.Tickets.DailyDigest(ctx, a.clock.Now())
}

// outbound builds the WeChat token shared through Redis, the delivery ladder, the
// outbox workers and the scheduler, and registers the reminder kinds they handle.
func (a *App) outbound(cfg configs.Config, cat *bot.Catalog) error {
	var err error
	a.token, err = wechat.NewToken(cfg.WeChat.AppID, cfg.WeChat.AppSecret, a.Store,
		wechat.TokenOptions{Log: a.log, Cache: a.Store.WeChatCache()})
	if err != nil {
		return err
	}
	templates := wechat.Templates{}
	for kind, t := range cfg.Templates {
		if t.ID != "" {
			templates[kind] = wechat.Template{ID: t.ID, Fields: t.Fields, URL: t.URL}
		}
	}
	for _, kind := range handlers.PushKinds {
		if _, ok := templates[kind]; !ok {
			a.log.Warn("no template message for this kind of push: it cannot reach people whose customer-service allowance is spent (replies to residents become call-back tasks)",
				"kind", kind, "config", "templates."+kind+".id")
		}
	}
	warnTemplates(a.log, cfg.Templates)
	del, err := wechat.NewDeliverer(wechat.DelivererConfig{AppID: cfg.WeChat.AppID, Token: a.token, Allowance: a.Store,
		Callbacks: a.Callbacks, Templates: templates, Clock: a.clock, Log: a.log, KeepInTouch: outbox.KeepInTouch(cat)})
	if err != nil {
		return err
	}
	a.media, a.deliverer = del, del
	a.pusher = &outbox.Pusher{Queue: a.Store, Quiet: cfg.Calendar.Quiet, Clock: a.clock}
	a.Outbox, err = outbox.New(outbox.Options{Store: a.Store, Deliverer: a.Metrics.Deliverer(del), Clock: a.clock,
		Log: a.log, Workers: cfg.Outbox.Workers, MaxAttempts: cfg.Outbox.MaxAttempts,
		BackoffBase: cfg.Outbox.BackoffBase, BackoffCap: cfg.Outbox.BackoffCap, ReclaimIdle: cfg.Outbox.ReclaimIdle,
		Gather: cfg.Outbox.Gather, Undelivered: outbox.TellSender(cat, a.pusher, staffAlertKind)})
	if err != nil {
		return err
	}
	a.Scheduler, err = schedule.New(schedule.Options{Due: a.Store, Leases: a.Store, Clock: a.clock, Log: a.log,
		Location: calendar.Location()})
	if err != nil {
		return err
	}
	a.Scheduler.Handle(outbox.RetryKind, a.Outbox.Retry)
	a.Scheduler.Handle(RetagKind, a.retag)
	a.Scheduler.Handle(outbox.DeferredKind, a.pusher.Release)
	return nil
}

// Start runs the outbox workers and the scheduler in the background until Stop.
func (a *App) Start() {
	if a.stopBg != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Outbox.Run(ctx); err != nil {
			a.log.Error("outbox stopped", "err", err)
		}
	}()
	a.Scheduler.Start()
	a.stopBg = func() {
		cancel()
		<-done
		if err := a.Scheduler.Shutdown(); err != nil {
			a.log.Warn("scheduler shutdown", "err", err)
		}
	}
}

// WarnEmptyRoles logs, at start-up, each escalation role nobody holds (a
// community's secretary, the district's admin): the warnings meant for it go to the
// community's staff until an administrator binds someone.
func (a *App) WarnEmptyRoles(ctx context.Context, log *slog.Logger) error {
	gaps, err := a.Tickets.EmptyRoles(ctx, bot.SystemActor)
	if err != nil {
		return err
	}
	for _, g := range gaps {
		log.Warn("escalation role not bound: its warnings go to the community's staff; create an invite code for it",
			"role", string(g.Role), "community", g.Community)
	}
	return nil
}

// Stop ends what Start began: the outbox first (deliveries under way finish), then
// the scheduler.
func (a *App) Stop() {
	if a.stopBg != nil {
		a.stopBg()
		a.stopBg = nil
	}
}

// newCalendar loads the working-day calendar and warns when it does not know this
// year or the next (deadlines would then count weekends only).
func newCalendar(cfg configs.Config, log *slog.Logger) (*calendar.Calendar, error) {
	ov, err := calendar.LoadOverrides(cfg.Calendar.Overrides)
	if err != nil {
		return nil, err
	}
	cal := calendar.New(ov).WithHours(cfg.Desk.Hours)
	y := time.Now().In(calendar.Location()).Year()
	for _, year := range []int{y, y + 1} {
		if !cal.KnowsYear(year) {
			log.Warn("the calendar does not know this year's public holidays; add them with calendar.overrides", "year", year)
		}
	}
	return cal, nil
}

// Communities converts the configured communities to the domain type.
func Communities(cfg configs.Config) []bot.Community {
	out := make([]bot.Community, len(cfg.Communities))
	for i, c := range cfg.Communities {
		out[i] = bot.Community{Code: c.Code, Name: c.Name, Street: c.Street, Aliases: c.Aliases, Phone: c.Phone, Hours: c.Hours}
	}
	return out
}

func loadCatalog(path string) (*bot.Catalog, error) {
	if path == "" {
		return bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	}
	return bot.LoadCatalog(os.DirFS("."), path)
}

// checkRedis makes sure Redis answers and says whether it keeps what it is given.
func (a *App) checkRedis(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := a.Store.DropRetired(ctx); err != nil {
		a.log.Warn("retired keys not dropped; they do no harm", "err", err)
	}
	if a.memory {
		return nil
	}
	p, err := a.Store.CheckPersistence(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("redis persistence check: %w", err)
	case p.Unknown:
		a.log.Warn("redis persistence could not be checked (CONFIG is disabled); make sure appendonly is on and maxmemory-policy is noeviction")
		if a.cfg.Redis.RequirePersistence {
			return errors.New("redis.require_persistence is true but persistence could not be checked (CONFIG disabled)")
		}
	case !p.OK:
		if a.cfg.Redis.RequirePersistence {
			return fmt.Errorf("redis does not persist safely: %s (redis.require_persistence is true)", strings.Join(p.Problems, "; "))
		}
		a.log.Warn("redis does not persist safely: data is lost on restart", "problem", strings.Join(p.Problems, "; "))
	}
	return nil
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Handler is the HTTP side: the webhook, /healthz and /readyz.
func (a *App) Handler() http.Handler { return a.mux }

// Serve listens on l until ctx is done, then shuts down in order: stop taking
// messages (in-flight ones finish, within the platform's 5 s), then the workers and
// the scheduler, then Redis (in Close).
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.Start()
	if err := a.WarnEmptyRoles(ctx, a.log); err != nil {
		a.log.Warn("checking the escalation roles", "err", err)
	}
	stopMetrics, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	defer a.Stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	a.log.Info("listening", "addr", l.Addr().String(), "webhook", a.cfg.WeChat.Path)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: no new messages")
	sctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Run listens on the configured address.
func (a *App) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, l)
}

// Close stops the background work and releases Redis (when the App dialled it).
func (a *App) Close() error {
	a.Stop()
	if a.ownRDB && a.rdb != nil {
		return a.rdb.Close()
	}
	return nil
}

// OpenStore connects to the configured Redis for the admin commands.
func OpenStore(cfg configs.Config) (*store.Store, func() error, error) {
	rdb, err := store.Connect(cfg.Redis.URL)
	if err != nil {
		return nil, nil, err
	}
	return store.New(rdb, store.Options{Prefix: cfg.Redis.Prefix}), rdb.Close, nil
}
