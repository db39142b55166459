package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"minyuan/cmd/minyuan/app"
)

// lockedBuffer is a log sink safe for the app's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// At info level the logs of a whole request (intake, push to staff, reply, relay)
// carry neither the resident's phone number nor what anyone wrote.
func TestInfoLogsCarryNoPhoneOrMessage(t *testing.T) {
	var logs lockedBuffer
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t),
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	l := &lifecycle{t: t, d: d}
	l.at(2026, 12, 1, 10, 0)
	ctx := context.Background()
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"13912345678", "隔壁装修噪音扰民", "请小声一点谢谢", "工作人员回复内容甲乙丙"}
	l.say(app.DemoResident, "诉求")
	l.say(app.DemoResident, "矛盾纠纷")
	l.say(app.DemoResident, secrets[1])
	l.say(app.DemoResident, secrets[0])
	no := ticketNoRE.FindString(l.say(app.DemoResident, "确认"))
	if no == "" {
		t.Fatal("no ticket")
	}
	l.delivered(app.DemoStaff, 1)
	l.say(app.DemoStaff, "接单 "+no)
	l.say(app.DemoStaff, "回复 "+no+" "+secrets[3])
	l.say(app.DemoStaff, "对话 "+no)
	l.say(app.DemoResident, secrets[2])
	l.delivered(app.DemoStaff, 2)
	out := logs.String()
	if !strings.Contains(out, `"level":"INFO"`) {
		t.Fatalf("expected info logs, got %q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, app.DemoResident) || strings.Contains(line, app.DemoStaff) {
			t.Errorf("an info line names a person by their openid: %s", line)
		}
	}
	for _, s := range append(secrets, "138****") {
		if strings.Contains(out, s) {
			t.Errorf("the info logs carry %q", s)
		}
	}
}
