package app_test

import (
	"strings"
	"testing"
	"time"

	"minyuan/bot/calendar"
	"minyuan/configs"
)

// Safety first (issue 15, point 4): the emergency numbers and the community's phone
// where someone may be in distress, 社区电话 on demand, hardship and safety requests
// signed for the same working day, and out of hours the resident is told when
// someone will be in touch and whom to ring meanwhile.
func TestSafetyFirstForPeopleInDistress(t *testing.T) {
	e := newEnvWith(t, func(c *configs.Config) {
		c.Communities[0].Phone, c.Communities[0].Hours = "027-85550101", "工作日 8:30-17:30"
	})
	e.clock.Set(wed) // Wednesday 10:00

	// 社区电话 before we know the resident's community lists those with a phone; it
	// is answered inside a form too, which goes on.
	if got := e.say("o_new", "社区电话"); !containsAll(got, "110|120|119|七一路社区：027-85550101（工作日 8:30-17:30）|转人工") ||
		strings.Contains(got, "和谐社区") {
		t.Errorf("社区电话: %q", got)
	}
	e.say("o_new", "诉求")
	if got := e.say("o_new", "人工"); !containsAll(got, "110|027-85550101") {
		t.Errorf("人工 inside the form: %q", got)
	}
	if got := e.say("o_new", "环境卫生"); !strings.Contains(got, "请描述") {
		t.Errorf("the form did not go on after 人工: %q", got)
	}
	e.say("o_new", "取消")

	// A hardship request: the description prompt gives the emergency numbers first;
	// it is to be signed for today; the done text repeats whom to ring.
	e.say("o_res", "诉求")
	if got := e.say("o_res", "困难求助"); !strings.HasPrefix(got, "有人身危险、急病请立即拨打110、120、119") {
		t.Errorf("hardship description prompt: %q", got)
	}
	e.say("o_res", "独居老人家里断粮两天了")
	e.say("o_res", "七一路")
	e.say("o_res", "13800138000")
	done := e.say("o_res", "确认")
	if !containsAll(done, "11月25日（周三）下午5:30前受理|情况紧急请立即拨打110、120、119，或社区电话 027-85550101") ||
		strings.Contains(done, "不是工作时间") {
		t.Errorf("done in office hours: %q", done)
	}
	// A 环境卫生 request gets no emergency line.
	e.say("o_res", "诉求")
	if got := e.say("o_res", "环境卫生"); strings.Contains(got, "110") {
		t.Errorf("sanitation description prompt: %q", got)
	}
	e.say("o_res", "取消")

	// Saturday night: signing waits for Monday, and the resident is told so.
	e.clock.Set(time.Date(2026, 11, 28, 22, 0, 0, 0, calendar.Location()))
	e.say("o_res", "诉求")
	e.say("o_res", "治安安全")
	e.say("o_res", "楼下有人砸车")
	done = e.say("o_res", "确认")
	if !containsAll(done, "现在不是工作时间，工作人员最迟11月30日（周一）下午5:30前联系您|110") {
		t.Errorf("done out of hours: %q", done)
	}
}
