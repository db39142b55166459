package app_test

import (
	"context"
	"strings"
	"testing"

	"minyuan/bot"
)

// The categories residents choose from are the cases of a 社区's day, each with a
// hint, 其他 last; old words still pick theirs; disputes and noise tell the resident
// who sees their name, and keep it from the rest of the desk; illness and bereavement
// get a caring word and no rating; the report's counters still count.
func TestCategoriesResidentsRecognise(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_li", bot.RoleStaff, "QY", "李明")
	err := e.app.Store.SaveProfile(context.Background(), bot.Profile{OpenID: "o_res", Name: "张阿姨", Community: "QY", Phone: "13800138000", Updated: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}

	list := e.say("o_res", "诉求")
	order := []string{"请选择诉求类别（回复数字，拿不准就选「其他」）", "1. 困难求助（生活困难", "2. 养老助残（", "3. 病丧慰问（家人生病住院、亲人去世", "4. 物业维修（水电、漏水",
		"5. 环境卫生（", "6. 噪音扰民（", "7. 邻里纠纷（", "8. 停车占道（", "9. 治安消防（", "10. 社保医保·证明办事（",
		"11. 就业创业（", "12. 意见建议（", "13. 其他（拿不准就选其他）"}
	at := -1
	for _, w := range order {
		i := strings.Index(list, w)
		if i <= at {
			t.Fatalf("the list lacks %q or has it out of order:\n%s", w, list)
		}
		at = i
	}

	// Old words still pick their category.
	for word, name := range map[string]string{"物业": "物业维修", "维修物业": "物业维修", "矛盾纠纷": "邻里纠纷", "政策咨询": "社保医保·证明办事"} {
		e.say("o_res", "诉求")
		e.say("o_res", word)
		if got := e.say("o_res", "楼下有问题"); !strings.Contains(got, "类别："+name) {
			t.Fatalf("%s: summary %q", word, got)
		}
		e.say("o_res", "取消")
	}

	// Noise and disputes: the summary says who sees the name and phone.
	for _, c := range []struct{ n, text string }{{"6", "楼上每天半夜装修"}, {"7", "和邻居为漏水吵起来了"}, {"5", "垃圾桶满了"}} {
		e.say("o_res", "诉求")
		e.say("o_res", c.n)
		got := e.say("o_res", c.text)
		private := strings.Contains(got, "🔒 您的姓名和电话只有负责的工作人员和社区书记能看到")
		if private != (c.n != "5") {
			t.Fatalf("category %s: summary %q", c.n, got)
		}
		e.say("o_res", "取消")
	}
	noise := e.fileRequest("o_res", "6", "楼上每天半夜装修")
	if got := e.say("o_li", "详情 "+noise); !strings.Contains(got, "噪音扰民") || strings.Contains(got, "张阿姨") || strings.Contains(got, "13800138000") {
		t.Fatalf("a colleague reads the name of a noise complaint:\n%s", got)
	}
	e.say("o_staff", "接单 "+noise)
	if got := e.say("o_staff", "详情 "+noise); !containsAll(got, "张阿姨|13800138000") {
		t.Fatalf("the handler cannot read the name:\n%s", got)
	}

	// Illness: a caring word, no rating asked.
	e.say("o_res", "诉求")
	e.say("o_res", "3")
	e.say("o_res", "我父亲中风住院了")
	done := e.say("o_res", "确认")
	if !containsAll(done, "已收到|我们很挂念|安排上门看望") || strings.Contains(done, "民愿接待室办理") {
		t.Fatalf("care filed: %q", done)
	}
	care := ticketNo(t, done)
	e.say("o_staff", "接单 "+care)
	e.say("o_staff", "办结 "+care+" 已和党员上门看望，送去慰问品")
	ps := e.pushesTo("o_res")
	if last := ps[len(ps)-1].Text; !containsAll(last, "已办好|已和党员上门看望") || strings.Contains(last, "满意") {
		t.Fatalf("care closed: %q", last)
	}
	if got := e.say("o_res", "我的诉求"); strings.Contains(got, "待评价") {
		t.Fatalf("a care visit waits for a rating: %q", got)
	}

	// The report's counters: 困难求助, 邻里纠纷, 就业创业 closed count once each.
	for _, c := range []string{"1", "7", "11"} {
		no := e.fileRequest("o_res", c, "第"+c+"类的事")
		e.say("o_staff", "接单 "+no)
		e.say("o_staff", "办结 "+no+" 办好了")
	}
	if got := e.say("o_staff", "统计"); !strings.Contains(got, "调解纠纷 1 起，解决困难 1 件，安置就业 1 人") {
		t.Fatalf("统计: %q", got)
	}
}
