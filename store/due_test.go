package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/store"
)

// dueT0 is a fixed "now" for the due-set tests: the store reads no clock of its own.
var dueT0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func rem(id string, due time.Time) bot.Reminder {
	return bot.Reminder{ID: id, Kind: "push", Due: due, Payload: json.RawMessage(`{"to":"o1"}`)}
}

func claimIDs(t *testing.T, st *store.Store, now time.Time, limit int) []string {
	t.Helper()
	rs, err := st.Claim(context.Background(), now, limit, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func pending(t *testing.T, st *store.Store) int64 {
	t.Helper()
	n, err := st.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScheduleMoveCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Schedule(ctx, rem("a", dueT0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Schedule(ctx, rem("b", dueT0.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// Moving is scheduling the same ID again: still one reminder, at the new time.
	if err := e.st.Schedule(ctx, rem("a", dueT0.Add(3*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, e.st); n != 2 {
		t.Fatalf("pending %d, want 2", n)
	}
	r, ok, err := e.st.Reminder(ctx, "a")
	if err != nil || !ok || !r.Due.Equal(dueT0.Add(3*time.Minute)) || string(r.Payload) != `{"to":"o1"}` {
		t.Fatalf("Reminder(a) = %+v %v %v", r, ok, err)
	}
	if got := claimIDs(t, e.st, dueT0.Add(time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v at the old due time", got)
	}
	if err := e.st.Cancel(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Cancel(ctx, "never-was"); err != nil {
		t.Fatalf("cancel of a missing reminder: %v", err)
	}
	if got := claimIDs(t, e.st, dueT0.Add(time.Hour), 10); fmt.Sprint(got) != "[a]" {
		t.Fatalf("claimed %v, want [a]", got)
	}
	// Cancel reaches a reminder in flight too, and leaves no key behind.
	if err := e.st.Cancel(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("left behind %v", keys)
	}
}

func TestScheduleRejectsIncomplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	for _, r := range []bot.Reminder{
		{Kind: "push", Due: dueT0},
		{ID: "x", Due: dueT0},
		{ID: "x", Kind: "push"},
	} {
		if err := e.st.Schedule(context.Background(), r); bot.ErrorCode(err) != bot.EInvalid {
			t.Errorf("Schedule(%+v) = %v, want invalid", r, err)
		}
	}
	if _, err := e.st.Claim(context.Background(), dueT0, store.MaxClaim+1, time.Minute); bot.ErrorCode(err) != bot.EInvalid {
		t.Errorf("Claim over MaxClaim = %v", err)
	}
}

// Claims that race each other never hand out one reminder twice, and together hand
// out all of them, oldest first within each claim.
func TestClaimIsAtomic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	const n = 3000
	rs := make([]bot.Reminder, n)
	for i := range rs {
		rs[i] = rem(fmt.Sprintf("r%04d", i), dueT0.Add(time.Duration(i)*time.Millisecond))
	}
	if err := e.st.Schedule(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		st := e.another(t, store.Options{})
		wg.Go(func() {
			for {
				got, err := st.Claim(context.Background(), dueT0.Add(time.Hour), 37, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(got); i++ {
					if got[i].Due.Before(got[i-1].Due) {
						t.Errorf("claim out of order: %s before %s", got[i-1].ID, got[i].ID)
					}
				}
				mu.Lock()
				for _, r := range got {
					seen[r.ID]++
				}
				mu.Unlock()
				if len(got) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct reminders, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

// A claimer that dies loses nothing: when its lease ends the rows are due again.
func TestClaimLeaseExpiryBringsRowsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Schedule(ctx, rem("a", dueT0)); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, e.st, dueT0, 10); len(got) != 1 {
		t.Fatalf("first claim %v", got)
	}
	// The claimer now "crashes". Within the lease nobody else gets the row.
	other := e.another(t, store.Options{})
	if got := claimIDs(t, other, dueT0.Add(59*time.Second), 10); len(got) != 0 {
		t.Fatalf("claimed %v within the first claimer's lease", got)
	}
	if n := pending(t, other); n != 1 {
		t.Fatalf("pending %d while in flight, want 1", n)
	}
	rs, err := other.Claim(ctx, dueT0.Add(61*time.Second), 10, time.Minute)
	if err != nil || len(rs) != 1 {
		t.Fatalf("claim after the lease: %v %v", rs, err)
	}
	if r := rs[0]; r.ID != "a" || r.Kind != "push" || !r.Due.Equal(dueT0) || string(r.Payload) != `{"to":"o1"}` {
		t.Fatalf("came back as %+v", r)
	}
	if err := other.Done(ctx, "a", rs[0].Due); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("left behind %v", keys)
	}
}

// A reminder moved or cancelled while its handler runs keeps the newer decision:
// Done and Retry of the old version leave it alone.
func TestDoneAndRetryRespectAMoveInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	for _, id := range []string{"moved", "cancelled", "retried-after-move"} {
		if err := e.st.Schedule(ctx, rem(id, dueT0)); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := e.st.Claim(ctx, dueT0, 10, time.Minute)
	if err != nil || len(rs) != 3 {
		t.Fatalf("claim: %v %v", rs, err)
	}
	later := dueT0.Add(time.Hour)
	if err := e.st.Schedule(ctx, rem("moved", later)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Schedule(ctx, rem("retried-after-move", later)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Cancel(ctx, "cancelled"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		switch r.ID {
		case "retried-after-move", "cancelled":
			err = e.st.Retry(ctx, r, dueT0.Add(time.Minute))
		default:
			err = e.st.Done(ctx, r.ID, r.Due)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := pending(t, e.st); n != 2 {
		t.Fatalf("pending %d, want the 2 moved ones", n)
	}
	if got := claimIDs(t, e.st, dueT0.Add(30*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the moved time (a retry overrode the move?)", got)
	}
	for _, id := range []string{"moved", "retried-after-move"} {
		r, ok, err := e.st.Reminder(ctx, id)
		if err != nil || !ok || !r.Due.Equal(later) || r.Attempt != 0 {
			t.Errorf("%s = %+v %v %v, want due %s attempt 0", id, r, ok, err, later)
		}
	}
	if _, ok, _ := e.st.Reminder(ctx, "cancelled"); ok {
		t.Error("a retry brought a cancelled reminder back")
	}
}

// Done also settles a row whose lease ran out while its handler was still working:
// whether the row is back in due or already taken by another claimer, it goes, so
// it fires no more times than it already has.
func TestDoneAfterLeaseExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Schedule(ctx, rem("slow", dueT0)); err != nil {
		t.Fatal(err)
	}
	rs, err := e.st.Claim(ctx, dueT0, 10, time.Second)
	if err != nil || len(rs) != 1 {
		t.Fatalf("claim: %v %v", rs, err)
	}
	// Another claimer takes the expired row over before the first one finishes.
	other := e.another(t, store.Options{})
	if _, err := other.Claim(ctx, dueT0.Add(2*time.Second), 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Done(ctx, "slow", rs[0].Due); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("left behind %v", keys)
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Schedule(ctx, rem("a", dueT0)); err != nil {
		t.Fatal(err)
	}
	rs, err := e.st.Claim(ctx, dueT0, 10, time.Minute)
	if err != nil || len(rs) != 1 {
		t.Fatalf("claim: %v %v", rs, err)
	}
	at := dueT0.Add(5 * time.Minute)
	if err := e.st.Retry(ctx, rs[0], at); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, e.st, at.Add(-time.Millisecond), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the retry time", got)
	}
	rs, err = e.st.Claim(ctx, at, 10, time.Minute)
	if err != nil || len(rs) != 1 || rs[0].Attempt != 1 || !rs[0].Due.Equal(at) {
		t.Fatalf("after retry: %+v %v", rs, err)
	}
}

// A row whose JSON cannot be read comes out with an empty kind, for the pump to log
// and drop, instead of failing every claim or coming back forever.
func TestClaimUnreadableRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.rdb.ZAdd(ctx, e.prefix+"due", redis.Z{Score: float64(dueT0.UnixMilli()), Member: "bad"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.HSet(ctx, e.prefix+"due:data", "bad", fmt.Sprintf("%d {not json", dueT0.UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Schedule(ctx, rem("good", dueT0)); err != nil {
		t.Fatal(err)
	}
	rs, err := e.st.Claim(ctx, dueT0, 10, time.Minute)
	if err != nil || len(rs) != 2 {
		t.Fatalf("claim: %+v %v", rs, err)
	}
	for _, r := range rs {
		if r.ID == "bad" && (r.Kind != "" || !r.Due.Equal(dueT0)) {
			t.Errorf("unreadable row came out as %+v", r)
		}
		if err := e.st.Done(ctx, r.ID, r.Due); err != nil {
			t.Fatal(err)
		}
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("left behind %v", keys)
	}
}

func TestLeaderLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	other := e.another(t, store.Options{})
	ctx := context.Background()
	const ttl = time.Minute
	mustBool := func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !mustBool(e.st.AcquireLease(ctx, "jobs", "A", ttl)) {
		t.Fatal("A could not take a free lease")
	}
	if mustBool(other.AcquireLease(ctx, "jobs", "B", ttl)) {
		t.Fatal("B took a held lease")
	}
	if mustBool(other.RenewLease(ctx, "jobs", "B", ttl)) {
		t.Fatal("B renewed A's lease")
	}
	if !mustBool(e.st.RenewLease(ctx, "jobs", "A", ttl)) {
		t.Fatal("A could not renew its lease")
	}
	// Releasing with the wrong token does nothing.
	if err := other.ReleaseLease(ctx, "jobs", "B"); err != nil {
		t.Fatal(err)
	}
	if mustBool(other.AcquireLease(ctx, "jobs", "B", ttl)) {
		t.Fatal("B's release freed A's lease")
	}
	if err := e.st.ReleaseLease(ctx, "jobs", "A"); err != nil {
		t.Fatal(err)
	}
	if !mustBool(other.AcquireLease(ctx, "jobs", "B", 50*time.Millisecond)) {
		t.Fatal("B could not take a released lease")
	}
	// A lease that is not renewed lapses by itself, and its old holder cannot
	// renew what is now someone else's.
	deadline := time.Now().Add(5 * time.Second)
	for !mustBool(e.st.AcquireLease(ctx, "jobs", "A", ttl)) {
		if time.Now().After(deadline) {
			t.Fatal("B's lease never lapsed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if mustBool(other.RenewLease(ctx, "jobs", "B", ttl)) {
		t.Fatal("B renewed a lease that lapsed and went to A")
	}
	if _, err := e.st.AcquireLease(ctx, "jobs", "", ttl); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("empty token: %v", err)
	}
}

// A ticket's reminders go in one round trip; a server that forgot the script (a
// restart, a failover) is sent it again, and Cancel takes many at once too.
func TestScheduleAndCancelManyAfterTheServerForgotTheScripts(t *testing.T) {
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rs := []bot.Reminder{rem("t:1", dueT0), rem("t:2", dueT0.Add(time.Minute)), rem("t:3", dueT0.Add(2*time.Minute))}
	if err := e.st.Schedule(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Cancel(ctx, "t:1", "t:3", "never-scheduled"); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.Claim(ctx, dueT0.Add(time.Hour), 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != "t:2" {
		t.Fatalf("claimed %+v, %v; want t:2 alone", got, err)
	}
}
