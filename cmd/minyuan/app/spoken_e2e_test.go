package app_test

import (
	"strings"
	"testing"
)

// Voice recognition ends what it heard with 「。」, and people type in haste: the
// command words, the form's words and numbered choices are matched without trailing
// punctuation, numbers may be Chinese, and text after a command is kept.

func TestVoicePunctuatedCommandsAndChoices(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")

	if got := e.say("o_res", "帮助。"); !containsAll(got, "诉求：|我的诉求") || strings.Contains(got, "没太明白") {
		t.Fatalf("帮助。: %q", got)
	}
	e.conversation("o_res",
		[2]string{"我要反映。", "请选择诉求类别"},
		[2]string{"一", "请描述"},
		[2]string{"返回", "请选择诉求类别"},
		[2]string{"4。", "请描述"},
		[2]string{"楼道灯坏了。", "请核对您的诉求|类别：物业维修|楼道灯坏了"},
	)
	done := e.say("o_res", "确认。")
	if !strings.Contains(done, "编号 1001") {
		t.Fatalf("确认。 did not file: %q", done)
	}
	if tk := e.ticket("1001"); tk.Category != "repair" || tk.Description != "楼道灯坏了。" {
		t.Fatalf("ticket %+v", tk)
	}

	// 第一个 and 1。 are choices; 取消。 at the description step cancels.
	e.conversation("o_res",
		[2]string{"诉求", "请选择诉求类别"},
		[2]string{"第一个", "请描述"},
		[2]string{"取消。", "已取消「反映诉求」"},
	)
	e.conversation("o_res",
		[2]string{"诉求！", "请选择诉求类别"},
		[2]string{"1。", "请描述"},
		[2]string{"取消！", "已取消"},
	)
	if n := e.lastTicketNo(); n != 1001 {
		t.Fatalf("a cancelled form filed a ticket: last %d", n)
	}
	// A number past the list is still no choice, however it is said.
	e.conversation("o_res",
		[2]string{"诉求", "请选择诉求类别"},
		[2]string{"第九十九个", "没有这个选项"},
		[2]string{"取消", "已取消"},
	)
}

// 「我要反映 楼道灯坏了」: the form starts with the description filled in, asks the
// category, and goes to the summary.
func TestCommandKeepsItsText(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	e.conversation("o_res",
		[2]string{"我要反映 楼道灯坏了", "请选择诉求类别"},
		[2]string{"4", "请核对您的诉求|类别：物业维修|楼道灯坏了"},
		[2]string{"返回", "请描述"},
		[2]string{"三楼楼道灯坏了", "请核对您的诉求|三楼楼道灯坏了"},
	)
	if no := ticketNo(t, e.say("o_res", "确认")); e.ticket(no).Description != "三楼楼道灯坏了" {
		t.Fatalf("ticket %+v", e.ticket(no))
	}
}
