package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"net/http/httptest"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/store/redistest"
)

// newEnvOn is newEnv on a given Redis client and log.
func newEnvOn(t *testing.T, rdb redis.UniversalClient, log *slog.Logger) *env {
	t.Helper()
	cfg := configs.Default()
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token, cfg.WeChat.EncodingAESKey = appID, "secret", token, aesKey
	cfg.WeChat.Mode = "compatible" // these tests post plaintext
	cfg.WeChat.APIBaseURL = "http://127.0.0.1:1"
	cfg.Communities = []configs.Community{{Code: "QY", Name: "七一路社区"}, {Code: "HX", Name: "和谐社区"}}
	cfg.Redis.Prefix = redistest.Prefix(t)
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, calendar.Location())
	e := &env{t: t, clock: bot.NewManualClock(start), prefix: cfg.Redis.Prefix}
	e.msgID.Store(time.Now().UnixNano() / 1000)
	a, err := app.New(context.Background(), cfg, app.Options{Redis: rdb, Clock: e.clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(func() { e.srv.Close(); a.Close() })
	return e
}

// failAfter makes every Redis command but the engine's own scripts fail with a
// connection reset once on is set: Redis failing inside a handler.
type failAfter struct{ on *atomic.Bool }

func (f failAfter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f failAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.on.Load() && cmd.Name() != "evalsha" && cmd.Name() != "eval" && cmd.Name() != "set" {
			err := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (f failAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.on.Load() && cmds[0].Name() != "evalsha" {
			err := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// What was seen (issue 13, point 3): a Redis failure inside a handler was reported as
// a bug: 「抱歉，系统出了点问题」 and an ERROR "handling failed". It is an outage: the
// resident is told the system is busy, the log has one warning and no error, and
// every log line is JSON (go-redis's own lines included).
func TestRedisFailureInsideAHandlerIsAnOutage(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rdb := srv.Client(t)
	e := newEnvOn(t, rdb, log)
	if got := e.say("o_res", "我的诉求"); strings.Contains(got, "系统") {
		t.Fatalf("before the failure: %q", got)
	}
	var on atomic.Bool
	rdb.AddHook(failAfter{&on}) // inside the store's own hook: what Redis itself would do
	on.Store(true)
	got := e.say("o_res", "我的诉求")
	if !strings.Contains(got, "系统繁忙") || strings.Contains(got, "出了点问题") {
		t.Fatalf("Redis failing inside a handler: %q; want the busy answer", got)
	}
	on.Store(false)
	if got := e.say("o_res", "我的诉求"); strings.Contains(got, "系统") {
		t.Fatalf("after the failure: %q", got)
	}

	// go-redis's own complaints go through the same log.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialerRetries: 1, MaxRetries: -1})
	defer dead.Close()
	_ = dead.Ping(context.Background()).Err()

	warns, goRedis := 0, 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct {
			Level, Msg string
			Component  string `json:"component"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		if line.Level == "ERROR" {
			t.Errorf("an outage logged as an error: %s", sc.Text())
		}
		if line.Level == "WARN" && strings.HasPrefix(line.Msg, "unavailable") {
			warns++
		}
		if line.Component == "go-redis" {
			goRedis++
		}
	}
	if warns != 1 {
		t.Errorf("%d 'unavailable' warnings for one failed message, want 1:\n%s", warns, logs.String())
	}
	if goRedis == 0 {
		t.Errorf("go-redis's dial failure did not reach the log:\n%s", logs.String())
	}
}

// What was seen (issue 13, point 2): with Redis paused (SIGSTOP) under a trickle of
// messages, first deliveries were told 「正在处理」 and never handled, answers took up
// to 9 s, and a lock queued during the pause locked a resident out after Redis came
// back. Now: every answer leaves within 4.5 s, no first delivery is told 「正在处理」,
// and everyone is answered normally again within a second of Redis's return.
func TestRedisPausedAnswersInTimeAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Log("runs in -short too: it takes about 8 s")
	}
	p := redistest.StartPrivate(t, redistest.PrivateOptions{})
	e := newEnvOn(t, p.Client(), quietLog(t))

	type result struct {
		from       string
		sent, took time.Duration
		text       string
	}
	var mu sync.Mutex
	var results []result
	start := time.Now()
	const residents = 20
	var wg sync.WaitGroup
	stop, stopped := make(chan struct{}), make(chan struct{})
	tick := time.NewTicker(50 * time.Millisecond) // 20 messages a second
	go func() {
		defer close(stopped)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			from := fmt.Sprintf("o_pause%d", i%residents)
			id := e.msgID.Add(1)
			wg.Go(func() {
				t0 := time.Now()
				code, body := e.post(e.query(), textXML(from, id, e.clock.Now(), "你好"))
				r := result{from: from, sent: t0.Sub(start), took: time.Since(t0)}
				if code == 200 {
					r.text = replyText(t, body)
				} else {
					r.text = fmt.Sprintf("HTTP %d", code)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}()
	time.Sleep(500 * time.Millisecond)
	paused := time.Since(start)
	p.Pause()
	time.Sleep(5 * time.Second) // longer than the engine's budget
	p.Resume()
	resumed := time.Since(start)
	time.Sleep(2 * time.Second)
	close(stop)
	<-stopped // no message is started after this: the server closes when the test ends
	wg.Wait()

	var slow, inProgress, busy, normalAfter int
	recovery := time.Duration(-1)
	for _, r := range results {
		if r.took > 4500*time.Millisecond {
			slow++
			t.Errorf("%s sent at %v answered after %v", r.from, r.sent, r.took)
		}
		if strings.Contains(r.text, "正在处理") {
			inProgress++
			t.Errorf("%s sent at %v (a first delivery) was told %q", r.from, r.sent, r.text)
		}
		normal := !strings.Contains(r.text, "系统") && !strings.HasPrefix(r.text, "HTTP")
		if !normal {
			busy++
		}
		if r.sent >= resumed {
			if normal {
				normalAfter++
				if d := r.sent + r.took - resumed; recovery < 0 || d < recovery {
					recovery = d
				}
			} else if r.sent > resumed+time.Second {
				t.Errorf("%s sent %v after Redis returned was told %q", r.from, r.sent-resumed, r.text)
			}
		}
	}
	t.Logf("%d messages (paused at %v for 5 s): %d busy, %d over 4.5 s, %d told 正在处理; first normal answer %v after Redis returned",
		len(results), paused.Round(time.Millisecond), busy, slow, inProgress, recovery.Round(time.Millisecond))
	if busy == 0 {
		t.Error("nobody was told the system is busy while Redis was paused: the test did not pause it")
	}
	// The target is 1 s (alone this test measures well under 100 ms); the whole suite
	// runs beside it on a shared machine, so the bound here leaves it half a second.
	if normalAfter == 0 || recovery > 1500*time.Millisecond {
		t.Errorf("recovery after Redis returned: %v, want ≤ 1 s", recovery)
	}
}
