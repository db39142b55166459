package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/store"
)

// The staff desk (民愿接待室) in chat, through the real webhook against real Redis.
// Tickets are made directly in the store; pushes are read from the outbox stream,
// where the delivery workers would take them.

// desk is an env with people bound by invite codes: two staff members of 七一路 (QY),
// one of 和谐 (HX), a district admin, and a resident.
type desk struct {
	*env
	ctx    context.Context
	pushed []bot.Push // every push read from the outbox so far, in order
	seq    int
}

const (
	wang  = "o_wang"  // staff, QY, 王芳
	li    = "o_li"    // staff, QY, 李明
	zhao  = "o_zhao"  // staff, HX, 赵强
	admin = "o_admin" // admin, 孙主任
	res   = "o_res"   // a resident
)

func newDesk(t *testing.T) *desk { t.Helper(); return deskOn(newEnv(t)) }

func deskOn(e *env) *desk {
	e.t.Helper()
	d := &desk{env: e, ctx: context.Background()}
	d.bind(wang, bot.RoleStaff, "QY", "王芳")
	d.bind(li, bot.RoleStaff, "QY", "李明")
	d.bind(zhao, bot.RoleStaff, "HX", "赵强")
	d.bind(admin, bot.RoleAdmin, "QY", "孙主任")
	return d
}

func (d *desk) bind(openid string, role bot.Role, community, name string) {
	d.t.Helper()
	inv, err := d.app.Store.CreateInvite(d.ctx, role, community, name, d.clock.Now(), time.Hour)
	if err != nil {
		d.t.Fatal(err)
	}
	if got := d.say(openid, "绑定 "+inv.Code); !strings.Contains(got, "绑定成功") {
		d.t.Fatalf("bind %s: %q", name, got)
	}
}

// ticket makes a ticket of the resident's in community, as the intake would.
func (d *desk) ticket(community string, urgency bot.Urgency, created time.Time, desc string) *bot.Ticket {
	d.t.Helper()
	d.seq++
	t, err := d.app.Store.Create(d.ctx, &bot.Ticket{
		Community: community, Category: "sanitation", Urgency: urgency, Description: desc,
		Source: "wechat", OpenID: res, Name: "王阿姨", Phone: "13800138000", Status: bot.StatusNew,
		Created: created, SignBy: created.Add(24 * time.Hour), DueBy: created.Add(5 * 24 * time.Hour),
	}, fmt.Sprintf("desk-test-%s-%d", d.prefix, d.seq), bot.Event{At: created, Actor: res, Name: "王阿姨"})
	if err != nil {
		d.t.Fatal(err)
	}
	return t
}

func (d *desk) load(no string) *bot.Ticket {
	d.t.Helper()
	t, err := d.app.Store.Ticket(d.ctx, no)
	if err != nil {
		d.t.Fatal(err)
	}
	return t
}

func (d *desk) timeline(no string) []bot.Event {
	d.t.Helper()
	evs, err := d.app.Store.Timeline(d.ctx, no)
	if err != nil {
		d.t.Fatal(err)
	}
	return evs
}

// pushesTo returns every push queued for openid so far (no worker sends them here).
func (d *desk) pushesTo(openid string) []bot.Push {
	d.t.Helper()
	qs, err := d.app.Store.Queued(d.ctx, openid, 1000)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []bot.Push
	for _, q := range qs {
		out = append(out, q.Push)
	}
	return out
}

// lastPush is the latest push to openid; it must be queued and say want.
func (d *desk) lastPush(openid string, want ...string) bot.Push {
	d.t.Helper()
	ps := d.pushesTo(openid)
	if len(ps) == 0 {
		d.t.Fatalf("nothing pushed to %s", openid)
	}
	p := ps[len(ps)-1]
	for _, w := range want {
		if !strings.Contains(p.Text, w) {
			d.t.Fatalf("push to %s %q: lacks %q", openid, p.Text, w)
		}
	}
	if st, err := d.app.Store.PushState(d.ctx, p.ID); err != nil || st != store.PushQueued {
		d.t.Fatalf("push %s: state %q %v", p.ID, st, err)
	}
	return p
}

func (d *desk) expect(from, text string, want ...string) string {
	d.t.Helper()
	got := d.say(from, text)
	for _, w := range want {
		if !strings.Contains(got, w) {
			d.t.Fatalf("%s %q:\n%s\nlacks %q", from, text, got, w)
		}
	}
	return got
}

// deskImageXML is an image message as WeChat sends it.
func deskImageXML(from string, msgID int64, sent time.Time, pic string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_minyuan]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[%s]]></PicUrl>`+
		`<MediaId><![CDATA[media_1]]></MediaId><MsgId>%d</MsgId></xml>`, from, sent.Unix(), pic, msgID)
}

func (d *desk) sendImage(from, pic string) string {
	d.t.Helper()
	code, body := d.post(d.query(), deskImageXML(from, d.msgID.Add(1), d.clock.Now(), pic))
	if code != http.StatusOK {
		d.t.Fatalf("image: %d %s", code, body)
	}
	return replyText(d.t, body)
}

// The whole desk lifecycle of one ticket: claim, reply, note, escalate, close; every
// action in the timeline with its actor and time, and in `minyuan tickets show`.
func TestDeskLifecycle(t *testing.T) {
	d := newDesk(t)
	tk := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "楼道灯坏了一个星期")
	no := tk.No

	d.expect(wang, "待办", no, "待接单", "🟢", "楼道灯坏了")

	d.clock.Advance(10 * time.Minute)
	d.expect(wang, "接单 "+no, "已接单", no, "13800138000")
	got := d.load(no)
	if got.Status != bot.StatusClaimed || got.Handler != wang || got.HandlerName != "王芳" || !got.Claimed.Equal(d.clock.Now()) {
		t.Fatalf("after claim: %+v", got)
	}
	if p := d.lastPush(res, "已受理", "王芳"); p.Kind != bot.PushTicketUpdate {
		t.Fatalf("claim push %+v", p)
	}
	d.expect(li, "接单 "+no, "已由 王芳 承办")
	d.expect(wang, "接单"+no, "已由您承办") // no space, as people type it

	d.clock.Advance(time.Hour)
	d.expect(wang, "回复 "+no+" 您好，已报修，明天上午电工上门。", "已回复居民")
	got = d.load(no)
	if !got.Responded.Equal(d.clock.Now()) {
		t.Fatalf("responded %v", got.Responded)
	}
	// Important: if WeChat cannot reach the resident, staff get a call-back task.
	if p := d.lastPush(res, "王芳", "您好，已报修，明天上午电工上门。", "补充 "+no); !p.Important {
		t.Fatalf("reply push %+v, want important", p)
	}
	// A second reply keeps the first response time.
	first := got.Responded
	d.clock.Advance(time.Minute)
	d.expect(wang, "回复 "+no+" 另外，请家里留人。", "已回复居民")
	if got = d.load(no); !got.Responded.Equal(first) {
		t.Fatalf("responded moved to %v", got.Responded)
	}
	d.lastPush(res, "请家里留人")
	toResident := len(d.pushesTo(res))

	d.expect(li, "备注 "+no+" 居民家电话打不通，改约周末", "仅工作人员可见")
	if n := len(d.pushesTo(res)); n != toResident {
		t.Fatalf("a note was pushed to the resident: %v", d.pushesTo(res)[toResident:])
	}

	d.expect(wang, "上报 "+no+" 线路老化需区里协调", "已上报区级")
	if got = d.load(no); !got.Escalated {
		t.Fatal("not escalated")
	}
	d.lastPush(admin, "上报区级 "+no, "线路老化需区里协调", "王芳")

	d.expect(wang, "详情 "+no, "【诉求 "+no+"】办理中 · 已上报区级", "王芳 接单", "王芳 回复：您好", "李明 备注：居民家电话打不通", "（内部）")

	d.clock.Advance(24 * time.Hour)
	d.expect(wang, "办结 "+no+" 已更换灯管，恢复照明", "已办结")
	got = d.load(no)
	if got.Status != bot.StatusClosed || got.Result != "已更换灯管，恢复照明" || !got.Closed.Equal(d.clock.Now()) {
		t.Fatalf("after close: %+v", got)
	}
	closing := len(d.pushesTo(res))
	d.lastPush(res, "已办好", "已更换灯管，恢复照明", "满意 / 基本满意 / 不满意")
	if got := d.say(wang, "待办 全部"); strings.Contains(got, no) {
		t.Fatalf("a closed ticket in the queue: %q", got)
	}
	d.expect(wang, "办结 "+no+" 再次", "已办结")
	d.expect(wang, "上报 "+no+" 再次", "已办结")
	if n := len(d.pushesTo(res)); n != closing {
		t.Fatalf("a refused close told the resident again (%d pushes)", n-closing)
	}

	evs := d.timeline(no)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Kind))
		if ev.At.IsZero() || ev.Actor == "" {
			t.Errorf("event without actor or time: %+v", ev)
		}
		if ev.Kind == bot.EventNote != ev.Private {
			t.Errorf("privacy of %+v", ev)
		}
	}
	want := []string{"created", "claimed", "reply", "reply", "note", "escalated", "closed"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("timeline %v, want %v", kinds, want)
	}
	if evs[4].Actor != li || evs[4].Name != "李明" || evs[6].Actor != wang || !evs[6].At.Equal(d.clock.Now()) {
		t.Fatalf("actors: %+v", evs)
	}

	var out bytes.Buffer
	if err := app.ShowTicket(d.ctx, &out, d.app.Store, no); err != nil {
		t.Fatal(err)
	}
	show := out.String()
	for _, w := range []string{
		"status       closed", "escalated", "已更换灯管，恢复照明",
		"timeline (7 events)",
		evs[1].At.In(calendar.Location()).Format("2006-01-02 15:04:05") + "  王芳 (o_wang)",
		"李明 (o_li)    note (private)  居民家电话打不通，改约周末",
	} {
		if !strings.Contains(show, w) {
			t.Errorf("tickets show lacks %q:\n%s", w, show)
		}
	}
	if err := app.ShowTicket(d.ctx, &out, d.app.Store, "99999"); err == nil {
		t.Error("show of a missing ticket did not fail")
	}
}

// A staff member of one community acting on another's ticket is answered exactly as
// for a number that does not exist, and nothing changes; a resident is refused.
func TestDeskOtherCommunityLearnsNothing(t *testing.T) {
	d := newDesk(t)
	tk := d.ticket("QY", bot.UrgencyHigh, d.clock.Now(), "邻居半夜装修")
	no, missing := tk.No, "9999"
	before := d.timeline(no)
	pushed := len(d.pushesTo(res)) + len(d.pushesTo(wang)) + len(d.pushesTo(admin))
	for _, cmd := range []string{"接单 %s", "回复 %s 你好", "对话 %s", "转派 %s HX", "转派 %s 赵强",
		"备注 %s 看看", "上报 %s 测试", "办结 %s 已办", "详情 %s"} {
		got := d.say(zhao, fmt.Sprintf(cmd, no))
		ref := d.say(zhao, fmt.Sprintf(cmd, missing))
		if !strings.Contains(ref, "没有找到编号为 "+missing) || got != strings.ReplaceAll(ref, missing, no) {
			t.Errorf("%q by HX staff:\n%q\nfor a missing number:\n%q", fmt.Sprintf(cmd, no), got, ref)
		}
	}
	for _, cmd := range []string{"待办", "待办 全部"} {
		if got := d.say(zhao, cmd); strings.Contains(got, no) || strings.Contains(got, "装修") {
			t.Errorf("%s of HX shows QY's ticket: %q", cmd, got)
		}
	}
	for _, cmd := range []string{"接单 " + no, "办结 " + no + " 好了", "详情 " + no, "待办"} {
		d.expect(res, cmd, "没有使用这项功能的权限")
	}
	if after := d.load(no); after.Version != tk.Version || after.Status != bot.StatusNew {
		t.Fatalf("ticket changed: %+v", after)
	}
	if n := len(d.timeline(no)); n != len(before) {
		t.Fatalf("timeline grew to %d", n)
	}
	if n := len(d.pushesTo(res)) + len(d.pushesTo(wang)) + len(d.pushesTo(admin)); n != pushed {
		t.Fatalf("%d pushes", n-pushed)
	}
	// The district admin acts anywhere.
	hx := d.ticket("HX", bot.UrgencyNormal, d.clock.Now(), "垃圾桶满了")
	d.expect(admin, "详情 "+hx.No, "和谐社区", "垃圾桶满了")
	d.expect(admin, "接单 "+hx.No, "已接单")
	if got := d.load(hx.No); got.HandlerName != "孙主任" {
		t.Fatalf("admin claim: %+v", got)
	}
}

// 对话: the staff member's plain messages reach the resident and the resident's the
// staff member, until either says 结束; commands keep working meanwhile.
func TestDeskLiveRelay(t *testing.T) {
	d := newDesk(t)
	tk := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "小区门口积水")
	no := tk.No
	d.expect(wang, "对话 "+no, "已开始与诉求 "+no+" 的居民对话")
	d.lastPush(res, "王芳", "正在就您的诉求 "+no)

	if got := d.say(wang, "您好，积水大概多深？"); got != "" {
		t.Fatalf("a relayed message was answered: %q", got)
	}
	d.lastPush(res, "【社区工作人员 王芳】您好，积水大概多深？")
	if got := d.say(res, "到脚踝了，车也过不去"); got != "" {
		t.Fatalf("a relayed message was answered: %q", got)
	}
	if p := d.lastPush(wang, "【对话 "+no+"】王阿姨：到脚踝了，车也过不去"); p.Kind != "ticket_alert" {
		t.Fatalf("to staff: %+v", p)
	}
	if got := d.sendImage(res, "http://mmbiz.qpic.cn/flood.jpg"); got != "" {
		t.Fatalf("a relayed image was answered: %q", got)
	}
	// The photo itself goes across (its media id), not a link to it.
	if p := d.lastPush(wang, "［照片］"); p.Image != "media_1" || strings.Contains(p.Text, "http://") {
		t.Fatalf("relayed photo: %+v", p)
	}
	if evs := d.timeline(no); !strings.Contains(evs[len(evs)-1].Text, "http://mmbiz.qpic.cn/flood.jpg") {
		t.Fatalf("the timeline keeps the photo's address: %+v", evs[len(evs)-1])
	}
	// A resident's sentence that starts with a desk word is conversation, not a
	// refused command; 帮助 in a relay is conversation too, and the resident is told
	// how to see the help (issue 15.2, the collision rule in relay.go).
	d.say(res, "回复一下，谢谢您")
	d.lastPush(wang, "回复一下，谢谢您")
	d.expect(res, "帮助", "已转给工作人员")
	// So is a staff member's sentence that names no ticket; a real command works.
	d.say(wang, "详情我稍后告诉您")
	d.lastPush(res, "详情我稍后告诉您")
	d.expect(wang, "待办", no)
	d.say(res, "结束了吗？")
	d.lastPush(wang, "结束了吗？")

	relayed := len(d.pushesTo(wang))
	d.expect(res, "结束", "对话已结束")
	d.lastPush(wang, "对话已结束")
	d.expect(res, "还在吗", "已收到") // after the relay: to the case, not the chat
	d.expect(wang, "结束", "当前没有进行中的对话")
	d.expect(wang, "好的", "没太明白")
	if n := len(d.pushesTo(wang)); n != relayed+2 {
		t.Fatalf("pushes to staff after the end: %d, want the end notice and 还在吗 on the case", n-relayed)
	}

	var relay []bot.Event
	for _, ev := range d.timeline(no) {
		if strings.HasPrefix(string(ev.Kind), "relay") {
			relay = append(relay, ev)
		}
	}
	want := []struct {
		kind        bot.EventKind
		actor, text string
	}{
		{"relay_started", wang, ""},
		{"relay", wang, "您好，积水大概多深？"},
		{"relay", res, "到脚踝了，车也过不去"},
		{"relay", res, "http://mmbiz.qpic.cn/flood.jpg"},
		{"relay", res, "回复一下，谢谢您"},
		{"relay", res, "帮助"},
		{"relay", wang, "详情我稍后告诉您"},
		{"relay", res, "结束了吗？"},
		{"relay_ended", res, ""},
	}
	if len(relay) != len(want) {
		t.Fatalf("relay events %+v", relay)
	}
	for i, w := range want {
		ev := relay[i]
		if ev.Kind != w.kind || ev.Actor != w.actor || !strings.Contains(ev.Text, w.text) || ev.At.IsZero() {
			t.Errorf("relay event %d = %+v, want %+v", i, ev, w)
		}
	}

	// The staff side ends it as well; closing the ticket ends it too.
	d.expect(wang, "对话 "+no, "已开始")
	d.expect(wang, "结束", "对话已结束")
	d.lastPush(res, "社区工作人员已结束")
	d.expect(wang, "对话 "+no, "已开始")
	d.expect(li, "对话 "+no, "正在与其他工作人员对话")
	d.expect(li, "办结 "+no+" 已疏通下水道", "已办结")
	d.lastPush(wang, "对话已结束")
	d.lastPush(res, "已疏通下水道")
	d.say(res, "谢谢你们")
	if p := d.pushesTo(wang); strings.Contains(p[len(p)-1].Text, "谢谢你们") {
		t.Fatal("relayed after the ticket was closed")
	}
	d.expect(wang, "对话 "+no, "已办结")
}

// A relay nobody speaks in ends by itself when the clock says so (not Redis's wall
// time): each message moves the time-out; when it comes, both sides are told and
// the timeline says so.
func TestDeskRelayTimesOut(t *testing.T) {
	d := deskOn(newEnvWith(t, func(c *configs.Config) { c.Desk.RelayTimeout = 10 * time.Minute }))
	tk := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "路灯不亮")
	pump := func() {
		t.Helper()
		if _, err := d.app.Scheduler.PumpOnce(d.ctx); err != nil {
			t.Fatal(err)
		}
	}
	d.expect(wang, "对话 "+tk.No, "已开始", "10 分钟无消息自动结束")
	d.clock.Advance(6 * time.Minute)
	d.say(res, "在的")
	d.lastPush(wang, "在的")
	d.clock.Advance(6 * time.Minute) // 12 minutes since the start, 6 since the last word
	pump()
	d.say(wang, "灯什么时候坏的？")
	d.lastPush(res, "灯什么时候坏的？")
	toStaff, toRes := len(d.pushesTo(wang)), len(d.pushesTo(res))

	d.clock.Advance(10 * time.Minute)
	pump()
	d.lastPush(wang, "对话 "+tk.No, "10 分钟无人发言", "对话 "+tk.No+"」")
	d.lastPush(res, "10 分钟无人发言", "补充 "+tk.No)
	if len(d.pushesTo(wang)) != toStaff+1 || len(d.pushesTo(res)) != toRes+1 {
		t.Fatalf("time-out pushes: staff %d, resident %d", len(d.pushesTo(wang))-toStaff, len(d.pushesTo(res))-toRes)
	}
	evs := d.timeline(tk.No)
	if last := evs[len(evs)-1]; last.Kind != bot.EventRelayTimeout || last.Actor != "system" || !last.At.Equal(d.clock.Now()) {
		t.Fatalf("timeline %+v", last)
	}
	d.expect(wang, "详情 "+tk.No, "10 分钟无人发言，自动结束")
	d.expect(res, "还在吗", "已收到") // after the relay: to the case, not the chat
	toStaff = len(d.pushesTo(wang))
	d.expect(wang, "结束", "当前没有进行中的对话")
	pump() // fired once: nothing more
	if len(d.pushesTo(wang)) != toStaff {
		t.Fatal("the time-out was told twice")
	}
}

// 转派 to another community (by code or name) or to a named colleague.
func TestDeskReassign(t *testing.T) {
	d := newDesk(t)
	cases := []struct {
		name, target string
		claimFirst   bool
		community    string // the ticket's community afterwards
		handler      string
		told         string // who is pushed the ticket
		reply        string
	}{
		{"community by code", "hx", true, "HX", "", zhao, "已将诉求 %s 转派至和谐社区"},
		{"community by name", "和谐社区", false, "HX", "", zhao, "转派至和谐社区"},
		{"colleague, signed for", "李明", true, "QY", li, li, "已将诉求 %s 转派给 李明"},
		{"colleague, unclaimed", "李明", false, "QY", li, li, "转派给 李明"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			tk := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "井盖松动 "+c.name)
			no := tk.No
			if c.claimFirst {
				d.expect(wang, "接单 "+no, "已接单")
			}
			d.expect(wang, "转派 "+no+" "+c.target, strings.ReplaceAll(c.reply, "%s", no))
			got := d.load(no)
			if got.Community != c.community || got.Handler != c.handler {
				t.Fatalf("after reassign: %+v", got)
			}
			p := d.lastPush(c.told, "转派 "+no, "井盖松动", "王芳")
			evs := d.timeline(no)
			last := evs[len(evs)-1]
			if last.Kind != "reassigned" || last.Actor != wang || last.Name != "王芳" {
				t.Fatalf("event %+v", last)
			}
			if c.community == "HX" {
				if got.Status != bot.StatusNew || !got.Claimed.IsZero() {
					t.Fatalf("moved ticket not waiting: %+v", got)
				}
				d.lastPush(res, "已转交和谐社区")
				d.expect(wang, "详情 "+no, "没有找到编号为 "+no)
				d.expect(zhao, "待办", no)
				d.expect(zhao, "接单 "+no, "已接单")
				return
			}
			if strings.Contains(p.Text, "接单 "+no) == c.claimFirst {
				t.Fatalf("sign-for request in %q", p.Text)
			}
			if c.claimFirst {
				d.expect(li, "接单 "+no, "已由您承办")
			} else {
				d.expect(li, "接单 "+no, "已接单")
				if got := d.load(no); got.Claimed.IsZero() || got.HandlerName != "李明" {
					t.Fatalf("signed for: %+v", got)
				}
			}
		})
	}
	d.t = t
	tk := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "其他")
	d.expect(wang, "转派 "+tk.No+" 赵强", "没有找到「赵强」") // of another community
	d.expect(wang, "转派 "+tk.No+" 七一路", "已在七一路社区", "无需转派")
	d.expect(wang, "转派 "+tk.No, "请发送「转派 编号")
}

// 待办 lists urgent and old first, with deadline colours, within one message.
func TestDeskQueue(t *testing.T) {
	d := newDesk(t)
	now := d.clock.Now()
	late := d.ticket("QY", bot.UrgencyNormal, now.Add(-10*24*time.Hour), "超期的")
	urgent := d.ticket("QY", bot.UrgencyHigh, now.Add(-time.Hour), "紧急的")
	for i := range 11 {
		d.ticket("QY", bot.UrgencyLow, now.Add(time.Duration(i)*time.Minute), fmt.Sprintf("普通%02d", i))
	}
	mine := d.ticket("QY", bot.UrgencyLow, now.Add(time.Hour), "李明接的")
	d.expect(li, "接单 "+mine.No, "已接单")
	hx := d.ticket("HX", bot.UrgencyNormal, now, "和谐的")

	got := d.expect(wang, "待办", "共 13 件", "还有 3 件未列出", "待办 全部")
	lines := strings.Split(got, "\n")
	if !strings.Contains(lines[1], urgent.No) || !strings.Contains(lines[2], "🔴 "+late.No) {
		t.Fatalf("order:\n%s", got)
	}
	if strings.Contains(got, mine.No) || strings.Contains(got, hx.No) || strings.Contains(got, "七一路") {
		t.Fatalf("others' tickets or a needless community name:\n%s", got)
	}
	d.expect(li, "待办", "共 14 件") // the unclaimed ones and the one li has
	d.expect(wang, "待办 全部", "共 14 件", "还有 4 件")
	got = d.expect(admin, "待办", "共 14 件", "和谐社区")
	if !strings.Contains(got, hx.No) {
		t.Fatalf("admin queue lacks HX:\n%s", got)
	}
	if len(got) > 2048 {
		t.Fatalf("queue reply of %d bytes", len(got))
	}
}

// `minyuan tickets list` filters by community and status, in number order.
func TestTicketsList(t *testing.T) {
	d := newDesk(t)
	a := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "甲")
	b := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "乙")
	c := d.ticket("HX", bot.UrgencyNormal, d.clock.Now(), "丙")
	d.expect(wang, "办结 "+b.No+" 好了", "已办结")
	cases := []struct {
		f    app.TicketFilter
		want []string
	}{
		{app.TicketFilter{}, []string{a.No, b.No, c.No}},
		{app.TicketFilter{Community: "qy"}, []string{a.No, b.No}},
		{app.TicketFilter{Status: "closed"}, []string{b.No}},
		{app.TicketFilter{Community: "QY", Status: "open"}, []string{a.No}},
		{app.TicketFilter{Status: "claimed"}, nil},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		if err := app.ListTickets(d.ctx, &out, d.app.Store, tc.f, true); err != nil {
			t.Fatal(err)
		}
		var ts []bot.Ticket
		if err := json.Unmarshal(out.Bytes(), &ts); err != nil {
			t.Fatalf("%s: %v", out.String(), err)
		}
		var nos []string
		for _, t := range ts {
			nos = append(nos, t.No)
		}
		if !slices.Equal(nos, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, nos, tc.want)
		}
	}
	var out bytes.Buffer
	if err := app.ListTickets(d.ctx, &out, d.app.Store, app.TicketFilter{Status: "closed"}, false); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[1], b.No+"  QY") || !strings.Contains(lines[1], "王芳") {
		t.Fatalf("table:\n%s", out.String())
	}
}

// A ticket claimed, moved to another community and claimed there: the resident is
// told both times, by whom. (Each claim is its own change of the ticket, so its own
// push: a fixed id per ticket and event once swallowed the second.)
func TestMovedThenClaimedTellsTheResidentAgain(t *testing.T) {
	d := newDesk(t)
	no := d.ticket("QY", bot.UrgencyNormal, d.clock.Now(), "楼下烧烤油烟大").No
	d.expect(wang, "接单 "+no, "已接单")
	d.lastPush(res, "已受理", "负责的工作人员：王芳")
	before := len(d.pushesTo(res))

	d.expect(wang, "转派 "+no+" 和谐社区", "转派至和谐社区")
	d.lastPush(res, "已转交和谐社区")
	d.expect(zhao, "接单 "+no, "已接单")
	d.lastPush(res, "已受理", "负责的工作人员：赵强")
	if n := len(d.pushesTo(res)) - before; n != 2 {
		t.Fatalf("the resident got %d pushes after the first claim, want 2 (moved, claimed)", n)
	}

	// And back again: told a third time.
	d.expect(zhao, "转派 "+no+" QY", "转派至七一路社区")
	d.expect(li, "接单 "+no, "已接单")
	d.lastPush(res, "已受理", "负责的工作人员：李明")
	if n := len(d.pushesTo(res)) - before; n != 4 {
		t.Fatalf("the resident got %d pushes after the first claim, want 4", n)
	}
}
