package app_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// lifecycle drives the whole demo (the real server, the simulator as WeChat, the
// outbox workers and the scheduler) against the real Redis, the way people would.
type lifecycle struct {
	t *testing.T
	d *app.Demo
}

func (l *lifecycle) say(openid, text string) string {
	l.t.Helper()
	got, err := l.d.Client.Text(context.Background(), openid, text)
	if err != nil {
		l.t.Fatalf("%s says %q: %v", openid, text, err)
	}
	return got
}

// at moves the clock to a Beijing time and fires what fell due.
func (l *lifecycle) at(y int, m time.Month, day, h, min int) {
	l.t.Helper()
	if _, err := l.d.Clock.AdvanceTo(time.Date(y, m, day, h, min, 0, 0, calendar.Location())); err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.d.App.Scheduler.PumpOnce(context.Background()); err != nil {
		l.t.Fatal(err)
	}
}

// delivered waits until openid has received n pushes in all, and returns the nth.
func (l *lifecycle) delivered(openid string, n int) sim.Call {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if sent := l.d.API.Sent(openid); len(sent) >= n {
			return sent[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("%s received %d pushes, want %d: %+v", openid, len(l.d.API.Sent(openid)), n, l.d.API.Sent(openid))
	return sim.Call{}
}

// quiet checks that openid received no more than n pushes (give the workers a moment).
func (l *lifecycle) quiet(openid string, n int) {
	l.t.Helper()
	time.Sleep(150 * time.Millisecond)
	if got := len(l.d.API.Sent(openid)); got != n {
		l.t.Fatalf("%s received %d pushes, want %d: %+v", openid, got, n, l.d.API.Sent(openid))
	}
}

func (l *lifecycle) grant(role bot.Role, community, name, openid string) {
	l.t.Helper()
	ctx := context.Background()
	inv, err := l.d.App.Store.CreateInvite(ctx, role, community, name, l.d.Clock.Now(), time.Hour)
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.d.Client.Subscribe(ctx, openid, ""); err != nil {
		l.t.Fatal(err)
	}
	if got := l.say(openid, "绑定 "+inv.Code); !strings.Contains(got, "绑定成功") {
		l.t.Fatalf("bind %s: %q", name, got)
	}
}

var ticketNoRE = regexp.MustCompile(`\b(1\d{3})\b`)

// A request from intake to rating, through WeChat as simulated: the staff member is
// alerted, claims it and replies (a customer-service message while the resident's
// 48-hour window is open, a template message after it closed); the deadlines fire in
// order as the clock crosses the New Year holiday and a weekend, up to the secretary
// and the district; the resident rates the result.
func TestRequestLifecycleThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 30, 10, 0) // Wednesday; Friday is New Year's Day
	l.grant(bot.RoleSecretary, "QY", "赵书记", "o_secretary")
	l.grant(bot.RoleAdmin, "QY", "区民政局", "o_district")

	// The resident follows through 七一路社区's QR code and files a request.
	if got, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil || !strings.Contains(got, "七一路社区") {
		t.Fatalf("subscribe: %q %v", got, err)
	}
	l.say(app.DemoResident, "诉求")
	l.say(app.DemoResident, "治安安全")
	if got := l.say(app.DemoResident, "楼道里有人私拉电线，晚上有火花"); !strings.Contains(got, "手机") {
		t.Fatalf("the remembered community is not asked again; the phone is: %q", got)
	}
	if got := l.say(app.DemoResident, "13800138000"); !strings.Contains(got, "138****8000") {
		t.Fatalf("summary: %q", got)
	}
	got := l.say(app.DemoResident, "确认")
	no := ticketNoRE.FindString(got)
	if no == "" || !strings.Contains(got, "1月5日") {
		t.Fatalf("confirmation without a number or the deadline (Tue 5 Jan, across the holiday): %q", got)
	}

	// The desk hears of it. The staff member has not written in 48 hours: a template.
	alert := l.delivered(app.DemoStaff, 1)
	if alert.Kind != sim.KindTemplate || !strings.Contains(string(alert.Body), no) {
		t.Fatalf("new-ticket alert: %+v", alert)
	}
	if got := l.say(app.DemoStaff, "接单 "+no); !strings.Contains(got, no) {
		t.Fatalf("claim: %q", got)
	}
	if c := l.delivered(app.DemoResident, 1); c.Kind != sim.KindCustom {
		t.Fatalf("accepted notice inside the window should be a customer-service message: %+v", c)
	}
	l.say(app.DemoStaff, "回复 "+no+" 已通知物业电工，明天上午来处理")
	if c := l.delivered(app.DemoResident, 2); c.Kind != sim.KindCustom || !strings.Contains(string(c.Body), "物业电工") {
		t.Fatalf("reply inside the window: %+v", c)
	}

	// Deadlines across the holiday: nothing until Monday, then yellow, red, the
	// secretary, the district, one working day apart.
	staffSeen := len(d.API.Sent(app.DemoStaff))
	l.at(2027, 1, 3, 20, 0) // Sunday evening, end of the holiday
	l.quiet(app.DemoStaff, staffSeen)
	steps := []struct {
		day    int
		to     string
		expect string
	}{
		{4, app.DemoStaff, "临期"},
		{5, app.DemoStaff, "超期"},
		{6, "o_secretary", "社区书记"},
		{7, "o_district", "区级"},
	}
	// The secretary is staff too, and had the new-ticket alert.
	seen := map[string]int{app.DemoStaff: staffSeen, "o_secretary": len(d.API.Sent("o_secretary"))}
	// 4 January, 09:00, the year's first working day: the district admin is sent
	// December's figures (bot/report), and nobody else is.
	l.at(2027, 1, 4, 9, 5)
	if c := l.delivered("o_district", 1); !strings.Contains(callText(c), "2026年12月工作统计") {
		t.Fatalf("the district's monthly figures: %s", c.Body)
	}
	seen["o_district"] = 1
	l.quiet(app.DemoStaff, staffSeen)
	for _, s := range steps {
		l.at(2027, 1, s.day, 17, 20)
		l.quiet(s.to, seen[s.to]) // not before the deadline hour
		l.at(2027, 1, s.day, 17, 31)
		seen[s.to]++
		if c := l.delivered(s.to, seen[s.to]); !strings.Contains(string(c.Body), s.expect) || !strings.Contains(string(c.Body), no) {
			t.Fatalf("Jan %d: %s got %s", s.day, s.to, c.Body)
		}
	}

	// The resident last wrote on 30 Dec: a reply now goes as a template message.
	l.say(app.DemoStaff, "回复 "+no+" 电工已到场更换线路")
	if c := l.delivered(app.DemoResident, 3); c.Kind != sim.KindTemplate || !strings.Contains(string(c.Body), "更换线路") {
		t.Fatalf("reply after 48 h of silence: %+v", c)
	}
	l.say(app.DemoStaff, "办结 "+no+" 已更换老化线路，隐患消除")
	if c := l.delivered(app.DemoResident, 4); !strings.Contains(string(c.Body), "满意") {
		t.Fatalf("the result asks for a rating: %s", c.Body)
	}
	if got := l.say(app.DemoResident, "满意"); !strings.Contains(got, no) {
		t.Fatalf("rating: %q", got)
	}

	tk, err := d.App.Store.Ticket(ctx, no)
	if err != nil || tk.Status != bot.StatusClosed || tk.Rating != bot.RatingSatisfied || !tk.Flagged {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	tl, err := d.App.Store.Timeline(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, ev := range tl {
		if ev.At.IsZero() || ev.Actor == "" {
			t.Fatalf("an event without time or actor: %+v", ev)
		}
		if ev.Kind == "warned" {
			warned = append(warned, ev.Text)
		}
	}
	if strings.Join(warned, " ") != "resolve:yellow resolve:red resolve:secretary resolve:district" {
		t.Fatalf("warnings in the timeline: %v", warned)
	}
	stats, _ := d.App.Store.Stats(ctx, "QY", "2026-12")
	if stats["received"] != 1 || stats["category:safety"] != 1 {
		t.Fatalf("December counters: %v", stats)
	}
	jan, _ := d.App.Store.Stats(ctx, "QY", "2027-01")
	if jan["closed"] != 1 || jan["rated"] != 1 || jan["rating:satisfied"] != 1 || jan["closed_in_time"] != 0 {
		t.Fatalf("January counters: %v", jan)
	}
}
