package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// Call-back tasks (回电), numbered so that staff can type 回电 <n> (bot.CallbackStore).

var _ bot.CallbackStore = (*Store)(nil)

func (s *Store) loadCallback(ctx context.Context, c redis.Cmdable, no string) (*bot.Callback, error) {
	raw, err := c.Get(ctx, s.k.callback(no)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENotFound, "callback %s", no)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load callback %s: %w", no, err)
	}
	var cb bot.Callback
	if err := json.Unmarshal(raw, &cb); err != nil {
		return nil, fmt.Errorf("store: decode callback %s: %w", no, err)
	}
	return &cb, nil
}

// CreateCallback numbers and stores a task unless one with its ID exists, counting
// callback.created in the same transaction.
func (s *Store) CreateCallback(ctx context.Context, c *bot.Callback) (*bot.Callback, bool, error) {
	if c.ID == "" {
		return nil, false, bot.Errorf(bot.EInvalid, "store: call-back task needs an id")
	}
	idKey := s.k.callbackID(c.ID)
	for range txRetries {
		var out *bot.Callback
		created := false
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			no, err := tx.Get(ctx, idKey).Result()
			if err == nil {
				out, err = s.loadCallback(ctx, tx, no)
				return err
			}
			if !errors.Is(err, redis.Nil) {
				return err
			}
			n, err := tx.Incr(ctx, s.k.callbackSeq()).Result()
			if err != nil {
				return err
			}
			nc := *c
			nc.No = strconv.FormatInt(n, 10)
			nc.Version = 1
			if nc.Status == "" {
				nc.Status = bot.CallbackOpen
			}
			raw, err := json.Marshal(&nc)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.k.callback(nc.No), raw, 0)
				p.Set(ctx, idKey, nc.No, 0)
				p.ZAdd(ctx, s.k.callbacksOpen(nc.Community), redis.Z{Score: float64(nc.Created.UnixMilli()), Member: nc.No})
				if nc.Ref != "" {
					p.SAdd(ctx, s.k.callbacksRef(nc.Ref), nc.No)
				}
				s.count(ctx, p, nc.Community, nc.Created, map[bot.Counter]int64{bot.CounterCallbackCreated: 1})
				return nil
			})
			out, created = &nc, true
			return err
		}, idKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("store: create callback: %w", err)
		}
		return out, created, nil
	}
	return nil, false, bot.Errorf(bot.EUnavailable, "store: create callback: too much contention")
}

// Callback loads a task by number.
func (s *Store) Callback(ctx context.Context, no string) (*bot.Callback, error) {
	return s.loadCallback(ctx, s.rdb, no)
}

// UpdateCallback changes a task with optimistic locking; a task that closes leaves
// its community's open list in the same transaction.
func (s *Store) UpdateCallback(ctx context.Context, no string, fn func(c *bot.Callback) (map[bot.Counter]int64, error)) (*bot.Callback, error) {
	key := s.k.callback(no)
	for range txRetries {
		var out *bot.Callback
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cb, err := s.loadCallback(ctx, tx, no)
			if err != nil {
				return err
			}
			counts, err := fn(cb)
			if err != nil {
				return err
			}
			cb.Version++
			raw, err := json.Marshal(cb)
			if err != nil {
				return err
			}
			at := cb.Created
			if n := len(cb.Attempts); n > 0 {
				at = cb.Attempts[n-1].At
			}
			if !cb.Closed.IsZero() {
				at = cb.Closed
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, 0)
				if !cb.Open() {
					p.ZRem(ctx, s.k.callbacksOpen(cb.Community), cb.No)
				}
				if len(counts) > 0 {
					s.count(ctx, p, cb.Community, at, counts)
				}
				return nil
			})
			out = cb
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			var be *bot.Error
			if errors.As(err, &be) {
				return nil, err
			}
			return nil, fmt.Errorf("store: update callback %s: %w", no, err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: update callback %s: too much contention", no)
}

func (s *Store) callbacks(ctx context.Context, nos []string) ([]*bot.Callback, error) {
	if len(nos) == 0 {
		return nil, nil
	}
	ks := make([]string, len(nos))
	for i, no := range nos {
		ks[i] = s.k.callback(no)
	}
	vals, err := s.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: load callbacks: %w", err)
	}
	out := make([]*bot.Callback, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var cb bot.Callback
		if err := json.Unmarshal([]byte(str), &cb); err != nil {
			return nil, fmt.Errorf("store: decode callback: %w", err)
		}
		out = append(out, &cb)
	}
	return out, nil
}

// OpenCallbacks lists a community's open tasks, oldest first.
func (s *Store) OpenCallbacks(ctx context.Context, community string) ([]*bot.Callback, error) {
	nos, err := s.rdb.ZRange(ctx, s.k.callbacksOpen(community), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: open callbacks of %q: %w", community, err)
	}
	return s.callbacks(ctx, nos)
}

// CallbacksOf lists the tasks about one ticket, in number order.
func (s *Store) CallbacksOf(ctx context.Context, ticket string) ([]*bot.Callback, error) {
	nos, err := s.rdb.SMembers(ctx, s.k.callbacksRef(ticket)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: callbacks of %s: %w", ticket, err)
	}
	cbs, err := s.callbacks(ctx, nos)
	if err != nil {
		return nil, err
	}
	sortCallbacks(cbs)
	return cbs, nil
}

func sortCallbacks(cbs []*bot.Callback) {
	for i := 1; i < len(cbs); i++ {
		for j := i; j > 0; j-- {
			a, _ := strconv.Atoi(cbs[j-1].No)
			b, _ := strconv.Atoi(cbs[j].No)
			if a <= b {
				break
			}
			cbs[j-1], cbs[j] = cbs[j], cbs[j-1]
		}
	}
}

// AddCallback records a task with no reminder and nobody told: the store-level
// form kept for tests of the delivery ladder. The app hands the ladder the
// bot.CallbackService, which also schedules the reminder and tells the desk.
func (s *Store) AddCallback(ctx context.Context, c bot.Callback) error {
	_, _, err := s.CreateCallback(ctx, &c)
	return err
}

// ListCallbacks returns a community's open tasks, oldest first.
func (s *Store) ListCallbacks(ctx context.Context, community string) ([]bot.Callback, error) {
	cbs, err := s.OpenCallbacks(ctx, community)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Callback, len(cbs))
	for i, c := range cbs {
		out[i] = *c
	}
	return out, nil
}

// CloseCallback closes a task, by its ID, as done without a recorded call.
func (s *Store) CloseCallback(ctx context.Context, community, id string) error {
	no, err := s.rdb.Get(ctx, s.k.callbackID(id)).Result()
	if errors.Is(err, redis.Nil) {
		return bot.Errorf(bot.ENotFound, "store: close call-back %s: no such task", id)
	}
	if err != nil {
		return fmt.Errorf("store: close call-back %s: %w", id, err)
	}
	_, err = s.UpdateCallback(ctx, no, func(c *bot.Callback) (map[bot.Counter]int64, error) {
		if !c.Open() || c.Community != community {
			return nil, bot.Errorf(bot.ENotFound, "store: close call-back %s: no such task", id)
		}
		c.Status, c.Result = bot.CallbackDone, bot.CallbackReached
		return map[bot.Counter]int64{bot.CounterCallbackDone: 1}, nil
	})
	return err
}
