package app_test

import (
	"strings"
	"testing"
	"time"

	"minyuan/bot"
)

// One vocabulary for where a request stands, true at the moment read: the desk reads
// 待接单, 已派单·待接单, 办理中, 已办结, 已评价; the resident 已收到, 已受理, 已办好,
// 已评价 (the glossary at the top of the catalogue), both with ·已逾期.
func TestStatesReadTrue(t *testing.T) {
	e := newResidentEnv(t) // Wednesday 25 Nov 10:00
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "小区垃圾站臭味很大") // 环境卫生: sign in 1, resolve in 5 working days

	// Submitted, not taken: 详情 does not call the submission 受理.
	detail := e.say("o_staff", "详情 "+no)
	if !containsAll(detail, "】待接单|提交：11月25日|接单时限：11月26日") || strings.Contains(detail, "受理：11月25日") {
		t.Fatalf("详情 of a new request:\n%s", detail)
	}

	// Nobody claims it: the round-robin assigns it to 王芳. Assigned is not signed.
	e.clock.Advance(31 * time.Minute)
	e.pump()
	todo := e.say("o_staff", "待办")
	if !strings.Contains(todo, "已派单·待接单（王芳）") || strings.Contains(todo, "办理中") {
		t.Fatalf("待办 of an assigned, unsigned request:\n%s", todo)
	}
	if got := e.say("o_res", "查询 "+no); !containsAll(got, "状态：已收到|受理时限：11月26日") {
		t.Fatalf("查询 of an assigned request: %q", got)
	}

	// Past the take-by deadline: the warning says 未接单, and 待办 says it is late.
	e.clock.Set(time.Date(2026, 11, 26, 18, 0, 0, 0, wed.Location()))
	e.pump()
	if p := e.pushedTexts("o_staff"); !strings.Contains(p, "未接单") {
		t.Fatalf("no 未接单 warning:\n%s", p)
	}
	todo = e.say("o_staff", "待办")
	if !strings.Contains(todo, "已派单·待接单·已逾期（王芳）") || strings.Contains(todo, "办理中") {
		t.Fatalf("待办 after the sign-for deadline:\n%s", todo)
	}
	if got := e.say("o_res", "查询 "+no); !containsAll(got, "已逾期：本应在 11月26日（周四）下午5:30前受理|11月27日（周五）下午5:30前仍未受理将请社区书记督促") {
		t.Fatalf("查询 after the sign-for deadline: %q", got)
	}

	// Signed, then past the resolve deadline by a working day: 逾期, and the
	// resident hears what has happened and what comes next.
	e.say("o_staff", "接单 "+no)
	detail = e.say("o_staff", "详情 "+no)
	if !containsAll(detail, "】办理中|接单：11月26日") {
		t.Fatalf("详情 once signed:\n%s", detail)
	}
	e.clock.Set(time.Date(2026, 12, 3, 18, 0, 0, 0, wed.Location())) // due Wed 2 Dec 17:30
	e.pump()
	got := e.say("o_res", "查询 "+no)
	if !containsAll(got, "状态：已受理·已逾期|本应在 12月2日（周三）下午5:30前办好|已请社区书记督促|12月4日（周五）下午5:30前仍未办好将请区里督促") {
		t.Fatalf("查询 of an overdue request: %q", got)
	}
	if mine := e.say("o_res", "我的诉求"); !strings.Contains(mine, "已受理·已逾期") {
		t.Fatalf("我的诉求: %q", mine)
	}

	// Closed and rated: 已评价.
	e.say("o_staff", "办结 "+no+" 已清运")
	e.say("o_res", "满意")
	if got := e.say("o_res", "查询 "+no); !strings.Contains(got, "状态：已评价") || strings.Contains(got, "逾期") {
		t.Fatalf("查询 of a rated request: %q", got)
	}
}
