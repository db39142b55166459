package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// BenchmarkConfirm measures filing a request: the confirm step through the whole
// webhook against the real Redis (inbox, the user's lock, session, ticket creation
// with its timeline, queue and counters, seven deadline reminders, the push to the
// community's staff, the commit). Each confirm is a different resident already at
// the summary; the form is driven before the timer starts.
//
// It also reports Redis memory per ticket: used_memory grown over the timed confirms
// divided by their number (everything a confirm leaves: the ticket and its indexes,
// the reminders, the queued push, the inbox reply, less the session it ends), and
// the ticket record alone (ticket JSON and timeline, by MEMORY USAGE).
//
// Run: go test ./cmd/minyuan/app -run '^$' -bench Confirm -benchtime 2000x
func BenchmarkConfirm(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		e, h, users := prepareConfirms(b)
		before := usedMemory(b)
		b.ResetTimer()
		for i := range b.N {
			confirm(b, e, h, users[i], int64(i))
		}
		b.StopTimer()
		reportMemory(b, e, before)
	})
	b.Run("parallel", func(b *testing.B) {
		e, h, users := prepareConfirms(b)
		before := usedMemory(b)
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				confirm(b, e, h, users[i], i)
			}
		})
		b.StopTimer()
		reportMemory(b, e, before)
	})
}

// prepareConfirms brings b.N residents (community and phone known, as for a returning
// resident) to the summary of a request.
func prepareConfirms(b *testing.B) (*env, http.Handler, []string) {
	e := newResidentEnv(b)
	e.bindAs("o_bench_staff", "staff", "QY", "王芳")
	users := make([]string, b.N)
	for i := range users {
		users[i] = "o_bench_" + strconv.Itoa(i)
		e.knownResident(users[i], "QY", "13800138000")
		e.say(users[i], "诉求")
		e.say(users[i], "4")
		if got := e.say(users[i], "3号楼2单元楼道灯坏了一个星期，晚上很黑，老人上下楼不安全"); !strings.Contains(got, "请核对") {
			b.Fatalf("prepare %d: %q", i, got)
		}
	}
	return e, e.app.Handler(), users
}

func confirm(b *testing.B, e *env, h http.Handler, user string, i int64) {
	w := httptest.NewRecorder()
	body := textXML(user, 9_000_000+i, e.clock.Now(), "确认")
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat?"+e.query().Encode(), strings.NewReader(body)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "已收到您的诉求") {
		b.Errorf("confirm %s: %d %s", user, w.Code, w.Body)
	}
}

func usedMemory(b *testing.B) int64 {
	b.Helper()
	info, err := srv.Client(b).Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}

func reportMemory(b *testing.B, e *env, before int64) {
	b.Helper()
	n := e.lastTicketNo() - 1000
	if n != int64(b.N) {
		b.Fatalf("%d tickets for %d confirms", n, b.N)
	}
	b.ReportMetric(float64(usedMemory(b)-before)/float64(n), "B/ticket")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")

	rdb := srv.Client(b)
	ctx := context.Background()
	sample := min(n, 100)
	var record int64
	for i := range sample {
		no := fmt.Sprint(1001 + i)
		for _, key := range []string{e.prefix + "ticket:" + no, e.prefix + "ticket:" + no + ":events"} {
			m, err := rdb.MemoryUsage(ctx, key).Result()
			if err != nil && err != redis.Nil {
				b.Fatal(err)
			}
			record += m
		}
	}
	b.ReportMetric(float64(record)/float64(sample), "B/record")
}
