package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// StatsMany reads many counter hashes in one round trip, in the order asked. A
// missing hash reads as no counts.
func (s *Store) StatsMany(ctx context.Context, buckets []bot.StatsBucket) ([]map[string]int64, error) {
	cmds := make([]*redis.MapStringStringCmd, len(buckets))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range buckets {
			cmds[i] = p.HGetAll(ctx, s.k.stats(b.Community, b.Period))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	out := make([]map[string]int64, len(buckets))
	for i, c := range cmds {
		m := make(map[string]int64, len(c.Val()))
		for k, v := range c.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			m[k] = n
		}
		out[i] = m
	}
	return out, nil
}

// AddStats moves a community's counters at a time, in its month's and its day's
// hash: for flows that count something without a ticket change of their own.
func (s *Store) AddStats(ctx context.Context, community string, at time.Time, d map[bot.Counter]int64) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.count(ctx, p, community, at, d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add stats: %w", err)
	}
	return nil
}
