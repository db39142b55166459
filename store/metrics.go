package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// What the metrics endpoint reads at scrape time (bot/metrics.State).

// OpenTickets counts a community's open tickets by status, from its queue.
func (s *Store) OpenTickets(ctx context.Context, community string) (map[bot.Status]int, error) {
	ts, err := s.Queue(ctx, community, 100000)
	if err != nil {
		return nil, err
	}
	out := map[bot.Status]int{}
	for _, t := range ts {
		out[t.Status]++
	}
	return out, nil
}

// OutboxDepth counts the outbox and dates its oldest entry (by the stream ID, the
// Redis server's clock).
func (s *Store) OutboxDepth(ctx context.Context) (waiting, pending, dead int64, oldest time.Time, err error) {
	st, err := s.OutboxStats(ctx)
	if err != nil {
		return 0, 0, 0, time.Time{}, err
	}
	msgs, err := s.rdb.XRangeN(ctx, s.k.outbox(), "-", "+", 1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, 0, time.Time{}, fmt.Errorf("store: outbox oldest: %w", err)
	}
	if len(msgs) > 0 {
		ms, _, _ := strings.Cut(msgs[0].ID, "-")
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			oldest = time.UnixMilli(n)
		}
	}
	return st.Waiting, st.Pending, st.Dead, oldest, nil
}

// OldestDue is the due time of the earliest waiting reminder (zero: none).
func (s *Store) OldestDue(ctx context.Context) (time.Time, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.k.due(), 0, 0).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("store: oldest due: %w", err)
	}
	if len(zs) == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(int64(zs[0].Score)), nil
}
