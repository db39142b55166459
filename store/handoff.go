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

// Requests to talk to a person (转人工): bot.HandoffStore.

var _ bot.HandoffStore = (*Store)(nil)

// SaveHandoff stores a request and, while it waits, the offer to the one asked.
func (s *Store) SaveHandoff(ctx context.Context, h *bot.Handoff, ttl time.Duration) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("store: encode handoff: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.handoff(h.OpenID), raw, ttl)
		if g, ok := h.Asking(); ok {
			p.Set(ctx, s.k.handoffOffer(g.OpenID), h.OpenID, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save handoff: %w", err)
	}
	return nil
}

// Handoff loads a resident's request.
func (s *Store) Handoff(ctx context.Context, resident string) (*bot.Handoff, bool, error) {
	raw, err := s.rdb.Get(ctx, s.k.handoff(resident)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: load handoff: %w", err)
	}
	var h bot.Handoff
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, false, fmt.Errorf("store: decode handoff: %w", err)
	}
	return &h, true, nil
}

// OfferedTo is the resident whose request staff was last asked to accept.
func (s *Store) OfferedTo(ctx context.Context, staff string) (string, bool, error) {
	id, err := s.rdb.Get(ctx, s.k.handoffOffer(staff)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: handoff offer: %w", err)
	}
	return id, true, nil
}
