package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// renewScript extends a lease only while it still holds the caller's token: once it
// has lapsed and another replica took it, the old holder must not extend theirs.
//
// KEYS: lease. ARGV: token, ttl ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// AcquireLease takes the named lease for ttl if no one holds it. token identifies
// the holder and must be unique to it (a random string per process).
func (s *Store) AcquireLease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	if token == "" || ttl < time.Millisecond {
		return false, bot.Errorf(bot.EInvalid, "store: acquire lease %s: need a token and a ttl of 1ms or more", name)
	}
	ok, err := s.rdb.SetNX(ctx, s.k.leader(name), token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: acquire lease %s: %w", name, err)
	}
	return ok, nil
}

// RenewLease extends the lease to ttl from now if token still holds it; false means
// it has been lost.
func (s *Store) RenewLease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.k.leader(name)}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: renew lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives the lease up if token holds it, so another replica need not
// wait for it to lapse.
func (s *Store) ReleaseLease(ctx context.Context, name, token string) error {
	if err := compareAndDelete.Run(ctx, s.rdb, []string{s.k.leader(name)}, token).Err(); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}
