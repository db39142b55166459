package store_test

import (
	"context"
	"errors"
	"fmt"
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

// While one Update holds the lock, those that queue behind it are let in by the order
// the user sent them, not the order they arrived in.
func TestLockLetsWaitersInSendOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	first, err := e.st.Lock(ctx, upd("u"))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	// Arrive in reverse of the send order.
	for i := 5; i >= 1; i-- {
		u := bot.Update{ID: fmt.Sprintf("m:%d", 1000+i), From: "u", Time: base.Add(time.Duration(i) * time.Second)}
		st := e.another(t, store.Options{})
		wg.Go(func() {
			unlock, err := st.Lock(ctx, u)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, u.ID)
			mu.Unlock()
			unlock.Release()
		})
		time.Sleep(20 * time.Millisecond) // each is queued before the next arrives
	}
	first.Release()
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
				unlock, err := st.Lock(ctx, upd("u1"))
				cancel()
				if err != nil {
					errs <- err
					return
				}
				v := counter
				time.Sleep(100 * time.Microsecond) // widen the window a race would need
				counter = v + 1
				unlock.Release()
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
	ctx := context.Background()
	unlockA, err := e.st.Lock(ctx, upd("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA.Release()

	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	unlockB, err := e.st.Lock(short, upd("b"))
	if err != nil {
		t.Fatalf("user b blocked by user a: %v", err)
	}
	unlockB.Release()

	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := e.st.Lock(short2, upd("a")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock of a held lock: %v, want context.DeadlineExceeded", err)
	}
}

// The engine unlocks after its context may already be done; the release must still
// happen, not wait for LockTTL.
func TestUnlockAfterContextDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{LockTTL: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	unlock, err := e.st.Lock(ctx, upd("u"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	unlock.Release()
	unlock.Release() // twice is harmless

	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	unlock, err = e.st.Lock(short, upd("u"))
	if err != nil {
		t.Fatalf("lock not released: %v", err)
	}
	unlock.Release()
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("keys left: %q", keys)
	}
}

// A holder that overran LockTTL must not release the lock its successor now holds.
func TestLockExpiresAndStaleUnlockIsHarmless(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{LockTTL: 100 * time.Millisecond})
	ctx := context.Background()
	stale, err := e.st.Lock(ctx, upd("u"))
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	unlock, err := e.st.Lock(wait, upd("u"))
	if err != nil {
		t.Fatalf("lock did not lapse: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("got the lock after %v while it was held", d)
	}
	stale.Release()
	short, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	if _, err := e.st.Lock(short, upd("u")); err == nil {
		t.Fatal("a stale unlock released the successor's lock")
	}
	unlock.Release()
}
