package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

// BenchmarkReminderMemory measures what a pending reminder costs Redis: used_memory
// before and after scheduling 100,000, divided. The payload is a typical push (a
// staff reply to a resident), about the size most reminders will carry.
//
//	go test ./store -run '^$' -bench ReminderMemory -benchtime 1x
func BenchmarkReminderMemory(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	push, _ := json.Marshal(bot.Push{
		ID: "ticket:Q7K2:reply:3", To: "oVx3Y5l9b2Kq8wE1rT6uI0pAsDfG", Kind: "ticket_reply",
		Text: "您的诉求 Q7K2 有了新回复：物业已安排师傅明天上午上门维修，请保持电话畅通。",
		Ref:  "Q7K2", Community: "chuanhui", Important: true,
	})
	rs := make([]bot.Reminder, n)
	for i := range rs {
		rs[i] = bot.Reminder{ID: fmt.Sprintf("push:ticket:%06d:reply", i), Kind: "push",
			Due: dueT0.Add(time.Duration(i) * time.Second), Payload: push}
	}
	one, _ := json.Marshal(rs[0])
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
	var perReminder float64
	for b.Loop() {
		prefix := redistest.Prefix(b)
		st := store.New(rdb, store.Options{Prefix: prefix})
		before := used()
		if err := st.Schedule(ctx, rs...); err != nil {
			b.Fatal(err)
		}
		perReminder = float64(used()-before) / n
		b.StopTimer()
		if err := rdb.Del(ctx, prefix+"due", prefix+"due:data", prefix+"due:inflight").Err(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(perReminder, "bytes/reminder")
	b.ReportMetric(float64(len(one)), "json-bytes/reminder")
}
