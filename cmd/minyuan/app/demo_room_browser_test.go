package app_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
)

// The demo page's rooms in headless Chromium: the hotline panel and 转人工, the
// volunteer sign-up with the check-in QR code shown as a picture, and the demo clock
// driving the morning digest, the page's invite hint, a restart and a long paste.

// roomPage drives one browser tab on the demo page.
type roomPage struct {
	t       *testing.T
	browser context.Context
}

func openRoomPage(t *testing.T, url string) *roomPage {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1200),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	p := &roomPage{t: t, browser: browser}
	p.do("open the page", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	return p
}

func (p *roomPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.browser, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *roomPage) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.browser, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// count is how many bot lines a pane shows.
func (p *roomPage) count(pane string) int {
	n, _ := strconv.Atoi(p.eval(`String(document.querySelectorAll('#pane-` + pane + ` .entry.who-bot').length)`))
	return n
}

// until waits for a JavaScript condition.
func (p *roomPage) until(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		// A page that is reloading has no body yet, or no context at all: not yet.
		v, err := chromedp.Run(p.browser, chromedp.Evaluate[string](`(() => { try { return String(!!(`+cond+`)); } catch (e) { return "false"; } })()`))
		if err == nil && v == "true" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("never: %s; the staff pane shows %q", what, p.eval(`document.querySelector('#pane-staff') ? document.querySelector('#pane-staff').innerText : ''`))
}

// waitText waits until a bot line after the first from in pane contains want.
func (p *roomPage) waitText(pane string, from int, want string) string {
	p.t.Helper()
	expr := `(() => { const es = [...document.querySelectorAll('#pane-` + pane + ` .entry.who-bot')].slice(` + strconv.Itoa(from) + `);
		const e = es.find(e => e.innerText.includes(` + strconv.Quote(want) + `)); return e ? e.innerText : ''; })()`
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := p.eval(expr); got != "" {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s pane never showed %q; it shows %q", pane, want, p.eval(`document.querySelector('#pane-`+pane+`').innerText`))
	return ""
}

// say types text in a pane and waits for a bot line containing want.
func (p *roomPage) say(pane, text, want string) string {
	p.t.Helper()
	n := p.count(pane)
	p.do(pane+" types "+text,
		chromedp.SendKeys(chromedp.CSS(`#pane-`+pane+` input.msg`), text, chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-`+pane+` button.send`)),
	)
	return p.waitText(pane, n, want)
}

// menu taps a sub-menu button.
func (p *roomPage) menu(pane, top, sub string) {
	p.t.Helper()
	p.do("tap "+top+" › "+sub,
		chromedp.Click(chromedp.CSS(`#pane-`+pane+` .menubar button[data-menu="`+top+`"]`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-`+pane+` .menubar .submenu button[data-menu="`+sub+`"]`), chromedp.NodeVisible),
	)
}

func (p *roomPage) follow(pane string) {
	p.t.Helper()
	p.do("follow", chromedp.Click(chromedp.CSS(`#pane-`+pane+` .follow-btn`), chromedp.NodeVisible))
	p.waitText(pane, 0, "欢迎")
}

// workdayAt is the first working day at least days ahead of now, at hour:00.
func workdayAt(d *app.Demo, days, hour int) time.Time {
	day := d.Clock.Now().In(calendar.Location()).AddDate(0, 0, days)
	for !d.App.Calendar.IsWorkday(day) {
		day = day.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, calendar.Location())
}

// The hotline panel: a call from the resident's linked number is pushed as a PBX
// would (newCall), logged as a call-centre screen would (POST /api/v1/hotline/calls),
// and the resident's phone gets the receipt; 转人工 from the resident's phone reaches
// the staff phone, who accepts and talks with them.
func TestDemoHotlinePanelInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	if _, err := d.Sim.AdvanceTo(context.Background(), workdayAt(d, 1, 10)); err != nil {
		t.Fatal(err)
	}
	p := openRoomPage(t, d.URL)
	p.follow("resident")
	if got := p.eval(`document.querySelector('#hotline-caller').value`); got != app.DemoResidentPhone {
		t.Fatalf("the panel's number: %q", got)
	}
	logLines := func() int {
		n, _ := strconv.Atoi(p.eval(`String(document.querySelectorAll('#hotline-log li').length)`))
		return n
	}
	press := func(event, want string) string {
		t.Helper()
		n := logLines()
		p.do("press "+event, chromedp.Click(chromedp.CSS(`#hotline button[data-call="`+event+`"]`), chromedp.NodeVisible))
		p.until("a log line after "+event, `document.querySelectorAll('#hotline-log li').length > `+strconv.Itoa(n))
		line := p.eval(`document.querySelector('#hotline-log li').innerText`)
		if !strings.Contains(line, want) || strings.Contains(p.eval(`document.querySelector('#hotline-log li').className`), "bad") {
			t.Fatalf("%s logged %q, want %q", event, line, want)
		}
		return line
	}
	res := p.count("resident")
	press("newCall", "newCall → HTTP 200")
	line := press("log", "已登记为诉求")
	no := regexp.MustCompile(`诉求 (\S+)（`).FindStringSubmatch(line)
	if no == nil || !strings.Contains(line, "HTTP 201") || !strings.Contains(line, "已关联微信") {
		t.Fatalf("log line %q", line)
	}
	receipt := p.waitText("resident", res, "来电已登记")
	if !strings.Contains(receipt, no[1]) {
		t.Fatalf("receipt %q lacks ticket %s", receipt, no[1])
	}
	press("hangup", "hangup → HTTP 200")
	tk, err := d.App.Store.Ticket(context.Background(), no[1])
	if err != nil || tk.Source != bot.SourceHotline || tk.OpenID != app.DemoResident {
		t.Fatalf("ticket %+v %v", tk, err)
	}

	// 转人工 from the resident's phone (the menu entry) reaches the staff phone.
	staff := p.count("staff")
	p.menu("resident", "更多", "转人工")
	p.waitText("resident", res, "正在为您联系")
	p.waitText("staff", staff, "接入")
	p.say("staff", "接入", "已开始与诉求")
	p.waitText("resident", res, "正在就您的诉求")
	staff = p.count("staff")
	n := p.count("resident")
	p.do("the resident writes", chromedp.SendKeys(chromedp.CSS(`#pane-resident input.msg`), "路灯修好了吗？", chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-resident button.send`)))
	p.waitText("staff", staff, "路灯修好了吗？")
	p.do("the staff writes", chromedp.SendKeys(chromedp.CSS(`#pane-staff input.msg`), "明天上午师傅就去修", chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-staff button.send`)))
	p.waitText("resident", n, "明天上午师傅就去修")
	p.say("resident", "结束", "对话已结束")
}

// Volunteers on the page: the resident signs up to a seeded activity from the menu
// and finds it under 我的报名; 我的志愿 shows the profile; on the day the staff
// phone's 签到码 brings the QR code as a picture, and the resident checks in with the
// code.
func TestDemoVolunteerSignUpAndQRInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	p := openRoomPage(t, d.URL)
	p.follow("resident")
	n := p.count("resident")
	p.menu("resident", "志愿服务", "志愿活动")
	list := p.waitText("resident", n, "义务巡逻")
	m := regexp.MustCompile(`【(\d+)】义务巡逻`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("志愿活动: %q", list)
	}
	p.say("resident", "报名 "+m[1], "报名成功")
	n = p.count("resident")
	p.menu("resident", "志愿服务", "我的报名")
	if got := p.waitText("resident", n, "我的报名"); !strings.Contains(got, "义务巡逻") || !strings.Contains(got, "已报名") {
		t.Fatalf("我的报名: %q", got)
	}
	n = p.count("resident")
	p.menu("resident", "志愿服务", "我的志愿")
	p.waitText("resident", n, "张秀兰")

	// The day of the activity: the organiser's code and its QR code picture.
	p.do("move the clock to 明天 09:00", chromedp.Click(chromedp.CSS(`.clock-buttons button[data-tomorrow="09:00"]`)))
	time.Sleep(500 * time.Millisecond)
	staff := p.count("staff")
	code := regexp.MustCompile(`签到码：(\S+)`).FindStringSubmatch(p.say("staff", "签到码 "+m[1], "签到码"))
	if code == nil {
		t.Fatalf("签到码: %q", p.eval(`document.querySelector('#pane-staff').innerText`))
	}
	defer func() {
		if t.Failed() {
			for _, c := range d.API.Calls() {
				if c.OpenID == app.DemoStaff {
					t.Logf("call %s %s %d %s", c.Time, c.Kind, c.ErrCode, c.Body)
				}
			}
		}
	}()
	p.until("the QR code shown as a picture",
		`[...document.querySelectorAll('#pane-staff .entry.who-bot')].slice(`+strconv.Itoa(staff)+`).some(e => { const i = e.querySelector('img.pic'); return i && i.complete && i.naturalWidth >= 100; })`)
	p.say("resident", "签到 "+code[1], "签到")
}

// The demo clock drives the morning digest: moved to 明天 09:00 (a working day), the
// staff phone gets 【今日待办】, not at 08:30 on the real clock.
func TestDemoDigestOnTheDemoClockInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	ctx := context.Background()
	// The eve of a working day, after the morning: nothing is due today any more.
	day := workdayAt(d, 2, 10)
	if _, err := d.Sim.AdvanceTo(ctx, day.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	resident := bot.Actor{Kind: bot.ActorResident, ID: app.DemoResident}
	if _, err := d.App.Tickets.Intake(ctx, resident, d.Clock.Now(), bot.NewTicket{Community: d.Config.Communities[0].Code,
		Category: "sanitation", Description: "楼道灯坏了", Phone: "13800138000"}, "digest-browser"); err != nil {
		t.Fatal(err)
	}
	p := openRoomPage(t, d.URL)
	p.waitText("staff", 0, "楼道灯坏了") // the new ticket's alert
	staff := p.count("staff")
	time.Sleep(1200 * time.Millisecond) // the demo's own ticks bring nothing
	if got := p.eval(`document.querySelector('#pane-staff').innerText`); strings.Contains(got, "今日待办") {
		t.Fatalf("a digest before the morning: %q", got)
	}
	p.do("move the clock to 明天 09:00", chromedp.Click(chromedp.CSS(`.clock-buttons button[data-tomorrow="09:00"]`)))
	digest := p.waitText("staff", staff, "今日待办")
	if !strings.Contains(digest, "1 件诉求未办结") {
		t.Fatalf("digest %q", digest)
	}
	if now := d.Clock.Now().In(calendar.Location()); now.Day() != day.Day() || now.Hour() != 9 {
		t.Fatalf("the clock is at %v", now)
	}
}

// After a fast-forward past the invites' 72 hours, the page's hint offers a code
// that still binds; a 2,000-character paste reaches the bot whole, and the bot
// says its limit.
func TestDemoInviteHintAndLongPasteInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	p := openRoomPage(t, d.URL)
	p.follow("resident")
	old := p.eval(`document.querySelector('#hints code').innerText`)
	if _, err := d.Sim.Advance(context.Background(), 73*time.Hour); err != nil {
		t.Fatal(err)
	}
	p.do("+30 分钟", chromedp.Click(chromedp.CSS(`.clock-buttons button[data-advance="30m"]`)))
	p.until("a fresh code in the hint", `document.querySelector('#hints code') && document.querySelector('#hints code').innerText !== `+strconv.Quote(old))
	n := p.count("resident")
	p.do("click the hint and send it",
		chromedp.Click(chromedp.CSS(`#hints code`)),
		chromedp.Click(chromedp.CSS(`#pane-resident button.send`)),
	)
	p.waitText("resident", n, "绑定成功")

	long := strings.Repeat("楼道灯坏了很久，晚上老人上下楼很不方便。", 100) // 2,000 characters
	if r := []rune(long); len(r) != 2000 {
		t.Fatalf("%d runes", len(r))
	}
	n = p.count("resident")
	// Pasted as the browser inserts text (a value set by script would pass any maxlength).
	p.eval(`(() => { const i = document.querySelector('#pane-resident input.msg'); i.focus();
		document.execCommand('insertText', false, ` + strconv.Quote(long) + `); return ''; })()`)
	p.do("send the paste", chromedp.Click(chromedp.CSS(`#pane-resident button.send`)))
	p.waitText("resident", n, fmt.Sprint(bot.MaxTicketText))
	sent := p.eval(`(() => { const es = document.querySelectorAll('#pane-resident .entry.who-user .bubble'); return es[es.length - 1].innerText; })()`)
	if len([]rune(sent)) != 2000 {
		t.Fatalf("the page sent %d characters of 2,000", len([]rune(sent)))
	}
}

// An open tab notices a restarted demo (another server on the same address) and
// loads its state.
func TestDemoTabReloadsAfterRestartInBrowser(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := func() (*app.Demo, func()) {
		cfg := configs.Default()
		cfg.HTTP.Addr = addr
		d, err := app.NewDemo(context.Background(), cfg, app.DemoOptions{Log: quietLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		return d, func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the demo did not shut down")
			}
		}
	}
	first, stop := start()
	p := openRoomPage(t, first.URL)
	p.follow("resident")
	p.eval(`(() => { window.beforeRestart = true; return ''; })()`)
	stop()
	second, stopSecond := start()
	defer stopSecond()
	p.until("the page reloaded", `document.body.dataset.ready === "true" && !window.beforeRestart`)
	// The new server's state: the resident has not followed it yet.
	p.until("the new state", `document.querySelector('#pane-resident').classList.contains('unfollowed') && !document.querySelector('#pane-resident .entry')`)
	p.follow("resident")
	if second.URL != first.URL {
		t.Fatalf("restarted at %s, was %s", second.URL, first.URL)
	}
}
