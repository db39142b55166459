package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
)

// The morning digest reaches each staff member of a community with open requests,
// once a day, and not on days off.
func TestDailyDigest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.app.Store
	inv, err := st.CreateInvite(ctx, bot.RoleStaff, "QY", "王芳", e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.say("o_wang", "绑定 "+inv.Code); !strings.Contains(got, "绑定成功") {
		t.Fatal(got)
	}
	now := e.clock.Now()
	old := &bot.Ticket{Community: "QY", Category: "other", Description: "路灯不亮", Source: "wechat", Status: bot.StatusNew,
		Created: now.Add(-72 * time.Hour), SignBy: now.Add(-48 * time.Hour), DueBy: now.Add(-time.Hour)}
	if _, err := st.Create(ctx, old, "digest-test", bot.Event{At: old.Created, Actor: "o_res"}); err != nil {
		t.Fatal(err)
	}

	// The env's clock: Tuesday 24 November. The job runs twice that morning; the
	// staff member gets one digest.
	for range 2 {
		if err := e.app.DailyDigest(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := st.Queued(ctx, "o_wang", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Push.To != "o_wang" || !strings.Contains(msgs[0].Push.Text, "1 件诉求未办结") || !strings.Contains(msgs[0].Push.Text, "1 件已超期") {
		t.Fatalf("digests queued: %+v", msgs)
	}

	e.clock.Advance(24 * time.Hour) // Wednesday: a new day, a new digest
	if err := e.app.DailyDigest(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := st.Queued(ctx, "o_wang", 10); err != nil || len(msgs) != 2 || msgs[1].Push.To != "o_wang" {
		t.Fatalf("Wednesday's digest: %+v %v", msgs, err)
	}

	e.clock.Advance(3 * 24 * time.Hour) // Saturday
	if err := e.app.DailyDigest(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := st.Queued(ctx, "o_wang", 10); err != nil || len(msgs) != 2 {
		t.Fatalf("a digest on a Saturday: %+v %v", msgs, err)
	}
}
