package app_test

import (
	"strings"
	"testing"

	"minyuan/bot"
	"minyuan/configs"
)

// A resident's free text is never dropped: it reaches the open case's handler and
// its timeline, or is offered as a new request.

func TestFreeTextReachesTheHandler(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "楼道灯坏了")
	e.say("o_staff", "接单 "+no)
	e.say("o_staff", "回复 "+no+" 明天上午电工上门")
	before := len(e.pushesTo("o_staff"))

	text := "好的，谢谢！电工来之前麻烦给我打个电话。"
	if got := e.say("o_res", text); !containsAll(got, "已收到|负责诉求 1001 的工作人员王芳") || strings.Contains(got, "没太明白") {
		t.Fatalf("receipt: %q", got)
	}
	e.told("o_staff", before+1, "【居民留言 "+no+"】", text)
	evs := e.timeline(no)
	if last := evs[len(evs)-1]; last.Kind != "added" || last.Text != text || last.Actor != "o_res" {
		t.Fatalf("timeline %+v", last)
	}
}

func TestFirstMessageIsOfferedAsARequest(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	text := "你好，我们小区3号楼的楼道灯坏了，能找人来修一下吗？"
	if got := e.say("o_res", text); !containsAll(got, "登记为新诉求|请选择诉求类别") {
		t.Fatalf("offer: %q", got)
	}
	e.conversation("o_res", [2]string{"4", "请核对您的诉求|3号楼的楼道灯坏了"})
	no := ticketNo(t, e.say("o_res", "确认。"))
	if tk := e.ticket(no); tk.Description != text || tk.Category != "repair" {
		t.Fatalf("ticket %+v", tk)
	}
}

// The request keywords (desk.request_keywords) start the form at once, even while
// another case is open; a sentence that only begins with the word goes to the case.
func TestRequestKeywordsStartTheForm(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "楼道灯坏了")
	e.say("o_staff", "接单 "+no)
	staffSeen := len(e.pushesTo("o_staff"))

	for _, text := range []string{"我要投诉", "投诉", "你好，我想报修。", "求助！"} {
		got := e.say("o_res", text)
		if !strings.Contains(got, "请选择诉求类别") || strings.Contains(got, "已收到") || strings.Contains(got, "登记为新诉求") {
			t.Fatalf("%q does not start the form: %q", text, got)
		}
		if got := e.say("o_res", "取消"); !strings.Contains(got, "已取消") {
			t.Fatalf("cancel: %q", got)
		}
	}
	// Set apart, what follows the keyword is the description.
	e.conversation("o_res",
		[2]string{"报修：厨房水管漏水，楼下都渗了", "请选择诉求类别"},
		[2]string{"4", "请核对您的诉求|厨房水管漏水"})
	second := ticketNo(t, e.say("o_res", "确认"))
	if second == no || e.ticket(second).Description != "报修：厨房水管漏水，楼下都渗了" {
		t.Fatalf("new ticket %s: %+v", second, e.ticket(second))
	}
	// Run on into a sentence, the word is not a request: the newest case hears it.
	if got := e.say("o_res", "报修的师傅什么时候来？"); !containsAll(got, "已收到|"+second) {
		t.Fatalf("a question about the case: %q", got)
	}
	if n := len(e.pushesTo("o_staff")); n <= staffSeen {
		t.Fatalf("the staff heard nothing: %d pushes", n)
	}
}

// The keywords are the community's to choose.
func TestRequestKeywordsAreConfigured(t *testing.T) {
	e := newEnvWith(t, func(c *configs.Config) { c.Desk.RequestKeywords = []string{"急事"} })
	e.clock.Set(wed)
	e.knownResident("o_res", "QY", "13800138000")
	if got := e.say("o_res", "急事"); !strings.Contains(got, "请选择诉求类别") || strings.Contains(got, "登记为新诉求") {
		t.Fatalf("the configured keyword: %q", got)
	}
	e.say("o_res", "取消")
	// 投诉 is no keyword here: with no case open it is offered as a new request.
	if got := e.say("o_res", "投诉"); !strings.Contains(got, "登记为新诉求") {
		t.Fatalf("an unlisted word: %q", got)
	}
}
