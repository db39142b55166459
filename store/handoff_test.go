package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/store"
)

type deskHours struct{ cal *calendar.Calendar }

func (h deskHours) IsOpen(t time.Time) bool        { return h.cal.IsOpen(t, calendar.DefaultHours()) }
func (h deskHours) NextOpen(t time.Time) time.Time { return h.cal.NextOpen(t, calendar.DefaultHours()) }

type handoffNotes struct {
	mu         sync.Mutex
	offers     []string
	unanswered int
}

func (n *handoffNotes) HandoffOffer(_ context.Context, _ *bot.Handoff, g bot.Grant, _ time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.offers = append(n.offers, g.Name)
	return nil
}

func (n *handoffNotes) HandoffUnanswered(context.Context, *bot.Handoff) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.unanswered++
	return nil
}

func bindStaff(t *testing.T, st *store.Store, openid, name string, role bot.Role) bot.Actor {
	t.Helper()
	inv, err := st.CreateInvite(t.Context(), role, "QY", name, hlStart, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.Redeem(t.Context(), inv.Code, openid, hlStart)
	if err != nil {
		t.Fatal(err)
	}
	return bot.Actor{Kind: bot.ActorStaff, ID: openid, Name: name, Grants: []bot.Grant{g}}
}

func TestHandoffGoesToDutyThenNextThenNobody(t *testing.T) {
	e := newEnv(t, store.Options{})
	ctx := t.Context()
	n := &handoffNotes{}
	svc := &bot.HandoffService{Store: e.st, Hours: deskHours{calendar.New(calendar.Overrides{})}, Directory: e.st,
		Reminders: e.st, Notify: n, AcceptWithin: 3 * time.Minute}
	bindStaff(t, e.st, "o-a", "安静", bot.RoleStaff)
	wang := bindStaff(t, e.st, "o-w", "王芳", bot.RoleStaff)
	sec := bindStaff(t, e.st, "o-s", "书记", bot.RoleSecretary)
	if err := e.st.SetOnDuty(ctx, "o-w", []string{"QY"}, true); err != nil {
		t.Fatal(err)
	}
	resident := bot.Actor{Kind: bot.ActorResident, ID: "o-res"}
	at := hlStart // Monday 10:00, open

	out, err := svc.Request(ctx, resident, at, "QY", "我家漏水了")
	if err != nil || out.State != bot.HandoffWaiting || out.Asked.Name != "王芳" {
		t.Fatalf("request: %+v %v", out, err)
	}
	if again, _ := svc.Request(ctx, resident, at, "QY", "在吗"); !again.Already {
		t.Fatal("asking twice started a second round")
	}
	// Somebody not asked yet cannot take it.
	if _, _, err := svc.Accept(ctx, sec, at, ""); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("not asked yet: %v", err)
	}
	next := func(i int, when time.Time) {
		t.Helper()
		r, ok, err := e.st.Reminder(ctx, bot.HandoffNextID("o-res", at, i))
		if err != nil || !ok {
			t.Fatalf("no reminder for ask %d: %v", i, err)
		}
		if !r.Due.Equal(when) {
			t.Fatalf("ask %d moves on at %v, want %v", i, r.Due, when)
		}
		if err := svc.Next(ctx, when, r); err != nil {
			t.Fatal(err)
		}
	}
	next(0, at.Add(3*time.Minute))
	next(1, at.Add(6*time.Minute))
	if !slices.Equal(n.offers, []string{"王芳", "书记", "安静"}) {
		t.Fatalf("asked %v, want on duty first, then the others by name", n.offers)
	}
	// The first one asked may still take it while it waits.
	h, _, err := svc.Accept(ctx, wang, at.Add(7*time.Minute), "")
	if err != nil || h.State != bot.HandoffAccepted || h.Text != "我家漏水了" {
		t.Fatalf("accept: %+v %v", h, err)
	}
	if _, ok, _ := e.st.Reminder(ctx, bot.HandoffNextID("o-res", at, 2)); ok {
		t.Fatal("the reminder stays after the accept")
	}

	// Nobody accepts: after the last one the resident is told.
	other := bot.Actor{Kind: bot.ActorResident, ID: "o-res2"}
	if _, err := svc.Request(ctx, other, at, "QY", "想咨询低保"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r, _, _ := e.st.Reminder(ctx, bot.HandoffNextID("o-res2", at, i))
		if err := svc.Next(ctx, r.Due, r); err != nil {
			t.Fatal(err)
		}
	}
	h, _, _ = svc.Pending(ctx, "o-res2")
	if n.unanswered != 1 || h.State != bot.HandoffNobody || h.Text != "想咨询低保" {
		t.Fatalf("nobody accepted: told %d, %+v", n.unanswered, h)
	}
	if _, _, err := svc.Accept(ctx, wang, at.Add(time.Hour), ""); err == nil {
		t.Fatal("a request nobody took was accepted after all")
	}
}

func TestHandoffOutsideHoursSaysWhenTheDeskOpens(t *testing.T) {
	e := newEnv(t, store.Options{})
	svc := &bot.HandoffService{Store: e.st, Hours: deskHours{calendar.New(calendar.Overrides{})}, Directory: e.st,
		Reminders: e.st, Notify: &handoffNotes{}}
	bindStaff(t, e.st, "o-w", "王芳", bot.RoleStaff)
	loc := calendar.Location()
	for _, c := range []struct{ at, open time.Time }{
		{time.Date(2026, 11, 27, 17, 45, 0, 0, loc), time.Date(2026, 11, 30, 8, 30, 0, 0, loc)},  // Friday evening
		{time.Date(2026, 9, 30, 18, 0, 0, 0, loc), time.Date(2026, 10, 8, 8, 30, 0, 0, loc)},     // before National Day
		{time.Date(2026, 11, 30, 12, 30, 0, 0, loc), time.Date(2026, 11, 30, 14, 30, 0, 0, loc)}, // lunch break
	} {
		out, err := svc.Request(t.Context(), bot.Actor{Kind: bot.ActorResident, ID: "o-" + c.at.String()}, c.at, "QY", "")
		if err != nil || !out.Closed || !out.NextOpen.Equal(c.open) {
			t.Fatalf("at %v: %+v %v, want open at %v", c.at, out, err, c.open)
		}
	}
}
