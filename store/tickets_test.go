package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

func newTicket(community, openid string, urgency bot.Urgency, created time.Time) *bot.Ticket {
	return &bot.Ticket{Community: community, Category: "dispute", Urgency: urgency, Description: "楼上漏水",
		Source: "wechat", OpenID: openid, Status: bot.StatusNew, Created: created,
		SignBy: created.Add(24 * time.Hour), DueBy: created.Add(5 * 24 * time.Hour)}
}

func TestTicketCreateIsIdempotentPerKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	nos := make([]string, 8)
	for i := range nos {
		wg.Go(func() {
			tk, err := e.st.Create(ctx, newTicket("QY", "o1", bot.UrgencyNormal, now), "m:777", bot.Event{At: now, Actor: "o1"})
			if err != nil {
				t.Error(err)
				return
			}
			nos[i] = tk.No
		})
	}
	wg.Wait()
	for _, no := range nos {
		if no != nos[0] || no == "" {
			t.Fatalf("one key made several tickets: %v", nos)
		}
	}
	mine, err := e.st.ByResident(ctx, "o1", 10)
	if err != nil || len(mine) != 1 {
		t.Fatalf("resident tickets %v %v", mine, err)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(now))
	if stats["received"] != 1 {
		t.Fatalf("stats %v", stats)
	}
}

func TestTicketQueueOrderAndUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	e.st.SetCategories([]bot.Category{{Code: "dispute", Counts: "disputes"}})
	ctx := context.Background()
	t0 := time.Now()
	old, _ := e.st.Create(ctx, newTicket("QY", "o1", bot.UrgencyNormal, t0), "k1", bot.Event{At: t0})
	newer, _ := e.st.Create(ctx, newTicket("QY", "o2", bot.UrgencyNormal, t0.Add(time.Minute)), "k2", bot.Event{At: t0})
	urgent, _ := e.st.Create(ctx, newTicket("QY", "o3", bot.UrgencyHigh, t0.Add(2*time.Minute)), "k3", bot.Event{At: t0})
	q, err := e.st.Queue(ctx, "QY", 10)
	if err != nil || len(q) != 3 || q[0].No != urgent.No || q[1].No != old.No || q[2].No != newer.No {
		t.Fatalf("queue order: %v %v", q, err)
	}
	_, err = e.st.Update(ctx, old.No, func(tk *bot.Ticket) ([]bot.Event, error) {
		tk.Status, tk.Closed, tk.Result = bot.StatusClosed, t0.Add(time.Hour), "已调解"
		return []bot.Event{{At: t0.Add(time.Hour), Actor: "staff", Kind: "closed", Text: "已调解"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.st.Update(ctx, newer.No, func(tk *bot.Ticket) ([]bot.Event, error) {
		tk.Community = "HX"
		return []bot.Event{{At: t0, Kind: "reassigned"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := e.st.Queue(ctx, "QY", 10); len(q) != 1 || q[0].No != urgent.No {
		t.Fatalf("QY queue after close and move: %v", q)
	}
	if q, _ := e.st.Queue(ctx, "HX", 10); len(q) != 1 || q[0].No != newer.No {
		t.Fatalf("HX queue: %v", q)
	}
	tl, _ := e.st.Timeline(ctx, old.No)
	if len(tl) != 2 || tl[0].Kind != "created" || tl[1].Kind != "closed" {
		t.Fatalf("timeline %+v", tl)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(t0))
	if stats["closed"] != 1 || stats["disputes"] != 1 || stats["closed_in_time"] != 1 {
		t.Fatalf("stats %v", stats)
	}
	// An error from fn changes nothing.
	_, err = e.st.Update(ctx, urgent.No, func(tk *bot.Ticket) ([]bot.Event, error) {
		tk.Status = bot.StatusClosed
		return nil, bot.Errorf(bot.EForbidden, "no")
	})
	if bot.ErrorCode(err) != bot.EForbidden {
		t.Fatalf("err %v", err)
	}
	if tk, _ := e.st.Ticket(ctx, urgent.No); tk.Status != bot.StatusNew || tk.Version != 1 {
		t.Fatalf("refused update changed the ticket: %+v", tk)
	}
	if _, err := e.st.Ticket(ctx, "99999"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("missing: %v", err)
	}
}

func TestTicketConcurrentUpdatesAllLand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	tk, _ := e.st.Create(ctx, newTicket("QY", "o1", bot.UrgencyNormal, now), "k", bot.Event{At: now})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			_, err := e.st.Update(ctx, tk.No, func(t *bot.Ticket) ([]bot.Event, error) {
				t.Photos = append(t.Photos, string(rune('a'+i)))
				return []bot.Event{{At: now, Kind: "added"}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := e.st.Ticket(ctx, tk.No)
	tl, _ := e.st.Timeline(ctx, tk.No)
	if len(got.Photos) != 5 || len(tl) != 6 || got.Version != 6 {
		t.Fatalf("photos %v, events %d, version %d", got.Photos, len(tl), got.Version)
	}
}
