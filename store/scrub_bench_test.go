package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"minyuan/store"
)

// BenchmarkScrub100k measures forget's walk over a keyspace of 100,000 keys
// (strings, hashes, lists) of which two mention the person:
//
//	go test ./store -run '^$' -bench Scrub100k -benchtime 1x
func BenchmarkScrub100k(t *testing.B) {
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	const n = 100_000
	for i := 0; i < n; i += 1000 {
		_, err := e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < i+1000; j++ {
				switch j % 3 {
				case 0:
					p.Set(ctx, fmt.Sprintf("%sticket:%d", e.prefix, j), `{"no":"x","description":"路灯不亮，晚上很黑"}`, 0)
				case 1:
					p.HSet(ctx, fmt.Sprintf("%sstats:C%d:2026-11", e.prefix, j), "received", 3, "closed", 2)
				default:
					p.RPush(ctx, fmt.Sprintf("%sticket:%d:events", e.prefix, j), `{"kind":"created"}`, `{"kind":"claimed"}`)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.ResetTimer()
	for t.Loop() {
		t.StopTimer()
		e.rdb.Set(ctx, e.prefix+"profile:o_bench", `{"openid":"o_bench","phone":"13812345678"}`, 0)
		e.rdb.HSet(ctx, e.prefix+"seen", "o_bench", 1)
		t.StartTimer()
		left, err := e.st.Scrub(ctx, []string{"o_bench", "13812345678"}, []string{"没有人管的事情"})
		if err != nil || len(left) != 0 {
			t.Fatalf("%v %v", left, err)
		}
	}
}
