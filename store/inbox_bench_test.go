package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

// BenchmarkClaimAndCommit measures what Redis spends on the message path: the claim
// (with a plaintext replay guard) and the commit of a 帮助-sized reply, 64 users at
// once as under load, against a private redis-server with AOF everysec. Besides the
// time it reports redis-µs/op, Redis's own CPU (INFO cpu) per message, and, as a
// yardstick, the Redis CPU of an EVALSHA that does nothing, pipelined the same way.
//
//	go test ./store -run '^$' -bench ClaimAndCommit
func BenchmarkClaimAndCommit(b *testing.B) {
	srv := redistest.StartPrivate(b, redistest.PrivateOptions{AOF: true})
	rdb := srv.Client()
	ctx := context.Background()
	s := store.New(rdb, store.Options{Prefix: "bench:"})
	reply := bot.Text(strings.Repeat("发送「帮助 全部」查看全部功能", 30))
	var seq atomic.Int64

	b.Run("claim+commit", func(b *testing.B) {
		cpu0 := redisCPU(b, rdb)
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for w := range 64 {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					id := fmt.Sprintf("m:%d", seq.Add(1))
					u := bot.Update{ID: id, From: "bench" + strconv.Itoa(w), Time: time.Now(),
						Replay: &bot.ReplayGuard{Key: id, Sum: "0123456789abcdef0123456789abcdef", TTL: time.Minute}}
					c, err := s.Begin(ctx, u, time.Now().Add(4*time.Second))
					if err != nil {
						b.Error(err)
						return
					}
					err = s.Commit(ctx, c, bot.Commit{UpdateID: u.ID, User: u.From, Reply: reply, Seen: time.Now(), Action: bot.ActionMessage})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric((redisCPU(b, rdb)-cpu0)*1e6/float64(b.N), "redis-µs/op")
	})

	b.Run("empty-script", func(b *testing.B) {
		sha, err := rdb.ScriptLoad(ctx, "return 1").Result()
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := redisCPU(b, rdb)
		b.ResetTimer()
		for i := 0; i < b.N; i += 12 {
			_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for range min(12, b.N-i) {
					p.EvalSha(ctx, sha, []string{"bench:k"})
				}
				return nil
			})
		}
		b.ReportMetric((redisCPU(b, rdb)-cpu0)*1e6/float64(b.N), "redis-µs/op")
	})
}

// redisCPU is the server's CPU seconds so far (user and system).
func redisCPU(tb testing.TB, rdb redis.UniversalClient) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for line := range strings.SplitSeq(info, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}
