package app_test

import (
	"context"
	"strings"
	"testing"

	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// Photos and voice sent outside a form take the free-text path, through WeChat as
// simulated: the handler of the open case gets the alert and then the photo (the
// voice) itself, sent on by its media id, never a link to it.

// send sends a hand-built message (to choose its media id) and returns the reply.
func (l *lifecycle) send(m sim.Message) string {
	l.t.Helper()
	res, err := l.d.Client.Send(context.Background(), m)
	if err != nil {
		l.t.Fatalf("%s sends %s: %v", m.From, m.Type, err)
	}
	return res.Text
}

// sentSince returns what openid received after the first n pushes, waiting until
// there are at least want of them.
func (l *lifecycle) sentSince(openid string, n, want int) []sim.Call {
	l.t.Helper()
	l.delivered(openid, n+want)
	return l.d.API.Sent(openid)[n:]
}

func TestPhotoAndVoiceReachTheHandler(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2027, 3, 3, 10, 0) // a Wednesday morning
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	no := l.fileAndClaim(app.DemoResident, "楼道灯坏了")

	// A photo: the receipt names the handler; the handler gets the alert, then the
	// picture as an image message.
	seen := len(d.API.Sent(app.DemoStaff))
	pic := "http://mmbiz.qpic.cn/sim/lamp/0"
	if got := l.send(sim.Message{From: app.DemoResident, Type: "image", PicURL: pic, MediaID: "media-lamp-1"}); !containsAll(got, "已收到|的工作人员王芳") {
		t.Fatalf("photo receipt: %q", got)
	}
	got := l.sentSince(app.DemoStaff, seen, 2)
	if len(got) != 2 || !strings.Contains(string(got[0].Body), "【居民留言 "+no+"】") || !strings.Contains(string(got[0].Body), "照片") {
		t.Fatalf("alert: %s", bodies(got))
	}
	if img := string(got[1].Body); got[1].Kind != sim.KindCustom || !strings.Contains(img, `"msgtype":"image"`) || !strings.Contains(img, "media-lamp-1") {
		t.Fatalf("the photo is not sent on as an image: %s", img)
	}
	for _, c := range got {
		if strings.Contains(string(c.Body), "http://") || strings.Contains(string(c.Body), "［图片］") {
			t.Fatalf("a link instead of the photo: %s", c.Body)
		}
	}
	if tk, _ := d.App.Store.Ticket(ctx, no); len(tk.Photos) != 1 || tk.Photos[0] != pic {
		t.Fatalf("the photo is not on the ticket: %+v", tk.Photos)
	}

	// Voice with words: the words go, as text. (The staff member writes in between,
	// which renews their allowance of customer-service messages: without one, a
	// photo or voice goes as a template saying that one came.)
	l.say(app.DemoStaff, "待办")
	seen = len(d.API.Sent(app.DemoStaff))
	l.send(sim.Message{From: app.DemoResident, Type: "voice", MediaID: "media-voice-1", Format: "amr", Recognition: "换了灯泡还是不亮"})
	if got := l.sentSince(app.DemoStaff, seen, 1); !strings.Contains(string(got[0].Body), "换了灯泡还是不亮") {
		t.Fatalf("voice words: %s", bodies(got))
	}
	// Voice with no words recognised: the voice itself goes on.
	l.say(app.DemoStaff, "待办")
	seen = len(d.API.Sent(app.DemoStaff))
	if got := l.send(sim.Message{From: app.DemoResident, Type: "voice", MediaID: "media-voice-2", Format: "amr"}); !strings.Contains(got, "已收到") {
		t.Fatalf("voice receipt: %q", got)
	}
	got = l.sentSince(app.DemoStaff, seen, 2)
	if !strings.Contains(string(got[0].Body), "语音") || !strings.Contains(string(got[1].Body), `"msgtype":"voice"`) || !strings.Contains(string(got[1].Body), "media-voice-2") {
		t.Fatalf("voice without words: %s", bodies(got))
	}

	// In a live relay a photo goes across as a photo too.
	l.say(app.DemoStaff, "对话 "+no)
	seen = len(d.API.Sent(app.DemoStaff))
	l.send(sim.Message{From: app.DemoResident, Type: "image", PicURL: pic, MediaID: "media-lamp-2"})
	if got := l.sentSince(app.DemoStaff, seen, 1); !strings.Contains(string(got[0].Body), `"msgtype":"image"`) || !strings.Contains(string(got[0].Body), "media-lamp-2") {
		t.Fatalf("relay photo: %s", bodies(got))
	}
}

// A photo from a resident with no case open is offered as a new request, the photo
// kept with it.
func TestPhotoWithNoCaseIsOfferedAsARequest(t *testing.T) {
	e := newResidentEnv(t)
	e.knownResident("o_res", "QY", "13800138000")
	pic := "http://mmbiz.qpic.cn/sim/pile/0"
	if got := e.photo("o_res", pic); !containsAll(got, "这张照片可以登记为新诉求|请选择诉求类别") {
		t.Fatalf("offer: %q", got)
	}
	e.conversation("o_res",
		[2]string{"4", "照片已收下|说完了回复「好了」"},
		[2]string{"楼下垃圾堆了一周没人清", "请核对您的诉求|楼下垃圾"})
	no := ticketNo(t, e.say("o_res", "确认"))
	if tk := e.ticket(no); len(tk.Photos) != 1 || tk.Photos[0] != pic || tk.Description != "楼下垃圾堆了一周没人清" {
		t.Fatalf("ticket %+v", tk)
	}
}

func bodies(cs []sim.Call) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Kind + " " + string(c.Body) + "\n")
	}
	return b.String()
}

// fileAndClaim files a request for openid (followed, in 七一路社区) and has the demo's
// staff member claim it; the staff member has written, so their window is open.
func (l *lifecycle) fileAndClaim(openid, text string) string {
	l.t.Helper()
	l.say(openid, "诉求")
	l.say(openid, "5") // 环境卫生
	l.say(openid, text)
	if got := l.say(openid, "13800138000"); !strings.Contains(got, "请核对") {
		l.t.Fatalf("summary: %q", got)
	}
	no := ticketNoRE.FindString(l.say(openid, "确认"))
	if no == "" {
		l.t.Fatal("no ticket number")
	}
	if got := l.say(app.DemoStaff, "接单 "+no); !strings.Contains(got, no) {
		l.t.Fatalf("claim: %q", got)
	}
	// The new request's alert goes out first: callers count the staff's pushes from
	// here (on a busy machine it could still be on its way).
	l.settle(app.DemoStaff)
	return no
}
