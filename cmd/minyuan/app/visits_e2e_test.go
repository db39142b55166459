package app_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// Party members' tasks end to end: the real server, the simulator as WeChat, the
// outbox workers and the scheduler, against the real Redis. The demo's staff phone
// (王芳) is the branch secretary; its party phone (李建国) the member.

var taskNoRE = regexp.MustCompile(`(?:任务|走访任务|待指派) ?(\d{3})\b`)

// callText is every string in a recorded API call's body: what the person sees,
// whichever message kind carried it.
func callText(c sim.Call) string {
	var v any
	if err := json.Unmarshal(c.Body, &v); err != nil {
		return string(c.Body)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

func taskNo(t *testing.T, text string) string {
	t.Helper()
	m := taskNoRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no task number in %q", text)
	}
	return m[1]
}

// noSecrets fails if any push to anyone carries one of the words.
func noSecrets(t *testing.T, d *app.Demo, words ...string) {
	t.Helper()
	for _, c := range d.API.Calls() {
		if c.OpenID == "" {
			continue
		}
		text := callText(c)
		for _, w := range words {
			if strings.Contains(text, w) {
				t.Fatalf("a push to %s carries %q: %s", c.OpenID, w, text)
			}
		}
	}
}

// fileRequest files a request of category as the demo resident; it returns the
// ticket number.
func (l *lifecycle) fileRequest(category, text string) string {
	l.t.Helper()
	l.say(app.DemoResident, "诉求")
	l.say(app.DemoResident, category)
	l.say(app.DemoResident, text)
	if got := l.say(app.DemoResident, "13800138000"); !strings.Contains(got, "确认") {
		l.t.Fatalf("summary: %q", got)
	}
	got := l.say(app.DemoResident, "确认")
	no := ticketNoRE.FindString(got)
	if no == "" {
		l.t.Fatalf("no ticket number: %q", got)
	}
	return no
}

// A hardship request makes a 三必访 task for the party member at once; a staff flag
// on the same ticket makes no second one. Reminders fire the working day before and
// on the day at 09:00; overdue, the secretary is told the next working day and the
// district the one after — across the National Day holiday, its make-up Saturday and
// a Sunday. The member completes with a photo and a report. No push carries the
// hardship's details.
func TestVisitHardshipThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 9, 29, 10, 0) // Tuesday; 1 to 7 October are the National Day holiday
	l.grant(bot.RoleAdmin, "QY", "区民政局", "o_district")
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	partyBefore := len(d.API.Sent(app.DemoParty))
	secret := "老伴去世后独居，低保停发，家里断粮"
	ticket := l.fileRequest("困难求助", secret)

	push := l.delivered(app.DemoParty, partyBefore+1)
	text := callText(push)
	no := taskNo(t, text)
	// 3 working days after Tuesday 29 September: the 30th, then 8 and 9 October.
	if !strings.Contains(text, "10月9日") {
		t.Fatalf("task push without its deadline (Fri 9 Oct): %q", text)
	}
	if got := l.say(app.DemoParty, "我的任务"); !strings.Contains(got, no) {
		t.Fatalf("我的任务: %q", got)
	}
	if got := l.say(app.DemoParty, "任务 "+no); !strings.Contains(got, "断粮") || !strings.Contains(got, ticket) {
		t.Fatalf("the assignee reads the details in chat: %q", got)
	}
	// The same event again: the staff flag on the same ticket.
	if got := l.say(app.DemoStaff, "标记困难 "+ticket); !strings.Contains(got, no) || !strings.Contains(got, "没有重复") {
		t.Fatalf("标记困难 on the same ticket: %q", got)
	}
	if tasks, _ := d.App.Store.BranchVisits(ctx, "QY"); len(tasks) != 1 {
		t.Fatalf("%d tasks for one hardship", len(tasks))
	}

	// Through the holiday nothing fires.
	n := len(d.API.Sent(app.DemoParty))
	l.at(2026, 10, 7, 20, 0)
	l.quiet(app.DemoParty, n)
	l.at(2026, 10, 8, 9, 0) // the working day before the deadline
	if got := callText(l.delivered(app.DemoParty, n+1)); !strings.Contains(got, no) || !strings.Contains(got, "明天到期") {
		t.Fatalf("day-before reminder: %q", got)
	}
	l.at(2026, 10, 9, 9, 0)
	if got := callText(l.delivered(app.DemoParty, n+2)); !strings.Contains(got, "今日到期") {
		t.Fatalf("on-the-day reminder: %q", got)
	}
	sec := len(d.API.Sent(app.DemoStaff))
	l.at(2026, 10, 9, 23, 0)
	l.quiet(app.DemoStaff, sec)
	l.at(2026, 10, 10, 9, 0) // Saturday, a make-up working day
	if got := callText(l.delivered(app.DemoStaff, sec+1)); !strings.Contains(got, "走访超期") || !strings.Contains(got, "李建国") {
		t.Fatalf("secretary's overdue push: %q", got)
	}
	dist := len(d.API.Sent("o_district"))
	l.at(2026, 10, 11, 12, 0) // Sunday
	l.quiet("o_district", dist)
	l.at(2026, 10, 12, 9, 0)
	if got := callText(l.delivered("o_district", dist+1)); !strings.Contains(got, "区级督办") {
		t.Fatalf("district push: %q", got)
	}
	if got := l.say(app.DemoStaff, "支部任务"); !strings.Contains(got, no) || !strings.Contains(got, "超期 1") {
		t.Fatalf("支部任务: %q", got)
	}

	// Completion: 完成 alone asks for the report, photos first.
	if got := l.say(app.DemoParty, "完成 "+no); !strings.Contains(got, "照片") {
		t.Fatalf("完成 without a report: %q", got)
	}
	if _, err := d.Client.Image(ctx, app.DemoParty, "http://mmbiz.qpic.cn/visit-1.jpg"); err != nil {
		t.Fatal(err)
	}
	got := l.say(app.DemoParty, "已上门看望，协助重新申请低保，送去米面油")
	if !strings.Contains(got, "已完成") || !strings.Contains(got, "照片 1 张") {
		t.Fatalf("completed: %q", got)
	}
	if got := callText(l.delivered(app.DemoStaff, sec+2)); !strings.Contains(got, "走访完成") {
		t.Fatalf("secretary told of completion: %q", got)
	}
	v, _ := d.App.Store.Visit(ctx, no)
	if v.Status != bot.VisitDone || len(v.Photos) != 1 || !strings.Contains(v.Report, "米面油") {
		t.Fatalf("task %+v", v)
	}
	noSecrets(t, d, "断粮", "低保停发", "13800138000")
	stats, _ := d.App.Store.Stats(ctx, "QY", "2026-10")
	if stats["visit.overdue:hardship"] != 1 || stats["visit.done:hardship"] != 1 || stats["visit.done_in_time:hardship"] != 0 {
		t.Fatalf("October counters %v", stats)
	}
}

// A transfer-in (转入) by the secretary in chat; 改期 refused, then approved; another
// member and another branch's secretary cannot see or act on the task.
func TestVisitTransferInAndRescheduleThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	l.at(2026, 11, 23, 10, 0) // Monday
	l.grant(bot.RoleParty, "QY", "王红", "o_member2")
	l.grant(bot.RoleSecretary, "HX", "黄书记", "o_secretary_hx")
	partyBefore := len(d.API.Sent(app.DemoParty))
	got := l.say(app.DemoStaff, "转入 王建军 幸福里3栋")
	no := taskNo(t, got)
	if again := l.say(app.DemoStaff, "转入 王建军"); !strings.Contains(again, no) || !strings.Contains(again, "没有重复") {
		t.Fatalf("the same transfer twice: %q", again)
	}
	// Two members, no open tasks: the round-robin takes the one never assigned first
	// (by openid among equals); the task is pushed to whoever got it.
	v, _ := d.App.Store.Visit(context.Background(), no)
	owner, other := app.DemoParty, "o_member2"
	if v.Assignee == "o_member2" {
		owner, other = other, owner
	} else {
		l.delivered(app.DemoParty, partyBefore+1)
	}
	if v.Assignee == "" {
		t.Fatal("0s auto-assign left the task waiting")
	}
	// Isolation in chat.
	if got := l.say(other, "任务 "+no); !strings.Contains(got, "没有找到") {
		t.Fatalf("another member reads the task: %q", got)
	}
	if got := l.say(other, "完成 "+no+" 看过了"); !strings.Contains(got, "没有找到") {
		t.Fatalf("another member completes the task: %q", got)
	}
	if got := l.say(other, "改期 "+no+" 12月8日 忙"); !strings.Contains(got, "没有找到") {
		t.Fatalf("another member reschedules the task: %q", got)
	}
	if got := l.say("o_secretary_hx", "任务 "+no); !strings.Contains(got, "没有找到") {
		t.Fatalf("another branch's secretary reads the task: %q", got)
	}
	if got := l.say("o_secretary_hx", "支部任务"); strings.Contains(got, no) {
		t.Fatalf("another branch lists the task: %q", got)
	}

	// 改期: refused, then approved.
	sec := len(d.API.Sent(app.DemoStaff))
	if got := l.say(owner, "改期 "+no+" 12月8日 单位出差"); !strings.Contains(got, "12月8日") {
		t.Fatalf("改期: %q", got)
	}
	if got := callText(l.delivered(app.DemoStaff, sec+1)); !strings.Contains(got, "改期申请") || !strings.Contains(got, "同意 "+no) {
		t.Fatalf("secretary asked: %q", got)
	}
	mine := len(d.API.Sent(owner))
	if got := l.say(app.DemoStaff, "不同意 "+no); !strings.Contains(got, "不同意") {
		t.Fatalf("不同意: %q", got)
	}
	if got := callText(l.delivered(owner, mine+1)); !strings.Contains(got, "未同意") {
		t.Fatalf("refusal told: %q", got)
	}
	if got := l.say(app.DemoStaff, "同意 "+no); !strings.Contains(got, "没有待审批") {
		t.Fatalf("nothing left to approve: %q", got)
	}
	l.say(owner, "改期 "+no+" 12月8日 单位出差")
	if got := l.say(app.DemoStaff, "同意 "+no); !strings.Contains(got, "12月8日") {
		t.Fatalf("同意: %q", got)
	}
	if got := callText(l.delivered(owner, mine+2)); !strings.Contains(got, "已同意") || !strings.Contains(got, "12月8日") {
		t.Fatalf("approval told: %q", got)
	}
	// The old deadline (30 Nov) passes without a reminder; the new one's fire.
	n := len(d.API.Sent(owner))
	l.at(2026, 12, 1, 9, 30)
	l.quiet(owner, n)
	l.at(2026, 12, 7, 9, 0)
	if got := callText(l.delivered(owner, n+1)); !strings.Contains(got, "明天到期") {
		t.Fatalf("the moved deadline's reminder: %q", got)
	}
	if got := l.say(owner, "转交 "+no); !strings.Contains(got, "交回") {
		t.Fatalf("转交: %q", got)
	}
	if got := l.say(app.DemoStaff, "指派 "+no+" 王红"); !strings.Contains(got, "王红") {
		t.Fatalf("指派: %q", got)
	}
}

// Illness: a resident's own report of that kind makes a visit; staff 病访 for a
// named person twice on one day makes one.
func TestVisitIllnessThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 11, 24, 10, 0)
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	before := len(d.API.Sent(app.DemoParty))
	l.fileRequest("病丧慰问", "我父亲中风住院了，家里就我一个人照顾")
	if got := callText(l.delivered(app.DemoParty, before+1)); !strings.Contains(got, "病患慰问") || strings.Contains(got, "中风") {
		t.Fatalf("illness task push: %q", got)
	}
	first := l.say(app.DemoStaff, "逝访 张大爷 幸福里5栋")
	no := taskNo(t, first)
	if again := l.say(app.DemoStaff, "逝访 张大爷 幸福里5栋"); !strings.Contains(again, no) || !strings.Contains(again, "没有重复") {
		t.Fatalf("the same report twice: %q", again)
	}
	tasks, _ := d.App.Store.BranchVisits(ctx, "QY")
	if len(tasks) != 2 {
		t.Fatalf("%d tasks, want 2", len(tasks))
	}
	stats, _ := d.App.Store.Stats(ctx, "QY", "2026-11")
	if stats["visit.created:illness"] != 2 {
		t.Fatalf("counters %v", stats)
	}
}

// A 五包 pairing makes a task in each of three months; October's is missed and
// shown overdue; once the pairing ends no task comes.
func TestPairingOverThreeMonthsThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 9, 15, 10, 0)
	got := l.say(app.DemoStaff, "结对 李建国 孤寡老人 赵奶奶 幸福里5栋")
	if !strings.Contains(got, "P1") {
		t.Fatalf("结对: %q", got)
	}
	sept := taskNo(t, got)
	if got := l.say(app.DemoParty, "完成 "+sept+" 陪赵奶奶聊天，帮她取了药"); !strings.Contains(got, "已完成") {
		t.Fatalf("September done: %q", got)
	}
	n := len(d.API.Sent(app.DemoParty))
	l.at(2026, 10, 8, 9, 0) // October's first working day, after the holiday
	oct := taskNo(t, callText(l.delivered(app.DemoParty, n+1)))
	if oct == sept {
		t.Fatal("October got September's task")
	}
	sec := len(d.API.Sent(app.DemoStaff))
	// 10 working days from 8 October: the 22nd; the secretary hears on the 23rd.
	l.at(2026, 10, 23, 9, 0)
	if got := callText(l.delivered(app.DemoStaff, sec+1)); !strings.Contains(got, oct) || !strings.Contains(got, "走访超期") {
		t.Fatalf("October overdue: %q", got)
	}
	l.at(2026, 11, 2, 9, 0) // Monday, November's first working day
	nov := ""
	for _, c := range d.API.Sent(app.DemoParty) {
		if m := taskNoRE.FindStringSubmatch(callText(c)); m != nil && m[1] != sept && m[1] != oct && strings.Contains(callText(c), "赵奶奶") {
			nov = m[1]
		}
	}
	if nov == "" {
		time.Sleep(200 * time.Millisecond)
		for _, c := range d.API.Sent(app.DemoParty) {
			if m := taskNoRE.FindStringSubmatch(callText(c)); m != nil && m[1] != sept && m[1] != oct {
				nov = m[1]
			}
		}
	}
	if nov == "" {
		t.Fatalf("no November task: %+v", d.API.Sent(app.DemoParty))
	}
	mine := l.say(app.DemoParty, "我的任务")
	if !strings.Contains(mine, "🔴 "+oct) || !strings.Contains(mine, nov) {
		t.Fatalf("我的任务 should show October overdue and November: %q", mine)
	}
	if got := l.say(app.DemoStaff, "结束结对 P1"); !strings.Contains(got, "已结束") {
		t.Fatalf("结束结对: %q", got)
	}
	l.at(2026, 12, 1, 10, 0)
	tasks, _ := d.App.Store.BranchVisits(ctx, "QY")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks after the pairing ended, want 3", len(tasks))
	}
	v, _ := d.App.Store.Visit(ctx, oct)
	if !v.Open() || !v.Overdue {
		t.Fatalf("October's missed task: %+v", v)
	}
}

// 四个一: items reported in chat, the 信息 item filed as a ticket the desk sees, and
// the November reminder only to the member still missing items.
func TestFourOneThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 6, 1, 10, 0)
	l.grant(bot.RoleParty, "QY", "王红", "o_member2")
	l.say(app.DemoParty, "四个一 好事 帮邻居修好了水管")
	l.say(app.DemoParty, "四个一 义务劳动 参加小区大扫除")
	got := l.say(app.DemoParty, "四个一 信息 小区东门路灯坏了三天")
	ticket := ticketNoRE.FindString(got)
	if ticket == "" {
		t.Fatalf("信息 item without a ticket: %q", got)
	}
	tk, err := d.App.Store.Ticket(ctx, ticket)
	if err != nil || tk.Community != "QY" || !strings.Contains(tk.Description, "路灯") {
		t.Fatalf("the 信息 ticket: %+v %v", tk, err)
	}
	if got := l.say(app.DemoStaff, "待办"); !strings.Contains(got, ticket) {
		t.Fatalf("the desk does not list the 信息 ticket: %q", got)
	}
	if got := l.say(app.DemoParty, "四个一 建议 楼道加装扶手"); !strings.Contains(got, "全部完成") {
		t.Fatalf("the fourth item: %q", got)
	}
	l.say("o_member2", "四个一 好事 扶老人过马路")
	if got := l.say("o_member2", "我的四个一"); !strings.Contains(got, "还差") {
		t.Fatalf("我的四个一: %q", got)
	}
	if got := l.say(app.DemoStaff, "支部四个一"); !strings.Contains(got, "李建国") || !strings.Contains(got, "王红") {
		t.Fatalf("支部四个一: %q", got)
	}
	done := len(d.API.Sent(app.DemoParty))
	missing := len(d.API.Sent("o_member2"))
	l.at(2026, 11, 2, 9, 0) // 1 November is a Sunday
	if got := callText(l.delivered("o_member2", missing+1)); !strings.Contains(got, "四个一") || !strings.Contains(got, "参加一次义务劳动") {
		t.Fatalf("November reminder: %q", got)
	}
	l.quiet(app.DemoParty, done)
	stats, _ := d.App.Store.Stats(ctx, "QY", "2026-06")
	if stats["fourone:good_deed"] != 2 || stats["fourone:info"] != 1 {
		t.Fatalf("counters %v", stats)
	}
}
