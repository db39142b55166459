package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

func push(id string) bot.Push {
	return bot.Push{ID: id, To: "o-alice", Kind: "ticket_reply", Text: "您的诉求有新回复", Ref: "Q7K2", Community: "c1"}
}

func readOne(t *testing.T, st *store.Store, consumer string) bot.Turn {
	t.Helper()
	msgs, err := st.Read(context.Background(), consumer, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("Read got %d turns, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

// queued lists the push IDs of a recipient's queue.
func queued(t *testing.T, st *store.Store, to string) []string {
	t.Helper()
	qs, err := st.Queued(context.Background(), to, 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, q := range qs {
		ids = append(ids, q.Push.ID)
	}
	return ids
}

func first(t *testing.T, st *store.Store, to string) bot.Queued {
	t.Helper()
	qs, err := st.Queued(context.Background(), to, 1)
	if err != nil || len(qs) != 1 {
		t.Fatalf("Queued = %+v, %v", qs, err)
	}
	return qs[0]
}

func stats(t *testing.T, st *store.Store) store.OutboxStats {
	t.Helper()
	s, err := st.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A push ID is queued once; a recipient's pushes wait in order behind one turn.
func TestPushIdempotentAndOneTurnPerRecipient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		ok, err := e.st.Enqueue(ctx, push("p1"), time.Time{})
		if err != nil || ok != want {
			t.Fatalf("Enqueue #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	hold := time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)
	if err := e.st.PushAt(ctx, push("p2"), hold); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Push(ctx, push("p3")); err != nil {
		t.Fatal(err)
	}
	other := push("q1")
	other.To = "o-bob"
	if err := e.st.Push(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := queued(t, e.st, "o-alice"); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
		t.Fatalf("queue %v", got)
	}
	qs, _ := e.st.Queued(ctx, "o-alice", 10)
	if !qs[1].Hold.Equal(hold) || !qs[0].Hold.IsZero() || qs[0].At.IsZero() {
		t.Fatalf("items %+v", qs)
	}
	// Queued before any worker made the group: still read; one turn per recipient.
	turns, err := e.st.Read(ctx, "w1", 10, 0)
	if err != nil || len(turns) != 2 || turns[0].To != "o-alice" || turns[1].To != "o-bob" {
		t.Fatalf("Read = %+v, %v", turns, err)
	}
	if st, _ := e.st.PushState(ctx, "p1"); st != store.PushQueued {
		t.Fatalf("state %q", st)
	}
	if err := e.st.Push(ctx, bot.Push{ID: "x"}); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("push without a recipient: %v", err)
	}
}

// Finishing takes a push out of its queue; a failed attempt keeps its place; the
// turn ends for good only when the queue is empty.
func TestFinishFailReleaseLaterWake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	for _, id := range []string{"p1", "p2"} {
		if err := e.st.Push(ctx, push(id)); err != nil {
			t.Fatal(err)
		}
	}
	turn := readOne(t, e.st, "w1")
	q := first(t, e.st, "o-alice")
	if err := e.st.Failed(ctx, q, 3); err != nil {
		t.Fatal(err)
	}
	if q2 := first(t, e.st, "o-alice"); q2.Push.ID != "p1" || q2.Attempt != 3 {
		t.Fatalf("after a failed attempt: %+v", q2)
	}
	if err := e.st.Later(ctx, turn, bot.Reminder{ID: "turn", Kind: "k", Due: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s.Waiting != 0 || s.Pending != 0 {
		t.Fatalf("after Later: %+v", s)
	}
	if r, ok, err := e.st.Parked(ctx, "o-alice"); err != nil || !ok || r.ID != "turn" {
		t.Fatalf("parked until %+v, %v, %v", r, ok, err)
	}
	// While the turn waits in the due set, a new push adds no turn.
	if err := e.st.Push(ctx, push("p3")); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s.Waiting != 0 {
		t.Fatalf("a second turn: %+v", s)
	}
	if err := e.st.Wake(ctx, "o-alice", "turn"); err != nil {
		t.Fatal(err)
	}
	turn = readOne(t, e.st, "w1")
	if err := e.st.Sent(ctx, first(t, e.st, "o-alice")); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.st.PushState(ctx, "p1"); st != store.PushSent {
		t.Fatalf("state %q", st)
	}
	if err := e.st.Undeliverable(ctx, first(t, e.st, "o-alice")); err != nil {
		t.Fatal(err)
	}
	// One push left: releasing gives a fresh turn.
	if err := e.st.Release(ctx, turn); err != nil {
		t.Fatal(err)
	}
	turn = readOne(t, e.st, "w1")
	if err := e.st.Sent(ctx, first(t, e.st, "o-alice")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Release(ctx, turn); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s != (store.OutboxStats{}) {
		t.Fatalf("stats %+v", s)
	}
	// The next push gives a turn again.
	if err := e.st.Push(ctx, push("p4")); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestReadNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	start := time.Now()
	msgs, err := e.st.Read(context.Background(), "w1", 10, 50*time.Millisecond)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	if time.Since(start) < 40*time.Millisecond {
		t.Fatal("Read did not wait")
	}
}

func TestReclaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Push(ctx, push("p1")); err != nil {
		t.Fatal(err)
	}
	dead := readOne(t, e.st, "w-dead")
	other := e.another(t, store.Options{})
	if msgs, err := other.Reclaim(ctx, "w2", time.Minute, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("Reclaim fresh = %v, %v", msgs, err)
	}
	time.Sleep(30 * time.Millisecond)
	msgs, err := other.Reclaim(ctx, "w2", 20*time.Millisecond, 10)
	if err != nil || len(msgs) != 1 || msgs[0] != dead {
		t.Fatalf("Reclaim = %+v, %v", msgs, err)
	}
	if s := stats(t, e.st); s.Pending != 1 || s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDeadAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"p-a", "p-b"} {
		if err := e.st.Push(ctx, push(id)); err != nil {
			t.Fatal(err)
		}
	}
	turn := readOne(t, e.st, "w1")
	for _, reason := range []string{"errcode=47001", "gave up"} {
		if err := e.st.Dead(ctx, "o-alice", first(t, e.st, "o-alice"), 2, reason, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.Release(ctx, turn); err != nil {
		t.Fatal(err)
	}
	dead, err := e.st.ListDead(ctx)
	if err != nil || len(dead) != 2 || dead[0].Push.ID != "p-a" || dead[0].Attempt != 2 || dead[0].Reason != "errcode=47001" || !dead[0].At.Equal(at) {
		t.Fatalf("ListDead = %+v, %v", dead, err)
	}
	if st, _ := e.st.PushState(ctx, "p-a"); st != store.PushDead {
		t.Fatalf("state %q", st)
	}
	// Pushing a dead ID again does not bypass the admin.
	if ok, _ := e.st.Enqueue(ctx, push("p-a"), time.Time{}); ok {
		t.Fatal("a dead push was queued again")
	}
	// Another push came meanwhile; the replayed ones go behind it.
	if err := e.st.Push(ctx, push("p-c")); err != nil {
		t.Fatal(err)
	}
	if n, err := e.st.Replay(ctx, "p-b"); err != nil || n != 1 {
		t.Fatalf("Replay by push id = %d, %v", n, err)
	}
	if n, err := e.st.ReplayAll(ctx); err != nil || n != 1 {
		t.Fatalf("ReplayAll = %d, %v", n, err)
	}
	if got := queued(t, e.st, "o-alice"); !slices.Equal(got, []string{"p-c", "p-b", "p-a"}) {
		t.Fatalf("queue %v", got)
	}
	if s := stats(t, e.st); s.Dead != 0 || s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := e.st.Replay(ctx, "nope"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("Replay(unknown) = %v", err)
	}
}

// Two admins replaying at once put the push back once.
func TestReplayConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Push(ctx, push("p-x")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Dead(ctx, "o-alice", first(t, e.st, "o-alice"), 1, "errcode=47001", time.Now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 5 {
		st := e.another(t, store.Options{})
		wg.Go(func() {
			n, _ := st.ReplayAll(ctx)
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := queued(t, e.st, "o-alice"); total != 1 || len(got) != 1 {
		t.Fatalf("replayed %d, queue %v; want once", total, got)
	}
}

func TestMalformedItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.rdb.RPush(ctx, e.prefix+"outbox:q:o-alice", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	bad := first(t, e.st, "o-alice")
	if bad.Push.ID != "" {
		t.Fatalf("decoded %+v", bad)
	}
	if err := e.st.Sent(ctx, bad); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Sent(malformed) = %v", err)
	}
	if err := e.st.Dead(ctx, "o-alice", bad, 0, "undecodable", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := queued(t, e.st, "o-alice"); len(got) != 0 {
		t.Fatalf("queue %v", got)
	}
	dead, _ := e.st.ListDead(ctx)
	if len(dead) != 1 || dead[0].Malformed == "" {
		t.Fatalf("dead %+v", dead)
	}
	if n, err := e.st.ReplayAll(ctx); err != nil || n != 0 {
		t.Fatalf("ReplayAll = %d, %v; want malformed left alone", n, err)
	}
}

func TestPruneConsumers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if n, err := e.st.PruneConsumers(ctx, 0); err != nil || n != 0 {
		t.Fatalf("Prune with no stream = %d, %v", n, err)
	}
	if err := e.st.Push(ctx, push("p1")); err != nil {
		t.Fatal(err)
	}
	readOne(t, e.st, "holder")
	other := push("p2")
	other.To = "o-bob"
	if err := e.st.Push(ctx, other); err != nil {
		t.Fatal(err)
	}
	turn := readOne(t, e.st, "idle")
	if err := e.st.Sent(ctx, first(t, e.st, "o-bob")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Release(ctx, turn); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.PruneConsumers(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want the idle one only", n, err)
	}
	if s := stats(t, e.st); s.Pending != 1 {
		t.Fatalf("the holder's turn went with the prune: %+v", s)
	}
}

// The allowance as actions record it (a commit records its Update's the same way)
// and the ladder takes from it: the store's
// count follows bot.Contact's rules.
func TestAllowance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	take := func(at time.Time) (int, int) {
		t.Helper()
		left, code, err := e.st.TakeCustom(ctx, "o-alice", at)
		if err != nil {
			t.Fatal(err)
		}
		return left, code
	}
	if _, code := take(t0); code != bot.AllowanceClosed {
		t.Fatalf("never acted: %d", code)
	}
	// A VIEW records nothing.
	if err := e.st.Acted(ctx, "o-alice", bot.ActionNone, t0); err != nil {
		t.Fatal(err)
	}
	if _, code := take(t0); code != bot.AllowanceClosed {
		t.Fatalf("after a view: %d", code)
	}
	if err := e.st.Acted(ctx, "o-alice", bot.ActionMessage, t0); err != nil {
		t.Fatal(err)
	}
	var lefts []int
	for range 5 {
		l, code := take(t0.Add(time.Hour))
		if code != 0 {
			t.Fatalf("code %d", code)
		}
		lefts = append(lefts, l)
	}
	if !slices.Equal(lefts, []int{4, 3, 2, 1, 0}) {
		t.Fatalf("left %v", lefts)
	}
	if _, code := take(t0.Add(time.Hour)); code != bot.AllowanceSpent {
		t.Fatalf("sixth: %d", code)
	}
	if err := e.st.GiveBack(ctx, "o-alice"); err != nil {
		t.Fatal(err)
	}
	if l, code := take(t0.Add(time.Hour)); code != 0 || l != 0 {
		t.Fatalf("after a give-back: %d %d", l, code)
	}
	// A click resets to 3, within the message's 48 hours; an older commit landing
	// late changes nothing.
	if err := e.st.Acted(ctx, "o-alice", bot.ActionEvent, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Acted(ctx, "o-alice", bot.ActionMessage, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c, err := e.st.Contact(ctx, "o-alice")
	if err != nil || c.Kind != bot.ActionEvent || !c.LastMessage.Equal(t0) {
		t.Fatalf("Contact = %+v, %v", c, err)
	}
	if l, _ := c.Left(t0.Add(3 * time.Hour)); l != 3 {
		t.Fatalf("after a click: %d left", l)
	}
	for range 3 {
		take(t0.Add(3 * time.Hour))
	}
	if _, code := take(t0.Add(3 * time.Hour)); code != bot.AllowanceSpent {
		t.Fatalf("fourth after the click: %d", code)
	}
	if _, code := take(t0.Add(50 * time.Hour)); code != bot.AllowanceClosed {
		t.Fatalf("50 h on: %d", code)
	}
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	cbs := []bot.Callback{
		{ID: "push:b", OpenID: "o-b", Community: "c1", Ref: "Q2", Text: "二", Reason: "unsubscribed", Created: t0.Add(time.Minute)},
		{ID: "push:a", OpenID: "o-a", Community: "c1", Ref: "Q1", Text: "一", Reason: "no_template", Created: t0},
		{ID: "push:c", OpenID: "o-c", Community: "c2", Text: "三", Reason: "unsubscribed", Created: t0},
	}
	for _, c := range cbs {
		if err := e.st.AddCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// The same task again (a retried push) changes nothing.
	again := cbs[0]
	again.Text = "changed"
	if err := e.st.AddCallback(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.ListCallbacks(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"push:a", "push:b"}) || got[1].Text != "二" || !got[0].Created.Equal(t0) {
		t.Fatalf("ListCallbacks(c1) = %+v", got)
	}
	if err := e.st.CloseCallback(ctx, "c1", "push:a"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CloseCallback(ctx, "c1", "push:a"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("second close: %v", err)
	}
	if got, _ := e.st.ListCallbacks(ctx, "c1"); len(got) != 1 {
		t.Fatalf("after close: %+v", got)
	}
	if got, _ := e.st.ListCallbacks(ctx, "nowhere"); len(got) != 0 {
		t.Fatalf("empty community: %+v", got)
	}
	if err := e.st.AddCallback(ctx, bot.Callback{}); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("callback without id: %v", err)
	}
}

// A parked turn comes back through the reminder its parking scheduled, and only
// that one: a reminder of an earlier parking, firing late, adds no second turn.
func TestWakeOnlyItsOwnParking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	morning := time.Now().Add(time.Hour)
	waiting := func(want int64) {
		t.Helper()
		if s := stats(t, e.st); s.Waiting != want {
			t.Fatalf("%d turns in the outbox, want %d", s.Waiting, want)
		}
	}
	if err := e.st.PushAt(ctx, push("held"), morning); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Held(ctx, readOne(t, e.st, "w1"), bot.Reminder{ID: "r1", Kind: "k", Due: morning}, 1); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := e.st.Parked(ctx, "o-alice"); err != nil || !ok || r.ID != "r1" || !r.Due.Equal(morning) {
		t.Fatalf("parked until %+v, %v, %v", r, ok, err)
	}
	if err := e.st.Wake(ctx, "o-alice", "r0"); err != nil {
		t.Fatal(err)
	}
	waiting(0)
	// An urgent push wakes the held turn; its reminder, firing meanwhile, does not.
	if err := e.st.Push(ctx, push("urgent")); err != nil {
		t.Fatal(err)
	}
	waiting(1)
	if err := e.st.Wake(ctx, "o-alice", "r1"); err != nil {
		t.Fatal(err)
	}
	waiting(1)
	// Parked again (a retry's backoff): a push waits with the turn, r1 wakes
	// nothing, r2 wakes it.
	if err := e.st.Later(ctx, readOne(t, e.st, "w1"), bot.Reminder{ID: "r2", Kind: "k", Due: morning}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Push(ctx, push("later")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Wake(ctx, "o-alice", "r1"); err != nil {
		t.Fatal(err)
	}
	waiting(0)
	if err := e.st.Wake(ctx, "o-alice", "r2"); err != nil {
		t.Fatal(err)
	}
	waiting(1)
	if _, ok, _ := e.st.Parked(ctx, "o-alice"); ok {
		t.Fatal("a woken turn still parked")
	}
}

// A held turn whose worker missed a push that may go now goes straight back to the
// stream, with no reminder.
func TestHeldTurnWithAnUrgentPushBehindIsNotParked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	morning := time.Now().Add(time.Hour)
	if err := e.st.PushAt(ctx, push("held"), morning); err != nil {
		t.Fatal(err)
	}
	turn := readOne(t, e.st, "w1")
	if err := e.st.Push(ctx, push("urgent")); err != nil { // after the worker read the queue
		t.Fatal(err)
	}
	if err := e.st.Held(ctx, turn, bot.Reminder{ID: "r1", Kind: "k", Due: morning}, 1); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
	if n, err := e.st.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("%d reminders, %v", n, err)
	}
}

// Flags the version before parking states wrote keep working: "held" is held (an
// urgent push or its reminder wakes it), "1" may be a turn parked by Later (its
// reminder wakes it), "woken" is a turn in the stream (nothing wakes it twice).
func TestTurnFlagsOfTheOlderVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		flag  string
		push  bool // an urgent push, else the old reminder fires
		turns int64
	}{
		{"held", true, 1},
		{"held", false, 1},
		{"1", false, 1},
		{"1", true, 0},
		{"woken", false, 0},
		{"woken", true, 0},
	} {
		e := newEnv(t, store.Options{})
		if err := e.st.PushAt(ctx, push("held"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		readOne(t, e.st, "w1") // the turn the flag now stands for
		if err := e.rdb.Set(ctx, e.prefix+"outbox:turn:o-alice", c.flag, 0).Err(); err != nil {
			t.Fatal(err)
		}
		var err error
		if c.push {
			err = e.st.Push(ctx, push("urgent"))
		} else {
			err = e.st.Wake(ctx, "o-alice", "outbox.retry:hash-of-o-alice")
		}
		if err != nil {
			t.Fatal(err)
		}
		if s := stats(t, e.st); s.Waiting-1 != c.turns {
			t.Errorf("flag %q, push %v: %d new turns, want %d", c.flag, c.push, s.Waiting-1, c.turns)
		}
	}
}
