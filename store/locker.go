package store

import (
	"context"
	"crypto/rand"
	"fmt"
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
)

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1].
var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lock takes the user's lock, waiting until ctx is done. The lock lapses after
// LockTTL even if never released, so a crashed process cannot wedge a user.
func (s *Store) Lock(ctx context.Context, user string) (unlock func(), err error) {
	key := s.k.lock(user)
	token := rand.Text()
	wait := lockPollMin
	for {
		ok, err := s.rdb.SetNX(ctx, key, token, s.opt.LockTTL).Result()
		if err != nil {
			return nil, ctxOr(ctx, fmt.Errorf("store: lock %s: %w", user, err))
		}
		if ok {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("store: lock %s: %w", user, err)
		}
		wait = min(wait*2, lockPollMax)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			// Only our own token: once LockTTL has passed another process may hold
			// the lock, and deleting theirs would let a third in. A failed release
			// needs no error path, the lock lapses by itself.
			_ = compareAndDelete.Run(ctx, s.rdb, []string{key}, token).Err()
		})
	}, nil
}
