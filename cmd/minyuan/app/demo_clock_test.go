package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
