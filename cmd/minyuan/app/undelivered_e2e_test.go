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
	"minyuan/configs"
)

// Staff learn when a reply did not reach the resident, through WeChat as simulated:
// the resident unfollows, the reply fails with 43004, the staff member is told at
// once and why, the call-back task shows in 待办 and 详情 with the phone, 回电 closes
// it, and a resident who follows again gets what could not reach them.

// waitFor waits until openid has received a push saying each of want, after the
// first n, and returns it.
func (l *lifecycle) waitFor(openid string, n int, want ...string) sim.Call {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range l.d.API.Sent(openid)[min(n, len(l.d.API.Sent(openid))):] {
			if containsAll(string(c.Body), strings.Join(want, "|")) {
				return c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("%s was not sent %q after push %d: %s", openid, want, n, bodies(l.d.API.Sent(openid)))
	return sim.Call{}
}

var callbackLineRE = regexp.MustCompile(`(\d+)\. 13800138000`)

func TestUndeliveredReplyReachesStaffAndTheCallbackCloses(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2027, 3, 3, 10, 0) // a Wednesday morning
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	no := l.fileAndClaim(app.DemoResident, "楼道灯坏了")
	l.delivered(app.DemoResident, 1) // 已受理

	// The resident unfollows; the reply cannot go.
	if _, err := d.Client.Unsubscribe(ctx, app.DemoResident); err != nil {
		t.Fatal(err)
	}
	seen := len(d.API.Sent(app.DemoStaff))
	if got := l.say(app.DemoStaff, "回复 "+no+" 电工明天上午上门"); !strings.Contains(got, no) {
		t.Fatalf("reply: %q", got)
	}
	told := l.waitFor(app.DemoStaff, seen, "未能送达", "已取消关注", no)
	if told.Kind != sim.KindCustom {
		t.Fatalf("the handler's window is open: %+v", told)
	}
	// The call-back task: in 待办 and in 详情, with the phone in full.
	todo := l.say(app.DemoStaff, "待办")
	m := callbackLineRE.FindStringSubmatch(todo)
	if m == nil || !strings.Contains(todo, "待回电") || !strings.Contains(todo, no) {
		t.Fatalf("待办 lacks the call-back task: %q", todo)
	}
	if got := l.say(app.DemoStaff, "详情 "+no); !containsAll(got, "待回电|"+m[1]+". 13800138000") {
		t.Fatalf("详情 lacks the call-back task: %q", got)
	}

	// Following again brings what could not reach them, and the desk need not call.
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, ""); err != nil {
		t.Fatal(err)
	}
	if c := l.waitFor(app.DemoResident, 1, "电工明天上午上门"); c.Kind != sim.KindCustom {
		t.Fatalf("resent: %+v", c)
	}
	if got := l.say(app.DemoStaff, "待办"); strings.Contains(got, "13800138000") {
		t.Fatalf("the task stays after the message was resent: %q", got)
	}

	// Gone again: this time staff phone, and 回电 <n> <result> closes the task.
	if _, err := d.Client.Unsubscribe(ctx, app.DemoResident); err != nil {
		t.Fatal(err)
	}
	seen = len(d.API.Sent(app.DemoStaff))
	l.say(app.DemoStaff, "回复 "+no+" 电工改到下午两点")
	l.waitFor(app.DemoStaff, seen, "未能送达", no)
	todo = l.say(app.DemoStaff, "待办")
	if m = callbackLineRE.FindStringSubmatch(todo); m == nil {
		t.Fatalf("no new task: %q", todo)
	}
	if got := l.say(app.DemoStaff, "回电 "+m[1]+" 已接通 已电话告知"); !strings.Contains(got, "完成") {
		t.Fatalf("回电: %q", got)
	}
	if got := l.say(app.DemoStaff, "详情 "+no); strings.Contains(got, "待回电") {
		t.Fatalf("a closed task in 详情: %q", got)
	}
	// A task closed by a call is not sent again on the next follow.
	before := len(d.API.Sent(app.DemoResident))
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, ""); err != nil {
		t.Fatal(err)
	}
	l.quiet(app.DemoResident, before)
}

// A reply made in quiet hours waits for their end, and the staff member is told
// when it will go: the end the configuration sets.
func TestReplyHeldForQuietHoursSaysWhenItGoes(t *testing.T) {
	for _, tc := range []struct {
		end        calendar.Clock
		want, hold string
	}{{8 * 60, "上午8:00", "08:00"}, {7*60 + 30, "上午7:30", "07:30"}} {
		e := newEnvWith(t, func(c *configs.Config) { c.Calendar.Quiet.End = tc.end })
		e.clock.Set(wed)
		e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
		e.knownResident("o_res", "QY", "13800138000")
		no := e.fileRequest("o_res", "5", "楼道灯坏了")
		e.say("o_staff", "接单 "+no)
		if got := e.say("o_staff", "回复 "+no+" 明天上午来修"); strings.Contains(got, "休息时间") {
			t.Fatalf("in the day nothing is held: %q", got)
		}
		e.clock.Set(time.Date(2026, 11, 25, 22, 40, 0, 0, calendar.Location()))
		got := e.say("o_staff", "回复 "+no+" 电工明早来")
		if !containsAll(got, "休息时间|11月26日|"+tc.want) {
			t.Fatalf("quiet end %s: %q", tc.want, got)
		}
		qs, err := e.app.Store.Queued(context.Background(), "o_res", 10)
		if err != nil {
			t.Fatal(err)
		}
		last := qs[len(qs)-1]
		if !strings.Contains(last.Push.Text, "电工明早来") || last.Hold.In(calendar.Location()).Format("15:04") != tc.hold {
			t.Fatalf("held until %v: %+v", last.Hold, last.Push.Text)
		}
	}
}

// Messages held overnight go at the end of the quiet hours in the order they were
// made, through the whole demo: 「已受理」 before the reply that came after it.
// (bot/outbox's TestQuietHoursHoldPushesInOrder holds the same for the outbox alone.)
func TestHeldOvernightKeepsOrder(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	l.at(2027, 3, 3, 22, 0) // a Wednesday night, in quiet hours
	if _, err := d.Client.Subscribe(context.Background(), app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	no := l.fileAndClaim(app.DemoResident, "楼道灯坏了")
	for _, text := range []string{"电工明早八点半上门", "请家里留人"} {
		if got := l.say(app.DemoStaff, "回复 "+no+" "+text); !strings.Contains(got, "上午8:00") {
			t.Fatalf("held reply: %q", got)
		}
	}
	l.quiet(app.DemoResident, 0)
	l.at(2027, 3, 4, 8, 1)
	l.delivered(app.DemoResident, 3)
	var got []string
	for _, c := range d.API.Sent(app.DemoResident) {
		switch b := string(c.Body); {
		case strings.Contains(b, "已受理"):
			got = append(got, "已受理")
		case strings.Contains(b, "电工明早八点半上门"):
			got = append(got, "回复1")
		case strings.Contains(b, "请家里留人"):
			got = append(got, "回复2")
		}
	}
	if strings.Join(got, " ") != "已受理 回复1 回复2" {
		t.Fatalf("held messages arrived as %v: %s", got, bodies(d.API.Sent(app.DemoResident)))
	}
}
