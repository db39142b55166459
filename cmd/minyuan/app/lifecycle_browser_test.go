package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"minyuan/cmd/minyuan/app"
)

// bot is the text of every bot entry in a pane, in order.
func (p *roomPage) bot(pane string) []string {
	p.t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(p.eval(`JSON.stringify([...document.querySelectorAll('#pane-`+pane+` .entry.who-bot')].map(e => e.innerText))`)), &out); err != nil {
		p.t.Fatal(err)
	}
	return out
}

// shot saves a screenshot of the page: in the test's temp dir, and in
// $MINYUAN_TEST_SCREENSHOTS (a directory) when set, to look at afterwards.
func (p *roomPage) shot(name string) {
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

// formAnswers are what the resident answers in the request form; Description may
// be empty when the first message carries it.
type formAnswers struct{ Category, Description, Community, Confirm string }

// fileRequest has the resident send first and answer what the form asks, and
// returns the ticket number they are told.
func (p *roomPage) fileRequest(first string, a formAnswers) string {
	p.t.Helper()
	reply := p.say("resident", first, "")
	for range 10 {
		var answer string
		switch {
		case strings.Contains(reply, "编号"):
			if m := regexp.MustCompile(`编号\s*(\d+)`).FindStringSubmatch(reply); m != nil {
				return m[1]
			}
			p.t.Fatalf("the form ended with %q", reply)
		case strings.Contains(reply, "请核对"):
			answer = a.Confirm
		case strings.Contains(reply, "类别"):
			answer = a.Category
		case strings.Contains(reply, "描述") && a.Description != "":
			answer = a.Description
		case strings.Contains(reply, "手机"), strings.Contains(reply, "电话"):
			answer = "13800138000"
		case strings.Contains(reply, "社区"):
			answer = a.Community
		case strings.Contains(reply, "称呼"):
			answer = "张阿姨"
		default:
			p.t.Fatalf("unexpected question %q", reply)
		}
		reply = p.say("resident", answer, "")
	}
	p.t.Fatalf("the form did not end: %q", reply)
	return ""
}

// TestDemoLifecycleReadsWellInBrowser plays a whole request on the demo page with the
// platform's allowance rules on, as a resident who writes only while filling the form:
// filed, claimed, two replies, closed, rated. The resident's phone shows each step
// once, in order, in plain Chinese (no field names, no internal codes), and no push
// was refused by the platform.
func TestDemoLifecycleReadsWellInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	p := openRoomPage(t, d.URL)
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
	p.follow("resident")

	// The form, answering as voice input and an older resident do: the full stop
	// after 确认 and the words 第一个 and 七一路 must not matter.
	n := p.fileRequest("诉求", formAnswers{Category: "第一个",
		Description: "3号楼2单元楼道灯坏了一个星期，晚上老人上下楼看不见。", Community: "七一路", Confirm: "确认。"})
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
