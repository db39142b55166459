package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

func newVisit(community, event string, deadline time.Time) *bot.Visit {
	return &bot.Visit{Community: community, Trigger: bot.TriggerHardship, Kind: bot.VisitHardship, Event: event,
		Person: bot.Person{Name: "张大妈", Address: "幸福里3栋"}, Reason: "独居，行动不便",
		Status: bot.VisitNew, Created: deadline.Add(-72 * time.Hour), Deadline: deadline}
}

// The same event arriving at once from several places makes one task, counted once.
func TestVisitCreateOncePerEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	nos := make([]string, 8)
	made := make([]bool, 8)
	for i := range nos {
		wg.Go(func() {
			v, created, err := e.st.CreateVisit(ctx, newVisit("QY", "ticket:1001:hardship", now), bot.VisitEvent{At: now, Actor: "system"})
			if err != nil {
				t.Error(err)
				return
			}
			nos[i], made[i] = v.No, created
		})
	}
	wg.Wait()
	creators := 0
	for i, no := range nos {
		if no != nos[0] || no == "" {
			t.Fatalf("one event made several tasks: %v", nos)
		}
		if made[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d callers were told they created the task", creators)
	}
	other, created, err := e.st.CreateVisit(ctx, newVisit("QY", "ticket:1002:hardship", now), bot.VisitEvent{At: now})
	if err != nil || !created || other.No == nos[0] {
		t.Fatalf("another event: %+v %v %v", other, created, err)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(now))
	if stats["visit.created:hardship"] != 2 {
		t.Fatalf("stats %v", stats)
	}
	if tl, _ := e.st.VisitTimeline(ctx, nos[0]); len(tl) != 1 || tl[0].Kind != "created" {
		t.Fatalf("timeline %+v", tl)
	}
}

// Assigning, handing back and re-assigning moves the task between members' lists;
// completion in time and overdue flags are counted once.
func TestVisitUpdateMovesIndexesAndCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	v, _, err := e.st.CreateVisit(ctx, newVisit("QY", "ev1", now.Add(48*time.Hour)), bot.VisitEvent{At: now})
	if err != nil {
		t.Fatal(err)
	}
	set := func(fn func(v *bot.Visit)) *bot.Visit {
		t.Helper()
		out, err := e.st.UpdateVisit(ctx, v.No, func(v *bot.Visit) ([]bot.VisitEvent, error) {
			fn(v)
			return []bot.VisitEvent{{At: now, Kind: "x"}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	set(func(v *bot.Visit) { v.Status, v.Assignee = bot.VisitAssigned, "m1" })
	if mine, _ := e.st.MemberVisits(ctx, "m1"); len(mine) != 1 {
		t.Fatalf("m1 sees %d", len(mine))
	}
	set(func(v *bot.Visit) { v.Assignee = "m2" })
	if mine, _ := e.st.MemberVisits(ctx, "m1"); len(mine) != 0 {
		t.Fatalf("m1 still lists a task handed on: %d", len(mine))
	}
	if theirs, _ := e.st.MemberVisits(ctx, "m2"); len(theirs) != 1 {
		t.Fatalf("m2 sees %d", len(theirs))
	}
	// A refused change leaves everything as it was.
	_, err = e.st.UpdateVisit(ctx, v.No, func(v *bot.Visit) ([]bot.VisitEvent, error) {
		v.Assignee = "m3"
		return nil, bot.Errorf(bot.EConflict, "no")
	})
	if bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("refused: %v", err)
	}
	set(func(v *bot.Visit) { v.Overdue = true })
	set(func(v *bot.Visit) { v.Overdue = true })
	done := set(func(v *bot.Visit) { v.Status, v.Done, v.Report = bot.VisitDone, now, "已看望" })
	if done.Assignee != "m2" || done.Version != 6 {
		t.Fatalf("done %+v", done)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(now))
	if stats["visit.overdue:hardship"] != 1 || stats["visit.done:hardship"] != 1 || stats["visit.done_in_time:hardship"] != 0 {
		t.Fatalf("stats %v", stats)
	}
	branch, _ := e.st.BranchVisits(ctx, "QY")
	if len(branch) != 1 || branch[0].Status != bot.VisitDone {
		t.Fatalf("branch %+v", branch)
	}
	if other, _ := e.st.BranchVisits(ctx, "HX"); len(other) != 0 {
		t.Fatalf("another branch sees %d", len(other))
	}
	if tl, _ := e.st.VisitTimeline(ctx, v.No); len(tl) != 6 {
		t.Fatalf("timeline has %d events", len(tl))
	}
	if _, err := e.st.Visit(ctx, "999999"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("missing: %v", err)
	}
}

// A 四个一 entry is recorded and counted once per report, kept per year.
func TestFourOneOncePerReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	en := bot.FourOneEntry{ID: "m:1", OpenID: "m1", Item: bot.FourGoodDeed, Text: "修水管", At: at}
	for range 3 {
		if _, err := e.st.AddFourOne(ctx, "QY", en); err != nil {
			t.Fatal(err)
		}
	}
	en2 := en
	en2.ID, en2.Item, en2.At = "m:2", bot.FourInfo, at.AddDate(1, 0, 0)
	if added, err := e.st.AddFourOne(ctx, "QY", en2); !added || err != nil {
		t.Fatalf("next year's entry: %v %v", added, err)
	}
	got, _ := e.st.FourOne(ctx, "m1", 2026)
	if len(got) != 1 || got[0].Text != "修水管" {
		t.Fatalf("2026: %+v", got)
	}
	if next, _ := e.st.FourOne(ctx, "m1", 2027); len(next) != 1 || next[0].Item != bot.FourInfo {
		t.Fatalf("2027: %+v", next)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(at))
	if stats["fourone:good_deed"] != 1 {
		t.Fatalf("stats %v", stats)
	}
}

func TestPairings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	at := time.Now()
	p1, err := e.st.CreatePairing(ctx, &bot.Pairing{Community: "QY", Member: "m1", Kind: bot.PairElderly, Person: bot.Person{Name: "赵奶奶"}, Every: 1, Started: at})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.st.CreatePairing(ctx, &bot.Pairing{Community: "QY", Member: "m2", Kind: bot.PairDisabled, Person: bot.Person{Name: "钱叔"}, Every: 2, Started: at})
	if p1.ID == p2.ID {
		t.Fatal("two pairings, one ID")
	}
	ended, err := e.st.EndPairing(ctx, p1.ID, at)
	if err != nil || ended.Active() {
		t.Fatalf("end: %+v %v", ended, err)
	}
	again, _ := e.st.EndPairing(ctx, p1.ID, at.Add(time.Hour))
	if !again.Ended.Equal(ended.Ended) {
		t.Fatal("ending twice moved the end")
	}
	list, _ := e.st.Pairings(ctx, "QY")
	if len(list) != 2 || list[0].ID != p1.ID || list[0].Active() || !list[1].Active() {
		t.Fatalf("list %+v", list)
	}
	if _, err := e.st.EndPairing(ctx, "P999", at); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("missing: %v", err)
	}
}
