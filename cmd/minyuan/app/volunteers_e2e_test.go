package app_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// pushed waits until openid has been sent a push whose body contains all of want,
// and returns it.
func (l *lifecycle) volPushed(openid string, want ...string) sim.Call {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range l.d.API.Sent(openid) {
			body := decodedBody(c)
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(body, w) }) {
				return c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var bodies []string
	for _, c := range l.d.API.Sent(openid) {
		bodies = append(bodies, decodedBody(c))
	}
	l.t.Fatalf("%s was never pushed %q; got %q", openid, want, bodies)
	return sim.Call{}
}

// notPushed checks that openid was not sent a push containing all of want.
func (l *lifecycle) volNotPushed(openid string, want ...string) {
	l.t.Helper()
	time.Sleep(200 * time.Millisecond)
	for _, c := range l.d.API.Sent(openid) {
		body := decodedBody(c)
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(body, w) }) {
			l.t.Fatalf("%s was pushed %q: %s", openid, want, body)
		}
	}
}

// decodedBody is a push's JSON with its strings unescaped, as people would read it.
func decodedBody(c sim.Call) string {
	var v any
	if err := json.Unmarshal(c.Body, &v); err != nil {
		return string(c.Body)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			b.WriteString(x + "\n")
		case map[string]any:
			for k, v := range x {
				b.WriteString(k + "=")
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	return b.String()
}

func (l *lifecycle) volSay(openid, text string, want ...string) string {
	l.t.Helper()
	got := l.say(openid, text)
	for _, w := range want {
		if !strings.Contains(got, w) {
			l.t.Fatalf("%s says %q: got %q, want %q in it", openid, text, got, w)
		}
	}
	return got
}

var activityNoRE = regexp.MustCompile(`【(\d+)】`)

// The volunteer flow end to end, through WeChat as simulated, with the real outbox
// workers and scheduler: publish (weekly) → register → sign up → full → waitlist →
// cancel → promotion pushed → reminders the evening before and two hours before
// (the latter held by quiet hours) → check-in and check-out with the code (and its
// QR image) → a missing check-out listed the next morning and confirmed (补签) →
// hours and points → 兑换 → an edit and a cancellation pushed to everyone, their
// reminders moved and removed. Bad input on the way is refused and changes nothing.
func TestVolunteersThroughTheSimulator(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 1, 10, 0) // Tuesday

	// Staff publish a weekly Saturday patrol, three times, two places each.
	l.volSay(app.DemoStaff, "发布活动", "活动名称")
	l.volSay(app.DemoStaff, "周六义务巡逻", "开始时间")
	l.volSay(app.DemoStaff, "昨天 9点", "时间格式不对") // bad input: asked again
	l.volSay(app.DemoStaff, "12-05 09:00", "结束时间")
	l.volSay(app.DemoStaff, "11:00", "地点")
	l.volSay(app.DemoStaff, "七一路社区门口", "名额")
	l.volSay(app.DemoStaff, "0", "1 到 10000") // bad input
	l.volSay(app.DemoStaff, "2", "每周重复")
	l.volSay(app.DemoStaff, "3", "谁可以报名")
	l.volSay(app.DemoStaff, "1", "活动内容")
	l.volSay(app.DemoStaff, "跳过", "每周一次共 3 次", "12月5日")
	got := l.volSay(app.DemoStaff, "确认", "已发布")
	nos := activityNoRE.FindAllStringSubmatch(got, -1)
	if len(nos) != 3 {
		t.Fatalf("three occurrences: %q", got)
	}
	n1, n2, n3 := nos[0][1], nos[1][1], nos[2][1]

	// A resident without a volunteer profile is asked to register first.
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Client.Subscribe(ctx, "o_vol_new", "QY"); err != nil {
		t.Fatal(err)
	}
	l.volSay("o_vol_new", "报名 "+n1, "志愿者登记")
	if r, _ := d.App.Store.Roster(ctx, n1); len(r.Confirmed) != 0 {
		t.Fatalf("a refused sign-up changed the list: %+v", r)
	}
	register := func(openid, name, phone string) {
		if openid != app.DemoResident && openid != app.DemoParty {
			if _, err := d.Client.Subscribe(ctx, openid, "QY"); err != nil {
				t.Fatal(err)
			}
		}
		l.volSay(openid, "志愿者登记", "姓名")
		got := l.say(openid, name)
		if strings.Contains(got, "手机号") {
			got = l.say(openid, phone)
		}
		if strings.Contains(got, "社区") && !strings.Contains(got, "特长") {
			got = l.say(openid, "1")
		}
		if strings.Contains(got, "特长") {
			if openid == app.DemoResident {
				l.volSay(openid, "唱歌", "没有「唱歌」") // bad input: asked again
				got = l.say(openid, "巡逻、医护")
			} else {
				got = l.say(openid, "跳过")
			}
		}
		l.say(openid, "跳过")
		l.volSay(openid, "确认", "登记成功", "志愿者编号")
	}
	register(app.DemoResident, "张秀兰", "13800138000")
	register(app.DemoParty, "李建国", "13900139000")
	register("o_vol_wu", "吴小明", "13700137000")
	register("o_vol_he", "何丽", "13600136000")

	// Two places: the third and fourth are waitlisted, in order.
	l.volSay(app.DemoResident, "报名 "+n1, "报名成功")
	l.volSay(app.DemoParty, "报名"+n1, "报名成功")
	l.volSay("o_vol_wu", "报名 "+n1, "候补第 1 位")
	l.volSay("o_vol_he", "报名 "+n1, "候补第 2 位")
	l.volSay(app.DemoResident, "报名 "+n1, "无需重复报名")
	l.volSay(app.DemoResident, "志愿活动", n1, "您已报名")
	l.volSay(app.DemoResident, "我的报名", n1, "已报名")

	// An overlapping activity elsewhere: refused.
	clash, err := d.App.Volunteers.Publish(ctx, bot.SystemActor, d.Clock.Now(), bot.Activity{Community: "HX",
		Title: "爱心超市值守", Place: "和谐社区", Start: time.Date(2026, 12, 5, 10, 0, 0, 0, shanghai()),
		End: time.Date(2026, 12, 5, 12, 0, 0, 0, shanghai()), Capacity: 5}, 1, "clash")
	if err != nil {
		t.Fatal(err)
	}
	l.volSay(app.DemoResident, "报名 "+clash[0].No, "时间冲突")
	l.volSay(app.DemoResident, "报名 9999", "没有编号为 9999")

	// The party member cancels: the first waitlisted person moves up and is told.
	l.volSay(app.DemoParty, "取消报名 "+n1, "已取消报名")
	l.volPushed("o_vol_wu", "候补转为正式", n1)
	l.volNotPushed("o_vol_he", "候补转为正式")
	l.volSay("o_vol_he", "我的报名", "候补第 1 位")

	// The evening before at 18:00: the confirmed are reminded, the waitlisted not.
	l.at(2026, 12, 4, 17, 59)
	l.volNotPushed(app.DemoResident, "明天的志愿活动提醒")
	l.at(2026, 12, 4, 18, 0)
	l.volPushed(app.DemoResident, "明天的志愿活动提醒", "周六义务巡逻")
	l.volPushed("o_vol_wu", "明天的志愿活动提醒")
	l.volNotPushed("o_vol_he", "明天的志愿活动提醒")
	// Two hours before is 07:00, in quiet hours: it waits for 08:00.
	l.at(2026, 12, 5, 7, 0)
	l.volNotPushed(app.DemoResident, "两小时后开始")
	l.at(2026, 12, 5, 8, 0)
	l.volPushed(app.DemoResident, "两小时后开始")

	// The organiser's code, in words and as a QR image uploaded as media.
	l.at(2026, 12, 5, 8, 20)
	got = l.volSay(app.DemoStaff, "签到码 "+n1, "签到码：", "上午8:30")
	code := regexp.MustCompile(`签到码：(\d{6})`).FindStringSubmatch(got)[1]
	img := l.volPushed(app.DemoStaff, "image")
	var msg struct {
		Image struct {
			MediaID string `json:"media_id"`
		} `json:"image"`
	}
	if err := json.Unmarshal(img.Body, &msg); err != nil {
		t.Fatal(err)
	}
	png, ok := d.API.Media(msg.Image.MediaID)
	if !ok || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("the QR code image was not uploaded: %q", msg.Image.MediaID)
	}
	l.volSay(app.DemoResident, "签到 "+code, "上午8:30 开始") // too early
	l.at(2026, 12, 5, 8, 40)
	l.volSay(app.DemoResident, "签到 000000", "不正确")
	l.volSay(app.DemoResident, "签到 "+code, "签到成功")
	l.volSay(app.DemoResident, "签到 "+code, "已在活动")
	l.volSay("o_vol_he", "签到 "+code, "不在活动") // waitlisted: not theirs
	l.volSay("o_vol_wu", "签退 "+code, "还没有在活动")
	l.volSay("o_vol_wu", "签到 "+code, "签到成功")
	// Out at 11:00 after 2 h 20 min on site: 2 hours, the activity's length.
	l.at(2026, 12, 5, 11, 0)
	l.volSay(app.DemoResident, "签退 "+code, "2 小时", "积分 20 分")
	l.at(2026, 12, 5, 11, 31) // half an hour after the end: expired, 补签 instead
	l.volSay("o_vol_wu", "签退 "+code, "已经结束")

	// The next morning the organiser gets the missing check-out and confirms it.
	l.at(2026, 12, 6, 8, 30)
	l.volPushed(app.DemoStaff, "未签退", "吴小明")
	l.volSay(app.DemoStaff, "补签 "+n1+" 2 3", "0 到 2 之间") // more than the activity lasted
	l.volSay(app.DemoStaff, "补签 "+n1+" 2 1.5", "吴小明", "1.5 小时", "积分 15 分")
	l.volSay(app.DemoStaff, "补签 "+n1+" 2 1", "不能重复")
	l.volSay(app.DemoResident, "补签 "+n1+" 2 1", "没有使用这项功能的权限")

	// Hours and points; 兑换 by staff only, never below zero, with a timeline.
	got = l.volSay(app.DemoResident, "我的时长", "2026 年：2 小时", "余额：20 分")
	vno := regexp.MustCompile(`志愿者编号 (\d+)`).FindStringSubmatch(got)[1]
	l.volSay(app.DemoResident, "兑换 "+vno+" 10 大米", "没有使用这项功能的权限")
	l.volSay(app.DemoStaff, "兑换 "+vno+" 30 大米", "积分不足", "20 分")
	l.volSay(app.DemoStaff, "兑换 "+vno+" 15 大米", "剩余 5 分")
	l.volSay(app.DemoResident, "我的时长", "余额：5 分", "兑换大米 -15")
	if h, err := d.App.Volunteers.HoursFor(ctx, app.DemoResident, 2026); err != nil || h != 2*time.Hour {
		t.Fatalf("HoursFor: %v %v", h, err)
	}

	// The second Saturday: its own list. Staff move it a day; everyone is told and
	// the reminders move with it. Then they cancel it: told again, reminders gone.
	l.volSay(app.DemoResident, "报名 "+n2, "报名成功")
	l.volSay(app.DemoParty, "报名 "+n2, "报名成功")
	l.volSay(app.DemoStaff, "活动改期 "+n2+" 12-13 09:00 11:00", "已通知")
	l.volPushed(app.DemoResident, "有变动", "12月13日")
	l.volPushed(app.DemoParty, "有变动", "12月13日")
	l.at(2026, 12, 11, 18, 0)
	l.volNotPushed(app.DemoParty, "明天的志愿活动提醒")
	l.at(2026, 12, 12, 18, 0)
	l.volPushed(app.DemoParty, "明天的志愿活动提醒", "12月13日")
	l.volSay(app.DemoStaff, "取消活动 "+n2+" 天气预报有大雨", "已取消")
	l.volPushed(app.DemoResident, "已取消", "大雨")
	l.volPushed(app.DemoParty, "已取消", "大雨")
	l.volSay(app.DemoResident, "报名 "+n2, "已取消")
	l.at(2026, 12, 13, 8, 0)
	l.volNotPushed(app.DemoParty, "两小时后开始", n2)
	// The third occurrence is untouched, with its own (empty) list.
	if r, err := d.App.Store.Roster(ctx, n3); err != nil || len(r.Confirmed) != 0 {
		t.Fatalf("third occurrence: %+v %v", r, err)
	}
	// A past activity: too late.
	l.volSay(app.DemoParty, "报名 "+n1, "已经开始")

	stats, err := d.App.Store.Stats(ctx, "QY", "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[bot.Counter]int64{bot.CountActivities: 3, bot.CountCheckins: 2, bot.CountMinutes: 210,
		bot.CountPoints: 35, bot.CountPointsRedeemed: 15} {
		if stats[string(k)] != want {
			t.Errorf("counter %s = %d, want %d (%v)", k, stats[string(k)], want, stats)
		}
	}
}

func shanghai() *time.Location {
	l, _ := time.LoadLocation("Asia/Shanghai")
	return l
}
