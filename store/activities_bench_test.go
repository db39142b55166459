package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

// BenchmarkSignup measures sign-ups per second against real Redis: many goroutines
// (the replicas' engines) signing distinct people up for activities of 200 places,
// so both outcomes, confirmed and waitlisted, are in the mix.
//
//	go test ./store -run '^$' -bench 'Signup$' -benchtime 20000x
func BenchmarkSignup(b *testing.B) {
	ctx := context.Background()
	st := store.New(srv.Client(b), store.Options{Prefix: redistest.Prefix(b)})
	const perActivity = 400
	acts := make([]*bot.Activity, 0, 64)
	var n atomic.Int64
	for range b.N/perActivity + 1 {
		acts = append(acts, newActivity(b, st, actT0.Add(48*time.Hour), 2, 200))
	}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) - 1
			a := acts[int(i)/perActivity]
			if _, err := st.SignUp(ctx, a, fmt.Sprintf("o_bench_%07d", i), actT0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signups/s")
}

// BenchmarkActivityMemory measures what activities and sign-ups cost Redis:
// used_memory before and after creating 1,000 activities, then after 50 sign-ups to
// each (each sign-up writes the activity's list and the person's own index).
//
//	go test ./store -run '^$' -bench ActivityMemory -benchtime 1x
func BenchmarkActivityMemory(b *testing.B) {
	const nActs, perAct = 1000, 50
	ctx := context.Background()
	rdb := srv.Client(b)
	used := func() int64 {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		b.Fatal("no used_memory in INFO memory")
		return 0
	}
	var perActivity, perSignup float64
	var usage int64
	for b.Loop() {
		prefix := redistest.Prefix(b)
		st := store.New(rdb, store.Options{Prefix: prefix})
		as := make([]*bot.Activity, nActs)
		for i := range as {
			as[i] = &bot.Activity{Community: "QY", Title: "周六义务巡逻（七一路片区）", Place: "七一路社区党群服务中心门口",
				Description: "沿七一路、文化街巡查，提醒商户消防安全。", Start: actT0.Add(time.Duration(i) * 3 * time.Hour),
				End: actT0.Add(time.Duration(i)*3*time.Hour + 2*time.Hour), Capacity: perAct, Organiser: "oVx3Y5l9b2Kq8wE1rT6uI0pAsDfG",
				OrgName: "王芳", Created: actT0}
		}
		before := used()
		created, err := st.CreateActivities(ctx, as, "bench")
		if err != nil {
			b.Fatal(err)
		}
		mid := used()
		for i, a := range created {
			for j := range perAct {
				// 28-character openids, like WeChat's; each person signs up for
				// several activities, as regular volunteers do.
				id := fmt.Sprintf("oVx3Y5l9b2Kq8wE1rT6uI%07d", (i%20)*perAct+j)
				if _, err := st.SignUp(ctx, a, id, actT0.Add(-time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		}
		after := used()
		perActivity = float64(mid-before) / nActs
		perSignup = float64(after-mid) / (nActs * perAct)
		usage, _ = rdb.MemoryUsage(ctx, prefix+"act:"+created[0].No).Result()
		b.StopTimer()
		keys := srv.Keys(b, prefix)
		for len(keys) > 0 {
			k := min(len(keys), 1000)
			rdb.Del(ctx, keys[:k]...)
			keys = keys[k:]
		}
		b.StartTimer()
	}
	b.ReportMetric(perActivity, "bytes/activity")
	b.ReportMetric(perSignup, "bytes/signup")
	b.ReportMetric(float64(usage), "memory-usage-bytes/activity-hash")
}
