package schedule_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/schedule"
	"minyuan/store"
	"minyuan/store/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// clock is a settable bot.Clock shared by the "replicas" of a test.

func newClock(t time.Time) *bot.ManualClock { return bot.NewManualClock(t) }

// logBuf collects a scheduler's log lines so tests can check what was reported.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// replica is one Minyuan process: its own Redis connection and Store under the
// test's shared prefix.
func replica(t testing.TB, prefix string) *store.Store {
	t.Helper()
	return store.New(srv.Client(t), store.Options{Prefix: prefix})
}

// newScheduler makes a Scheduler whose Shutdown runs when the test ends (again if
// the test already shut it down: Shutdown twice is harmless).
func newScheduler(t testing.TB, opt schedule.Options) *schedule.Scheduler {
	t.Helper()
	s, err := schedule.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// eventually polls cond until it holds or the bound runs out.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func reminder(id string, due time.Time) bot.Reminder {
	return bot.Reminder{ID: id, Kind: "ping", Due: due}
}
