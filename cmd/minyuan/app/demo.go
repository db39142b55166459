package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/sim"
	"minyuan/configs"
	"minyuan/handlers"
)

// DemoAddr is where the demo listens when the configuration names no host: on this
// machine only, since the demo page lets anyone act as anyone.
const DemoAddr = "127.0.0.1:8080"

// The demo's people. Their openids are fixed so that a page left open across a
// restart still means the same person.
const (
	DemoResident = "oMY_demo_resident"
	DemoStaff    = "oMY_demo_staff"
	DemoParty    = "oMY_demo_party"
	// DemoAdmin is the district (区级管理员): escalations and the last deadline
	// warnings reach a person of their own on the page.
	DemoAdmin = "oMY_demo_admin"
)

// DemoOptions are what differs between `minyuan demo` and the tests that start it.
type DemoOptions struct {
	Log *slog.Logger
	// Redis, when set, replaces the in-process Redis: end-to-end tests run the demo
	// against a real server. The Demo does not close it, and its TTLs follow real
	// time, not the demo clock.
	Redis redis.UniversalClient
}

// Demo is Minyuan in demo mode: the real App with an in-process Redis, the WeChat
// simulator standing in for the platform, and the page to chat in.
type Demo struct {
	App    *App
	Sim    *sim.Demo
	API    *sim.API
	Client *sim.Client
	Clock  *sim.Clock
	// Redis is the in-process server; nil when DemoOptions.Redis was given.
	Redis *miniredis.Miniredis
	// Config is the configuration the App runs with, demo credentials filled in.
	Config configs.Config
	// URL is the page's address; WebhookURL the server URL the simulator posts to.
	URL, WebhookURL string

	log      *slog.Logger
	rdb      redis.UniversalClient // ours to close; nil with DemoOptions.Redis
	listener net.Listener
	apiL     net.Listener
	apiSrv   *http.Server
	redisMu  sync.Mutex // one catch-up of the in-process Redis at a time
	// redisSynced is the demo time the in-process Redis's TTLs have run up to.
	redisSynced time.Time
	stop        chan struct{}
	closeOnce   sync.Once

	// dailyMu guards dailyFrom, the demo time up to which the daily jobs (the
	// morning digest) have been considered.
	dailyMu   sync.Mutex
	dailyFrom time.Time
	// inviteMu guards spare, the invite the page offers the resident.
	inviteMu sync.Mutex
	spare    bot.Invite
	// hotline is the hotline panel's side (demo_hotline.go).
	hotline demoHotline
}

// NewDemo builds the demo from cfg: it fills in demo credentials where cfg has none,
// uses the sample communities when it names none, ignores cfg's Redis address, binds
// cfg.HTTP.Addr (127.0.0.1 when it names no host) and seeds a staff member and a
// party member, already bound. Run serves it.
func NewDemo(ctx context.Context, cfg configs.Config, opt DemoOptions) (_ *Demo, err error) {
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	d := &Demo{log: log.With("component", "demo"), Clock: sim.NewClock(), stop: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	if err := fillDemoConfig(&cfg); err != nil {
		return nil, err
	}
	// Someone trying the demo at night would see every push held back by quiet
	// hours: start the demo day after them instead (one hour after they end).
	if q := cfg.Calendar.Quiet; q.Contains(d.Clock.Now()) {
		if _, err := d.Clock.AdvanceTo(q.Defer(d.Clock.Now()).Add(time.Hour)); err != nil {
			return nil, err
		}
	}
	rdb := opt.Redis
	if rdb == nil {
		d.Redis = miniredis.NewMiniRedis()
		// TTLs follow the demo clock, which the ticker in Run feeds in; a jump of
		// the clock expires what would have expired by then. Redis's own TIME
		// stays real: the inbox compares it with each message's real deadline
		// (a TIME set to the demo clock made every message after a clock jump
		// "late").
		d.redisSynced = d.Clock.Now()
		if err := d.Redis.Start(); err != nil {
			return nil, fmt.Errorf("demo: in-process redis: %w", err)
		}
		d.rdb = redis.NewClient(&redis.Options{Addr: d.Redis.Addr()})
		rdb = d.rdb
		go d.followClock()
	}

	d.API = sim.NewAPI(cfg.WeChat.AppID, cfg.WeChat.AppSecret, d.Clock)
	for kind, t := range cfg.Templates {
		if t.ID != "" {
			d.API.AddTemplate(demoTemplate(kind, t.ID))
		}
	}
	if d.apiL, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("demo: simulated wechat api: %w", err)
	}
	// Served from now on: the App may call the platform as soon as it is built.
	d.apiSrv = &http.Server{Handler: d.API, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = d.apiSrv.Serve(d.apiL) }()
	cfg.WeChat.APIBaseURL = "http://" + d.apiL.Addr().String()

	addr, err := demoAddr(cfg.HTTP.Addr)
	if err != nil {
		return nil, err
	}
	if d.listener, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("demo: listen on %s (set MINYUAN_HTTP_ADDR to use another address): %w", addr, err)
	}
	cfg.HTTP.Addr = d.listener.Addr().String()
	base := "http://" + loopback(d.listener.Addr())
	d.URL, d.WebhookURL = base+"/", base+cfg.WeChat.Path
	d.Config = cfg

	if d.App, err = New(ctx, cfg, Options{Log: log, Clock: d.Clock, Redis: rdb, InMemory: opt.Redis == nil, ClockDaily: true}); err != nil {
		return nil, err
	}
	d.Client = &sim.Client{
		WebhookURL:     d.WebhookURL,
		Token:          cfg.WeChat.Token,
		AppID:          cfg.WeChat.AppID,
		EncodingAESKey: cfg.WeChat.EncodingAESKey,
		Mode:           sim.ModeSafe,
		API:            d.API,
		Clock:          d.Clock,
	}
	panes, invites, err := d.seed(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.dailyMu.Lock()
	d.dailyFrom = d.Clock.Now() // from now on the daily jobs follow the demo clock
	d.dailyMu.Unlock()
	hotline, err := d.hotlinePanel(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.Sim, err = sim.NewDemo(sim.DemoOptions{Client: d.Client, Clock: d.Clock, Panes: panes, Invites: invites,
		FreshInvites: d.freshInvites, Hotline: hotline, Log: log})
	if err != nil {
		return nil, err
	}
	d.Sim.AfterClockMove = d.afterClockMove
	// The bot sets its custom menu through the (simulated) API, as `minyuan menu
	// create` does for real; the phones on the page show it.
	if err := d.App.CreateMenu(ctx); err != nil {
		return nil, err
	}
	page := d.Sim.Handler()
	d.App.mux.Handle("GET /{$}", page)
	d.App.mux.Handle("/demo/", page)
	return d, nil
}

// fillDemoConfig gives the demo what a real account would have: credentials (made up
// when the configuration has none) and communities (the sample's when it has none).
// Redis is in-process, so whether it persists does not matter.
func fillDemoConfig(cfg *configs.Config) error {
	// Visits: party members get their tasks as soon as the trigger comes, so that
	// the party pane shows one when the resident files a hardship request (unless
	// the environment sets the delay).
	if os.Getenv("MINYUAN_VISITS_AUTO_ASSIGN_AFTER") == "" {
		cfg.Visits.AutoAssignAfter = 0
	}
	if cfg.WeChat.AppID == "" {
		cfg.WeChat.AppID = "wxdemo" + randomHex(6)
	}
	if cfg.WeChat.AppSecret == "" {
		cfg.WeChat.AppSecret = randomHex(16)
	}
	if cfg.WeChat.Token == "" {
		cfg.WeChat.Token = randomHex(16)
	}
	if cfg.WeChat.EncodingAESKey == "" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		cfg.WeChat.EncodingAESKey = base64.StdEncoding.EncodeToString(key)[:43]
	}
	cfg.Redis.RequirePersistence = false
	fillDemoHotline(cfg)
	// Attachments: like the demo's data, gone when it stops (a directory of its own).
	if (cfg.Attachments.Store == "dir" || cfg.Attachments.Store == "") && cfg.Attachments.Dir == configs.DefaultAttachments().Dir {
		dir, err := os.MkdirTemp("", "minyuan-demo-attachments-")
		if err != nil {
			return err
		}
		cfg.Attachments.Dir = dir
	}
	// Every kind of push gets a (simulated) template, so that a push to someone whose
	// 48-hour window is closed shows on the page as the template card it would be.
	if cfg.Templates == nil {
		cfg.Templates = map[string]configs.Template{}
	}
	for _, kind := range handlers.PushKinds {
		if t := cfg.Templates[kind]; t.ID == "" {
			t.ID = "demo-" + kind
			if len(t.Fields) == 0 {
				t.Fields = demoTemplateFields(kind)
			}
			cfg.Templates[kind] = t
		}
	}
	if len(cfg.Communities) == 0 {
		raw, err := fs.ReadFile(configs.Files(), "minyuan.sample.yaml")
		if err != nil {
			return fmt.Errorf("demo: sample config: %w", err)
		}
		var sample configs.Config
		if err := yaml.Unmarshal(raw, &sample); err != nil {
			return fmt.Errorf("demo: sample config: %w", err)
		}
		cfg.Communities = sample.Communities
	}
	return nil
}

// demoAddr keeps a host-less address (":8080", the default) on this machine.
func demoAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("demo: http.addr %q: %w", addr, err)
	}
	if host == "" {
		if port == "8080" {
			return DemoAddr, nil
		}
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	return addr, nil
}

// loopback is an address to reach a listener from this machine.
func loopback(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// seed binds the staff member and the party member through invite codes, as an
// administrator would, opens their 48-hour windows, and leaves one spare code for
// the resident to try.
func (d *Demo) seed(ctx context.Context, cfg configs.Config) ([]sim.Pane, []sim.DemoInvite, error) {
	home := cfg.Communities[0]
	other := home
	if len(cfg.Communities) > 1 {
		other = cfg.Communities[1]
	}
	now := d.Clock.Now()
	for _, p := range []struct {
		openid, name string
		role         bot.Role
	}{{DemoStaff, "王芳", bot.RoleStaff}, {DemoParty, "李建国", bot.RoleParty}} {
		inv, err := d.App.Store.CreateInvite(ctx, p.role, home.Code, p.name, now, cfg.Invite.TTL)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: seed %s: %w", p.role, err)
		}
		if _, err := d.App.Store.Redeem(ctx, inv.Code, p.openid, now); err != nil {
			return nil, nil, fmt.Errorf("demo: seed %s: %w", p.role, err)
		}
		d.API.Subscribe(p.openid)
		d.API.Touch(p.openid, now)
	}
	// Visits: the staff phone is also the branch secretary (支部书记), who assigns
	// and follows party members' visit tasks.
	sec, err := d.App.Store.CreateInvite(ctx, bot.RoleSecretary, home.Code, "王芳", now, cfg.Invite.TTL)
	if err == nil {
		_, err = d.App.Store.Redeem(ctx, sec.Code, DemoStaff, now)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("demo: seed secretary: %w", err)
	}
	// The district admin, so that the whole escalation chain (handler, secretary,
	// district) shows on the page.
	adm, err := d.App.Store.CreateInvite(ctx, bot.RoleAdmin, home.Code, "孙主任", now, cfg.Invite.TTL)
	if err == nil {
		_, err = d.App.Store.Redeem(ctx, adm.Code, DemoAdmin, now)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("demo: seed district admin: %w", err)
	}
	d.API.Subscribe(DemoAdmin)
	d.API.Touch(DemoAdmin, now)
	// Volunteers.
	if err := d.seedVolunteers(ctx, cfg, home); err != nil {
		return nil, nil, err
	}
	// Last month's figures, so that 统计 上月 has something to show (the counters
	// a month of requests would have left; no ticket stands behind them).
	if err := d.App.Store.AddStats(ctx, home.Code, now.AddDate(0, -1, 0), demoLastMonth(cfg)); err != nil {
		return nil, nil, fmt.Errorf("demo: seed figures: %w", err)
	}
	spare, err := d.App.Store.CreateInvite(ctx, bot.RoleParty, other.Code, "张秀兰", now, cfg.Invite.TTL)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: seed invite: %w", err)
	}
	panes := []sim.Pane{
		{ID: "resident", Role: string(bot.RoleResident), Name: "张秀兰", OpenID: DemoResident},
		{ID: "staff", Role: string(bot.RoleStaff), Name: "王芳", OpenID: DemoStaff, Community: home.Name, Subscribed: true},
		{ID: "party", Role: string(bot.RoleParty), Name: "李建国", OpenID: DemoParty, Community: home.Name, Subscribed: true},
		{ID: "district", Role: string(bot.RoleAdmin), Name: "孙主任", OpenID: DemoAdmin, Community: "区级", Subscribed: true},
	}
	d.spare = spare
	invites := []sim.DemoInvite{{Code: spare.Code, Role: string(spare.Role), Community: other.Name, Name: spare.Name}}
	return panes, invites, nil
}

// syncRedis brings the in-process Redis to the demo clock, expiring what is due.
func (d *Demo) syncRedis() {
	if d.Redis == nil {
		return
	}
	d.redisMu.Lock()
	defer d.redisMu.Unlock()
	now := d.Clock.Now()
	if delta := now.Sub(d.redisSynced); delta > 0 {
		d.Redis.FastForward(delta)
		d.redisSynced = now
	}
}

// afterClockMove runs once the demo clock has been moved on the page: the in-process
// Redis catches up, and the reminders due by the new time fire at once rather than
// at the scheduler's next tick.
func (d *Demo) afterClockMove(ctx context.Context) {
	d.syncRedis()
	d.daily(ctx)
	if _, err := d.App.Scheduler.PumpOnce(ctx); err != nil {
		d.log.Warn("demo: firing due reminders", "err", err)
	}
}

// Run serves the page and the webhook until ctx is done, then shuts everything down.
// The page's event streams end first, so that the server's graceful shutdown does
// not wait for them.
func (d *Demo) Run(ctx context.Context) error {
	defer d.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		d.Sim.Close()
	}()
	d.log.Warn("demo mode: data is kept in memory only and is gone when the demo stops",
		"page", d.URL, "webhook", d.WebhookURL, "wechat_api", d.Config.WeChat.APIBaseURL)
	return d.App.Serve(ctx, d.listener)
}

// Close releases everything NewDemo made. Run calls it.
func (d *Demo) Close() {
	d.closeOnce.Do(func() {
		close(d.stop)
		if d.Sim != nil {
			d.Sim.Close()
		}
		if d.listener != nil {
			_ = d.listener.Close() // already closed when Run has served
		}
		if d.apiSrv != nil {
			_ = d.apiSrv.Close()
		} else if d.apiL != nil {
			_ = d.apiL.Close()
		}
		if d.App != nil {
			_ = d.App.Close()
		}
		if strings.HasPrefix(filepath.Base(d.Config.Attachments.Dir), "minyuan-demo-attachments-") {
			_ = os.RemoveAll(d.Config.Attachments.Dir)
		}
		if d.rdb != nil {
			_ = d.rdb.Close()
		}
		if d.Redis != nil {
			d.Redis.Close()
		}
	})
}

// followClock moves the in-process Redis's time along with the demo clock, so that
// TTLs run in real time and jump when the clock does.
func (d *Demo) followClock() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.syncRedis()
			d.daily(context.Background())
		}
	}
}

// daily runs the daily jobs on the demo clock: when it has passed DigestAt (moved
// to 明天 09:00, or in its own time), the morning digest goes out as of then. After a
// jump over several mornings only the last one's goes out.
func (d *Demo) daily(ctx context.Context) {
	d.dailyMu.Lock()
	defer d.dailyMu.Unlock()
	now := d.Clock.Now()
	if d.dailyFrom.IsZero() || !now.After(d.dailyFrom) {
		return // the App is not built yet, or the clock has not moved
	}
	at := lastDaily(now, DigestAt)
	if at.After(d.dailyFrom) {
		if err := d.App.Tickets.DailyDigest(ctx, at); err != nil {
			d.log.Warn("demo: morning digest", "err", err)
			return // tried again on the next move or tick
		}
	}
	d.dailyFrom = now
}

// lastDaily is the latest moment at or before now that is offset past midnight,
// Beijing time.
func lastDaily(now time.Time, offset time.Duration) time.Time {
	local := now.In(calendar.Location())
	at := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, calendar.Location()).Add(offset)
	if at.After(now) {
		at = at.AddDate(0, 0, -1)
	}
	return at
}

// freshInvites is the invite the page offers the resident: once it has expired on
// the demo clock (a fast-forward past the invite's time-to-live), a new one is
// issued, so that the hint on the page still works.
func (d *Demo) freshInvites(ctx context.Context) []sim.DemoInvite {
	d.inviteMu.Lock()
	defer d.inviteMu.Unlock()
	now := d.Clock.Now()
	if !now.Before(d.spare.Expires.Add(-time.Minute)) {
		inv, err := d.App.Store.CreateInvite(ctx, d.spare.Role, d.spare.Community, d.spare.Name, now, d.Config.Invite.TTL)
		if err != nil {
			d.log.Warn("demo: re-issue the page's invite", "err", err)
		} else {
			d.spare = inv
		}
	}
	name := d.spare.Community
	if c, ok := d.Config.Community(d.spare.Community); ok {
		name = c.Name
	}
	return []sim.DemoInvite{{Code: d.spare.Code, Role: string(d.spare.Role), Community: name, Name: d.spare.Name}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// demoLastMonth is a plausible month of one community's counters.
func demoLastMonth(cfg configs.Config) map[bot.Counter]int64 {
	d := map[bot.Counter]int64{
		bot.CounterReceived: 26, bot.CounterSource("wechat"): 21, bot.CounterSource("hotline"): 5,
		bot.CounterSigned: 25, bot.CounterSignedInTime: 23, bot.CounterResponded: 25,
		bot.CounterClosed: 22, bot.CounterClosedInTime: 20, bot.CounterRated: 18,
		bot.CounterRating(bot.RatingSatisfied): 14, bot.CounterRating(bot.RatingBasic): 3, bot.CounterRating(bot.RatingUnsatisfied): 1,
		bot.CounterReopened: 1, bot.CounterDisputes: 6, bot.CounterHardships: 5, bot.CounterJobs: 2,
	}
	left := int64(26)
	for i, c := range cfg.Categories {
		n := min(left, int64(8-i*2))
		if n <= 0 || i == len(cfg.Categories)-1 {
			n = left
		}
		d[bot.CounterCategory(c.Code)] = n
		left -= n
		if left == 0 {
			break
		}
	}
	return d
}
