package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// EachTicketWithTimeline calls fn with every ticket in number order and its
// timeline, reading 500 tickets and their timelines in two round trips: the unified
// register's walk, which must see every request (closed ones too) in bounded memory.
func (s *Store) EachTicketWithTimeline(ctx context.Context, fn func(t *bot.Ticket, evs []bot.Event) error) error {
	const batch = 500
	last, err := s.LastTicketNo(ctx)
	if err != nil {
		return err
	}
	for from := int64(firstTicketNo + 1); from <= last; from += batch {
		nos := make([]string, 0, batch)
		for n := from; n < from+batch && n <= last; n++ {
			nos = append(nos, strconv.FormatInt(n, 10))
		}
		ts, err := s.tickets(ctx, nos)
		if err != nil {
			return err
		}
		cmds := make([]*redis.StringSliceCmd, len(ts))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range ts {
				cmds[i] = p.LRange(ctx, s.k.ticketEvents(t.No), 0, -1)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("store: timelines: %w", err)
		}
		for i, t := range ts {
			raws := cmds[i].Val()
			evs := make([]bot.Event, 0, len(raws))
			for _, r := range raws {
				var ev bot.Event
				if err := json.Unmarshal([]byte(r), &ev); err != nil {
					return fmt.Errorf("store: decode event of %s: %w", t.No, err)
				}
				evs = append(evs, ev)
			}
			if err := fn(t, evs); err != nil {
				return err
			}
		}
	}
	return nil
}
