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

// pushed waits for a push to openid, after the first from, whose text contains want,
// and returns its text.
func (l *lifecycle) pushed(openid string, from int, want string) string {
	l.t.Helper()
	return l.pushedBut(openid, from, want, "")
}

// pushedBut is pushed, skipping pushes that contain but (when not empty): a push
// of an earlier step that arrives late is not the one awaited.
func (l *lifecycle) pushedBut(openid string, from int, want, but string) string {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sent := l.d.API.Sent(openid)
		for _, c := range sent[min(from, len(sent)):] {
			if text := callText(c); strings.Contains(text, want) && (but == "" || !strings.Contains(text, but)) {
				return text
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var texts []string
	for _, c := range l.d.API.Sent(openid) {
		texts = append(texts, callText(c))
	}
	l.t.Fatalf("%s got no push with %q after the first %d: %q", openid, want, from, texts)
	return ""
}

// nonePushed checks that no push to openid after the first from contains word.
func (l *lifecycle) nonePushed(openid string, from int, word string) {
	l.t.Helper()
	time.Sleep(150 * time.Millisecond)
	sent := l.d.API.Sent(openid)
	for _, c := range sent[min(from, len(sent)):] {
		if text := callText(c); strings.Contains(text, word) {
			l.t.Fatalf("%s got a push with %q: %q", openid, word, text)
		}
	}
}

func (l *lifecycle) count(openid string) int { return len(l.d.API.Sent(openid)) }

func taskNo(t *testing.T, text string) string {
	t.Helper()
	m := taskNoRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no task number in %q", text)
	}
	return m[1]
}

// noSecrets fails if a visit push (any push to the party member, any push about a
// visit to anyone) carries one of the words. The ticket's own alerts to the desk
// are the desk's business and do carry the request.
func noSecrets(t *testing.T, d *app.Demo, words ...string) {
	t.Helper()
	visits := 0
	for _, c := range d.API.Calls() {
		text := callText(c)
		if c.OpenID == "" || (c.OpenID != app.DemoParty && !strings.Contains(text, "走访")) {
			continue
		}
		visits++
		for _, w := range words {
			if strings.Contains(text, w) {
				t.Fatalf("a push to %s carries %q: %s", c.OpenID, w, text)
			}
		}
	}
	if visits < 5 {
		t.Fatalf("only %d visit pushes were checked", visits)
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
// district the one after — across the Spring Festival holiday, a weekend and the
// make-up Sunday. The member completes with a photo and a report. No push carries
// the hardship's details.
func TestVisitHardshipThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	// Wednesday 3 February 2027; 5 to 13 February are the Spring Festival holiday,
	// Sunday the 14th a make-up working day.
	l.at(2027, 2, 3, 10, 0)
	l.grant(bot.RoleAdmin, "QY", "区民政局", "o_district")
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	party := l.count(app.DemoParty)
	secret := "老伴去世后独居，低保停发，家里断粮"
	ticket := l.fileRequest("困难求助", secret)

	text := l.pushed(app.DemoParty, party, "走访任务")
	no := taskNo(t, text)
	// 3 working days after Wednesday 3 February: the 4th, the 14th, the 15th.
	if !strings.Contains(text, "2月15日") {
		t.Fatalf("task push without its deadline (Mon 15 Feb): %q", text)
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

	// Through the holiday and the Saturday nothing fires.
	party = l.count(app.DemoParty)
	l.at(2027, 2, 13, 20, 0)
	l.nonePushed(app.DemoParty, party, no)
	l.at(2027, 2, 14, 9, 0) // the make-up Sunday: the working day before the deadline
	l.pushed(app.DemoParty, party, "明天到期")
	l.at(2027, 2, 15, 9, 0)
	l.pushed(app.DemoParty, party, "今日到期")
	sec := l.count(app.DemoStaff)
	l.at(2027, 2, 15, 23, 0)
	l.nonePushed(app.DemoStaff, sec, "走访超期")
	l.at(2027, 2, 16, 9, 0)
	if got := l.pushed(app.DemoStaff, sec, "走访超期"); !strings.Contains(got, no) || !strings.Contains(got, "李建国") {
		t.Fatalf("secretary's overdue push: %q", got)
	}
	dist := l.count("o_district")
	l.at(2027, 2, 16, 23, 0)
	l.nonePushed("o_district", dist, "区级督办")
	l.at(2027, 2, 17, 9, 0)
	l.pushed("o_district", dist, "区级督办")
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
	sec = l.count(app.DemoStaff)
	got := l.say(app.DemoParty, "已上门看望，协助重新申请，送去米面油")
	if !strings.Contains(got, "已完成") || !strings.Contains(got, "照片 1 张") {
		t.Fatalf("completed: %q", got)
	}
	l.pushed(app.DemoStaff, sec, "走访完成")
	v, _ := d.App.Store.Visit(ctx, no)
	if v.Status != bot.VisitDone || len(v.Photos) != 1 || !strings.Contains(v.Report, "米面油") {
		t.Fatalf("task %+v", v)
	}
	noSecrets(t, d, "断粮", "低保停发", "13800138000")
	stats, _ := d.App.Store.Stats(ctx, "QY", "2027-02")
	if stats["visit.overdue:hardship"] != 1 || stats["visit.done:hardship"] != 1 || stats["visit.done_in_time:hardship"] != 0 {
		t.Fatalf("February counters %v", stats)
	}
}

// A transfer-in (转入) by the secretary in chat; 改期 refused, then approved; another
// member and another branch's secretary cannot see or act on the task.
func TestVisitTransferInAndRescheduleThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 7, 10, 0) // Monday
	l.grant(bot.RoleParty, "QY", "王红", "o_member2")
	l.grant(bot.RoleSecretary, "HX", "黄书记", "o_secretary_hx")
	got := l.say(app.DemoStaff, "转入 王建军 幸福里3栋")
	no := taskNo(t, got)
	if again := l.say(app.DemoStaff, "转入 王建军"); !strings.Contains(again, no) || !strings.Contains(again, "没有重复") {
		t.Fatalf("the same transfer twice: %q", again)
	}
	// Two members without open tasks: the round-robin picks one; the task is pushed
	// to whoever got it.
	v, _ := d.App.Store.Visit(ctx, no)
	owner, other := app.DemoParty, "o_member2"
	if v.Assignee == other {
		owner, other = other, owner
	}
	if v.Assignee != owner {
		t.Fatalf("0s auto-assign gave the task to %q", v.Assignee)
	}
	l.pushed(owner, 0, "走访任务 "+no)
	// Isolation in chat.
	for _, c := range []struct{ who, text string }{
		{other, "任务 " + no}, {other, "完成 " + no + " 看过了"}, {other, "改期 " + no + " 12月18日 忙"},
		{other, "转交 " + no}, {"o_secretary_hx", "任务 " + no}, {"o_secretary_hx", "指派 " + no + " 王红"},
	} {
		if got := l.say(c.who, c.text); !strings.Contains(got, "没有找到") {
			t.Fatalf("%s: %q got %q", c.who, c.text, got)
		}
	}
	if got := l.say("o_secretary_hx", "支部任务"); strings.Contains(got, no) {
		t.Fatalf("another branch lists the task: %q", got)
	}

	// 改期: refused, then approved.
	sec := l.count(app.DemoStaff)
	if got := l.say(owner, "改期 "+no+" 12月18日 单位出差"); !strings.Contains(got, "12月18日") {
		t.Fatalf("改期: %q", got)
	}
	if got := l.pushed(app.DemoStaff, sec, "改期申请"); !strings.Contains(got, "同意 "+no) {
		t.Fatalf("secretary asked: %q", got)
	}
	mine := l.count(owner)
	if got := l.say(app.DemoStaff, "不同意 "+no); !strings.Contains(got, "不同意") {
		t.Fatalf("不同意: %q", got)
	}
	l.pushed(owner, mine, "未同意")
	if got := l.say(app.DemoStaff, "同意 "+no); !strings.Contains(got, "没有待审批") {
		t.Fatalf("nothing left to approve: %q", got)
	}
	l.say(owner, "改期 "+no+" 12月18日 单位出差")
	if got := l.say(app.DemoStaff, "同意 "+no); !strings.Contains(got, "12月18日") {
		t.Fatalf("同意: %q", got)
	}
	if got := l.pushed(owner, mine, "已同意"); !strings.Contains(got, "12月18日") {
		t.Fatalf("approval told: %q", got)
	}
	// The old deadline (Monday 14th) passes without a reminder; the new one's fire.
	n := l.count(owner)
	l.at(2026, 12, 14, 9, 30)
	l.nonePushed(owner, n, "到期")
	l.at(2026, 12, 17, 9, 0)
	l.pushed(owner, n, "明天到期")
	if got := l.say(owner, "转交 "+no); !strings.Contains(got, "交回") {
		t.Fatalf("转交: %q", got)
	}
	if got := l.say(app.DemoStaff, "指派 "+no+" "+map[string]string{app.DemoParty: "王红", "o_member2": "李建国"}[owner]); !strings.Contains(got, "已指派") {
		t.Fatalf("指派: %q", got)
	}
	v, _ = d.App.Store.Visit(ctx, no)
	if v.Assignee != other {
		t.Fatalf("指派 gave it to %q", v.Assignee)
	}
}

// Illness: a resident's own report of that kind makes a visit; staff 逝访 for a
// named person twice on one day makes one.
func TestVisitIllnessThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 1, 10, 0)
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	party := l.count(app.DemoParty)
	l.fileRequest("病丧慰问", "我父亲中风住院了，家里就我一个人照顾")
	if got := l.pushed(app.DemoParty, party, "病患慰问"); strings.Contains(got, "中风") {
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
	stats, _ := d.App.Store.Stats(ctx, "QY", "2026-12")
	if stats["visit.created:illness"] != 2 {
		t.Fatalf("counters %v", stats)
	}
}

// A 五包 pairing makes a task in each of three months; January's is missed and
// shown overdue; once the pairing ends no task comes.
func TestPairingOverThreeMonthsThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 15, 10, 0)
	got := l.say(app.DemoStaff, "结对 李建国 孤寡老人 赵奶奶 幸福里5栋")
	if !strings.Contains(got, "P1") {
		t.Fatalf("结对: %q", got)
	}
	dec := taskNo(t, got)
	if got := l.say(app.DemoParty, "完成 "+dec+" 陪赵奶奶聊天，帮她取了药"); !strings.Contains(got, "已完成") {
		t.Fatalf("December done: %q", got)
	}
	party := l.count(app.DemoParty)
	l.at(2027, 1, 4, 9, 0) // January's first working day, after New Year
	// December's pushes may still be arriving: January's is the one with a new number.
	jan := taskNo(t, l.pushedBut(app.DemoParty, party, "赵奶奶", "任务 "+dec))
	if jan == dec {
		t.Fatal("January got December's task")
	}
	sec := l.count(app.DemoStaff)
	// 10 working days from 4 January: the 18th; the secretary hears on the 19th.
	l.at(2027, 1, 19, 9, 0)
	l.pushed(app.DemoStaff, sec, "走访超期 "+jan)
	party = l.count(app.DemoParty)
	l.at(2027, 2, 1, 9, 0) // Monday, February's first working day
	feb := taskNo(t, l.pushed(app.DemoParty, party, "赵奶奶"))
	if feb == jan || feb == dec {
		t.Fatalf("February's task is %s", feb)
	}
	mine := l.say(app.DemoParty, "我的任务")
	if !strings.Contains(mine, "🔴 "+jan) || !strings.Contains(mine, feb) {
		t.Fatalf("我的任务 should show January overdue and February: %q", mine)
	}
	if got := l.say(app.DemoStaff, "结束结对 P1"); !strings.Contains(got, "已结束") {
		t.Fatalf("结束结对: %q", got)
	}
	l.at(2027, 3, 1, 10, 0)
	tasks, _ := d.App.Store.BranchVisits(ctx, "QY")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks after the pairing ended, want 3", len(tasks))
	}
	v, _ := d.App.Store.Visit(ctx, jan)
	if !v.Open() || !v.Overdue {
		t.Fatalf("January's missed task: %+v", v)
	}
}

// 四个一: items reported in chat, the 信息 item filed as a ticket the desk sees, and
// the November reminder only to the member still missing items.
func TestFourOneThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2027, 3, 1, 10, 0)
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
	done, missing := l.count(app.DemoParty), l.count("o_member2")
	l.at(2027, 11, 1, 9, 0) // Monday
	if got := l.pushed("o_member2", missing, "四个一提醒"); !strings.Contains(got, "参加一次义务劳动") || strings.Contains(got, "做一件好事") {
		t.Fatalf("November reminder: %q", got)
	}
	l.nonePushed(app.DemoParty, done, "四个一提醒")
	stats, _ := d.App.Store.Stats(ctx, "QY", "2027-03")
	if stats["fourone:good_deed"] != 2 || stats["fourone:info"] != 1 {
		t.Fatalf("counters %v", stats)
	}
}
