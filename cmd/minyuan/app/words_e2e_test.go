package app_test

import (
	"strings"
	"testing"
	"time"

	"minyuan/bot"
)

// 催办 (issue 15.2): a resident with one open request hurries it in their own words;
// the desk is nudged while nobody has signed for it, the handler once someone has;
// the timeline records it; a second nudge within the hour is refused, kindly; a
// secretary's 催办 <任务编号> is still a visit nudge.
func TestNudgeReachesTheDeskThenTheHandler(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")

	if got := e.say("o_res", "催一下"); !strings.Contains(got, "没有正在办理的诉求") {
		t.Fatalf("催一下 with nothing open: %q", got)
	}
	no := e.fileRequest("o_res", "物业维修", "楼道灯坏了一个星期")
	before := len(e.pushesTo("o_staff"))

	// Unclaimed: the community's staff hear it, the resident is told so.
	got := e.say("o_res", "怎么还没人来？")
	if !containsAll(got, "已替您催办诉求 "+no+"|七一路社区的值班工作人员") {
		t.Fatalf("nudge unclaimed: %q", got)
	}
	e.told("o_staff", before+1, "【催办 "+no+"】", "详情 "+no)
	evs := e.timeline(no)
	if last := evs[len(evs)-1]; last.Kind != bot.EventNudged || last.Actor != "o_res" {
		t.Fatalf("timeline ends with %+v", last)
	}

	// Within the hour: refused, nobody pushed again.
	e.clock.Set(wed.Add(30 * time.Minute))
	if got := e.say("o_res", "催办"); !containsAll(got, "刚催办过|后可以再催") || strings.Contains(got, "已替您催办") {
		t.Fatalf("second nudge within the hour: %q", got)
	}
	e.told("o_staff", before+1)

	// Claimed, an hour later: the handler is named to the resident and pushed.
	if got := e.say("o_staff", "接单 "+no); !strings.Contains(got, no) {
		t.Fatalf("claim: %q", got)
	}
	e.clock.Set(wed.Add(2 * time.Hour))
	n := len(e.pushesTo("o_staff"))
	got = e.say("o_res", "不满意，怎么还没人来")
	if !containsAll(got, "已替您催办诉求 "+no+"|负责的工作人员王芳") {
		t.Fatalf("不满意，怎么还没人来 on an open case: %q", got)
	}
	e.told("o_staff", n+1, "【催办 "+no+"】")
	if tk := e.ticket(no); tk.Rating != "" || !tk.Open() {
		t.Fatalf("a nudge rated or closed the ticket: %+v", tk)
	}

	// A second open request: the number is needed, and 催办 <no> works.
	no2 := e.fileRequest("o_res", "环境卫生", "垃圾桶满了没人清")
	e.clock.Set(wed.Add(4 * time.Hour))
	if got := e.say("o_res", "催一下"); !strings.Contains(got, "催办 1001") || strings.Contains(got, "已替您催办") {
		t.Fatalf("two open, no number: %q", got)
	}
	if got := e.say("o_res", "催办 "+no2); !strings.Contains(got, "已替您催办诉求 "+no2) {
		t.Fatalf("催办 %s: %q", no2, got)
	}
	// Someone else's number is not found, as a number never given.
	if got := e.say("o_other", "催办 "+no); strings.Contains(got, "已替您催办") {
		t.Fatalf("someone else's ticket: %q", got)
	}
	// Closed: nothing to hurry.
	e.closeTicket(no, "o_staff", "王芳", "已修好")
	e.clock.Set(wed.Add(6 * time.Hour))
	if got := e.say("o_res", "催办 "+no); strings.Contains(got, "已替您催办") {
		t.Fatalf("nudge of a closed ticket: %q", got)
	}
}

// With exactly one open request, 查询 and 补充 need no number; with two they ask.
func TestQueryAndAddWithoutANumber(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "物业维修", "楼道灯坏了")

	if got := e.say("o_res", "查询"); !strings.Contains(got, no) {
		t.Fatalf("查询 alone: %q", got)
	}
	if got := e.say("o_res", "查询"); strings.Contains(got, "请在「查询」后加上") {
		t.Fatalf("查询 alone asked for a number: %q", got)
	}
	n := len(e.pushesTo("o_staff"))
	if got := e.say("o_res", "补充 三楼的也不亮"); !strings.Contains(got, "已补充到诉求 "+no) {
		t.Fatalf("补充 text: %q", got)
	}
	e.told("o_staff", n+1, "三楼的也不亮")
	if got := e.say("o_res", "补充"); strings.Contains(got, "哪一件") {
		t.Fatalf("补充 alone asked which of one: %q", got)
	}
	if got := e.say("o_res", "晚上一片黑"); !strings.Contains(got, "已补充到诉求 "+no) {
		t.Fatalf("补充 form: %q", got)
	}

	e.fileRequest("o_res", "环境卫生", "垃圾没人清")
	if got := e.say("o_res", "查询"); !strings.Contains(got, "请在「查询」后加上") {
		t.Fatalf("查询 with two open: %q", got)
	}
	if got := e.say("o_res", "补充 四楼也是"); !strings.Contains(got, "请在「补充」后加上") {
		t.Fatalf("补充 text with two open: %q", got)
	}
}

// A greeting alone (as typed or said) gets a short welcome with what to do; it is
// not filed, not added to an open case, and a greeting before a request still
// starts the form.
func TestGreetingGetsAWelcome(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	for _, hi := range []string{"你好", "在吗？", "您好。", "有人吗"} {
		got := e.say("o_res", hi)
		if !containsAll(got, "民愿接待室|例如「楼道灯坏了」|我的诉求|110") || strings.Contains(got, "请选择诉求类别") {
			t.Fatalf("%s: %q", hi, got)
		}
	}
	no := e.fileRequest("o_res", "物业维修", "楼道灯坏了")
	events := len(e.timeline(no))
	if got := e.say("o_res", "在吗"); !strings.Contains(got, "民愿接待室") {
		t.Fatalf("在吗 with an open case: %q", got)
	}
	if got := len(e.timeline(no)); got != events {
		t.Fatalf("the greeting went on the open case: %d events, was %d", got, events)
	}
	if got := e.say("o_res2", "你好，我想报修"); strings.Contains(got, "例如「楼道灯坏了」") {
		t.Fatalf("greeting before a request: %q", got)
	}
}

// The collision rule in a live 对话: the resident's 满意 and 帮助, and staff's 下班
// and 详情, are conversation: they reach the other side, the sender is told how to
// use the command instead, and nothing else happens (no rating, duty unchanged).
// With a ticket number they are commands. 结束 alone ends the relay; 「结束了吗」 is
// conversation. After the relay the words are commands again.
func TestRelayWordsAreConversation(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "物业维修", "楼道灯坏了")
	e.say("o_staff", "接单 "+no)
	if got := e.say("o_staff", "对话 "+no); !strings.Contains(got, "已开始与诉求 "+no) {
		t.Fatalf("对话: %q", got)
	}

	for _, w := range []string{"满意", "帮助"} {
		n := len(e.pushesTo("o_staff"))
		got := e.say("o_res", w)
		if !containsAll(got, "对话中，这句「"+w+"」已转给工作人员|先发「结束」") {
			t.Fatalf("resident %s in a relay: %q", w, got)
		}
		e.told("o_staff", n+1, "【对话 "+no+"】", "："+w)
	}
	if tk := e.ticket(no); tk.Rating != "" {
		t.Fatalf("满意 in a relay rated: %+v", tk)
	}
	for _, w := range []string{"下班", "详情"} {
		n := len(e.pushesTo("o_res"))
		got := e.say("o_staff", w)
		if !containsAll(got, "对话中，这句「"+w+"」已转给居民|先发「结束」") {
			t.Fatalf("staff %s in a relay: %q", w, got)
		}
		e.told("o_res", n+1, "【社区工作人员 王芳】"+w)
	}
	// Clearly a command: with a number.
	if got := e.say("o_staff", "详情 "+no); strings.Contains(got, "对话中") || !strings.Contains(got, no) {
		t.Fatalf("详情 %s in a relay: %q", no, got)
	}
	// 结束 with more is conversation; 结束 alone ends it.
	n := len(e.pushesTo("o_staff"))
	if got := e.say("o_res", "结束了吗"); strings.Contains(got, "对话已结束") {
		t.Fatalf("结束了吗 ended the relay: %q", got)
	}
	e.told("o_staff", n+1, "结束了吗")
	if got := e.say("o_res", "结束"); !strings.Contains(got, "对话已结束") {
		t.Fatalf("结束: %q", got)
	}
	// Out of the relay, 帮助 is help again.
	if got := e.say("o_res", "帮助"); strings.Contains(got, "对话中") || !strings.Contains(got, "诉求") {
		t.Fatalf("帮助 after the relay: %q", got)
	}
}

// 转交 is staff's 转派 when a community or name follows the number; a resident's
// 转交 is refused; a party member's 转交 <任务编号> is a visit (visits tests).
func TestTransferIsReassignForStaff(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_li", bot.RoleStaff, "QY", "李明")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "物业维修", "楼道灯坏了")
	e.say("o_staff", "接单 "+no)
	if got := e.say("o_staff", "转交 "+no); !strings.Contains(got, "转派") {
		t.Fatalf("转交 without a target: %q", got)
	}
	got := e.say("o_staff", "转交 "+no+" 李明")
	if tk := e.ticket(no); tk.Handler != "o_li" {
		t.Fatalf("转交 %s 李明: %q, ticket %+v", no, got, tk)
	}
	if got := e.say("o_res", "转交 "+no+" 李明"); strings.Contains(got, "已将诉求") {
		t.Fatalf("a resident's 转交: %q", got)
	}
}
