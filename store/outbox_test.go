package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/store"
)

func push(id string) bot.Push {
	return bot.Push{ID: id, To: "o-alice", Kind: "ticket_reply", Text: "您的诉求有新回复", Ref: "Q7K2", Community: "c1"}
}

// fakeDue is the due set as the outbox sees it.
type fakeDue struct {
	mu   sync.Mutex
	rows map[string]bot.Reminder
	fail error
}

func (f *fakeDue) Schedule(_ context.Context, r bot.Reminder) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.rows == nil {
		f.rows = map[string]bot.Reminder{}
	}
	f.rows[r.ID] = r
	return nil
}

func (f *fakeDue) Cancel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rows, id)
	return nil
}

func readOne(t *testing.T, st *store.Store, consumer string) store.OutboxMsg {
	t.Helper()
	msgs, err := st.Read(context.Background(), consumer, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("Read got %d entries, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

func stats(t *testing.T, st *store.Store) store.OutboxStats {
	t.Helper()
	s, err := st.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPushIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	p := push("ticket:Q7K2:reply:1")

	// Queued before any worker made the group: still read.
	for i, want := range []bool{true, false} {
		queued, err := e.st.Enqueue(ctx, p)
		if err != nil || queued != want {
			t.Fatalf("Enqueue #%d = %v, %v; want %v", i+1, queued, err, want)
		}
	}
	checkTTL(t, e, "push:"+p.ID, store.PushStateTTL)
	m := readOne(t, e.st, "w1")
	if m.Push.ID != p.ID || m.Push.Text != p.Text || m.Attempt != 0 || m.State != store.PushQueued {
		t.Fatalf("read %+v", m)
	}
	if err := e.st.Sent(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Push(ctx, p); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s != (store.OutboxStats{}) {
		t.Fatalf("after sent and pushed again: %+v, want empty", s)
	}
	if st, _ := e.st.PushState(ctx, p.ID); st != store.PushSent {
		t.Fatalf("state %q", st)
	}

	if err := e.st.Push(ctx, bot.Push{To: "x"}); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("push without ID: %v", err)
	}
}

func TestReadNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	start := time.Now()
	msgs, err := e.st.Read(context.Background(), "w1", 1, 50*time.Millisecond)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("Read returned after %s, want it to wait its block", d)
	}
}

// A worker that read an entry and died leaves it pending; another takes it over.
func TestReclaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	p := push("p1")
	if err := e.st.Push(ctx, p); err != nil {
		t.Fatal(err)
	}
	dead := readOne(t, e.st, "w-dead")
	other := e.another(t, store.Options{})

	// Too fresh to take over.
	if msgs, err := other.Reclaim(ctx, "w2", time.Minute, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("Reclaim fresh = %v, %v", msgs, err)
	}
	time.Sleep(30 * time.Millisecond)
	msgs, err := other.Reclaim(ctx, "w2", 20*time.Millisecond, 10)
	if err != nil || len(msgs) != 1 || msgs[0].ID != dead.ID || msgs[0].Push.ID != p.ID || msgs[0].State != store.PushQueued {
		t.Fatalf("Reclaim = %+v, %v", msgs, err)
	}
	if s := stats(t, e.st); s.Pending != 1 || s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := other.Sent(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s != (store.OutboxStats{}) {
		t.Fatalf("stats %+v", s)
	}
	// The entry of a push already sent shows as such when read again.
	if _, err := e.st.Requeue(ctx, p, 1); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s.Waiting != 0 {
		t.Fatalf("Requeue of a sent push queued it: %+v", s)
	}
}

// A duplicate entry (the crash window of Defer) reads with the state of its push,
// so that the worker drops it instead of sending again.
func TestDuplicateEntryShowsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	p := push("p-dup")
	if err := e.st.Push(ctx, p); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.st.Requeue(ctx, p, 1); err != nil || !ok {
		t.Fatalf("Requeue of a queued push = %v, %v", ok, err)
	}
	msgs, err := e.st.Read(ctx, "w1", 10, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Read = %+v, %v", msgs, err)
	}
	if err := e.st.Sent(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	again, err := e.st.Reclaim(ctx, "w2", 10*time.Millisecond, 10)
	if err != nil || len(again) != 1 || again[0].State != store.PushSent || again[0].Attempt != 1 {
		t.Fatalf("Reclaim = %+v, %v", again, err)
	}
	if err := e.st.Ack(ctx, again[0]); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, e.st); s != (store.OutboxStats{}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestDeferSchedulesBeforeAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	p := push("p-retry")
	if err := e.st.Push(ctx, p); err != nil {
		t.Fatal(err)
	}
	m := readOne(t, e.st, "w1")
	r := bot.Reminder{ID: "outbox.retry:" + p.ID, Kind: "outbox.retry", Due: time.Now().Add(time.Minute)}

	// The due set refuses: the entry must stay, or the push is lost.
	due := &fakeDue{fail: errors.New("due set down")}
	if err := e.st.Defer(ctx, m, due, r); err == nil {
		t.Fatal("Defer succeeded without its reminder")
	}
	if s := stats(t, e.st); s.Pending != 1 {
		t.Fatalf("entry gone after a failed Defer: %+v", s)
	}
	due.fail = nil
	if err := e.st.Defer(ctx, m, due, r); err != nil {
		t.Fatal(err)
	}
	if _, ok := due.rows[r.ID]; !ok {
		t.Fatal("no reminder")
	}
	if s := stats(t, e.st); s != (store.OutboxStats{}) {
		t.Fatalf("stats %+v", s)
	}
	if st, _ := e.st.PushState(ctx, p.ID); st != store.PushQueued {
		t.Fatalf("state while deferred = %q, want queued", st)
	}
	// While it waits, pushing the same ID does nothing.
	if ok, _ := e.st.Enqueue(ctx, p); ok {
		t.Fatal("a deferred push was queued again")
	}
	if ok, err := e.st.Requeue(ctx, p, 1); err != nil || !ok {
		t.Fatalf("Requeue = %v, %v", ok, err)
	}
	if m := readOne(t, e.st, "w1"); m.Attempt != 1 || m.Push.ID != p.ID {
		t.Fatalf("requeued %+v", m)
	}
}

func TestDeadAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"p-a", "p-b", "p-c"} {
		if err := e.st.Push(ctx, push(id)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := e.st.Read(ctx, "w1", 10, 0)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	for _, m := range msgs {
		if err := e.st.Dead(ctx, m, 8, "gave up after 8 attempts: wechat custom: http status 500", at); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := e.st.ListDead(ctx)
	if err != nil || len(dead) != 3 {
		t.Fatalf("ListDead = %v, %v", dead, err)
	}
	if d := dead[0]; d.Push.ID != "p-a" || d.Attempt != 8 || !d.At.Equal(at) || d.Reason == "" || d.Push.Text != push("p-a").Text {
		t.Fatalf("dead[0] = %+v", d)
	}
	if s := stats(t, e.st); s.Waiting != 0 || s.Pending != 0 || s.Dead != 3 {
		t.Fatalf("stats %+v", s)
	}
	// Dead is remembered until replayed: pushing the ID again waits for the admin.
	if st, _ := e.st.PushState(ctx, "p-a"); st != store.PushDead {
		t.Fatalf("state %q", st)
	}
	if ttl := e.rdb.PTTL(ctx, e.prefix+"push:p-a").Val(); ttl != -1 {
		t.Fatalf("dead state TTL %v, want none", ttl)
	}
	if ok, _ := e.st.Enqueue(ctx, push("p-a")); ok {
		t.Fatal("a dead push was queued by Push")
	}

	// By entry ID, then by push ID.
	if n, err := e.st.Replay(ctx, dead[0].ID); err != nil || n != 1 {
		t.Fatalf("Replay(entry) = %d, %v", n, err)
	}
	if n, err := e.st.Replay(ctx, dead[0].ID); bot.ErrorCode(err) != bot.ENotFound || n != 0 {
		t.Fatalf("second Replay(entry) = %d, %v; want not found", n, err)
	}
	if n, err := e.st.Replay(ctx, "p-b"); err != nil || n != 1 {
		t.Fatalf("Replay(push) = %d, %v", n, err)
	}
	if n, err := e.st.ReplayAll(ctx); err != nil || n != 1 {
		t.Fatalf("ReplayAll = %d, %v", n, err)
	}
	if s := stats(t, e.st); s.Waiting != 3 || s.Dead != 0 {
		t.Fatalf("stats after replay %+v", s)
	}
	checkTTL(t, e, "push:p-a", store.PushStateTTL)
	msgs, err = e.st.Read(ctx, "w1", 10, 0)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Read after replay = %v, %v", msgs, err)
	}
	for _, m := range msgs {
		if m.Attempt != 0 || m.State != store.PushQueued {
			t.Fatalf("replayed entry %+v", m)
		}
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
	m := readOne(t, e.st, "w1")
	if err := e.st.Dead(ctx, m, 1, "errcode=47001", time.Now()); err != nil {
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
	if s := stats(t, e.st); total != 1 || s.Waiting != 1 || s.Dead != 0 {
		t.Fatalf("replayed %d, stats %+v; want once", total, s)
	}
}

func TestMalformedEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	if err := e.st.Push(ctx, push("p-ok")); err != nil { // makes the stream
		t.Fatal(err)
	}
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.prefix + "outbox", Values: []any{"push", "{not json", "attempt", "0"}}).Err(); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.st.Read(ctx, "w1", 10, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Read = %+v, %v", msgs, err)
	}
	bad := msgs[1]
	if bad.Malformed == "" || msgs[0].Malformed != "" {
		t.Fatalf("entries %+v", msgs)
	}
	if err := e.st.Sent(ctx, bad); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Sent(malformed) = %v", err)
	}
	if err := e.st.Dead(ctx, bad, 0, bad.Malformed, time.Now()); err != nil {
		t.Fatal(err)
	}
	dead, _ := e.st.ListDead(ctx)
	if len(dead) != 1 || dead[0].Malformed == "" {
		t.Fatalf("dead %+v", dead)
	}
	if n, err := e.st.ReplayAll(ctx); err != nil || n != 0 {
		t.Fatalf("ReplayAll = %d, %v; want malformed left alone", n, err)
	}
	if _, err := e.st.Replay(ctx, dead[0].ID); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("Replay(malformed) = %v", err)
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
	// A consumer that read and finished holds nothing.
	if err := e.st.Push(ctx, push("p2")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Sent(ctx, readOne(t, e.st, "idle")); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.PruneConsumers(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want the idle one only", n, err)
	}
	if s := stats(t, e.st); s.Pending != 1 {
		t.Fatalf("the holder's entry went with the prune: %+v", s)
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
