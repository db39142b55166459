package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

// BenchmarkCreateTicket measures what redis.min_replicas_ack costs a new ticket:
// the same Create against a primary with one replica (both local, AOF everysec),
// without and then with waiting for the replica (WAIT 1).
//
//	go test ./store -run '^$' -bench CreateTicket
func BenchmarkCreateTicket(b *testing.B) {
	primary := redistest.StartPrivate(b, redistest.PrivateOptions{AOF: true})
	redistest.StartPrivate(b, redistest.PrivateOptions{AOF: true,
		Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port())}})
	ctx := context.Background()
	s := store.New(primary.Client(), store.Options{Prefix: "bench:"})
	// The replica is in sync once a WAIT succeeds.
	for deadline := time.Now().Add(10 * time.Second); s.Replicated(ctx, 1, 100*time.Millisecond) != nil; {
		if time.Now().After(deadline) {
			b.Fatal("the replica did not catch up")
		}
	}
	n := 0
	create := func(b *testing.B) {
		n++
		t := &bot.Ticket{Community: "QY", Category: "other", Description: "楼道灯坏了", OpenID: "o_bench",
			Status: bot.StatusNew, Created: time.Now()}
		if _, err := s.Create(ctx, t, "bench:"+strconv.Itoa(n), bot.Event{At: t.Created}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("min_replicas_ack=0", func(b *testing.B) {
		for b.Loop() {
			create(b)
		}
	})
	b.Run("min_replicas_ack=1", func(b *testing.B) {
		for b.Loop() {
			create(b)
			if err := s.Replicated(ctx, 1, time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Replicated waits for the replica, and says so when there is none.
func TestReplicatedWithoutReplicaIsUnavailable(t *testing.T) {
	p := redistest.StartPrivate(t, redistest.PrivateOptions{})
	s := store.New(p.Client(), store.Options{Prefix: redistest.Prefix(t)})
	err := s.Replicated(context.Background(), 1, 100*time.Millisecond)
	if bot.ErrorCode(err) != bot.EUnavailable {
		t.Fatalf("no replica: %v, want an unavailable error", err)
	}
	if err := s.Replicated(context.Background(), 0, 100*time.Millisecond); err != nil {
		t.Fatalf("zero replicas: %v", err)
	}
}
