package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// The resident's side of a request, through the real webhook against real Redis:
// intake, self-service, and rating. Pushes are checked as queued in the outbox (the
// workers that deliver them are not part of these tests).

// wed is a Wednesday morning: deadlines in working days are then easy to read.
var wed = time.Date(2026, 11, 25, 10, 0, 0, 0, calendar.Location())

func newResidentEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	e.clock.Set(wed)
	return e
}

// bindAs grants openid a role through an invite code typed in chat.
func (e *env) bindAs(openid string, role bot.Role, community, name string) {
	e.t.Helper()
	inv, err := e.app.Store.CreateInvite(context.Background(), role, community, name, e.clock.Now(), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := e.say(openid, "绑定 "+inv.Code); !strings.Contains(got, "绑定成功") {
		e.t.Fatalf("bind %s: %q", openid, got)
	}
}

func imageXML(from string, msgID int64, sent time.Time, url string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_minyuan]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[%s]]></PicUrl>`+
		`<MediaId><![CDATA[media_%d]]></MediaId><MsgId>%d</MsgId></xml>`, from, sent.Unix(), url, msgID, msgID)
}

func (e *env) photo(from, url string) string {
	e.t.Helper()
	code, body := e.post(e.query(), imageXML(from, e.msgID.Add(1), e.clock.Now(), url))
	if code != http.StatusOK {
		e.t.Fatalf("photo: status %d %s", code, body)
	}
	return replyText(e.t, body)
}

// conversation sends each message and checks the reply holds every wanted piece.
func (e *env) conversation(from string, steps ...[2]string) string {
	e.t.Helper()
	var got string
	for i, s := range steps {
		if got = e.say(from, s[0]); !containsAll(got, s[1]) {
			e.t.Fatalf("%s step %d %q: got %q, want %q", from, i, s[0], got, s[1])
		}
	}
	return got
}

// containsAll reports whether got holds each "|"-separated piece of want.
func containsAll(got, want string) bool {
	for _, w := range strings.Split(want, "|") {
		if !strings.Contains(got, w) {
			return false
		}
	}
	return true
}

var ticketNoRe = regexp.MustCompile(`编号 (\d+)`)

func ticketNo(t testing.TB, reply string) string {
	t.Helper()
	m := ticketNoRe.FindStringSubmatch(reply)
	if m == nil {
		t.Fatalf("no ticket number in %q", reply)
	}
	return m[1]
}

// fileRequest brings a request for a resident whose community and phone are known.
func (e *env) fileRequest(from, category, text string) string {
	e.t.Helper()
	e.say(from, "诉求")
	e.say(from, category)
	if got := e.say(from, text); !strings.Contains(got, "请核对您的诉求") {
		e.t.Fatalf("expected the summary, got %q", got)
	}
	return ticketNo(e.t, e.say(from, "确认"))
}

func (e *env) knownResident(openid, community, phone string) {
	e.t.Helper()
	err := e.app.Store.SaveProfile(context.Background(), bot.Profile{OpenID: openid, Community: community, Phone: phone, Updated: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) ticket(no string) *bot.Ticket {
	e.t.Helper()
	t, err := e.app.Store.Ticket(context.Background(), no)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) timeline(no string) []bot.Event {
	e.t.Helper()
	evs, err := e.app.Store.Timeline(context.Background(), no)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) stats(community string) map[string]int64 {
	e.t.Helper()
	s, err := e.app.Store.Stats(context.Background(), community, bot.Period(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// pushesTo returns every push queued to openid so far, oldest first (no worker
// sends them here).
func (e *env) pushesTo(openid string) []bot.Push {
	e.t.Helper()
	qs, err := e.app.Store.Queued(context.Background(), openid, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []bot.Push
	for _, q := range qs {
		out = append(out, q.Push)
	}
	return out
}

// told checks that openid has been sent n pushes so far, the last saying each of
// want.
func (e *env) told(openid string, n int, want ...string) {
	e.t.Helper()
	ps := e.pushesTo(openid)
	if len(ps) != n {
		texts := make([]string, len(ps))
		for i, p := range ps {
			texts[i] = p.Text
		}
		e.t.Fatalf("%s was sent %d pushes, want %d: %q", openid, len(ps), n, texts)
	}
	if n == 0 {
		return
	}
	if last := ps[n-1].Text; !containsAll(last, strings.Join(want, "|")) {
		e.t.Fatalf("push to %s %q: lacks one of %q", openid, last, want)
	}
}

func (e *env) lastTicketNo() int64 {
	e.t.Helper()
	n, err := e.app.Store.LastTicketNo(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// closeTicket does what the desk's 办结 does to the ticket.
func (e *env) closeTicket(no, staff, name, result string) {
	e.t.Helper()
	now := e.clock.Now()
	_, err := e.app.Store.Update(context.Background(), no, func(t *bot.Ticket) ([]bot.Event, error) {
		if t.Claimed.IsZero() {
			t.Claimed = now
		}
		t.Status, t.Handler, t.HandlerName, t.Closed, t.Result = bot.StatusClosed, staff, name, now, result
		return []bot.Event{{At: now, Actor: staff, Name: name, Kind: "closed", Text: result}}, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestRequestIntake(t *testing.T) {
	e := newResidentEnv(t)
	ctx := context.Background()
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_other_staff", bot.RoleStaff, "HX", "李明")

	e.conversation("o_res",
		[2]string{"诉求", "请选择诉求类别|1. 困难求助（|4. 物业维修（|5. 环境卫生（|13. 其他（拿不准就选其他）"},
		[2]string{"4", "请描述您要反映的问题"},
		[2]string{"返回", "请选择诉求类别"},
		[2]string{"九十九", "没有这个选项"},
		[2]string{"环境卫生", "请描述您要反映的问题"},
	)
	if got := e.photo("o_res", "http://mmbiz.qpic.cn/lamp1"); got != "已收到1张照片。请继续用文字描述，说完了回复「好了」。" {
		t.Fatalf("photo: %q", got)
	}
	summary := e.conversation("o_res",
		[2]string{"3号楼2单元楼道灯坏了一个星期，晚上很黑", "这件事发生在哪个社区|1. 七一路社区"},
		[2]string{"1", "手机号"},
		[2]string{"12345", "手机号格式不对"},
		[2]string{"138 0013 8000", "请核对您的诉求|类别：环境卫生|楼道灯坏了|照片：1张|社区：七一路社区|电话：138****8000"},
	)
	if strings.Contains(summary, "13800138000") {
		t.Fatalf("summary shows the whole phone: %q", summary)
	}
	done := e.say("o_res", "确认")
	cal := e.app.Calendar
	signBy, dueBy := cal.AddWorkingDays(wed, 1), cal.AddWorkingDays(wed, 5)
	if !containsAll(done, "编号 1001|七一路社区民愿接待室|11月26日（周四）下午5:30前受理|12月2日（周三）下午5:30前办好|查询 1001") {
		t.Fatalf("done: %q", done)
	}
	tk := e.ticket("1001")
	if tk.OpenID != "o_res" || tk.Community != "QY" || tk.Category != "sanitation" || tk.Phone != "13800138000" ||
		tk.Status != bot.StatusNew || len(tk.Photos) != 1 || tk.Photos[0] != "http://mmbiz.qpic.cn/lamp1" ||
		!tk.SignBy.Equal(signBy) || !tk.DueBy.Equal(dueBy) || tk.Source != "wechat" {
		t.Fatalf("ticket %+v", tk)
	}
	if p, _ := e.app.Store.Profile(ctx, "o_res"); p.Community != "QY" || p.Phone != "13800138000" {
		t.Fatalf("profile not remembered: %+v", p)
	}
	// The community's staff are told; the other community's are not.
	e.told("o_staff", 1, "【新诉求 1001】", "楼道灯坏了", "接单 1001")
	e.told("o_other_staff", 0)
	for _, slot := range []string{"sign:red", "resolve:red", "assign"} {
		id := bot.TicketReminderID("1001", slot)
		if _, ok, err := e.app.Store.Reminder(ctx, id); !ok || err != nil {
			t.Fatalf("reminder %s: %v %v", id, ok, err)
		}
	}
	if s := e.stats("QY"); s["received"] != 1 || s["category:sanitation"] != 1 || s["source:wechat"] != 1 {
		t.Fatalf("stats %v", s)
	}

	// The second time, community and phone are known: not asked, and 返回 from the
	// summary goes to the last question that was asked.
	e.conversation("o_res",
		[2]string{"我要反映", "请选择诉求类别"},
		[2]string{"1", "请描述"},
		[2]string{"家里老人独居，想申请助餐服务", "请核对您的诉求|困难求助|社区：七一路社区|电话：138****8000"},
		[2]string{"返回", "请描述"},
		[2]string{"家里老人独居，想申请助餐和上门探访", "请核对您的诉求|上门探访"},
	)
	if no := ticketNo(t, e.say("o_res", "确认")); no != "1002" {
		t.Fatalf("second ticket %s", no)
	}

	// Cancelled midway: nothing is filed.
	e.conversation("o_res",
		[2]string{"反映问题", "请选择诉求类别"},
		[2]string{"2", "请描述"},
		[2]string{"取消", "已取消「反映诉求」"},
	)
	if n := e.lastTicketNo(); n != 1002 {
		t.Fatalf("a cancelled form filed a ticket: last %d", n)
	}
	// The menu button starts the same form.
	ev := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_res]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>`+
		`<EventKey><![CDATA[REQUEST]]></EventKey></xml>`, e.clock.Now().Unix())
	if _, body := e.post(e.query(), ev); !strings.Contains(replyText(t, body), "请选择诉求类别") {
		t.Fatalf("menu: %q", body)
	}
}

// Photos only, then 完成: the description is the photos.
func TestRequestWithPhotosOnly(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "HX", "13900139000")
	e.conversation("o_res", [2]string{"诉求", "类别"}, [2]string{"4", "请描述"})
	e.photo("o_res", "http://p/1")
	if got := e.photo("o_res", "http://p/2"); !strings.Contains(got, "已收到2张照片") {
		t.Fatalf("second photo: %q", got)
	}
	e.conversation("o_res", [2]string{"完成", "内容：（见照片）|照片：2张|和谐社区"})
	no := ticketNo(t, e.say("o_res", "确认"))
	if tk := e.ticket(no); len(tk.Photos) != 2 || tk.Description != "" || tk.Community != "HX" {
		t.Fatalf("ticket %+v", tk)
	}
}

// A follow through a community's QR code fills in the community: only the phone is
// asked.
func TestRequestCommunityFromQRCode(t *testing.T) {
	e := newResidentEnv(t)
	ev := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_qr]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>`+
		`<EventKey><![CDATA[qrscene_HX]]></EventKey></xml>`, e.clock.Now().Unix())
	e.post(e.query(), ev)
	e.conversation("o_qr",
		[2]string{"诉求", "类别"},
		[2]string{"6", "请描述"},
		[2]string{"想咨询一下医保报销的政策", "手机号"},
		[2]string{"13700137000", "社区：和谐社区|电话：137****7000"},
	)
}

// WeChat retries a message it got no answer to within 5 s, up to three times, and
// the retries may arrive while the first is still being handled.
func TestConfirmRetriedMakesOneTicket(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	e.conversation("o_res", [2]string{"诉求", "类别"}, [2]string{"4", "请描述"}, [2]string{"垃圾桶满了没人清", "请核对"})
	id, sent := e.msgID.Add(1), e.clock.Now()
	replies := make([]string, 3)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() { replies[i] = e.sayAt("o_res", id, sent, "确认") })
	}
	wg.Wait()
	late := e.sayAt("o_res", id, sent, "确认")
	for i, r := range append(replies, late) {
		if r != replies[0] || !strings.Contains(r, "编号 1001") {
			t.Fatalf("reply %d = %q, first %q", i, r, replies[0])
		}
	}
	if n := e.lastTicketNo(); n != 1001 {
		t.Fatalf("last ticket number %d: a retry made another ticket", n)
	}
	if ts, _ := e.app.Store.ByResident(context.Background(), "o_res", 10); len(ts) != 1 {
		t.Fatalf("resident has %d tickets", len(ts))
	}
	if s := e.stats("QY"); s["received"] != 1 {
		t.Fatalf("received counted %d times", s["received"])
	}
}

// flakyPusher fails the first pushes it is given, as if the process had died right
// after the ticket was stored.
type flakyPusher struct {
	bot.Pusher
	fails atomic.Int32
}

func (p *flakyPusher) Push(ctx context.Context, m bot.Push) error {
	if p.fails.Add(-1) >= 0 {
		return errors.New("connection reset")
	}
	return p.Pusher.Push(ctx, m)
}

// The confirm fails after the ticket was stored: the inbox forgets it, and the
// platform's retry of the same message completes the work on the same ticket.
func TestConfirmRetriedAfterAFailureCompletesTheSameTicket(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	// Swap the pusher before the server's goroutines start, so the swap is seen.
	e.srv.Close()
	flaky := &flakyPusher{Pusher: e.app.Tickets.Pusher}
	flaky.fails.Store(1)
	e.app.Tickets.Pusher = flaky
	e.srv = httptest.NewServer(e.app.Handler())

	e.knownResident("o_res", "QY", "13800138000")
	e.conversation("o_res", [2]string{"诉求", "类别"}, [2]string{"5", "请描述"}, [2]string{"小区门口有人打架", "请核对"})
	id, sent := e.msgID.Add(1), e.clock.Now()
	if got := e.sayAt("o_res", id, sent, "确认"); strings.Contains(got, "编号") {
		t.Fatalf("the first try should have failed: %q", got)
	}
	if n := e.lastTicketNo(); n != 1001 {
		t.Fatalf("the ticket should be stored before the failure: last %d", n)
	}
	e.told("o_staff", 0)
	if got := e.sayAt("o_res", id, sent, "确认"); !strings.Contains(got, "编号 1001") {
		t.Fatalf("retry: %q", got)
	}
	if n := e.lastTicketNo(); n != 1001 {
		t.Fatalf("the retry made another ticket: last %d", n)
	}
	e.told("o_staff", 1, "【新诉求 1001】")
	if s := e.stats("QY"); s["received"] != 1 {
		t.Fatalf("received %d", s["received"])
	}
}

func TestMyTicketsAndQuery(t *testing.T) {
	e := newResidentEnv(t)
	ctx := context.Background()
	if got := e.say("o_res", "我的诉求"); !strings.Contains(got, "您还没有提交过诉求") {
		t.Fatalf("none yet: %q", got)
	}
	e.knownResident("o_res", "QY", "13800138000")
	first := e.fileRequest("o_res", "5", "楼道灯坏了")
	e.clock.Advance(time.Hour)
	second := e.fileRequest("o_res", "12", "建议小区增加充电桩")

	list := e.say("o_res", "我的诉求")
	i1, i2 := strings.Index(list, first+" 环境卫生"), strings.Index(list, second+" 意见建议")
	if i1 < 0 || i2 < 0 || i2 > i1 || !containsAll(list, "最近2件|已收到|楼道灯坏了") {
		t.Fatalf("list (newest first): %q", list)
	}

	if got := e.say("o_res", "查询 "+first); !containsAll(got, "【诉求 1001】环境卫生|状态：已收到|七一路社区民愿接待室|受理时限：11月26日|办好时限：12月2日|") {
		t.Fatalf("query new: %q", got)
	}
	// The latest word of staff is shown; private notes and the resident's own
	// relayed words are not.
	now := e.clock.Now()
	_, err := e.app.Store.Update(ctx, first, func(tk *bot.Ticket) ([]bot.Event, error) {
		tk.Status, tk.Handler, tk.HandlerName, tk.Claimed, tk.Responded = bot.StatusClaimed, "o_staff", "王芳", now, now
		return []bot.Event{
			{At: now, Actor: "o_staff", Name: "王芳", Kind: "claimed"},
			{At: now, Actor: "o_staff", Name: "王芳", Kind: "reply", Text: "已联系物业，明天上午更换灯泡"},
			{At: now, Actor: "o_staff", Name: "王芳", Kind: "note", Text: "物业经理电话 139xxxx", Private: true},
			{At: now, Actor: "o_res", Kind: "relay", Text: "好的谢谢"},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.say("o_res", "查询1001") // no space, as typed on a phone
	if !containsAll(got, "状态：已受理|负责的工作人员：王芳（七一路社区）|最新回复|王芳|明天上午更换灯泡") ||
		strings.Contains(got, "物业经理") || strings.Contains(got, "好的谢谢") || strings.Contains(got, "受理时限") {
		t.Fatalf("query claimed: %q", got)
	}
	e.closeTicket(first, "o_staff", "王芳", "灯泡已更换")
	if got := e.say("o_res", "查询 ＃１００１"); !containsAll(got, "状态：已办好|办理结果：灯泡已更换|请评价") {
		t.Fatalf("query closed: %q", got)
	}
	if got := e.say("o_res", "我的诉求"); !containsAll(got, "已办好（待评价）") {
		t.Fatalf("list after close: %q", got)
	}
	// One request is still open (1002): 查询 alone shows it (issue 15.2).
	if got := e.say("o_res", "查询"); !strings.Contains(got, "【诉求 1002】") {
		t.Fatalf("查询 alone with one open: %q", got)
	}
}

// Ticket numbers are short and counted up: anyone can type another's. A resident
// gets, for a ticket that is not theirs, word for word the answer for a number that
// was never given, and nothing changes.
func TestOthersTicketsAreNotFound(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "7", "楼上漏水到我家，协商不成")
	e.closeTicket(no, "o_staff", "王芳", "已调解")
	before := e.timeline(no)

	const missing = "9999"
	for _, cmd := range []string{"查询 %s", "补充 %s 我也看到了", "补充 %s", "评价 %s 3 不行", "满意 %s", "不满意 %s 不行"} {
		theirs := e.say("o_nosy", fmt.Sprintf(cmd, no))
		none := e.say("o_nosy", fmt.Sprintf(cmd, missing))
		if theirs != strings.ReplaceAll(none, missing, no) {
			t.Errorf("%q: someone else's ticket answered %q, a missing one %q", cmd, theirs, none)
		}
		if strings.Contains(theirs, "漏水") || strings.Contains(theirs, "138") || strings.Contains(theirs, "七一路") ||
			strings.Contains(theirs, "王芳") || strings.Contains(theirs, "已调解") {
			t.Errorf("%q leaked: %q", cmd, theirs)
		}
		e.say("o_nosy", "取消")
	}
	if got := e.say("o_nosy", "我的诉求"); !strings.Contains(got, "您还没有提交过诉求") {
		t.Fatalf("list: %q", got)
	}
	tk := e.ticket(no)
	if len(e.timeline(no)) != len(before) || tk.Rating != "" || tk.Status != bot.StatusClosed {
		t.Fatalf("someone else changed the ticket: %+v", tk)
	}
}

func TestSupplement(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "楼道灯坏了")

	// With the text: added at once, and the desk is told (nobody has it yet).
	id := e.msgID.Add(1)
	if got := e.sayAt("o_res", id, e.clock.Now(), "补充 "+no+" 二楼和三楼的都不亮"); !containsAll(got, "已补充到诉求 1001|七一路社区民愿接待室") {
		t.Fatalf("add: %q", got)
	}
	e.told("o_staff", 2, "【补充 "+no+"】", "二楼和三楼的都不亮") // after the new ticket's alert
	evs := e.timeline(no)
	if last := evs[len(evs)-1]; last.Kind != "added" || last.Text != "二楼和三楼的都不亮" || last.Actor != "o_res" {
		t.Fatalf("timeline %+v", last)
	}

	// Without the text: a one-question form that takes photos; once claimed, the
	// handler is told.
	now := e.clock.Now()
	if _, err := e.app.Store.Update(context.Background(), no, func(tk *bot.Ticket) ([]bot.Event, error) {
		tk.Status, tk.Handler, tk.HandlerName, tk.Claimed = bot.StatusClaimed, "o_staff", "王芳", now
		return []bot.Event{{At: now, Actor: "o_staff", Name: "王芳", Kind: "claimed"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.conversation("o_res", [2]string{"补充 " + no, "请发送要补充的内容"})
	e.photo("o_res", "http://p/dark")
	if got := e.say("o_res", "完成"); !containsAll(got, "已补充到诉求 1001|负责的工作人员王芳") {
		t.Fatalf("photo add: %q", got)
	}
	if tk := e.ticket(no); len(tk.Photos) != 1 || tk.Photos[0] != "http://p/dark" {
		t.Fatalf("photos %v", tk.Photos)
	}

	// 补充 alone asks which ticket, listing the open ones, when there are two (with
	// one, it is that one: TestQueryAndAddWithoutANumber).
	second := e.fileRequest("o_res", "环境卫生", "垃圾桶满了")
	e.conversation("o_res",
		[2]string{"补充", "哪一件|1001 环境卫生|" + second},
		[2]string{"9999", "没有这个选项"},
		[2]string{no, "请发送要补充的内容"},
		[2]string{"晚上九点以后最黑", "已补充到诉求 1001"},
	)
	if got := len(e.timeline(no)); got < 4 {
		t.Fatalf("timeline has %d events", got)
	}
	e.closeTicket(no, "o_staff", "王芳", "已修好")
	e.closeTicket(second, "o_staff", "王芳", "已清运")
	if got := e.say("o_res", "补充 "+no+" 又坏了"); !strings.Contains(got, "已办好，不能再补充") {
		t.Fatalf("add to closed: %q", got)
	}
	if got := e.say("o_res", "补充"); !strings.Contains(got, "没有办理中的诉求") {
		t.Fatalf("nothing open: %q", got)
	}
}

// 满意 and 基本满意 go to the most recently closed ticket waiting for a rating.
func TestRatingSatisfied(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	older := e.fileRequest("o_res", "1", "想申请低保，不知道要什么材料")
	newer := e.fileRequest("o_res", "11", "想找一份保洁的工作")
	if got := e.say("o_res", "满意"); !strings.Contains(got, "没有待评价的诉求") {
		t.Fatalf("open tickets: %q", got)
	}
	if got := e.say("o_res", "评价 "+older+" 1"); !strings.Contains(got, "还在办理中") {
		t.Fatalf("open ticket by number: %q", got)
	}
	e.closeTicket(newer, "o_staff", "王芳", "已推荐到物业公司")
	e.clock.Advance(time.Hour)
	e.closeTicket(older, "o_staff", "王芳", "已帮助办理低保申请")
	if s := e.stats("QY"); s["closed"] != 2 || s["hardships"] != 1 || s["jobs"] != 1 || s["signed"] != 2 {
		t.Fatalf("stats after close %v", s)
	}
	if got := e.say("o_res", "满意，谢谢王主任"); !containsAll(got, "感谢您的评价（满意）|"+older) {
		t.Fatalf("rate: %q", got)
	}
	if tk := e.ticket(older); tk.Rating != bot.RatingSatisfied || tk.RatingNote != "谢谢王主任" || tk.Reopened != 0 {
		t.Fatalf("ticket %+v", tk)
	}
	if got := e.say("o_res", "基本满意"); !containsAll(got, "感谢您的评价（基本满意）|"+newer) {
		t.Fatalf("rate the other: %q", got)
	}
	if got := e.say("o_res", "满意"); !strings.Contains(got, "没有待评价的诉求") {
		t.Fatalf("all rated: %q", got)
	}
	if got := e.say("o_res", "评价 "+older+" 3"); !strings.Contains(got, "已经评价过了") {
		t.Fatalf("again by number: %q", got)
	}
	if got := e.say("o_res", "评价 "+older); !strings.Contains(got, "1 满意，2 基本满意，3 不满意") {
		t.Fatalf("usage: %q", got)
	}
	if s := e.stats("QY"); s["rated"] != 2 || s["rating:satisfied"] != 1 || s["rating:basic"] != 1 || s["closed"] != 2 {
		t.Fatalf("stats %v", s)
	}
}

// 不满意 reopens a ticket once, flagged, with a new deadline, and tells the
// secretary and the handler; after a reopen a second 不满意 is final.
func TestUnsatisfiedReopensOnce(t *testing.T) {
	e := newResidentEnv(t)
	ctx := context.Background()
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.bindAs("o_sec", bot.RoleSecretary, "QY", "张书记")
	e.bindAs("o_sec_hx", bot.RoleSecretary, "HX", "赵书记")
	e.knownResident("o_res", "QY", "13800138000")
	no := e.fileRequest("o_res", "5", "小区垃圾站臭味很大")
	e.closeTicket(no, "o_staff", "王芳", "已清运")
	stats := e.stats("QY")
	if stats["closed"] != 1 || stats["closed_in_time"] != 1 {
		t.Fatalf("after close %v", stats)
	}

	e.clock.Advance(24 * time.Hour) // Thursday
	got := e.say("o_res", "不满意 还是很臭，只清了一次")
	cal := e.app.Calendar
	newDue := cal.AddWorkingDays(e.clock.Now(), 5)
	if !containsAll(got, "已重新办理|由王芳继续负责|"+fmt.Sprintf("%d月%d日", newDue.Month(), newDue.Day())) {
		t.Fatalf("reopen reply: %q", got)
	}
	tk := e.ticket(no)
	if tk.Status != bot.StatusClaimed || tk.Handler != "o_staff" || tk.Reopened != 1 || !tk.Flagged ||
		!tk.DueBy.Equal(newDue) || tk.Rating != "" || !tk.Closed.IsZero() {
		t.Fatalf("reopened ticket %+v", tk)
	}
	evs := e.timeline(no)
	if n := len(evs); evs[n-2].Kind != "rated" || evs[n-2].Text != "不满意：还是很臭，只清了一次" || evs[n-1].Kind != "reopened" {
		t.Fatalf("timeline %+v", evs[n-2:])
	}
	e.told("o_sec", 2, "不满意·重新办理 "+no, "还是很臭")     // after the new ticket's alert
	e.told("o_staff", 2, "不满意·重新办理 "+no, "承办人：王芳") // after the new ticket's alert
	e.told("o_sec_hx", 0)
	rem, ok, err := e.app.Store.Reminder(ctx, bot.TicketReminderID(no, "resolve:red"))
	if err != nil || !ok || !rem.Due.Equal(newDue) {
		t.Fatalf("resolve reminder %+v %v %v, want due %v", rem, ok, err, newDue)
	}
	if q, _ := e.app.Store.Queue(ctx, "QY", 10); len(q) != 1 || q[0].No != no {
		t.Fatalf("reopened ticket not back in the queue: %v", q)
	}
	stats = e.stats("QY")
	if stats["closed"] != 0 || stats["closed_in_time"] != 0 || stats["reopened"] != 1 || stats["rated"] != 0 {
		t.Fatalf("after reopen %v", stats)
	}

	// Closed again, rated 不满意 again (by number this time): recorded, flagged, not
	// reopened.
	e.clock.Advance(time.Hour)
	e.closeTicket(no, "o_staff", "王芳", "已协调每日清运两次")
	if got := e.say("o_res", "评价 "+no+" 3 还是有味道"); !strings.Contains(got, "已报社区书记关注") {
		t.Fatalf("second: %q", got)
	}
	tk = e.ticket(no)
	if tk.Status != bot.StatusClosed || tk.Reopened != 1 || tk.Rating != bot.RatingUnsatisfied || tk.RatingNote != "还是有味道" || !tk.Flagged {
		t.Fatalf("after second 不满意 %+v", tk)
	}
	e.told("o_sec", 3, "再次不满意 "+no, "还是有味道")
	e.told("o_staff", 3, "再次不满意 "+no)
	if got := e.say("o_res", "不满意"); !strings.Contains(got, "没有待评价的诉求") {
		t.Fatalf("third: %q", got)
	}
	stats = e.stats("QY")
	want := map[string]int64{"received": 1, "closed": 1, "reopened": 1, "rated": 1, "rating:unsatisfied": 1, "signed": 1}
	for k, v := range want {
		if stats[k] != v {
			t.Fatalf("final stats %v: %s = %d, want %d", stats, k, stats[k], v)
		}
	}
}

// The help lists the resident's new commands.
func TestResidentHelp(t *testing.T) {
	e := newResidentEnv(t)
	if got := e.say("o_res", "帮助"); !containsAll(got, "诉求：|我的诉求|查询 编号|补充 编号|不满意") {
		t.Fatalf("help: %q", got)
	}
}
