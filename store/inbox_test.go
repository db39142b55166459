package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

func TestBeginOwnerThenDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()

	_, owner, err := e.st.Begin(ctx, "m1")
	if err != nil || !owner {
		t.Fatalf("first Begin: owner %v, err %v; want owner", owner, err)
	}
	want := bot.Text("收到")
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m1", User: "u1", Reply: want, Seen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got, owner, err := e.st.Begin(ctx, "m1")
	if err != nil || owner || got != want {
		t.Fatalf("retry Begin = %+v, owner %v, err %v; want %+v from the inbox", got, owner, err, want)
	}
	// An empty reply ("nothing to say") is a reply too, not a pending claim.
	if _, owner, _ := e.st.Begin(ctx, "m2"); !owner {
		t.Fatal("m2: want owner")
	}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m2", User: "u1"}); err != nil {
		t.Fatal(err)
	}
	got, owner, err = e.st.Begin(ctx, "m2")
	if err != nil || owner || got != (bot.Reply{}) {
		t.Fatalf("m2 retry = %+v, owner %v, err %v; want the empty reply", got, owner, err)
	}
}

func TestBeginConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	want := bot.Text("已受理")

	const n = 3
	type result struct {
		reply bot.Reply
		owner bool
		err   error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		// Each caller on its own Store and connection, as replicas would be.
		st := e.another(t, store.Options{})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			r, owner, err := st.Begin(ctx, "m")
			if err == nil && owner {
				time.Sleep(50 * time.Millisecond) // the others must wait for this
				err = st.Commit(ctx, bot.Commit{UpdateID: "m", User: "u", Reply: want})
			}
			results[i] = result{r, owner, err}
		})
	}
	wg.Wait()
	owners := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.owner {
			owners++
		} else if r.reply != want {
			t.Errorf("caller %d got %+v, want the owner's %+v", i, r.reply, want)
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners, want exactly 1", owners)
	}
}

func TestBeginWaitsUntilDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	if _, owner, err := e.st.Begin(context.Background(), "m"); !owner || err != nil {
		t.Fatalf("owner %v, err %v", owner, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, owner, err := e.st.Begin(ctx, "m")
	if owner || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Begin while pending: owner %v, err %v; want context.DeadlineExceeded", owner, err)
	}
	if waited := time.Since(start); waited < 90*time.Millisecond {
		t.Fatalf("gave up after %v, before the deadline", waited)
	}
}

func TestAbort(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()

	t.Run("a retry after Abort owns the update", func(t *testing.T) {
		if _, owner, _ := e.st.Begin(ctx, "a1"); !owner {
			t.Fatal("want owner")
		}
		if err := e.st.Abort(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if _, owner, err := e.st.Begin(ctx, "a1"); !owner || err != nil {
			t.Fatalf("after Abort: owner %v, err %v; want owner", owner, err)
		}
	})

	t.Run("a waiter takes over when the owner aborts", func(t *testing.T) {
		if _, owner, _ := e.st.Begin(ctx, "a2"); !owner {
			t.Fatal("want owner")
		}
		done := make(chan bool)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, owner, err := e.st.Begin(ctx, "a2")
			done <- owner && err == nil
		}()
		time.Sleep(30 * time.Millisecond)
		if err := e.st.Abort(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		if !<-done {
			t.Fatal("the waiter did not become owner")
		}
	})

	t.Run("a late Abort keeps the committed reply", func(t *testing.T) {
		if _, owner, _ := e.st.Begin(ctx, "a3"); !owner {
			t.Fatal("want owner")
		}
		want := bot.Text("好的")
		if err := e.st.Commit(ctx, bot.Commit{UpdateID: "a3", User: "u", Reply: want}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Abort(ctx, "a3"); err != nil {
			t.Fatal(err)
		}
		if got, owner, err := e.st.Begin(ctx, "a3"); owner || err != nil || got != want {
			t.Fatalf("= %+v, owner %v, err %v; want the committed reply", got, owner, err)
		}
	})
}

func TestCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{SessionTTL: 90 * time.Minute, InboxTTL: time.Hour})
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

	if s, err := e.st.Session(ctx, "u1"); s != nil || err != nil {
		t.Fatalf("Session before any = %+v, %v; want nil, nil", s, err)
	}
	if _, ok, err := e.st.LastSeen(ctx, "u1"); ok || err != nil {
		t.Fatalf("LastSeen before any: ok %v, err %v", ok, err)
	}

	sess := &bot.Session{User: "u1", Flow: "request", Step: 2, Data: map[string]string{"category": "噪音", "desc": "楼上装修"}, Updated: now}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m1", User: "u1", Reply: bot.Text("请输入电话"), Session: sess, Seen: now}); err != nil {
		t.Fatal(err)
	}

	got, err := e.st.Session(ctx, "u1")
	if err != nil || got == nil {
		t.Fatalf("Session = %v, %v", got, err)
	}
	if got.User != sess.User || got.Flow != sess.Flow || got.Step != sess.Step || !got.Updated.Equal(sess.Updated) || len(got.Data) != 2 || got.Data["desc"] != "楼上装修" {
		t.Fatalf("Session = %+v, want %+v", got, sess)
	}
	seen, ok, err := e.st.LastSeen(ctx, "u1")
	if err != nil || !ok || !seen.Equal(now) {
		t.Fatalf("LastSeen = %v, %v, %v; want %v", seen, ok, err, now)
	}
	wantKeys := []string{e.prefix + "inbox:m1", e.prefix + "seen", e.prefix + "session:u1"}
	if keys := srv.Keys(t, e.prefix); !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys = %q, want %q", keys, wantKeys)
	}
	checkTTL(t, e, "session:u1", 90*time.Minute)
	checkTTL(t, e, "inbox:m1", time.Hour)

	// A commit that arrives late, for an older message, must not move last-seen back.
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m0", User: "u1", Session: sess, Seen: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if seen, _, _ := e.st.LastSeen(ctx, "u1"); !seen.Equal(now) {
		t.Fatalf("LastSeen moved back to %v", seen)
	}

	// No session: the flow ended.
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m2", User: "u1", Reply: bot.Text("已提交"), Seen: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.st.Session(ctx, "u1"); s != nil || err != nil {
		t.Fatalf("Session after the flow ended = %+v, %v; want nil", s, err)
	}
	if seen, _, _ := e.st.LastSeen(ctx, "u1"); !seen.Equal(now.Add(time.Minute)) {
		t.Fatalf("LastSeen = %v, want %v", seen, now.Add(time.Minute))
	}

	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m3"}); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Commit without user: %v, want EInvalid", err)
	}
}

// A reader that takes an atomic snapshot of the inbox key and the session key must
// never see the reply without the session that goes with it.
func TestCommitIsAtomic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	inbox, session := e.prefix+"inbox:m", e.prefix+"session:u"
	for i := range 50 {
		if err := e.rdb.Del(ctx, inbox, session).Err(); err != nil {
			t.Fatal(err)
		}
		if _, owner, _ := e.st.Begin(ctx, "m"); !owner {
			t.Fatal("want owner")
		}
		stop := make(chan struct{})
		bad := make(chan []any, 1)
		go func() {
			for {
				select {
				case <-stop:
					close(bad)
					return
				default:
				}
				v, err := e.rdb.MGet(ctx, inbox, session).Result()
				if err == nil && v[0] != nil && v[0] != "pending" && v[1] == nil {
					bad <- v
					return
				}
			}
		}()
		err := e.st.Commit(ctx, bot.Commit{UpdateID: "m", User: "u", Reply: bot.Text("x"), Session: &bot.Session{Flow: "f"}})
		if err != nil {
			t.Fatal(err)
		}
		close(stop)
		if v, ok := <-bad; ok {
			t.Fatalf("round %d: saw reply without session: %q", i, v)
		}
	}
}

func checkTTL(t *testing.T, e env, key string, want time.Duration) {
	t.Helper()
	got, err := e.rdb.PTTL(context.Background(), e.prefix+key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got > want || got < want-time.Minute {
		t.Errorf("TTL of %s = %v, want about %v", key, got, want)
	}
}

// Load brings the sender's grants and session in one round trip.
func TestLoadGrantsAndSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	gs, sess, err := e.st.Load(ctx, "nobody")
	if err != nil || len(gs) != 0 || sess != nil {
		t.Fatalf("unknown user: %v %v %v", gs, sess, err)
	}
	now := time.Now()
	inv, err := e.st.CreateInvite(ctx, bot.RoleStaff, "QY", "王芳", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Redeem(ctx, inv.Code, "o1", now); err != nil {
		t.Fatal(err)
	}
	s := &bot.Session{User: "o1", Flow: "profile", Step: 1, Data: map[string]string{"name": "王"}, Updated: now}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m:1", User: "o1", Session: s, Seen: now}); err != nil {
		t.Fatal(err)
	}
	gs, sess, err = e.st.Load(ctx, "o1")
	if err != nil || len(gs) != 1 || gs[0].Role != bot.RoleStaff || sess == nil || sess.Flow != "profile" || sess.Data["name"] != "王" {
		t.Fatalf("load: %+v %+v %v", gs, sess, err)
	}
}

// A commit carrying the lock token releases the user's lock in the same step; one
// without it, or with another holder's token, leaves the lock alone.
func TestCommitReleasesTheLockItHolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	u := bot.Update{ID: "m:1", From: "o1", Time: time.Now()}
	held := func() bool { return e.rdb.Exists(ctx, e.prefix+"lock:o1").Val() == 1 }

	lease, err := e.st.Lock(ctx, u)
	if err != nil || !held() {
		t.Fatalf("lock: %v held=%v", err, held())
	}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m:1", User: "o1", LockToken: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m:2", User: "o1"}); err != nil {
		t.Fatal(err)
	}
	if !held() {
		t.Fatal("a commit without our token released the lock")
	}
	if err := e.st.Commit(ctx, bot.Commit{UpdateID: "m:3", User: "o1", LockToken: lease.Token}); err != nil {
		t.Fatal(err)
	}
	if held() {
		t.Fatal("the commit with the token did not release the lock")
	}
	lease.Release() // harmless afterwards
	next, err := e.st.Lock(ctx, bot.Update{ID: "m:4", From: "o1", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	lease.Release() // and still harmless: it must not release the successor's lock
	if !held() {
		t.Fatal("a late release freed the next holder's lock")
	}
	next.Release()
}
