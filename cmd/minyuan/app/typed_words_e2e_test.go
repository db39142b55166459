package app_test

import (
	"strings"
	"testing"

	"minyuan/bot"
)

// The words people type (issue 15.2, the part done): 查进度, 不填了/算了, 好的/对/行
// to confirm, 很满意/一般/没修好 to rate, and 签收/认领, 结案 at the desk.
func TestWordsPeopleType(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")

	for _, w := range []string{"算了", "不填了。"} {
		e.say("o_res", "诉求")
		if got := e.say("o_res", w); !strings.Contains(got, "已取消") {
			t.Fatalf("%s: %q", w, got)
		}
	}
	var nos []string
	for _, c := range []struct{ confirm, text string }{{"好的", "垃圾站臭"}, {"没问题", "路灯不亮"}, {"对", "井盖松动"}} {
		e.say("o_res", "诉求")
		e.say("o_res", "5")
		e.say("o_res", c.text)
		got := e.say("o_res", c.confirm)
		if !strings.Contains(got, "已收到您的诉求") {
			t.Fatalf("%s at the summary: %q", c.confirm, got)
		}
		nos = append(nos, ticketNo(t, got))
	}
	if got := e.say("o_res", "查进度"); !containsAll(got, "您的诉求|"+nos[0]+"|"+nos[2]) {
		t.Fatalf("查进度: %q", got)
	}

	claims := []string{"签收", "认领", "接单"}
	for i, no := range nos {
		if got := e.say("o_staff", claims[i]+" "+no); !strings.Contains(got, "已接单") {
			t.Fatalf("%s: %q", claims[i], got)
		}
	}
	if got := e.say("o_staff", "结案 "+nos[0]+" 已清运"); !strings.Contains(got, "已办结诉求 "+nos[0]) {
		t.Fatalf("结案: %q", got)
	}
	if got := e.say("o_res", "很满意"); !containsAll(got, "感谢您的评价（满意）") {
		t.Fatalf("很满意: %q", got)
	}
	e.say("o_staff", "结案 "+nos[1]+" 已换灯泡")
	if got := e.say("o_res", "一般"); !containsAll(got, "感谢您的评价（基本满意）") {
		t.Fatalf("一般: %q", got)
	}
	e.say("o_staff", "结案 "+nos[2]+" 已固定")
	if got := e.say("o_res", "没修好"); !containsAll(got, "很抱歉没能让您满意|"+nos[2]+" 已重新办理") {
		t.Fatalf("没修好: %q", got)
	}
}
