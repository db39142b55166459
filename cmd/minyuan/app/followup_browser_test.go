package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"minyuan/cmd/minyuan/app"
)

// TestFreeTextAfterAReplyInBrowser: on the demo page, after a staff reply, the
// resident simply writes back; the resident's phone shows the receipt, and the
// staff phone shows what they wrote, on their case; then a photo, which the staff
// phone shows as a picture.
func TestFreeTextAfterAReplyInBrowser(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	p := openRoomPage(t, d.URL)
	p.follow("resident")
	// The request form, answering what is asked, with the words a first user types.
	no := p.fileRequest("报修：3号楼2单元楼道灯坏了，晚上看不见", formAnswers{Category: "1", Community: "1", Confirm: "确认"})
	p.waitText("staff", 0, no)
	p.say("staff", "接单 "+no, no)
	p.say("staff", "回复 "+no+" 电工明天上午过来换灯。", no)
	p.waitText("resident", 0, "电工明天上午过来换灯")

	staffSeen := len(p.bot("staff"))
	text := "好的，谢谢！电工来之前麻烦给我打个电话。"
	if got := p.say("resident", text, "已收到"); strings.Contains(got, "没太明白") {
		t.Fatalf("the resident was turned away: %q", got)
	}
	got := p.waitText("staff", staffSeen, "电工来之前麻烦给我打个电话")
	if !strings.Contains(got, no) {
		t.Fatalf("the staff phone shows %q, without the case number %s", got, no)
	}

	// A photo from the tray: the staff phone shows a picture, not a link to one.
	staffSeen = len(p.bot("staff"))
	if err := chromedp.Do(p.browser,
		chromedp.Click(chromedp.CSS(`#pane-resident .plus`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`#pane-resident .tray-image`), chromedp.NodeVisible),
	); err != nil {
		t.Fatal(err)
	}
	p.waitText("staff", staffSeen, "[图片]")
	for _, e := range p.bot("staff") {
		if strings.Contains(e, "http") {
			t.Errorf("the staff phone shows a link: %q", e)
		}
	}
	p.shot("followup-staff-phone")
}
