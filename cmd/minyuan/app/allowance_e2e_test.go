package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
)

// phoneTexts is what openid's phone shows of the bot's pushes, in order, with how
// each came: customer-service messages as sent, template cards as rendered.
func phoneTexts(t *testing.T, api *sim.API, openid string) (texts, kinds []string) {
	t.Helper()
	for _, c := range api.Sent(openid) {
		kinds = append(kinds, c.Kind)
		if c.Kind == sim.KindTemplate {
			texts = append(texts, api.Card(c.Body).Text())
			continue
		}
		var m struct {
			Text struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		if err := json.Unmarshal(c.Body, &m); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, m.Text.Content)
	}
	return texts, kinds
}

// settle waits until the outbox has done what it can for openid now: their queue is
// empty, or their turn waits in the due set (to gather, or for quiet hours).
func (l *lifecycle) settle(openid string) {
	l.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		qs, err := l.d.App.Store.Queued(ctx, openid, 1)
		if err != nil {
			l.t.Fatal(err)
		}
		_, parked, err := l.d.App.Store.Parked(ctx, openid)
		if err != nil {
			l.t.Fatal(err)
		}
		if len(qs) == 0 || parked {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("the outbox did not settle for %s", openid)
}

// With WeChat's rules on: the resident writes once (files a request), then the
// staff member sends seven replies over a day. Each reaches the resident exactly
// once, in order: customer-service messages while the allowance lasts, the last of
// them inviting a reply, then template cards. The platform never has to refuse a
// send with 45047: the ladder knew.
func TestSevenRepliesAfterOneMessage(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 8, 9, 0) // a Tuesday
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	l.say(app.DemoResident, "诉求")
	l.say(app.DemoResident, "治安安全")
	l.say(app.DemoResident, "小区东门的监控坏了")
	l.say(app.DemoResident, "13800138000")
	no := ticketNoRE.FindString(l.say(app.DemoResident, "确认"))
	if no == "" {
		t.Fatal("no ticket number")
	}
	l.at(2026, 12, 8, 9, 5)
	if got := l.say(app.DemoStaff, "接单 "+no); !strings.Contains(got, no) {
		t.Fatalf("claim: %q", got)
	}
	l.settle(app.DemoResident)
	replies := []string{}
	for i := range 7 {
		l.at(2026, 12, 8, 10+i, 0)
		text := fmt.Sprintf("第%d次回复：已联系物业处理监控。", i+1)
		replies = append(replies, text)
		if got := l.say(app.DemoStaff, "回复 "+no+" "+text); !strings.Contains(got, no) {
			t.Fatalf("reply %d: %q", i+1, got)
		}
		l.settle(app.DemoResident)
	}
	l.at(2026, 12, 8, 18, 0) // whatever waits to gather goes
	deadline := time.Now().Add(10 * time.Second)
	var texts, kinds []string
	for time.Now().Before(deadline) {
		texts, kinds = phoneTexts(t, d.API, app.DemoResident)
		if n := strings.Count(strings.Join(texts, "\n"), "次回复："); n >= 7 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := strings.Join(texts, "\n")
	last := -1
	for i, r := range replies {
		if n := strings.Count(all, r); n != 1 {
			t.Fatalf("reply %d reached the resident %d times:\n%s", i+1, n, all)
		}
		at := strings.Index(all, r)
		if at < last {
			t.Fatalf("reply %d arrived before reply %d:\n%s", i+1, i, all)
		}
		last = at
	}
	custom := 0
	invited := 0
	for i, k := range kinds {
		if k == sim.KindCustom {
			custom++
			if strings.Contains(texts[i], "回复任意内容") {
				invited++
				if custom != 5 {
					t.Errorf("invitation on customer-service message %d, not the fifth", custom)
				}
			}
		} else if custom < 5 {
			t.Errorf("a template (%d) before the allowance was spent: %v", i+1, kinds)
		}
	}
	if custom != 5 || invited != 1 {
		t.Fatalf("%d customer-service messages (%d inviting a reply), want 5 and 1: %v\n%s", custom, invited, kinds, all)
	}
	for _, c := range d.API.Calls() {
		if c.ErrCode == sim.ErrCustomQuota || c.ErrCode == sim.ErrWindowClosed {
			t.Fatalf("the platform refused a send: %+v", c)
		}
	}
	t.Logf("the resident's phone:\n%s", all)
}
