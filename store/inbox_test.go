package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

var updSeq atomic.Int64

// upd makes a fresh Update from user, as if just sent.
func upd(user string) bot.Update {
	return bot.Update{ID: fmt.Sprintf("m:%d", updSeq.Add(1)), From: user, Time: time.Now()}
}

// soon is a deadline a few seconds away: what the engine passes.
func soon() time.Time { return time.Now().Add(4 * time.Second) }

// begin claims u within d and fails the test unless it is the owner.
func begin(t *testing.T, st *store.Store, u bot.Update) *bot.Claim {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := st.Begin(ctx, u, soon())
	if err != nil || !c.Owner {
		t.Fatalf("Begin %s: %+v, %v; want owner", u.ID, c, err)
	}
	return c
}

func commit(t *testing.T, st *store.Store, c *bot.Claim, reply bot.Reply, sess *bot.Session) {
	t.Helper()
	u := c.Update
	if err := st.Commit(context.Background(), c, bot.Commit{UpdateID: u.ID, User: u.From, Reply: reply, Session: sess, Seen: u.Time}); err != nil {
		t.Fatalf("Commit %s: %v", u.ID, err)
	}
}

func TestBeginOwnerThenDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	u := upd("u1")
	c := begin(t, e.st, u)
	want := bot.Text("收到")
	commit(t, e.st, c, want, nil)
	got, err := e.st.Begin(ctx, u, soon())
	if err != nil || got.Owner || got.Reply != want {
		t.Fatalf("retry Begin = %+v, %v; want %+v from the inbox", got, err, want)
	}
	// An empty reply ("nothing to say") is a reply too, not a pending claim.
	u2 := upd("u1")
	commit(t, e.st, begin(t, e.st, u2), bot.Reply{}, nil)
	got, err = e.st.Begin(ctx, u2, soon())
	if err != nil || got.Owner || got.Reply != (bot.Reply{}) {
		t.Fatalf("retry = %+v, %v; want the empty reply", got, err)
	}
}

// What was seen (issue 13, point 4): a second sender reusing a MsgId got the first
// sender's stored reply. The inbox key includes the sender.
func TestSameMsgIDFromAnotherSenderIsAnotherUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	a := bot.Update{ID: "m:777", From: "alice", Time: time.Now()}
	commit(t, e.st, begin(t, e.st, a), bot.Text("您的诉求已提交，编号 1001"), nil)
	b := bot.Update{ID: "m:777", From: "mallory", Time: time.Now()}
	c, err := e.st.Begin(context.Background(), b, soon())
	if err != nil || !c.Owner || c.Reply.Text != "" {
		t.Fatalf("another sender with the same MsgId: %+v, %v; want a fresh claim", c, err)
	}
}

func TestBeginConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	want := bot.Text("已受理")
	u := upd("u")
	const n = 3
	type result struct {
		c   *bot.Claim
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		// Each caller on its own Store and connection, as replicas would be.
		st := e.another(t, store.Options{})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := st.Begin(ctx, u, soon())
			if err == nil && c.Owner {
				time.Sleep(50 * time.Millisecond) // the others must wait for this
				err = st.Commit(ctx, c, bot.Commit{UpdateID: u.ID, User: u.From, Reply: want})
			}
			results[i] = result{c, err}
		})
	}
	wg.Wait()
	owners := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.c.Owner {
			owners++
		} else if r.c.Reply != want {
			t.Errorf("caller %d got %+v, want the owner's %+v", i, r.c.Reply, want)
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners, want exactly 1", owners)
	}
}

// A retry that finds a live owner waits; when its time is up it says so with
// ErrInFlight, the only case in which the engine answers 「正在处理」.
func TestBeginWaitsForLiveOwnerThenInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{Lease: 5 * time.Second})
	u := upd("u")
	begin(t, e.st, u)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := e.another(t, store.Options{}).Begin(ctx, u, soon())
	if !errors.Is(err, bot.ErrInFlight) {
		t.Fatalf("Begin while the owner works: %+v, %v; want ErrInFlight", c, err)
	}
	if waited := time.Since(start); waited < 90*time.Millisecond {
		t.Fatalf("gave up after %v, before the deadline", waited)
	}
}

// What was seen (issue 13, point 1): the retry of an Update whose owner was killed
// waited out the dead owner's 120 s claim. The claim is a short lease now: a retry
// takes over once it lapses.
func TestDeadOwnersClaimIsTakenOverAfterTheLease(t *testing.T) {
	t.Parallel()
	lease := 300 * time.Millisecond
	e := newEnv(t, store.Options{Lease: lease})
	u := upd("u")
	begin(t, e.st, u) // and the process dies: no commit, no abort, no renewal
	restarted := e.another(t, store.Options{Lease: lease})
	start := time.Now()
	c := begin(t, restarted, u)
	took := time.Since(start)
	if took > lease+200*time.Millisecond {
		t.Fatalf("took over after %v, want within the %v lease", took, lease)
	}
	commit(t, restarted, c, bot.Text("编号 1001"), nil)
}

// A renewed claim is not taken over, however long the owner works.
func TestRenewKeepsTheClaimAndTheLock(t *testing.T) {
	t.Parallel()
	lease := time.Second
	e := newEnv(t, store.Options{Lease: lease})
	u := upd("u")
	c := begin(t, e.st, u)
	for range 6 {
		time.Sleep(lease / 4)
		if held, err := e.st.Renew(context.Background(), c); err != nil || !held {
			t.Fatalf("renew: %v %v", held, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), lease/3)
	defer cancel()
	if _, err := e.another(t, store.Options{Lease: lease}).Begin(ctx, u, soon()); !errors.Is(err, bot.ErrInFlight) {
		t.Fatalf("a renewed claim was taken: %v", err)
	}
	if held, err := e.st.Renew(context.Background(), c); err != nil || !held {
		t.Fatalf("renew: %v %v", held, err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), lease/3)
	defer cancel2()
	if _, err := e.another(t, store.Options{Lease: lease}).Begin(ctx2, upd("u"), soon()); err == nil {
		t.Fatal("a renewed lock was taken by the user's next message")
	}
	if held, err := e.st.Renew(context.Background(), c); err != nil || !held {
		t.Fatalf("renew: %v %v", held, err)
	}
	commit(t, e.st, c, bot.Text("ok"), nil)
}

// What was seen (issue 13, point 2): a lock request queued while Redis was paused ran
// when Redis resumed, and locked the resident out although its sender had given up.
// Begin never takes a claim or a lock after the caller's deadline.
func TestNothingIsTakenAfterTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	u := upd("u")
	_, err := e.st.Begin(context.Background(), u, time.Now().Add(-time.Millisecond))
	if err == nil || errors.Is(err, bot.ErrInFlight) {
		t.Fatalf("Begin after its deadline: %v; want a plain deadline error", err)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("a late Begin left %q", keys)
	}
	// And the user's next message goes straight in.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if c, err := e.st.Begin(ctx, upd("u"), soon()); err != nil || !c.Owner {
		t.Fatalf("next message: %+v %v", c, err)
	}
}

// A commit whose deadline passed writes nothing: the engine has answered without it,
// and a retry must find the Update undone, with the session as it was.
func TestCommitAfterTheDeadlineWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	u := upd("u")
	c, err := e.st.Begin(ctx, u, time.Now().Add(50*time.Millisecond))
	if err != nil || !c.Owner {
		t.Fatal(c, err)
	}
	time.Sleep(80 * time.Millisecond)
	err = e.st.Commit(ctx, c, bot.Commit{UpdateID: u.ID, User: u.From, Reply: bot.Text("编号 1001"), Session: &bot.Session{Flow: "x"}})
	var lost *bot.ErrClaimLost
	if !errors.As(err, &lost) || lost.Stored != nil {
		t.Fatalf("late commit: %v; want ErrClaimLost without a stored reply", err)
	}
	if s, _ := e.st.Session(ctx, "u"); s != nil {
		t.Fatalf("a late commit wrote the session %+v", s)
	}
	c2 := begin(t, e.st, u)
	commit(t, e.st, c2, bot.Text("ok"), nil)
}

// An owner whose lease lapsed while another took over and answered cannot write over
// that answer; it learns the stored reply.
func TestCommitOfALostClaim(t *testing.T) {
	t.Parallel()
	lease := 100 * time.Millisecond
	e := newEnv(t, store.Options{Lease: lease})
	u := upd("u")
	stale := begin(t, e.st, u)
	time.Sleep(lease + 50*time.Millisecond)
	other := e.another(t, store.Options{Lease: lease})
	fresh := begin(t, other, u)
	want := bot.Text("编号 1001")
	commit(t, other, fresh, want, nil)
	err := e.st.Commit(context.Background(), stale, bot.Commit{UpdateID: u.ID, User: u.From, Reply: bot.Text("编号 1002")})
	var lost *bot.ErrClaimLost
	if !errors.As(err, &lost) || lost.Stored == nil || *lost.Stored != want {
		t.Fatalf("stale commit: %v; want ErrClaimLost with %+v", err, want)
	}
}

func TestAbort(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()

	t.Run("a retry after Abort owns the update", func(t *testing.T) {
		u := upd("a")
		if err := e.st.Abort(ctx, begin(t, e.st, u)); err != nil {
			t.Fatal(err)
		}
		begin(t, e.st, u)
	})

	t.Run("a waiter takes over when the owner aborts", func(t *testing.T) {
		u := upd("b")
		c := begin(t, e.st, u)
		done := make(chan bool)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			c, err := e.another(t, store.Options{}).Begin(ctx, u, soon())
			done <- err == nil && c.Owner
		}()
		time.Sleep(30 * time.Millisecond)
		if err := e.st.Abort(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !<-done {
			t.Fatal("the waiter did not become owner")
		}
	})

	t.Run("a late Abort keeps the committed reply", func(t *testing.T) {
		u := upd("c")
		c := begin(t, e.st, u)
		want := bot.Text("好的")
		commit(t, e.st, c, want, nil)
		if err := e.st.Abort(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, err := e.st.Begin(ctx, u, soon()); err != nil || got.Owner || got.Reply != want {
			t.Fatalf("= %+v, %v; want the committed reply", got, err)
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

	sess := &bot.Session{User: "u1", Flow: "request", Step: 2, Data: map[string]string{"category": "噪音", "desc": "楼上装修"}, Updated: now}
	u := bot.Update{ID: "m1", From: "u1", Time: now}
	c := begin(t, e.st, u)
	if err := e.st.Commit(ctx, c, bot.Commit{UpdateID: "m1", User: "u1", Reply: bot.Text("请输入电话"), Session: sess, Seen: now, Action: bot.ActionMessage}); err != nil {
		t.Fatal(err)
	}
	// The next message of the user brings the session along.
	c = begin(t, e.st, bot.Update{ID: "m2", From: "u1", Time: now})
	got := c.Session
	if got == nil || got.User != sess.User || got.Flow != sess.Flow || got.Step != sess.Step || !got.Updated.Equal(sess.Updated) || len(got.Data) != 2 || got.Data["desc"] != "楼上装修" {
		t.Fatalf("Session = %+v, want %+v", got, sess)
	}
	if ct, err := e.st.Contact(ctx, "u1"); err != nil || !ct.LastMessage.Equal(now) || !ct.Last.Equal(now) {
		t.Fatalf("Contact = %+v, %v; want the message at %v", ct, err, now)
	}
	// The claim of m2 and the user's lock are held: short leases.
	wantKeys := []string{e.prefix + "contact:u1", e.prefix + "inbox:u1:m1", e.prefix + "inbox:u1:m2", e.prefix + "lock:u1", e.prefix + "session:u1"}
	if keys := srv.Keys(t, e.prefix); !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys = %q, want %q", keys, wantKeys)
	}
	checkTTL(t, e, "session:u1", 90*time.Minute)
	checkTTL(t, e, "inbox:u1:m1", time.Hour)
	checkTTLWithin(t, e, "inbox:u1:m2", store.DefaultLease, time.Second)
	checkTTLWithin(t, e, "lock:u1", store.DefaultLease, time.Second)

	// No session: the flow ended; the lock goes with the commit.
	if err := e.st.Commit(ctx, c, bot.Commit{UpdateID: "m2", User: "u1", Reply: bot.Text("已提交"), Seen: now.Add(time.Minute), Action: bot.ActionMessage}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.st.Session(ctx, "u1"); s != nil || err != nil {
		t.Fatalf("Session after the flow ended = %+v, %v; want nil", s, err)
	}
	if e.rdb.Exists(ctx, e.prefix+"lock:u1").Val() != 0 {
		t.Fatal("the commit did not release the lock")
	}
	// A commit that arrives late, for an older message, must not move the last
	// message back.
	c = begin(t, e.st, bot.Update{ID: "m0", From: "u1", Time: now})
	if err := e.st.Commit(ctx, c, bot.Commit{UpdateID: "m0", User: "u1", Seen: now.Add(-time.Minute), Action: bot.ActionMessage}); err != nil {
		t.Fatal(err)
	}
	if ct, _ := e.st.Contact(ctx, "u1"); !ct.LastMessage.Equal(now.Add(time.Minute)) {
		t.Fatalf("last message = %v, want %v", ct.LastMessage, now.Add(time.Minute))
	}
	if err := e.st.Commit(ctx, c, bot.Commit{UpdateID: "m3"}); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Commit without user: %v, want EInvalid", err)
	}
}

// A reader that takes an atomic snapshot of the inbox key and the session key must
// never see the reply without the session that goes with it.
func TestCommitIsAtomic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	inbox, session := e.prefix+"inbox:u:m", e.prefix+"session:u"
	for i := range 50 {
		if err := e.rdb.Del(ctx, inbox, session).Err(); err != nil {
			t.Fatal(err)
		}
		c := begin(t, e.st, bot.Update{ID: "m", From: "u", Time: time.Now()})
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
				if s, ok := v[0].(string); err == nil && ok && s[0] == '{' && v[1] == nil {
					bad <- v
					return
				}
			}
		}()
		err := e.st.Commit(ctx, c, bot.Commit{UpdateID: "m", User: "u", Reply: bot.Text("x"), Session: &bot.Session{Flow: "f"}})
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
	checkTTLWithin(t, e, key, want, time.Minute)
}

func checkTTLWithin(t *testing.T, e env, key string, want, slack time.Duration) {
	t.Helper()
	got, err := e.rdb.PTTL(context.Background(), e.prefix+key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got > want || got < want-slack {
		t.Errorf("TTL of %s = %v, want about %v", key, got, want)
	}
}

// Begin brings the sender's grants and session with the claim.
func TestBeginLoadsGrantsAndSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	c := begin(t, e.st, upd("nobody"))
	if len(c.Grants) != 0 || c.Session != nil {
		t.Fatalf("unknown user: %+v", c)
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
	commit(t, e.st, begin(t, e.st, upd("o1")), bot.Reply{}, s)
	c = begin(t, e.st, upd("o1"))
	if len(c.Grants) != 1 || c.Grants[0].Role != bot.RoleStaff || c.Session == nil || c.Session.Flow != "profile" || c.Session.Data["name"] != "王" {
		t.Fatalf("load: %+v %+v", c.Grants, c.Session)
	}
}

// While one Update holds the lock, those that queue behind it are let in by the order
// the user sent them, not the order they arrived in.
func TestLockLetsWaitersInSendOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	first := begin(t, e.st, upd("u"))
	base := time.Now()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	// Arrive in reverse of the send order.
	for i := 5; i >= 1; i-- {
		u := bot.Update{ID: fmt.Sprintf("m:%d", 1000+i), From: "u", Time: base.Add(time.Duration(i) * time.Second)}
		st := e.another(t, store.Options{})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := st.Begin(ctx, u, soon())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, u.ID)
			mu.Unlock()
			if err := st.Commit(ctx, c, bot.Commit{UpdateID: u.ID, User: u.From}); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(20 * time.Millisecond) // each is queued before the next arrives
	}
	commit(t, e.st, first, bot.Reply{}, nil)
	wg.Wait()
	want := []string{"m:1001", "m:1002", "m:1003", "m:1004", "m:1005"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestLockSerialisesOneUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	const workers, rounds = 8, 25
	counter := 0 // deliberately not atomic: only the lock protects it
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		// Separate Stores and connections: the lock must hold across processes, not
		// just goroutines sharing a client.
		st := e.another(t, store.Options{})
		wg.Go(func() {
			for range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				u := upd("u1")
				c, err := st.Begin(ctx, u, time.Now().Add(10*time.Second))
				if err != nil {
					cancel()
					errs <- err
					return
				}
				v := counter
				time.Sleep(100 * time.Microsecond) // widen the window a race would need
				counter = v + 1
				err = st.Commit(ctx, c, bot.Commit{UpdateID: u.ID, User: u.From})
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if counter != workers*rounds {
		t.Fatalf("counter = %d, want %d", counter, workers*rounds)
	}
}

func TestLockUsersIndependent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	begin(t, e.st, upd("a"))
	short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if c, err := e.st.Begin(short, upd("b"), soon()); err != nil || !c.Owner {
		t.Fatalf("user b blocked by user a: %v", err)
	}
	short2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err := e.st.Begin(short2, upd("a"), soon())
	if err == nil || errors.Is(err, bot.ErrInFlight) {
		t.Fatalf("second message of a while a is locked: %v, want a plain time-out", err)
	}
}

// A signed query seen by one replica is refused by another with a different body,
// before anything is claimed, and let through with the same body (the platform's
// retry, answered from the inbox).
func TestBeginRefusesAReplayedQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	other := e.another(t, store.Options{})
	ctx := context.Background()
	guard := func(body string) *bot.ReplayGuard {
		return &bot.ReplayGuard{Key: "1732500060:1357924680:abc", Sum: body, TTL: time.Minute}
	}
	u := upd("o1")
	u.Replay = guard("a")
	commit(t, e.st, begin(t, e.st, u), bot.Text("收到"), nil)
	if c, err := other.Begin(ctx, u, soon()); err != nil || c.Owner || c.Reply.Text != "收到" {
		t.Fatalf("the platform's retry on another replica: %+v, %v", c, err)
	}
	forged := upd("o2")
	forged.Replay = guard("b")
	for _, st := range []*store.Store{e.st, other} {
		if c, err := st.Begin(ctx, forged, soon()); !errors.Is(err, bot.ErrReplayed) {
			t.Fatalf("replayed query with another body: %+v, %v; want ErrReplayed", c, err)
		}
	}
	if n, _ := e.rdb.Exists(ctx, e.prefix+"inbox:o2:"+forged.ID, e.prefix+"lock:o2").Result(); n != 0 {
		t.Fatalf("a refused replay left %d keys behind", n)
	}
	checkTTL(t, e, "nonce:1732500060:1357924680:abc", time.Minute)
	fresh := upd("o2")
	fresh.Replay = &bot.ReplayGuard{Key: "another:query:sig", Sum: "b", TTL: time.Minute}
	begin(t, e.st, fresh)
}

// Begin hands over the sender's live relay with their grants and session.
func TestBeginLoadsTheRelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if c := begin(t, e.st, upd("resident")); c.Relay != nil {
		t.Fatalf("no relay yet: %+v", c.Relay)
	}
	if err := e.st.StartRelay(ctx, "staff", "resident", "1001", time.Minute); err != nil {
		t.Fatal(err)
	}
	c := begin(t, e.st, upd("resident"))
	if c.Relay == nil || c.Relay.Peer != "staff" || c.Relay.Ticket != "1001" {
		t.Fatalf("relay: %+v", c.Relay)
	}
}

// Claims and commits of many users at once share round trips (store/batch.go); each
// caller still gets its own answer, and a retry reads back its own reply.
func TestManyUsersAtOnceEachGetTheirOwnAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	const n = 300
	us := make([]bot.Update, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range us {
		us[i] = upd(fmt.Sprintf("many%03d", i))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := e.st.Begin(ctx, us[i], soon())
			if err != nil || !c.Owner || c.Update.From != us[i].From {
				errs <- fmt.Errorf("begin %d: %+v %v", i, c, err)
				return
			}
			s := &bot.Session{User: us[i].From, Flow: "f", Data: map[string]string{"i": fmt.Sprint(i)}, Updated: time.Now()}
			if err := e.st.Commit(ctx, c, bot.Commit{UpdateID: us[i].ID, User: us[i].From, Reply: bot.Text(fmt.Sprint("答", i)), Session: s, Seen: us[i].Time}); err != nil {
				errs <- fmt.Errorf("commit %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, u := range us {
		c, err := e.st.Begin(ctx, u, soon())
		if err != nil || c.Owner || c.Reply.Text != fmt.Sprint("答", i) {
			t.Fatalf("retry %d: %+v %v", i, c, err)
		}
		if s, err := e.st.Session(ctx, u.From); err != nil || s == nil || s.Data["i"] != fmt.Sprint(i) {
			t.Fatalf("session %d: %+v %v", i, s, err)
		}
	}
}

// A server that forgot the scripts (restarted, failed over, SCRIPT FLUSH) is sent
// them again.
func TestBeginAndCommitAfterTheServerForgotTheScripts(t *testing.T) {
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	u := upd("forgot")
	c := begin(t, e.st, u)
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	commit(t, e.st, c, bot.Text("收到"), nil)
	if got, err := e.st.Begin(ctx, u, soon()); err != nil || got.Owner || got.Reply.Text != "收到" {
		t.Fatalf("retry: %+v %v", got, err)
	}
}

// Peek loads what a read-only command needs and claims nothing, only while the
// sender has nothing in flight or kept; it answers a retry from the inbox and refuses
// a replayed query as Begin does.
func TestPeek(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	inv, err := e.st.CreateInvite(ctx, bot.RoleStaff, "QY", "王芳", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Redeem(ctx, inv.Code, "o1", now); err != nil {
		t.Fatal(err)
	}
	if err := e.st.StartRelay(ctx, "staff", "o1", "1001", time.Minute); err != nil {
		t.Fatal(err)
	}
	u := upd("o1")
	u.Kind = bot.KindText
	u.Replay = &bot.ReplayGuard{Key: "1732500060:24680:sig", Sum: "a", TTL: time.Minute}
	p, err := e.st.Peek(ctx, u, now)
	if err != nil || p == nil || p.Reply != nil {
		t.Fatalf("nothing in flight: %+v, %v", p, err)
	}
	if len(p.Grants) != 1 || p.Grants[0].Role != bot.RoleStaff || p.Relay == nil || p.Relay.Ticket != "1001" {
		t.Fatalf("loaded %+v, relay %+v", p.Grants, p.Relay)
	}
	if n, _ := e.rdb.Exists(ctx, e.prefix+"inbox:o1:"+u.ID, e.prefix+"lock:o1").Result(); n != 0 {
		t.Fatalf("Peek took %d keys", n)
	}
	if c, err := e.st.Contact(ctx, "o1"); err != nil || !c.Last.Equal(now.Truncate(time.Millisecond)) || c.Kind != bot.ActionMessage {
		t.Fatalf("the message is recorded for the customer-service window: %+v, %v", c, err)
	}
	// The platform's retry of the same message, after the first answer.
	if p, err := e.st.Peek(ctx, u, now); err != nil || p == nil || p.Reply != nil {
		t.Fatalf("a retry computes its answer again: %+v, %v", p, err)
	}
	forged := u
	forged.Replay = &bot.ReplayGuard{Key: u.Replay.Key, Sum: "b", TTL: time.Minute}
	if p, err := e.st.Peek(ctx, forged, now); !errors.Is(err, bot.ErrReplayed) {
		t.Fatalf("replayed query with another body: %+v, %v; want ErrReplayed", p, err)
	}

	// Another message of the sender in flight: nothing loaded, the caller claims.
	c := begin(t, e.st, upd("o1"))
	if p, err := e.st.Peek(ctx, upd("o1"), now); err != nil || p != nil {
		t.Fatalf("while the lock is held: %+v, %v; want nil", p, err)
	}
	// In a flow: the session is loaded (the engine claims such a message).
	commit(t, e.st, c, bot.Text("请描述"), &bot.Session{User: "o1", Flow: "request", Data: map[string]string{}, Updated: now})
	if p, err := e.st.Peek(ctx, upd("o1"), now); err != nil || p == nil || p.Session == nil || p.Session.Flow != "request" {
		t.Fatalf("in a flow: %+v, %v; want the session", p, err)
	}
	// Answered before (it was claimed then): the stored reply.
	done := upd("o1")
	commit(t, e.st, begin(t, e.st, done), bot.Text("收到"), nil)
	if p, err := e.st.Peek(ctx, done, now); err != nil || p == nil || p.Reply == nil || p.Reply.Text != "收到" {
		t.Fatalf("a retry of an answered message: %+v, %v", p, err)
	}
	// A retry while its first delivery is claimed: the caller claims (and waits).
	held := upd("o2")
	begin(t, e.st, held)
	if p, err := e.st.Peek(ctx, held, now); err != nil || p != nil {
		t.Fatalf("while the first delivery runs: %+v, %v; want nil", p, err)
	}
}
