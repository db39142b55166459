package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Locker = (*Store)(nil)

const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 25 * time.Millisecond
	// unlockTimeout bounds the release on its own clock: the caller's context is often
	// already done when it unlocks, and the release must still happen.
	unlockTimeout = 2 * time.Second
	// lockWaiterStale purges a queued Update whose process stopped asking for its turn
	// (it crashed, or gave up at its deadline), so it cannot hold the others up.
	lockWaiterStale = 2 * time.Second
)

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1].
var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// acquireInTurn queues ARGV[2] (scored by the user's send order) and takes the lock
// only when it is free and ARGV[2] is first in the queue. Each poll refreshes the
// waiter's arrival mark; waiters that stopped polling are purged.
//
// KEYS: lock, queue, arrivals. ARGV: token, member, order, lock ttl ms, stale ms.
var acquireInTurn = redis.NewScript(`
local now = redis.call('TIME')
local nowms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], nowms, ARGV[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', nowms - tonumber(ARGV[5]))
for _, m in ipairs(stale) do
	redis.call('ZREM', KEYS[2], m)
	redis.call('ZREM', KEYS[3], m)
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)
if head[1] ~= ARGV[2] then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`)

// Lock takes the lock of u's sender, waiting until ctx is done. Updates waiting
// together get the lock in the order the user sent them (the platform's CreateTime,
// then the update ID). The lock lapses after LockTTL even if never released, so a
// crashed process cannot wedge a user.
func (s *Store) Lock(ctx context.Context, u bot.Update) (bot.Lease, error) {
	user := u.From
	key := s.k.lock(user)
	keys := []string{key, s.k.lockQueue(user), s.k.lockArrivals(user)}
	token := rand.Text()
	order := strconv.FormatInt(u.Time.Unix(), 10)
	wait := lockPollMin
	for {
		got, err := acquireInTurn.Run(ctx, s.rdb, keys, token, u.ID, order,
			s.opt.LockTTL.Milliseconds(), lockWaiterStale.Milliseconds()).Int()
		if err != nil {
			return bot.Lease{}, ctxOr(ctx, fmt.Errorf("store: lock %s: %w", user, err))
		}
		if got == 1 {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			s.leaveQueue(ctx, keys, u.ID)
			return bot.Lease{}, fmt.Errorf("store: lock %s: %w", user, err)
		}
		wait = min(wait*2, lockPollMax)
	}
	var once sync.Once
	return bot.Lease{Token: token, Release: func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			// Only our own token: once LockTTL has passed another process may hold
			// the lock, and deleting theirs would let a third in. A failed release
			// needs no error path, the lock lapses by itself.
			_ = compareAndDelete.Run(ctx, s.rdb, []string{key}, token).Err()
		})
	}}, nil
}

// leaveQueue takes a waiter that gave up out of the queue at once, rather than letting
// it hold the users' later Updates back until it is purged as stale.
func (s *Store) leaveQueue(ctx context.Context, keys []string, member string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	_, _ = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, keys[1], member)
		p.ZRem(ctx, keys[2], member)
		return nil
	})
}
