package app_test

import (
	"strings"
	"testing"

	"minyuan/bot"
)

// A resident's free text is never dropped: it reaches the open case's handler and
// its timeline, or is offered as a new request.

func TestFreeTextReachesTheHandler(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "4", "楼道灯坏了")
	e.say("o_staff", "接单 "+no)
	e.say("o_staff", "回复 "+no+" 明天上午电工上门")
	before := len(e.pushesTo("o_staff"))

	text := "好的，谢谢！电工来之前麻烦给我打个电话。"
	if got := e.say("o_res", text); !containsAll(got, "已收到|承办人王芳") || strings.Contains(got, "没太明白") {
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
	if tk := e.ticket(no); tk.Description != text || tk.Category != "sanitation" {
		t.Fatalf("ticket %+v", tk)
	}
}
