package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
)

// After the demo clock jumps ahead (the page's +1 天), people are still answered:
// the in-process Redis's TTLs follow the demo clock, its TIME stays real.
func TestDemoAnswersAfterTheClockJumps(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	ctx := context.Background()
	help := func() string {
		t.Helper()
		got, err := d.Client.Text(ctx, app.DemoParty, "帮助")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := help()
	if !strings.Contains(before, "我的任务") {
		t.Fatalf("help before the jump: %q", before)
	}
	if _, err := d.Sim.AdvanceTo(ctx, d.Clock.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if after := help(); after != before {
		t.Fatalf("after the clock jumped two days: %q", after)
	}
}

// The morning digest follows the demo clock: nothing while it stands on the eve of
// a working day; moved past 08:30 of that day, the staff member gets it once, and
// moving on within the day sends no second one.
func TestDemoDigestFollowsTheDemoClock(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	ctx := context.Background()
	day := workdayAt(d, 2, 9)
	if _, err := d.Sim.AdvanceTo(ctx, day.AddDate(0, 0, -1).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.App.Tickets.Intake(ctx, bot.Actor{Kind: bot.ActorResident, ID: app.DemoResident}, d.Clock.Now(),
		bot.NewTicket{Community: d.Config.Communities[0].Code, Category: "sanitation", Description: "楼道灯坏了"}, "digest-clock"); err != nil {
		t.Fatal(err)
	}
	digests := func() int {
		n := 0
		for _, c := range d.API.Sent(app.DemoStaff) {
			if strings.Contains(string(c.Body), "今日待办") {
				n++
			}
		}
		return n
	}
	time.Sleep(600 * time.Millisecond) // the demo's own ticks
	if n := digests(); n != 0 {
		t.Fatalf("%d digests on the eve", n)
	}
	if _, err := d.Sim.AdvanceTo(ctx, day); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for digests() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := d.Sim.Advance(ctx, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := digests(); n != 1 {
		t.Fatalf("%d digests on the morning, want 1", n)
	}
}
