package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyuan/cmd/minyuan/app"
)

// chromium finds Debian's chromium (or the browser MINYUAN_TEST_CHROMIUM names).
// Without it the browser test cannot run: in CI (CI=true) that is a failure, since
// .ci/run installs it; elsewhere a skip.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/chromium", "chromium", "chromium-browser"}
	if p := os.Getenv("MINYUAN_TEST_CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "chromium not found: the browser test needs Debian's chromium package (apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// TestDemoPageInBrowser opens the demo page in headless Chromium, follows the account
// and types a message in the resident's pane, and sees the bot's replies and pushes
// appear. It leaves a screenshot in the test's temp dir (and, when
// MINYUAN_TEST_SCREENSHOT names a file, there too, to look at after the test).
func TestDemoPageInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startDemo(t, app.DemoOptions{})
	cat := catalog(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 980),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	// lastBot is the text of the newest bot line in a pane.
	lastBot := func(pane string) string {
		text, err := chromedp.Run(browser, chromedp.Evaluate[string](`(() => {
			const es = document.querySelectorAll('#pane-`+pane+` .entry.who-bot');
			return es.length ? es[es.length - 1].innerText : ''; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	waitFor := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("open the page",
		chromedp.Navigate(d.URL),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#banner`)),
	)
	// The resident does not follow the account yet: follow it, get the welcome.
	do("follow the account",
		chromedp.Click(chromedp.CSS(`#pane-resident .follow-btn`), chromedp.NodeVisible),
		waitFor(`document.querySelectorAll('#pane-resident .entry.who-bot.kind-reply').length === 1`),
	)
	if welcome := lastBot("resident"); !strings.Contains(welcome, firstLine(cat.T("welcome", nil))) {
		t.Fatalf("welcome shown as %q", welcome)
	}
	do("type 帮助 in the resident's pane",
		chromedp.SendKeys(chromedp.CSS(`#pane-resident input.msg`), "帮助", chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-resident button.send`)),
		waitFor(`document.querySelectorAll('#pane-resident .entry.who-bot.kind-reply').length === 2`),
	)
	if help := lastBot("resident"); !strings.Contains(help, firstLine(cat.T("help.resident", nil))) {
		t.Fatalf("reply to 帮助 shown as %q", help)
	}

	// Pushes through the simulated API appear live in the recipients' panes.
	if code := apiCall(t, d, "/cgi-bin/message/custom/send", `{"touser":"`+app.DemoStaff+`","msgtype":"text","text":{"content":"新诉求 A7K3：楼道灯坏了，请接单。"}}`); code != 0 {
		t.Fatalf("custom send: errcode %d", code)
	}
	if code := apiCall(t, d, "/cgi-bin/message/template/send", `{"touser":"`+app.DemoParty+`","template_id":"`+d.Config.Templates["ticket_alert"].ID+`","url":"https://example.org/v/1",`+
		`"data":{"first":{"value":"走访任务即将到期"},"keyword1":{"value":"1001"},"keyword2":{"value":"明天 17:00 前走访困难家庭🔴","color":"#FF0000"},"remark":{"value":"完成后请回复「走访完成」"}}}`); code != 0 {
		t.Fatalf("template send: errcode %d", code)
	}
	do("see the pushes",
		waitFor(`!!document.querySelector('#pane-staff .entry.who-bot.kind-custom .tag.custom')`),
		waitFor(`!!document.querySelector('#pane-party .entry.who-bot.kind-template .card')`),
	)
	// The card as WeChat shows it now: the template's title and labelled keywords;
	// no first or remark, no raw keys, emoji boxed.
	card, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector('#pane-party .entry.who-bot.kind-template .card').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"民愿待办提醒", "诉求编号", "1001", "待办事项", "明天 17:00 前走访困难家庭□"} {
		if !strings.Contains(card, want) {
			t.Errorf("template card %q lacks %q", card, want)
		}
	}
	for _, not := range []string{"keyword", "first", "remark", "走访任务即将到期", "走访完成", "🔴"} {
		if strings.Contains(card, not) {
			t.Errorf("template card %q shows %q", card, not)
		}
	}
	do("tap a menu button",
		// Staff have their own menu, with 待办 at the top.
		chromedp.Click(chromedp.CSS(`#pane-staff .menubar button[data-menu="待办"]`), chromedp.NodeVisible),
		waitFor(`document.querySelectorAll('#pane-staff .entry.who-bot.kind-reply').length === 1`),
	)
	if todo := lastBot("staff"); !strings.Contains(todo, "暂无") {
		t.Fatalf("the staff's 待办 button answered %q", todo)
	}
	// The demo may already run ahead (it starts after quiet hours): wait for the
	// offset shown to change.
	before, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector('#clock-offset').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	do("move the clock and open the call log",
		chromedp.Click(chromedp.CSS(`.clock-buttons button[data-advance="1h"]`)),
		waitFor(`document.querySelector('#clock-offset').textContent.includes('小时') && document.querySelector('#clock-offset').textContent !== `+strconv.Quote(before)),
		chromedp.Click(chromedp.CSS(`#calls-box summary`)),
	)

	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if keep := os.Getenv("MINYUAN_TEST_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }
