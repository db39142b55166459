package report_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/report"
	"minyuan/configs"
	"minyuan/store"
	"minyuan/store/redistest"
)

// BenchmarkRegister100k streams the unified register of 100,000 requests (each with
// a four-event timeline) to a file and reports the time per register and the peak
// heap while it runs:
//
//	go test ./bot/report -run '^$' -bench Register100k -benchtime 1x
func BenchmarkRegister100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	s := store.New(srv.Client(b), store.Options{Prefix: redistest.Prefix(b)})
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg := configs.Default()
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, bot.ChinaTime())
	var next atomic.Int64
	var wg sync.WaitGroup
	seedStart := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				at := start.Add(time.Duration(i) * 5 * time.Minute)
				t, err := s.Create(ctx, &bot.Ticket{Community: []string{"QY", "HX", "XH"}[i%3], Category: "hardship",
					Source: []string{"wechat", "hotline"}[i%2], Description: "楼道灯坏了，晚上看不见路，老人上下楼很危险，请尽快修理",
					Name: "张三", Phone: fmt.Sprintf("138%08d", i), Status: bot.StatusNew, Created: at,
					SignBy: at.Add(24 * time.Hour), DueBy: at.Add(5 * 24 * time.Hour)}, fmt.Sprint("bench-", i),
					bot.Event{At: at, Actor: "o_resident", Name: "张三"})
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := s.Update(ctx, t.No, func(t *bot.Ticket) ([]bot.Event, error) {
					t.Status, t.Handler, t.HandlerName, t.Claimed = bot.StatusClosed, "o_staff", "王芳", at.Add(time.Hour)
					t.Closed, t.Result, t.Rating = at.Add(48*time.Hour), "已更换灯泡", bot.RatingSatisfied
					return []bot.Event{
						{At: at.Add(time.Hour), Actor: "o_staff", Name: "王芳", Kind: bot.EventClaimed},
						{At: at.Add(2 * time.Hour), Actor: "o_staff", Name: "王芳", Kind: bot.EventReply, Text: "明天上午电工上门"},
						{At: at.Add(48 * time.Hour), Actor: "o_staff", Name: "王芳", Kind: bot.EventClosed, Text: "已更换灯泡"},
					}, nil
				}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.Logf("seeded %d tickets in %v", n, time.Since(seedStart))
	dir := b.TempDir()
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		f, err := os.Create(dir + "/register.xlsx")
		if err != nil {
			b.Fatal(err)
		}
		from, _ := report.ParseDate("2026-01-01")
		to, _ := report.ParseDate("2027-12-31")
		reg, err := report.NewRegister(cat, from, to, cfg.Categories, nil, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.EachTicketWithTimeline(ctx, reg.Add); err != nil {
			b.Fatal(err)
		}
		if err := reg.Finish(f); err != nil {
			b.Fatal(err)
		}
		close(done)
		st, _ := f.Stat()
		f.Close()
		if reg.Rows() != n {
			b.Fatalf("%d rows", reg.Rows())
		}
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MB")
		b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
	}
}
