package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// 统计 in chat gives the figures of the known scenario (see runReportScenario): a
// community's staff member sees their community, the district admin the district;
// on the first working day of May at 09:00 the admin is pushed April's figures,
// once, and the staff member is not.
func TestStatsInChatAndTheMonthlyPush(t *testing.T) {
	d, s := runReportScenario(t) // ends Tuesday 6 April 2027, 10:00
	l := s.lifecycle
	const admin = "o_district_admin"
	l.grant(bot.RoleAdmin, "QY", "区民政科", admin)

	// March in 七一路 (QY): three requests, all signed in time, two closed and
	// rated 满意 and 基本满意.
	got := l.say(app.DemoStaff, "统计 上月")
	for _, want := range []string{"【上月统计】七一路社区（2027-03-01 至 2027-03-31）", "接待诉求 3 件（微信 3，热线 0）",
		"调解纠纷 1 起，解决困难 1 件，安置就业 0 人", "及时签收率 100.0%（3/3）", "办结率 66.7%（2/3）",
		"满意率 50.0%，基本满意 50.0%（已评价 2 件）"} {
		if !strings.Contains(got, want) {
			t.Errorf("staff 统计 上月: %q lacks %q", got, want)
		}
	}
	// The district in March adds 和谐 (HX): signed late, closed, rated 满意.
	got = l.say(admin, "统计 上月")
	for _, want := range []string{"【上月统计】全区", "接待诉求 4 件（微信 4，热线 0）", "及时签收率 75.0%（3/4）",
		"办结率 75.0%（3/4）", "满意率 66.7%，基本满意 33.3%（已评价 3 件）"} {
		if !strings.Contains(got, want) {
			t.Errorf("admin 统计 上月: %q lacks %q", got, want)
		}
	}
	// April so far, district: four requests, one from the hotline; two overdue.
	got = l.say(admin, "统计")
	for _, want := range []string{"【本月统计】全区（2027-04-01 至 2027-04-06）", "接待诉求 4 件（微信 3，热线 1），上期 0 件",
		"超期未办"} {
		if !strings.Contains(got, want) {
			t.Errorf("admin 统计: %q lacks %q", got, want)
		}
	}
	if got := l.say(admin, "统计 本年"); !strings.Contains(got, "接待诉求 8 件") || !strings.Contains(got, "2027-01-01 至 2027-04-06") {
		t.Errorf("admin 统计 本年: %q", got)
	}
	if got := l.say(admin, "统计 明年"); !strings.Contains(got, "统计 上月") {
		t.Errorf("统计 明年 should be told the usage: %q", got)
	}

	// The first working day of May, 09:00: the admin gets April's figures.
	first := time.Date(2027, 5, 1, 9, 0, 0, 0, calendar.Location())
	for !d.App.Calendar.IsWorkday(first) {
		first = first.AddDate(0, 0, 1)
	}
	staffBefore := len(monthly(d.API.Sent(app.DemoStaff)))
	l.at(2027, 5, first.Day(), 8, 59)
	time.Sleep(200 * time.Millisecond) // let the outbox deliver what fell due
	if n := len(monthly(d.API.Sent(admin))); n != 0 {
		t.Fatalf("the monthly figures came before 09:00 (%d)", n)
	}
	l.at(2027, 5, first.Day(), 9, 0)
	l.at(2027, 5, first.Day(), 9, 1) // a second pump sends nothing twice
	deadline := time.Now().Add(10 * time.Second)
	for len(monthly(d.API.Sent(admin))) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	pushes := monthly(d.API.Sent(admin))
	if len(pushes) != 1 {
		t.Fatalf("the admin got %d monthly pushes, want 1: %q", len(pushes), pushes)
	}
	for _, want := range []string{"2027年4月工作统计", "接待诉求 4 件（微信 3，热线 1），上期 4 件", "办结率"} {
		if !strings.Contains(pushes[0], want) {
			t.Errorf("the monthly push %q lacks %q", pushes[0], want)
		}
	}
	if n := len(monthly(d.API.Sent(app.DemoStaff))); n != staffBefore {
		t.Errorf("a staff member got the district's monthly figures")
	}
}

func monthly(calls []sim.Call) []string {
	var out []string
	for _, c := range calls {
		if s := callText(c); strings.Contains(s, "工作统计") {
			out = append(out, s)
		}
	}
	return out
}

// The demo's staff member and district admin find last month's seeded figures
// under 统计 上月; moving the demo clock to the next month's first working day
// brings the district pane the monthly push.
func TestDemoShowsLastMonthsFigures(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	for _, who := range []string{app.DemoStaff, app.DemoAdmin} {
		got := l.say(who, "统计 上月")
		for _, want := range []string{"接待诉求 26 件（微信 21，热线 5）", "及时签收率 92.0%（23/25）", "满意率 77.8%，基本满意 16.7%"} {
			if !strings.Contains(got, want) {
				t.Errorf("统计 上月 in the demo (%s): %q lacks %q", who, got, want)
			}
		}
	}
	now := d.Clock.Now().In(calendar.Location())
	first := time.Date(now.Year(), now.Month()+1, 1, 9, 0, 0, 0, calendar.Location())
	for !d.App.Calendar.IsWorkday(first) {
		first = first.AddDate(0, 0, 1)
	}
	l.at(first.Year(), first.Month(), first.Day(), 9, 1)
	// (A demo started in the first days of a month was sent last month's at once.)
	want := fmt.Sprintf("%d年%d月工作统计", now.Year(), int(now.Month()))
	this := func() (n int) {
		for _, p := range monthly(d.API.Sent(app.DemoAdmin)) {
			if strings.Contains(p, want) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for this() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := this(); n != 1 {
		t.Errorf("the district pane got %d pushes of %s: %q", n, want, monthly(d.API.Sent(app.DemoAdmin)))
	}
}
