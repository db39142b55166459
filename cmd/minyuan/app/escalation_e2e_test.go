package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
)

// codeRe finds a stored code shown to people: a run of ASCII letters.
var codeRe = regexp.MustCompile(`[A-Za-z_]{2,}`)

// pump fires the reminders due by the env's clock.
func (e *env) pump() {
	e.t.Helper()
	if _, err := e.app.Scheduler.PumpOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// pushedTexts is every push text queued to openid so far, joined.
func (e *env) pushedTexts(openid string) string {
	e.t.Helper()
	var b strings.Builder
	for _, p := range e.pushesTo(openid) {
		b.WriteString(p.Text)
		b.WriteString("\n")
	}
	return b.String()
}

// With no secretary and no district admin bound, the escalations still reach a
// person (the community's staff, told why), 详情 names every warning in words, 待办
// says which role is empty, and the resident's 不满意 is told only what happened.
func TestEscalationsReachStaffWhenNobodyHoldsTheRole(t *testing.T) {
	e := newResidentEnv(t) // Wednesday 25 Nov 10:00
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "小区垃圾站臭味很大") // 环境卫生: 5 working days
	if got := e.say("o_staff", "接单 "+no); !strings.Contains(got, "已接单") {
		t.Fatalf("claim: %q", got)
	}

	// Past the deadline by two working days: red, the secretary's and the
	// district's warnings all fire.
	e.clock.Set(time.Date(2026, 12, 4, 18, 0, 0, 0, wed.Location()))
	e.pump()
	pushed := e.pushedTexts("o_staff")
	for _, want := range []string{"督办·社区书记", "本社区尚未绑定社区书记，此督办提醒发给社区工作人员", "督办·区级", "尚未绑定区级管理员，此督办提醒发给社区工作人员"} {
		if !strings.Contains(pushed, want) {
			t.Fatalf("staff pushes lack %q:\n%s", want, pushed)
		}
	}

	detail := e.say("o_staff", "详情 "+no)
	for _, want := range []string{"提醒（办结时限·超期提醒）", "提醒（办结时限·报社区书记督办）", "提醒（办结时限·报区级督办）"} {
		if !strings.Contains(detail, want) {
			t.Fatalf("详情 lacks %q:\n%s", want, detail)
		}
	}
	if latin := codeRe.FindString(detail); latin != "" {
		t.Fatalf("详情 shows the code %q:\n%s", latin, detail)
	}

	todo := e.say("o_staff", "待办")
	if !containsAll(todo, "本社区未绑定社区书记|未绑定区级管理员") {
		t.Fatalf("待办 does not warn of the empty roles:\n%s", todo)
	}

	// Closed, then 不满意: reopened; no secretary was told, so the resident is not
	// told one was; the staff hear it, told why it is them.
	if got := e.say("o_staff", "办结 "+no+" 已清运"); !strings.Contains(got, "已办结") {
		t.Fatalf("close: %q", got)
	}
	got := e.say("o_res", "不满意 还是很臭")
	if !strings.Contains(got, "已重新办理") || strings.Contains(got, "社区书记") {
		t.Fatalf("不满意 without a secretary: %q", got)
	}
	if last := e.pushesTo("o_staff"); !strings.Contains(last[len(last)-1].Text, "本社区尚未绑定社区书记") {
		t.Fatalf("reopen alert: %q", last[len(last)-1].Text)
	}

	// With a secretary bound, the second 不满意 says so, and the secretary hears it.
	e.bindAs("o_sec", bot.RoleSecretary, "QY", "张书记")
	if todo := e.say("o_staff", "待办"); strings.Contains(todo, "未绑定社区书记") {
		t.Fatalf("待办 still warns of the secretary:\n%s", todo)
	}
	e.say("o_staff", "办结 "+no+" 已每日清运")
	if got := e.say("o_res", "不满意 还有味道"); !strings.Contains(got, "已报社区书记关注") {
		t.Fatalf("second 不满意: %q", got)
	}
	if sec := e.pushedTexts("o_sec"); !strings.Contains(sec, "再次不满意 "+no) {
		t.Fatalf("secretary pushes:\n%s", sec)
	}
}

// 上报 with no district admin bound reaches the community's other staff, and says so.
func TestEscalateWithoutAdminTellsColleagues(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_li", bot.RoleStaff, "QY", "李明")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "垃圾站")
	got := e.say("o_staff", "上报 "+no+" 涉及多个部门")
	if !containsAll(got, "没有绑定的区级管理员|已转告本社区 1 位同事") {
		t.Fatalf("上报: %q", got)
	}
	if li := e.pushedTexts("o_li"); !containsAll(li, "上报区级 "+no+"|此上报转给本社区工作人员") {
		t.Fatalf("colleague pushes:\n%s", li)
	}
}

// At start-up each role nobody holds is logged, for the administrator.
func TestStartUpWarnsOfEmptyRoles(t *testing.T) {
	var buf bytes.Buffer
	e := newResidentEnv(t)
	e.bindAs("o_sec", bot.RoleSecretary, "QY", "张书记")
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if err := e.app.WarnEmptyRoles(context.Background(), log); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "role=admin") || !strings.Contains(out, "role=secretary community=HX") || strings.Contains(out, "community=QY") {
		t.Fatalf("start-up log:\n%s", out)
	}
}

// A member who finishes a task in a community with no secretary is told the staff
// heard of it, not the party branch; the staff are told.
func TestVisitDoneWithNoSecretaryIsToldTruly(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_party", bot.RoleParty, "QY", "李建国")
	no := taskNo(t, e.say("o_staff", "病访 张大爷 幸福里5栋"))
	e.clock.Advance(4*time.Hour + time.Minute) // nobody assigned it: it goes to the member
	e.pump()
	done := e.say("o_party", "完成 "+no+" 已上门看望，送去米面油")
	if !containsAll(done, "已完成|告知社区工作人员|尚未绑定社区书记") || strings.Contains(done, "已报支部") {
		t.Fatalf("完成 with no secretary: %q", done)
	}
	last := e.pushesTo("o_staff")
	if text := last[len(last)-1].Text; !containsAll(text, "走访完成 "+no+"|李建国") {
		t.Fatalf("the staff's push of the finished visit: %q", text)
	}
}

// With no secretary bound, what a visit task has for the secretary (待指派, 改期申请,
// 任务退回, 走访超期) and, with no district admin either, the district's 督办 reach the
// community's staff, each saying why and offering none of the secretary's commands
// (指派, 催办, 同意 are the secretary's); the member who asks or hands back is told
// who heard it. Once a secretary is bound, they go to the secretary.
func TestVisitEscalationsReachStaffWhenNoSecretary(t *testing.T) {
	e := newResidentEnv(t) // Wednesday 25 Nov 10:00
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_party", bot.RoleParty, "QY", "李建国")

	created := e.say("o_staff", "病访 张大爷 幸福里5栋")
	no := taskNo(t, created)
	if !strings.Contains(created, "待社区书记指派") || strings.Contains(created, "「指派") {
		t.Fatalf("staff who made the task: %q", created)
	}
	unassigned := e.pushedTexts("o_staff")
	if !containsAll(unassigned, "【待指派 "+no+"】|本社区尚未绑定社区书记，此提醒发给社区工作人员|请联系党支部安排党员走访") ||
		strings.Contains(unassigned, "回复「指派") {
		t.Fatalf("the unassigned task's push to staff:\n%s", unassigned)
	}

	// Nobody assigned it: after four hours it goes to the member; they hand it back.
	e.clock.Advance(4*time.Hour + time.Minute)
	e.pump()
	if got := e.pushedTexts("o_party"); !strings.Contains(got, "【走访任务 "+no+"】") {
		t.Fatalf("member pushes:\n%s", got)
	}
	asked := e.say("o_party", "改期 "+no+" 12月2日 住院复查")
	if !containsAll(asked, "本社区尚未绑定社区书记|暂时无人审批|已告知社区工作人员") || strings.Contains(asked, "已报支部书记") {
		t.Fatalf("改期 with no secretary: %q", asked)
	}
	last := e.pushesTo("o_staff")
	if text := last[len(last)-1].Text; !containsAll(text, "【改期申请 "+no+"】|改期须由社区书记同意") || strings.Contains(text, "「同意") {
		t.Fatalf("reschedule push to staff: %q", text)
	}
	if got := e.say("o_party", "转交 "+no); !containsAll(got, no+" 已交回|已告知社区工作人员联系党支部另行安排") || strings.Contains(got, "支部书记另行安排") {
		t.Fatalf("转交: %q", got)
	}
	last = e.pushesTo("o_staff")
	if text := last[len(last)-1].Text; !containsAll(text, "【任务退回 "+no+"】李建国|本社区尚未绑定社区书记|请联系党支部重新安排") ||
		strings.Contains(text, "「指派") {
		t.Fatalf("returned task's push to staff: %q", text)
	}

	// Deadline Friday 27th (two working days); overdue Monday, the district Tuesday.
	before := len(e.pushesTo("o_staff"))
	e.clock.Set(time.Date(2026, 12, 1, 10, 0, 0, 0, wed.Location()))
	e.pump()
	var overdue []string
	for _, p := range e.pushesTo("o_staff")[before:] {
		overdue = append(overdue, p.Text)
	}
	all := strings.Join(overdue, "\n")
	for _, want := range []string{"【走访超期 " + no + "】", "尚未指派。本社区尚未绑定社区书记，此提醒发给社区工作人员：请联系党支部尽快安排党员走访",
		"【走访超期·区级督办 " + no + "】", "尚未绑定区级管理员，此督办提醒发给社区工作人员"} {
		if !strings.Contains(all, want) {
			t.Fatalf("overdue pushes to staff lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "「催办") || strings.Contains(all, "「指派") {
		t.Fatalf("overdue pushes to staff offer the secretary's commands:\n%s", all)
	}

	// With a secretary bound, a new task's push is the secretary's, with 指派.
	e.bindAs("o_sec", bot.RoleSecretary, "QY", "张书记")
	staffBefore := len(e.pushesTo("o_staff"))
	second := taskNo(t, e.say("o_staff", "病访 王奶奶 幸福里6栋"))
	if got := e.pushedTexts("o_sec"); !containsAll(got, "【待指派 "+second+"】|回复「指派 "+second+" 党员姓名」") || strings.Contains(got, "尚未绑定") {
		t.Fatalf("secretary pushes:\n%s", got)
	}
	for _, p := range e.pushesTo("o_staff")[staffBefore:] {
		if strings.Contains(p.Text, second) {
			t.Fatalf("staff told of the task the secretary has: %q", p.Text)
		}
	}
}
