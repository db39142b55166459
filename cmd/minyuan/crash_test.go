package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/store"
	"minyuan/store/redistest"
)

// Fault tests across real processes (issue 13, point 6): `minyuan serve` is this test
// binary run again as the command (see TestMain), against a private redis-server
// with AOF (everysec) and the WeChat simulator's API. Residents fill the request
// form, then all confirm at once while something dies:
//
//   - serve killed with SIGKILL mid-confirm, restarted, WeChat's retries arrive;
//   - Redis killed with SIGKILL mid-confirm and restarted from its AOF;
//   - two replicas behind an alternating balancer, one killed mid-confirm, the
//     retries going to the other.
//
// Then, as WeChat and the residents do: a message with no answer is sent again (same
// MsgId, three attempts in all); a resident told the system is busy types 确认 again.
// Every time: each resident has exactly one ticket, the number they were told is
// theirs, its staff alert went out exactly once and its deadline reminders are in
// the due set, and no answer was a false 「正在处理」.

const (
	crashToken = "crashtoken"
	crashAppID = "wxcrash0123456789"
	mainEnv    = "MINYUAN_TEST_MAIN"
)

type cluster struct {
	t       *testing.T
	redis   *redistest.Private
	api     *sim.API
	cfg     string
	prefix  string
	st      *store.Store
	staff   string
	env     []string
	servers []*server
}

// newCluster starts a private redis-server with AOF for Minyuan, unless extra
// settings name another Redis (MINYUAN_REDIS_URL).
func newCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, prefix: redistest.Prefix(t), staff: "o_crash_staff"}
	redisURL := ""
	for _, kv := range extra {
		if v, ok := strings.CutPrefix(kv, "MINYUAN_REDIS_URL="); ok {
			redisURL = v
		}
	}
	if redisURL == "" {
		c.redis = redistest.StartPrivate(t, redistest.PrivateOptions{AOF: true})
		redisURL = c.redis.URL()
	}
	c.api = sim.NewAPI(crashAppID, "secret", bot.SystemClock{})
	apiSrv := httptest.NewServer(c.api)
	t.Cleanup(apiSrv.Close)

	// The sample config with no quiet hours (the staff alerts must go out whenever the
	// test runs) and the staff alert's template (sixty alerts in a minute spend a
	// staff member's customer-service allowance; templates need none).
	sample, err := os.ReadFile("../../configs/minyuan.sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(sample), `start: "21:30"`, `start: "00:00"`, 1)
	cfg = strings.Replace(cfg, `end: "08:00"`, `end: "00:00"`, 1)
	cfg = strings.Replace(cfg, "ticket_alert:    # to staff: new, assigned and overdue requests\n    id: \"\"",
		"ticket_alert:\n    id: \"TPL_ALERT\"", 1)
	c.cfg = filepath.Join(t.TempDir(), "minyuan.yaml")
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env = append(os.Environ(), mainEnv+"=1")
	for k, v := range map[string]string{
		"MINYUAN_REDIS_URL": redisURL, "MINYUAN_REDIS_PREFIX": c.prefix,
		"MINYUAN_WECHAT_TOKEN": crashToken, "MINYUAN_WECHAT_APP_ID": crashAppID, "MINYUAN_WECHAT_APP_SECRET": "secret",
		"MINYUAN_WECHAT_MODE": "plain", "MINYUAN_WECHAT_ENCODING_AES_KEY": "", "MINYUAN_WECHAT_API_BASE_URL": apiSrv.URL,
		"MINYUAN_LOG_LEVEL": "warn",
	} {
		c.env = append(c.env, k+"="+v)
	}
	c.env = append(c.env, extra...)
	rdb, err := store.Connect(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	c.st = store.New(rdb, store.Options{Prefix: c.prefix})
	return c
}

// server is one `minyuan serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	log  *bytes.Buffer
	done chan struct{}
}

func (c *cluster) serve() *server {
	c.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{url: "http://" + addr, log: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(os.Args[0], "--config", c.cfg, "serve")
	s.cmd.Env = append(c.env, "MINYUAN_HTTP_ADDR="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	c.t.Cleanup(s.kill)
	c.servers = append(c.servers, s)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			c.t.Fatalf("minyuan serve exited: %s", s.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("minyuan serve did not answer /healthz: %s", s.log)
		}
	}
}

func (s *server) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// client delivers to one server as WeChat does, one attempt at a time: the test
// sends the retries itself, to wherever the balancer would.
func (c *cluster) client(s *server) *sim.Client { return c.clientOf(s.url+"/wechat", nil) }

func (c *cluster) clientOf(url string, hc *http.Client) *sim.Client {
	return &sim.Client{WebhookURL: url, Token: crashToken, AppID: crashAppID, Mode: sim.ModePlain,
		API: c.api, HTTP: hc, Attempts: 1, ReplyTimeout: sim.DefaultReplyTimeout}
}

// bindStaff makes c.staff the community's staff member, through an invite.
func (c *cluster) bindStaff(cl *sim.Client) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "--config", c.cfg, "invite", "--role", "staff", "--community", "QY", "--name", "王芳", "--json")
	cmd.Env = c.env
	out, err := cmd.Output()
	var inv bot.Invite
	if err == nil {
		err = json.Unmarshal(out, &inv)
	}
	if err != nil {
		c.t.Fatalf("invite: %v %s", err, out)
	}
	code := inv.Code
	ctx := context.Background()
	if _, err := cl.Subscribe(ctx, c.staff, ""); err != nil {
		c.t.Fatal(err)
	}
	if reply, err := cl.Text(ctx, c.staff, "绑定 "+code); err != nil || !strings.Contains(reply, "王芳") {
		c.t.Fatalf("绑定 %s: %q %v", code, reply, err)
	}
}

// toConfirm takes a new resident through the request form up to 「请核对」.
func toConfirm(ctx context.Context, cl *sim.Client, from string) error {
	if _, err := cl.Subscribe(ctx, from, ""); err != nil {
		return err
	}
	reply, err := cl.Text(ctx, from, "诉求")
	for range 10 {
		if err != nil {
			return err
		}
		var answer string
		switch {
		case strings.Contains(reply, "请核对"):
			return nil
		case strings.Contains(reply, "类别"):
			answer = "1"
		case strings.Contains(reply, "描述"):
			answer = "楼道灯坏了，" + from
		case strings.Contains(reply, "手机"), strings.Contains(reply, "电话"):
			answer = "13800138000"
		case strings.Contains(reply, "社区"):
			answer = "1"
		case strings.Contains(reply, "称呼"):
			answer = "张"
		default:
			return fmt.Errorf("%s: unexpected %q", from, reply)
		}
		reply, err = cl.Text(ctx, from, answer)
	}
	return fmt.Errorf("%s: the form did not reach its confirmation", from)
}

var ticketNo = regexp.MustCompile(`编号\s*(\d+)`)

// resident is one resident's confirmation and everything they were told after it.
type resident struct {
	from  string
	msgID int64
	first string // the first attempt's answer ("" when it got none)
	told  []string
	// busyAt is when they were first told the system was busy (zero: never), and
	// notRecordedAt when they were first told their message was not recorded.
	busyAt, notRecordedAt time.Time
}

// hear records an answer.
func (r *resident) hear(s string) {
	r.told = append(r.told, s)
	if strings.Contains(s, "系统") && r.busyAt.IsZero() {
		r.busyAt = time.Now()
	}
	if strings.Contains(s, "没有被记录") && r.notRecordedAt.IsZero() {
		r.notRecordedAt = time.Now()
	}
}

// confirmAll sends the residents' 确认 one every 3 ms, each to the server pick
// chooses, and calls fault after delay, while confirmations are in flight.
func confirmAll(ctx context.Context, rs []*resident, pick func(i int) *sim.Client, delay time.Duration, fault func()) {
	var wg sync.WaitGroup
	start := time.Now()
	for i, r := range rs {
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 3 * time.Millisecond)))
			res, err := pick(i).Send(ctx, sim.Message{From: r.from, Type: "text", Content: "确认", MsgID: r.msgID})
			if err == nil {
				r.first = res.Text
				r.hear(res.Text)
			}
		})
	}
	time.Sleep(time.Until(start.Add(delay)))
	fault()
	wg.Wait()
}

// settle does what WeChat and then the residents do: a confirmation with no answer
// is sent again with the same MsgId (twice more at most); a resident whose last
// answer carries no ticket number types 确认 again.
func settle(ctx context.Context, t *testing.T, rs []*resident, cl *sim.Client) {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(func() {
			for range 2 {
				if len(r.told) > 0 {
					break
				}
				if res, err := cl.Send(ctx, sim.Message{From: r.from, Type: "text", Content: "确认", MsgID: r.msgID}); err == nil {
					r.hear(res.Text)
				}
			}
			// Patient, as people are: a machine under load may take a while to come back.
			for range 30 {
				if len(r.told) > 0 && ticketNo.MatchString(r.told[len(r.told)-1]) {
					return
				}
				time.Sleep(500 * time.Millisecond)
				if reply, err := cl.Text(ctx, r.from, "确认"); err == nil {
					r.hear(reply)
				}
			}
		})
	}
	wg.Wait()
}

// check states what must hold after any fault.
//
// A push a worker sent just before it (or Redis, or the primary) died, whose record of
// being sent was lost with it, is sent again: at least once, never lost. A template
// carries a client_msg_id the platform sends once (the simulator too); a
// customer-service message has no such id and then reaches the phone twice. Such
// doubles are counted and logged as a figure; a lost alert fails the test.
func (c *cluster) check(rs []*resident, cl *sim.Client) {
	t := c.t
	t.Helper()
	ctx := context.Background()
	byResident := map[string][]*bot.Ticket{}
	if err := c.st.EachTicket(ctx, func(tk *bot.Ticket) error {
		byResident[tk.OpenID] = append(byResident[tk.OpenID], tk)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var interrupted, busy, unsure int
	nos := map[string]bool{}
	for _, r := range rs {
		if r.first == "" {
			interrupted++
		}
		for _, s := range r.told {
			if strings.Contains(s, "正在处理") {
				t.Errorf("%s was told %q", r.from, s)
			}
			if strings.Contains(s, "系统") {
				busy++
			}
		}
		mine := byResident[r.from]
		if len(mine) != 1 {
			var got []string
			for _, tk := range mine {
				got = append(got, tk.No)
			}
			t.Errorf("%s has %d tickets %v for one confirmation; told %q", r.from, len(mine), got, r.told)
			continue
		}
		no := mine[0].No
		nos[no] = true
		for _, s := range r.told {
			if m := ticketNo.FindStringSubmatch(s); m != nil && m[1] != no {
				t.Errorf("%s was told ticket %s, but theirs is %s", r.from, m[1], no)
			}
		}
		if len(r.told) == 0 || !ticketNo.MatchString(r.told[len(r.told)-1]) {
			t.Errorf("%s ended without being told their number: %q", r.from, r.told)
		}
		// Told 「可能没有办完」, they typed 确认 again: the first answer that is not
		// "busy" is the form's own 「已收到您的诉求，编号 N」, never a note added to
		// their case (the form may have finished with the answer lost).
		if i := slices.IndexFunc(r.told, func(s string) bool { return strings.Contains(s, "可能没有办完") }); i >= 0 {
			unsure++
			after := slices.IndexFunc(r.told[i+1:], func(s string) bool { return !strings.Contains(s, "系统") })
			if after < 0 || !strings.Contains(r.told[i+1+after], "已收到您的诉求，编号 "+no) {
				t.Errorf("%s, told it may not be done, typed 确认 again and was not told their number %s: %q", r.from, no, r.told)
			}
		}
		if _, ok, err := c.st.Reminder(ctx, bot.TicketReminderID(no, bot.StageResolve+":"+bot.LevelRed)); err != nil || !ok {
			t.Errorf("ticket %s has no deadline reminder (%v)", no, err)
		}
	}
	// Every ticket's alert reaches the staff member exactly once.
	alerts := map[string]int{}
	digits := regexp.MustCompile(`\d+`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		clear(alerts)
		for _, call := range c.api.Sent(c.staff) {
			if !call.OK() || call.Duplicate {
				continue
			}
			seen := map[string]bool{}
			for _, d := range digits.FindAllString(string(call.Body), -1) {
				if nos[d] && !seen[d] {
					seen[d] = true
					alerts[d]++
				}
			}
		}
		if len(alerts) == len(nos) || time.Now().After(deadline) {
			break
		}
	}
	if len(alerts) < len(nos) {
		for _, call := range c.api.Calls() {
			t.Logf("%s %s %d %.200s", call.Path, call.OpenID, call.ErrCode, call.Body)
		}
		for _, s := range c.servers {
			t.Logf("serve log: %s", s.log)
		}
	}
	doubles := 0
	for no := range nos {
		switch {
		case alerts[no] == 0:
			t.Errorf("ticket %s: the staff member was never alerted", no)
		case alerts[no] > 1:
			doubles++
		}
	}
	t.Logf("%d residents: %d confirmations cut off by the fault, %d answers said the system was busy (%d residents told it may not be done); %d tickets, each alerted (%d twice: sent as the sender died)",
		len(rs), interrupted, busy, unsure, len(nos), doubles)
}

// residents makes n residents of this round and takes them to the confirmation.
func residents(t *testing.T, cl *sim.Client, round, n int) []*resident {
	t.Helper()
	ctx := context.Background()
	rs := make([]*resident, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	base := time.Now().UnixNano() / 1000
	for i := range rs {
		rs[i] = &resident{from: fmt.Sprintf("o_crash_%d_%02d", round, i), msgID: base + int64(i)}
		wg.Go(func() {
			if err := toConfirm(ctx, cl, rs[i].from); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestServeKilledMidConfirm(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	s := c.serve()
	c.bindStaff(c.client(s))
	var all []*resident
	for round, delay := range []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond} {
		rs := residents(t, c.client(s), round, 20)
		cl := c.client(s)
		confirmAll(context.Background(), rs, func(int) *sim.Client { return cl }, delay, s.kill)
		s = c.serve()
		settle(context.Background(), t, rs, c.client(s))
		all = append(all, rs...)
	}
	c.check(all, c.client(s))
}

func TestRedisKilledMidConfirm(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	s := c.serve()
	cl := c.client(s)
	c.bindStaff(cl)
	var all []*resident
	for round, delay := range []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond} {
		rs := residents(t, cl, round, 20)
		confirmAll(context.Background(), rs, func(int) *sim.Client { return cl }, delay, func() {
			c.redis.Kill()
			time.Sleep(300 * time.Millisecond)
			c.redis.Start()
		})
		settle(context.Background(), t, rs, cl)
		all = append(all, rs...)
	}
	c.check(all, cl)
}

func TestTwoReplicasOneKilledMidConfirm(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a, b := c.serve(), c.serve()
	ca, cb := c.client(a), c.client(b)
	c.bindStaff(ca)
	var all []*resident
	for round, delay := range []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond} {
		// The form alternates between the replicas message by message.
		alt := &alternating{cs: []*sim.Client{ca, cb}}
		rs := residents(t, c.clientOf(ca.WebhookURL, &http.Client{Transport: alt}), round, 20)
		confirmAll(context.Background(), rs, func(i int) *sim.Client { return []*sim.Client{ca, cb}[i%2] }, delay, a.kill)
		settle(context.Background(), t, rs, cb)
		all = append(all, rs...)
		a = c.serve()
		ca = c.client(a)
	}
	c.check(all, cb)
}

// alternating is a balancer that sends each request to the next replica in turn.
type alternating struct {
	mu sync.Mutex
	cs []*sim.Client
	i  int
}

func (a *alternating) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	target := a.cs[a.i%len(a.cs)].WebhookURL
	a.i++
	a.mu.Unlock()
	u, err := r.URL.Parse(target + "?" + r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.URL, r2.Host = u, u.Host
	return http.DefaultTransport.RoundTrip(r2)
}
