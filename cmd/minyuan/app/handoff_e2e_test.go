package app_test

import (
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/configs"
)

// 转人工 through the real webhook against real Redis: the staff member on duty is
// asked first, accepts with 接入, the conversation goes both ways and ends, and it is
// all on the ticket's timeline; nobody accepting moves on to the next, then offers
// 留言 with what the resident typed; outside hours the next opening and the hotline.

func handoffDesk(t *testing.T) *desk {
	t.Helper()
	d := deskOn(newEnvWith(t, func(c *configs.Config) {
		c.Hotline.AcceptWithin = 3 * time.Minute
		c.Hotline.Number = "027-12345"
	}))
	if err := d.app.Store.SaveProfile(d.ctx, bot.Profile{OpenID: res, Name: "王阿姨", Phone: "13800138000", Community: "QY"}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *desk) pump() {
	d.t.Helper()
	if _, err := d.app.Scheduler.PumpOnce(d.ctx); err != nil {
		d.t.Fatal(err)
	}
}

func TestHandoffAcceptedRelayedEndedOnTimeline(t *testing.T) {
	d := handoffDesk(t)
	d.expect(li, "值班", "值班")
	// On duty first: 李明, although 王芳 comes first by name.
	d.expect(res, "转人工 楼下装修太吵", "李明", "3 分钟")
	d.lastPush(li, "转人工", "王阿姨", "楼下装修太吵", "接入")
	d.expect(res, "每天早上七点就开始", "已记下")
	// Only the one asked may accept.
	d.expect(wang, "接入", "没有等待您接入")
	d.expect(zhao, "接入", "没有等待您接入")
	d.expect(li, "接入", "已开始与诉求", "楼下装修太吵", "每天早上七点就开始")
	p := d.lastPush(res, "李明", "正在就您的诉求")
	no := p.Ref
	tk := d.load(no)
	if tk.OpenID != res || tk.Handler != li || tk.Community != "QY" || !strings.Contains(tk.Description, "楼下装修太吵") {
		t.Fatalf("ticket %+v", tk)
	}
	d.expect(res, "转人工", "正在与工作人员对话", no)
	d.expect(wang, "接入", "没有等待您接入") // taken: nothing is offered any more

	if got := d.say(li, "您好，是哪一栋？"); got != "" {
		t.Fatalf("relayed message answered: %q", got)
	}
	d.lastPush(res, "【社区工作人员 李明】您好，是哪一栋？")
	if got := d.say(res, "3栋2单元"); got != "" {
		t.Fatalf("relayed message answered: %q", got)
	}
	d.lastPush(li, "王阿姨：3栋2单元")
	d.expect(li, "结束", "对话已结束")
	d.lastPush(res, "社区工作人员已结束")
	d.expect(res, "结束", "当前没有进行中的对话")

	var kinds []string
	for _, ev := range d.timeline(no) {
		kinds = append(kinds, string(ev.Kind)+":"+ev.Actor+":"+ev.Text)
	}
	want := []string{"created:" + li + ":", "claimed:" + li + ":", "relay_started:" + li + ":",
		"relay:" + li + ":您好，是哪一栋？", "relay:" + res + ":3栋2单元", "relay_ended:" + li + ":"}
	if strings.Join(kinds, "|") != strings.Join(want, "|") {
		t.Fatalf("timeline\n%v\nwant\n%v", kinds, want)
	}
	// The resident ends it from their side too, in a second request.
	d.expect(res, "转人工", "李明")
	d.expect(li, "接入", "已开始")
	d.expect(res, "结束", "对话已结束")
	d.lastPush(li, "对话已结束")
}

func TestHandoffNobodyAcceptsOffersARequest(t *testing.T) {
	d := handoffDesk(t)
	d.expect(wang, "值班", "值班")
	d.expect(res, "转人工", "王芳")
	d.lastPush(wang, "转人工", "接入")
	toLi := len(d.pushesTo(li))
	d.expect(res, "厨房水管漏水了", "已记下")

	d.clock.Advance(3 * time.Minute)
	d.pump()
	d.lastPush(li, "转人工", "厨房水管漏水了", "3 分钟")
	if n := len(d.pushesTo(li)); n != toLi+1 {
		t.Fatalf("pushes to the next: %d", n-toLi)
	}
	toRes := len(d.pushesTo(res))
	d.clock.Advance(3 * time.Minute)
	d.pump()
	d.lastPush(res, "无法接入", "留言", "厨房水管漏水了")
	if n := len(d.pushesTo(res)); n != toRes+1 {
		t.Fatalf("pushes to the resident: %d", n-toRes)
	}
	d.pump()
	if n := len(d.pushesTo(res)); n != toRes+1 {
		t.Fatal("told twice")
	}
	d.expect(li, "接入", "已由其他工作人员接入，或已结束")
	// 留言: the request form, its description filled in with what they typed.
	d.expect(res, "留言", "类别")
	d.expect(res, "1", "厨房水管漏水了", "确认")
	d.expect(res, "确认", "已收到您的诉求")
}

func TestHandoffOutsideHours(t *testing.T) {
	d := handoffDesk(t)
	d.expect(wang, "值班", "值班")
	at := func(y int, m time.Month, day, h, min int) {
		d.clock.Set(time.Date(y, m, day, h, min, 0, 0, calendar.Location()))
	}
	cases := []struct {
		name  string
		set   func()
		opens string
	}{
		{"friday evening: monday", func() { at(2026, 11, 27, 18, 0) }, "11月30日（周一）上午8:30"},
		{"saturday: monday", func() { at(2026, 11, 28, 10, 0) }, "11月30日（周一）上午8:30"},
		{"lunch: after lunch", func() { at(2026, 11, 24, 12, 30) }, "11月24日（周二）下午2:30"},
		{"eve of national day: after the holiday", func() { at(2026, 9, 30, 18, 0) }, "10月8日（周四）上午8:30"},
		{"in the holiday", func() { at(2026, 10, 3, 9, 0) }, "10月8日（周四）上午8:30"},
	}
	for _, c := range cases {
		c.set()
		pushes := len(d.pushesTo(wang))
		d.expect(res, "转人工 想问低保怎么申请", "不在民愿接待室的服务时间", c.opens, "027-12345", "留言", "想问低保怎么申请")
		if len(d.pushesTo(wang)) != pushes {
			t.Fatalf("%s: staff asked outside hours", c.name)
		}
	}
	d.expect(res, "留言", "类别")
	d.expect(res, "6", "想问低保怎么申请")
}
