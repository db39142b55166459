package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// SetOnDuty puts a staff member on or off duty in the given communities, in one step.
func (s *Store) SetOnDuty(ctx context.Context, openid string, communities []string, on bool) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range communities {
			if on {
				p.SAdd(ctx, s.k.onDuty(c), openid)
			} else {
				p.SRem(ctx, s.k.onDuty(c), openid)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set on duty: %w", err)
	}
	return nil
}

// OnDuty lists the staff on duty in a community.
func (s *Store) OnDuty(ctx context.Context, community string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.onDuty(community)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: on duty: %w", err)
	}
	return ids, nil
}
