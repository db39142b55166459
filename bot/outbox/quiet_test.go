package outbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"minyuan/bot/calendar"
	"minyuan/bot/outbox"
	"minyuan/bot/sim"
)

// texts is what openid's phone shows, in order: each customer-service message, and
// each template's keyword2.
func texts(t *testing.T, api *sim.API, openid string) []string {
	t.Helper()
	var out []string
	for _, c := range api.Sent(openid) {
		var m struct {
			Text struct {
				Content string `json:"content"`
			} `json:"text"`
			Data map[string]struct {
				Value string `json:"value"`
			} `json:"data"`
		}
		if err := json.Unmarshal(c.Body, &m); err != nil {
			t.Fatal(err)
		}
		if c.Kind == sim.KindCustom {
			out = append(out, m.Text.Content)
		} else {
			out = append(out, m.Data["keyword2"].Value)
		}
	}
	return out
}

// In quiet hours a push that is not urgent waits in its recipient's queue until they
// end; an urgent one goes at once; the held ones go at 08:00 in the order they were
// made, whatever order the night put them in the due set.
func TestQuietHoursHoldPushesInOrder(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(time.Date(2026, 11, 25, 21, 0, 0, 0, calendar.Location()))
	e.wrote(t, alice)
	e.clock.Set(time.Date(2026, 11, 25, 23, 0, 0, 0, calendar.Location()))
	p := &outbox.Pusher{Queue: e.st, Quiet: calendar.DefaultQuiet(), Clock: e.clock}
	if at, held := p.HeldUntil(reply("x")); !held || !at.Equal(time.Date(2026, 11, 26, 8, 0, 0, 0, calendar.Location())) {
		t.Fatalf("HeldUntil = %v, %v; want 08:00", at, held)
	}
	opt := e.options("r1")
	opt.Gather = -1
	w, _ := run(t, opt)
	ctx := context.Background()
	for i, text := range []string{"已受理", "第一次回复", "第二次回复"} {
		r := reply("night" + string(rune('a'+i)))
		r.Text = text
		if err := p.Push(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	fire := reply("fire")
	fire.Text, fire.Urgent = "紧急：停水通知", true
	if err := p.Push(ctx, fire); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the urgent push sent", func() bool { return len(e.api.Sent(alice)) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := texts(t, e.api, alice); len(got) != 1 || got[0] != "紧急：停水通知" {
		t.Fatalf("in the night: %q", got)
	}
	e.clock.Set(time.Date(2026, 11, 26, 8, 0, 0, 0, calendar.Location()))
	e.ticking(t, w, "the held pushes sent", func() bool { return len(e.api.Sent(alice)) >= 4 })
	got := strings.Join(texts(t, e.api, alice)[1:], "|")
	if got != "已受理|第一次回复|第二次回复" {
		t.Fatalf("held pushes arrived as %q", got)
	}
}

// An urgent push made after the recipient's turn was parked until the end of quiet
// hours does not wait with the held ones: it wakes the turn. The held ones still go
// at 08:00, in order, once each.
func TestUrgentPushWakesAHeldTurn(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(time.Date(2026, 11, 25, 21, 0, 0, 0, calendar.Location()))
	e.wrote(t, alice)
	e.clock.Set(time.Date(2026, 11, 25, 23, 0, 0, 0, calendar.Location()))
	p := &outbox.Pusher{Queue: e.st, Quiet: calendar.DefaultQuiet(), Clock: e.clock}
	opt := e.options("r1")
	opt.Gather = -1
	w, _ := run(t, opt)
	ctx := context.Background()
	for i, text := range []string{"已受理", "第一次回复"} {
		r := reply("held" + string(rune('a'+i)))
		r.Text = text
		if err := p.Push(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// The turn is parked: its reminder is in the due set.
	eventually(t, "the turn parked", func() bool {
		_, ok, err := e.st.Parked(ctx, alice)
		return err == nil && ok
	})
	time.Sleep(50 * time.Millisecond)
	fire := reply("fire")
	fire.Text, fire.Urgent = "紧急：停水通知", true
	if err := p.Push(ctx, fire); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the urgent push sent in the night", func() bool { return len(e.api.Sent(alice)) == 1 })
	e.clock.Set(time.Date(2026, 11, 26, 8, 0, 0, 0, calendar.Location()))
	e.ticking(t, w, "the held pushes sent", func() bool { return len(e.api.Sent(alice)) >= 3 })
	time.Sleep(100 * time.Millisecond)
	if got := strings.Join(texts(t, e.api, alice), "|"); got != "紧急：停水通知|已受理|第一次回复" {
		t.Fatalf("arrived as %q", got)
	}
}

// ticking waits for cond, firing the due retries at every look as the scheduler
// does at every tick: a turn that read the clock just before it moved parks again,
// until a time already come, after the reminders of the moment have fired.
func (e *env) ticking(t *testing.T, w *outbox.Worker, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		e.fireRetries(t, w)
		return cond()
	})
}
