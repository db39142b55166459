package app_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyuan/cmd/minyuan/app"
)

// demoPage drives the demo page in headless Chromium.
type demoPage struct {
	t       *testing.T
	browser context.Context
}

func openDemoPage(t *testing.T, d *app.Demo) *demoPage {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 980),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	p := &demoPage{t: t, browser: browser}
	if err := chromedp.Do(browser,
		chromedp.Navigate(d.URL),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *demoPage) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.browser, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// bot is the text of every bot entry in a pane, in order.
func (p *demoPage) bot(pane string) []string {
	p.t.Helper()
	v := p.eval(`JSON.stringify([...document.querySelectorAll('#pane-` + pane + ` .entry.who-bot')].map(e => e.innerText))`)
	var out []string
	for _, s := range regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(v, -1) {
		u, err := strconv.Unquote(`"` + s[1] + `"`)
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// waitText waits until a bot entry after the first from of pane contains want.
func (p *demoPage) waitText(pane string, from int, want string) string {
	p.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		es := p.bot(pane)
		for _, e := range es[min(from, len(es)):] {
			if strings.Contains(e, want) {
				return e
			}
		}
	}
	p.t.Fatalf("the %s phone never showed %q; it shows %q", pane, want, p.bot(pane))
	return ""
}

// say types text in a pane and waits for a bot entry containing want.
func (p *demoPage) say(pane, text, want string) string {
	p.t.Helper()
	n := len(p.bot(pane))
	if err := chromedp.Do(p.browser,
		chromedp.SendKeys(chromedp.CSS(`#pane-`+pane+` input.msg`), text, chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-`+pane+` button.send`)),
	); err != nil {
		p.t.Fatalf("%s types %q: %v", pane, text, err)
	}
	return p.waitText(pane, n, want)
}

// shot saves a screenshot of the page: in the test's temp dir, and in
// $MINYUAN_TEST_SCREENSHOTS (a directory) when set, to look at afterwards.
func (p *demoPage) shot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.browser, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	dirs := []string{p.t.TempDir()}
	if d := os.Getenv("MINYUAN_TEST_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

// TestDemoLifecycleReadsWellInBrowser plays a whole request on the demo page with the
// platform's allowance rules on, as a resident who writes only while filling the form:
// filed, claimed, two replies, closed, rated. The resident's phone shows each step
// once, in order, in plain Chinese (no field names, no internal codes), and no push
// was refused by the platform.
func TestDemoLifecycleReadsWellInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	p := openDemoPage(t, d)
	// Each phone shows the menu of its person: 待办 for staff only, 我的任务 for the
	// party member (personalised menus by user tag).
	menu := func(pane string) string {
		return p.eval(`[...document.querySelectorAll('#pane-` + pane + ` .menubar button')].map(b => b.dataset.menu).join(' ')`)
	}
	for pane, want := range map[string]string{"resident": "反映诉求", "staff": "待办", "party": "我的任务"} {
		if m := menu(pane); !strings.Contains(m, want) || (pane != "staff" && strings.Contains(m, "待办")) {
			t.Errorf("the %s phone's menu shows %q", pane, m)
		}
	}
	if err := chromedp.Do(p.browser, chromedp.Click(chromedp.CSS(`#pane-resident .follow-btn`), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	p.waitText("resident", 0, "")

	// The form, answering what is asked.
	reply := p.say("resident", "诉求", "")
	for range 10 {
		var answer string
		switch {
		case strings.Contains(reply, "编号"):
		case strings.Contains(reply, "请核对"):
			answer = "确认。" // as voice input types it: the full stop must not matter
		case strings.Contains(reply, "类别"):
			answer = "第一个"
		case strings.Contains(reply, "描述"):
			answer = "3号楼2单元楼道灯坏了一个星期，晚上老人上下楼看不见。"
		case strings.Contains(reply, "手机"), strings.Contains(reply, "电话"):
			answer = "13800138000"
		case strings.Contains(reply, "社区"):
			answer = "七一路"
		case strings.Contains(reply, "称呼"):
			answer = "张阿姨"
		default:
			t.Fatalf("unexpected question %q", reply)
		}
		if answer == "" {
			break
		}
		reply = p.say("resident", answer, "")
	}
	no := regexp.MustCompile(`编号\s*(\d+)`).FindStringSubmatch(reply)
	if no == nil {
		t.Fatalf("the form ended with %q", reply)
	}
	n := no[1]
	p.waitText("staff", 0, n)
	p.shot("lifecycle-1-filed")

	p.say("staff", "接单 "+n, n)
	p.say("staff", "回复 "+n+" 张阿姨您好，电工明天上午过来换灯。", n)
	p.say("staff", "回复 "+n+" 电工已到楼下，请留意敲门。", n)
	p.say("staff", "办结 "+n+" 已更换3号楼2单元楼道灯，试亮正常。", n)
	closed := p.waitText("resident", 0, "试亮正常")
	p.say("resident", "满意", "")
	p.shot("lifecycle-2-rated")

	// On the resident's phone: each step once, in order, in words people read.
	for _, e := range p.bot("resident") {
		t.Logf("resident's phone: %s", strings.ReplaceAll(e, "\n", " ⏎ "))
	}
	steps := []string{"编号 " + n, "电工明天上午过来换灯", "电工已到楼下", "试亮正常"}
	all := p.bot("resident")
	at := 0
	for _, want := range steps {
		found := -1
		for i := at; i < len(all); i++ {
			if strings.Contains(all[i], want) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Fatalf("the resident's phone does not show %q after entry %d: %q", want, at, all)
		}
		at = found + 1
		var times int
		for _, e := range all {
			times += strings.Count(e, want)
		}
		if times != 1 {
			t.Errorf("%q shows %d times on the resident's phone", want, times)
		}
	}
	// No phone shows a field name or an internal key (the hardship request also gave
	// the party member a visit task).
	raw := regexp.MustCompile(`keyword\d|\{\{|\}\}|remark|first\b|sign:|resolve:|visit:|fourone|<nil>|%!`)
	for _, pane := range []string{"resident", "staff", "party"} {
		for _, e := range p.bot(pane) {
			if m := raw.FindString(e); m != "" {
				t.Errorf("the %s phone shows %q in %q", pane, m, e)
			}
		}
	}
	if !strings.Contains(closed, "满意") {
		t.Errorf("the closing message does not ask for a rating: %q", closed)
	}
	for _, c := range d.API.Calls() {
		if c.ErrCode == 45047 || c.ErrCode == 45015 {
			t.Errorf("the platform refused a push with %d: the ladder should have known", c.ErrCode)
		}
	}
}
