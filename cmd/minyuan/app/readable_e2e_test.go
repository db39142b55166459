package app_test

import (
	"strings"
	"testing"

	"minyuan/bot"
)

// Readable on a phone: dates as people say them with 节假日顺延 where residents are
// given a deadline; each role's help is its own, short, most used first; the
// instruction comes first in a message.
func TestReadableOnAPhone(t *testing.T) {
	e := newResidentEnv(t) // Wednesday 25 Nov 10:00
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")

	e.say("o_res", "诉求")
	e.say("o_res", "5")
	e.say("o_res", "垃圾站臭")
	done := e.say("o_res", "确认")
	if !containsAll(done, "11月26日（周四）下午5:30前受理|12月2日（周三）下午5:30前办好并答复您（节假日顺延）") {
		t.Fatalf("done: %q", done)
	}
	no := ticketNo(t, done)
	// The desk's alert: what to do first, then what it is about.
	ps := e.pushesTo("o_staff")
	if first := strings.SplitN(ps[len(ps)-1].Text, "\n", 2)[0]; !containsAll(first, "【新诉求 "+no+"】|11月26日（周四）下午5:30前接单|「接单 "+no+"」") {
		t.Fatalf("alert's first line: %q", first)
	}
	e.say("o_staff", "接单 "+no)
	if last := e.pushesTo("o_res"); !strings.Contains(last[len(last)-1].Text, "12月2日（周三）下午5:30前办好并答复您（节假日顺延）") {
		t.Fatalf("claimed: %q", last[len(last)-1].Text)
	}
	if got := e.say("o_res", "查询 "+no); !strings.Contains(got, "办好时限：12月2日（周三）下午5:30（节假日顺延）") {
		t.Fatalf("查询: %q", got)
	}
	if got := e.say("o_staff", "详情 "+no); !containsAll(got, "提交：11月25日（周三）上午10:00|11月25日（周三）上午10:00 王芳 接单") {
		t.Fatalf("详情: %q", got)
	}

	// Help: the resident's lines for a resident; the staff member's daily lines,
	// short, 待办 first, and 「帮助 全部」 for the rest.
	res := e.say("o_res", "帮助")
	if !strings.HasPrefix(res, "【居民】\n· 诉求") || strings.Contains(res, "【社区工作人员") || !strings.Contains(res, "社区电话") {
		t.Fatalf("resident help: %q", res)
	}
	staff := e.say("o_staff", "帮助")
	if lines := strings.Count(staff, "\n") + 1; lines > 10 ||
		!strings.HasPrefix(staff, "【社区工作人员·常用】\n· 待办") || strings.Contains(staff, "【居民】") ||
		strings.Contains(staff, "转派") || !strings.Contains(staff, "「帮助 全部」") {
		t.Fatalf("staff help (%d lines): %q", lines, staff)
	}
	all := e.say("o_staff", "帮助 全部")
	if !containsAll(all, "【社区工作人员·常用】|【社区工作人员·其他】|转派 编号|值班 / 下班|【居民】") {
		t.Fatalf("帮助 全部: %q", all)
	}
}
