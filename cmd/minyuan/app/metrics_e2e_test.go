package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// scrape reads /metrics and returns the value of each series (name{labels}).
func scrape(t *testing.T, d *app.Demo) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	d.App.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	out := map[string]float64{}
	line := regexp.MustCompile(`^(minyuan_[a-z_]+(?:\{[^}]*\})?) (\S+)$`)
	for _, l := range strings.Split(string(body), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// After a short conversation, the counters moved: messages by type, replies, a
// dedupe hit for a repeated delivery, the request flow started and completed, the
// push to the desk sent, an open ticket in the queue, Redis commands timed.
func TestMetricsAfterAShortConversation(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	before := scrape(t, d)
	if _, err := d.Client.Subscribe(ctx, "o_metrics", "QY"); err != nil {
		t.Fatal(err)
	}
	l.file("o_metrics", "环境卫生", "垃圾桶满了没人清", "13800000009")
	// WeChat delivers the same message twice. (A question that changes nothing, like
	// 帮助, is answered afresh each time: bot.ReadOnly.)
	m := sim.Message{From: "o_metrics", Type: "text", Content: "诉求", MsgID: 987654321}
	for range 2 {
		if _, err := d.Client.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	l.delivered(app.DemoStaff, 1) // the desk's new-ticket alert went out
	var after map[string]float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		after = scrape(t, d)
		if after[`minyuan_pushes_total{channel="template",errcode="0",result="sent"}`]+
			after[`minyuan_pushes_total{channel="custom",errcode="0",result="sent"}`] >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	moved := func(series string, atLeast float64) {
		t.Helper()
		if got := after[series] - before[series]; got < atLeast {
			t.Errorf("%s moved by %v, want at least %v", series, got, atLeast)
		}
	}
	moved(`minyuan_messages_in_total{type="text"}`, 7)
	moved(`minyuan_messages_in_total{type="event:subscribe"}`, 1)
	moved(`minyuan_replies_total`, 8)
	moved(`minyuan_dedupe_hits_total{outcome="done"}`, 1)
	moved(`minyuan_flow_starts_total{flow="request"}`, 1)
	moved(`minyuan_flow_completions_total{flow="request"}`, 1)
	moved(`minyuan_tickets_open{community="QY",status="new"}`, 1)
	moved(`minyuan_redis_command_duration_seconds_count{command="pipeline"}`, 1)
	if after[`minyuan_pushes_total{channel="template",errcode="0",result="sent"}`]+after[`minyuan_pushes_total{channel="custom",errcode="0",result="sent"}`] < 1 {
		t.Errorf("no push counted: %v", after)
	}
	for _, name := range []string{`minyuan_outbox_depth{state="waiting"}`, `minyuan_outbox_dead_letters`,
		`minyuan_outbox_oldest_age_seconds`, `minyuan_reminder_lag_seconds`, `minyuan_busy_answers_total`} {
		if _, ok := after[name]; !ok {
			t.Errorf("no series %s", name)
		}
	}
}

// The Grafana dashboard in the repository parses and shows only metrics Minyuan
// declares.
func TestGrafanaDashboardUsesServedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../../configs/deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	// A vector with no series yet is not in a scrape: read the names the metrics
	// package declares.
	src, err := os.ReadFile("../../../bot/metrics/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`minyuan_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if !strings.Contains(string(src), `"`+base+`"`) {
					t.Errorf("panel %q uses %s, which bot/metrics does not declare", p.Title, m)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d metric references in the dashboard", n)
	}
}
