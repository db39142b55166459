package app_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyuan/cmd/minyuan/app"
)

// TestDemoVisitInBrowser plays the demo's party-member story on the page: the
// resident files a hardship request, 李建国's pane receives the visit task, the clock
// buttons bring its reminder, he completes it with a report, and the staff pane (the
// branch secretary) hears of it.
func TestDemoVisitInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startDemo(t, app.DemoOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 980),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(browser, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	count := func(pane string) int {
		n, _ := strconv.Atoi(eval(`String(document.querySelectorAll('#pane-` + pane + ` .entry.who-bot').length)`))
		return n
	}
	// waitText waits until a bot entry after the first from in pane contains want.
	waitText := func(pane string, from int, want string) string {
		t.Helper()
		expr := `(() => { const es = [...document.querySelectorAll('#pane-` + pane + ` .entry.who-bot')].slice(` + strconv.Itoa(from) + `);
			const e = es.find(e => e.innerText.includes(` + strconv.Quote(want) + `)); return e ? e.innerText : ''; })()`
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if got := eval(expr); got != "" {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s pane never showed %q; it shows %q", pane, want, eval(`document.querySelector('#pane-`+pane+`').innerText`))
		return ""
	}
	say := func(pane, text, want string) string {
		t.Helper()
		n := count(pane)
		if err := chromedp.Do(browser,
			chromedp.SendKeys(chromedp.CSS(`#pane-`+pane+` input.msg`), text, chromedp.NodeVisible),
			chromedp.Click(chromedp.CSS(`#pane-`+pane+` button.send`)),
		); err != nil {
			t.Fatalf("%s types %q: %v", pane, text, err)
		}
		return waitText(pane, n, want)
	}

	if err := chromedp.Do(browser,
		chromedp.Navigate(d.URL),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.Click(chromedp.CSS(`#pane-resident .follow-btn`), chromedp.NodeVisible),
	); err != nil {
		t.Fatal(err)
	}
	waitText("resident", 0, "欢迎")
	party := count("party")
	say("resident", "诉求", "困难求助")
	say("resident", "困难求助", "描述")
	say("resident", "老伴去世后独居，低保停发，家里断粮", "社区")
	say("resident", "1", "手机")
	say("resident", "13800138000", "确认")
	say("resident", "确认", "编号")

	task := waitText("party", party, "走访任务")
	no := regexp.MustCompile(`走访任务 (\d{3})`).FindStringSubmatch(task)
	if no == nil || strings.Contains(task, "断粮") {
		t.Fatalf("the task push: %q", task)
	}
	if got := say("party", "任务 "+no[1], "情况"); !strings.Contains(got, "断粮") {
		t.Fatalf("任务 in chat shows the details to the member: %q", got)
	}
	// The clock buttons bring the day-before reminder.
	reminded := count("party")
	for i := 0; ; i++ {
		if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(`.clock-buttons button[data-advance="24h"]`))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if strings.Contains(eval(`document.querySelector('#pane-party').innerText`), "明天到期") {
			break
		}
		if i == 6 {
			t.Fatalf("no reminder after a week: %q", eval(`document.querySelector('#pane-party').innerText`))
		}
	}
	waitText("party", reminded, "明天到期")
	staff := count("staff")
	say("party", "完成 "+no[1]+" 已上门看望，协助申请低保，送去米面油", "已完成")
	waitText("staff", staff, "走访完成")
}
