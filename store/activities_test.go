package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

var actT0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func newActivity(t testing.TB, st *store.Store, start time.Time, hours, capacity int) *bot.Activity {
	t.Helper()
	as, err := st.CreateActivities(context.Background(), []*bot.Activity{{
		Community: "QY", Title: "义务巡逻", Place: "七一路", Start: start,
		End: start.Add(time.Duration(hours) * time.Hour), Capacity: capacity, Created: actT0,
	}}, fmt.Sprintf("k-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return as[0]
}

// TestSignupConcurrent: 200 residents sign up at once for 50 places, half through
// one Store and half through another on its own connection (two replicas): exactly
// 50 confirmed, 150 waitlisted, each list in the order Redis took them, nobody twice;
// then 10 cancellations at once promote exactly the next 10.
func TestSignupConcurrent(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, store.Options{})
			stores := []*store.Store{e.st}
			if replicas == 2 {
				stores = append(stores, e.another(t, store.Options{}))
			}
			a := newActivity(t, e.st, actT0.Add(48*time.Hour), 3, 50)
			now := actT0

			type got struct {
				id  string
				res bot.SignupResult
			}
			results := make([]got, 200)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 200 {
				wg.Go(func() {
					<-start
					id := fmt.Sprintf("o_res%03d", i)
					r, err := stores[i%len(stores)].SignUp(ctx, a, id, now)
					if err != nil {
						t.Errorf("%s: %v", id, err)
					}
					results[i] = got{id, r}
				})
			}
			close(start)
			wg.Wait()

			r, err := e.st.Roster(ctx, a.No)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Confirmed) != 50 || len(r.Waitlisted) != 150 {
				t.Fatalf("confirmed %d, waitlisted %d; want 50 and 150", len(r.Confirmed), len(r.Waitlisted))
			}
			all := append(slices.Clone(r.Confirmed), r.Waitlisted...)
			slices.Sort(all)
			if len(slices.Compact(all)) != 200 {
				t.Fatalf("someone is on the lists twice")
			}
			// Each person was told the place the list keeps them at: the lists are
			// in the order the sign-ups arrived.
			confirmed, waitlisted := 0, 0
			for _, g := range results {
				list := r.Confirmed
				if g.res.State == bot.SignupWaitlisted {
					list, waitlisted = r.Waitlisted, waitlisted+1
				} else {
					confirmed++
				}
				if g.res.Position < 1 || g.res.Position > len(list) || list[g.res.Position-1] != g.id {
					t.Fatalf("%s told %s #%d, but the list has it elsewhere", g.id, g.res.State, g.res.Position)
				}
			}
			if confirmed != 50 || waitlisted != 150 {
				t.Fatalf("told: %d confirmed, %d waitlisted", confirmed, waitlisted)
			}

			// A second sign-up by the same person is refused.
			if _, err := e.st.SignUp(ctx, a, r.Confirmed[0], now); bot.ErrorCode(err) != bot.EConflict {
				t.Fatalf("second sign-up: %v", err)
			}

			// 10 confirmed people cancel at once: exactly the first 10 waitlisted move up.
			promoted := make([]string, 10)
			for i := range 10 {
				wg.Go(func() {
					c, err := stores[i%len(stores)].CancelSignup(ctx, a, r.Confirmed[i], now, time.Hour)
					if err != nil {
						t.Errorf("cancel: %v", err)
					}
					if c.Was != bot.SignupConfirmed || c.Late {
						t.Errorf("cancel result %+v", c)
					}
					promoted[i] = c.Promoted
				})
			}
			wg.Wait()
			slices.Sort(promoted)
			want := slices.Clone(r.Waitlisted[:10])
			slices.Sort(want)
			if !slices.Equal(promoted, want) {
				t.Fatalf("promoted %v, want the first ten waitlisted %v", promoted, want)
			}
			r2, err := e.st.Roster(ctx, a.No)
			if err != nil {
				t.Fatal(err)
			}
			if len(r2.Confirmed) != 50 || len(r2.Waitlisted) != 140 || !slices.Equal(r2.Waitlisted, r.Waitlisted[10:]) {
				t.Fatalf("after cancellations: confirmed %d, waitlisted %d", len(r2.Confirmed), len(r2.Waitlisted))
			}
			// Promoted people keep their arrival order among the confirmed.
			if !slices.Equal(r2.Confirmed, append(slices.Clone(r.Confirmed[10:]), r.Waitlisted[:10]...)) {
				t.Fatalf("confirmed after promotion out of order")
			}
		})
	}
}

func TestSignupRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, store.Options{})
	a := newActivity(t, e.st, actT0.Add(24*time.Hour), 2, 1)
	b := newActivity(t, e.st, actT0.Add(25*time.Hour), 2, 5) // overlaps a
	c := newActivity(t, e.st, actT0.Add(26*time.Hour), 2, 5) // right after a

	if r, err := e.st.SignUp(ctx, a, "o_a", actT0); err != nil || r.State != bot.SignupConfirmed {
		t.Fatalf("sign up: %+v %v", r, err)
	}
	if _, err := e.st.SignUp(ctx, b, "o_a", actT0); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("overlapping sign-up: %v", err)
	}
	if r, err := e.st.SignUp(ctx, c, "o_a", actT0); err != nil || r.State != bot.SignupConfirmed {
		t.Fatalf("back-to-back sign-up: %+v %v", r, err)
	}
	// Started: refused.
	if _, err := e.st.SignUp(ctx, b, "o_b", a.Start.Add(time.Hour)); bot.ErrorCode(err) != bot.EExpired {
		t.Fatalf("sign-up after the start: %v", err)
	}
	// Cancelled: refused.
	if _, err := e.st.UpdateActivity(ctx, b.No, func(x *bot.Activity) error { x.Status = bot.ActivityCancelled; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SignUp(ctx, b, "o_b", actT0); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("sign-up to a cancelled activity: %v", err)
	}
	r, _ := e.st.Roster(ctx, b.No)
	if len(r.Confirmed)+len(r.Waitlisted) != 0 {
		t.Fatalf("refusals changed the lists: %+v", r)
	}
	// Late cancellation: counted, and the waitlisted person moves up.
	if r, err := e.st.SignUp(ctx, a, "o_w", actT0); err != nil || r.State != bot.SignupWaitlisted || r.Position != 1 {
		t.Fatalf("waitlist: %+v %v", r, err)
	}
	cr, err := e.st.CancelSignup(ctx, a, "o_a", a.Start.Add(-time.Hour), 2*time.Hour)
	if err != nil || !cr.Late || cr.Promoted != "o_w" {
		t.Fatalf("late cancel: %+v %v", cr, err)
	}
	if _, err := e.st.CancelSignup(ctx, a, "o_a", a.Start.Add(-time.Hour), 2*time.Hour); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("cancel twice: %v", err)
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(actT0))
	if stats["volunteer.late_cancels"] != 1 || stats["volunteer.signups"] != 3 || stats["volunteer.activities"] != 3 {
		t.Fatalf("counters %v", stats)
	}
}

func TestCheckInOutAndPoints(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, store.Options{})
	a := newActivity(t, e.st, actT0.Add(24*time.Hour), 2, 5)
	for _, id := range []string{"o_a", "o_b"} {
		if _, err := e.st.SignUp(ctx, a, id, actT0); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.CheckIn(ctx, a, "o_x", a.Start); bot.ErrorCode(err) != bot.EForbidden {
		t.Fatalf("check-in of someone not signed up: %v", err)
	}
	if _, err := e.st.CheckOut(ctx, a, "o_a", a.Start, 10); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("check-out before check-in: %v", err)
	}
	if err := e.st.CheckIn(ctx, a, "o_a", a.Start.Add(-20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CheckIn(ctx, a, "o_a", a.Start); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("second check-in: %v", err)
	}
	// 20 minutes early to 10 minutes late is 2.5 h: capped at the 2 h it lasts.
	c, err := e.st.CheckOut(ctx, a, "o_a", a.End.Add(10*time.Minute), 10)
	if err != nil || c.Minutes != 120 || c.Points != 20 {
		t.Fatalf("check-out: %+v %v", c, err)
	}
	if _, err := e.st.CheckOut(ctx, a, "o_a", a.End, 10); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("second check-out: %v", err)
	}
	// 补签 for o_b, 90 minutes.
	if c, err := e.st.Adjust(ctx, a, "o_b", 90, "o_staff", a.End.Add(20*time.Hour), 10); err != nil || c.Points != 15 {
		t.Fatalf("adjust: %+v %v", c, err)
	}
	tot, err := e.st.Totals(ctx, "o_a")
	if err != nil || tot.Minutes != 120 || tot.Points != 20 || tot.YearMinutes[2026] != 120 {
		t.Fatalf("totals %+v %v", tot, err)
	}
	// Redeem: never below zero.
	if _, err := e.st.RedeemPoints(ctx, "o_a", 21, "大米", "o_staff", "QY", a.End); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("redeem beyond the balance: %v", err)
	}
	l, err := e.st.RedeemPoints(ctx, "o_a", 15, "大米", "o_staff", "QY", a.End)
	if err != nil || l.Balance != 5 {
		t.Fatalf("redeem: %+v %v", l, err)
	}
	led, err := e.st.Ledger(ctx, "o_a")
	if err != nil || len(led) != 2 || led[0].Points != 20 || led[1].Points != -15 || led[1].Item != "大米" || !led[1].At.Equal(a.End) {
		t.Fatalf("ledger %+v %v", led, err)
	}
	att, _ := e.st.Attendance(ctx, a.No)
	if len(att) != 2 {
		t.Fatalf("attendance %+v", att)
	}
}
