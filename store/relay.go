package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// StartRelay links a staff member and a resident both ways, ending any relay either
// had, in one step.
func (s *Store) StartRelay(ctx context.Context, staff, resident, ticket string, ttl time.Duration) error {
	a, _ := json.Marshal(bot.Relay{Peer: resident, Ticket: ticket})
	b, _ := json.Marshal(bot.Relay{Peer: staff, Ticket: ticket})
	old := []string{}
	for _, id := range []string{staff, resident} {
		if r, ok, err := s.Relay(ctx, id); err == nil && ok && r.Peer != staff && r.Peer != resident {
			old = append(old, s.k.relay(r.Peer))
		}
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range old {
			p.Del(ctx, k)
		}
		p.Set(ctx, s.k.relay(staff), a, ttl)
		p.Set(ctx, s.k.relay(resident), b, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: start relay: %w", err)
	}
	return nil
}

// Relay reads the relay openid is in.
func (s *Store) Relay(ctx context.Context, openid string) (bot.Relay, bool, error) {
	raw, err := s.rdb.Get(ctx, s.k.relay(openid)).Bytes()
	if errors.Is(err, redis.Nil) {
		return bot.Relay{}, false, nil
	}
	if err != nil {
		return bot.Relay{}, false, fmt.Errorf("store: relay: %w", err)
	}
	var r bot.Relay
	if err := json.Unmarshal(raw, &r); err != nil {
		return bot.Relay{}, false, fmt.Errorf("store: decode relay: %w", err)
	}
	return r, true, nil
}

// TouchRelay keeps both sides of a relay alive for another ttl.
func (s *Store) TouchRelay(ctx context.Context, a, b string, ttl time.Duration) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.PExpire(ctx, s.k.relay(a), ttl)
		p.PExpire(ctx, s.k.relay(b), ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: touch relay: %w", err)
	}
	return nil
}

// EndRelay ends the relay openid is in, on both sides; it returns the side that was
// ended, if there was one.
func (s *Store) EndRelay(ctx context.Context, openid string) (bot.Relay, bool, error) {
	r, ok, err := s.Relay(ctx, openid)
	if err != nil || !ok {
		return r, ok, err
	}
	keys := []string{s.k.relay(openid)}
	// The peer may have moved on to another relay since; leave that one alone.
	if back, ok, err := s.Relay(ctx, r.Peer); err == nil && ok && back.Peer == openid {
		keys = append(keys, s.k.relay(r.Peer))
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return r, false, fmt.Errorf("store: end relay: %w", err)
	}
	return r, true, nil
}

// NextInTurn returns a counter for round-robin assignment in a community.
func (s *Store) NextInTurn(ctx context.Context, community string) (int64, error) {
	n, err := s.rdb.Incr(ctx, s.k.roundRobin(community)).Result()
	if err != nil {
		return 0, fmt.Errorf("store: round robin: %w", err)
	}
	return n, nil
}
