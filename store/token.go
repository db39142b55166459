package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis side of the access token that every replica shares (bot/wechat.Token).

// AccessToken returns the cached access token of appID, "" when there is none.
func (s *Store) AccessToken(ctx context.Context, appID string) (string, error) {
	v, err := s.rdb.Get(ctx, s.k.accessToken(appID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", ctxOr(ctx, fmt.Errorf("store: access token: %w", err))
	}
	return v, nil
}

// SetAccessToken caches token for ttl.
func (s *Store) SetAccessToken(ctx context.Context, appID, token string, ttl time.Duration) error {
	if token == "" || ttl <= 0 {
		return fmt.Errorf("store: set access token: empty token or ttl %s", ttl)
	}
	if err := s.rdb.Set(ctx, s.k.accessToken(appID), token, ttl).Err(); err != nil {
		return fmt.Errorf("store: set access token: %w", err)
	}
	return nil
}

// LockAccessToken tries once to become the replica that fetches appID's token. ok
// is false when another holds the lock. The lock lapses after ttl, so a replica that
// dies while fetching holds up the others for ttl at most.
func (s *Store) LockAccessToken(ctx context.Context, appID string, ttl time.Duration) (unlock func(), ok bool, err error) {
	key := s.k.accessTokenLock(appID)
	mine := rand.Text()
	ok, err = s.rdb.SetNX(ctx, key, mine, ttl).Result()
	if err != nil {
		return nil, false, ctxOr(ctx, fmt.Errorf("store: lock access token: %w", err))
	}
	if !ok {
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			_ = compareAndDelete.Run(ctx, s.rdb, []string{key}, mine).Err()
		})
	}, true, nil
}

// invalidateScript drops the cached token only if it is still the one the caller
// saw refused, and remembers it as refused. A replica that comes second finds a
// newer token (or none, while the first refreshes) and changes nothing.
//
// KEYS: token, rejected. ARGV: token, remember ms.
var invalidateScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
	return 0
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`)

// InvalidateAccessToken drops token from the cache if it is still the current one,
// and remembers it as refused for remember. It reports whether it dropped it.
func (s *Store) InvalidateAccessToken(ctx context.Context, appID, token string, remember time.Duration) (bool, error) {
	n, err := invalidateScript.Run(ctx, s.rdb,
		[]string{s.k.accessToken(appID), s.k.accessTokenRejected(appID)},
		token, remember.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: invalidate access token: %w", err)
	}
	return n == 1, nil
}

// RejectedAccessToken returns the token last refused by the platform, if that was
// recent; "" otherwise.
func (s *Store) RejectedAccessToken(ctx context.Context, appID string) (string, error) {
	v, err := s.rdb.Get(ctx, s.k.accessTokenRejected(appID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: rejected access token: %w", err)
	}
	return v, nil
}

// AllowForceRefresh reports whether a forced token refresh may go ahead now: at most
// one per gap across all replicas.
func (s *Store) AllowForceRefresh(ctx context.Context, appID string, gap time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.accessTokenForced(appID), "1", gap).Result()
	if err != nil {
		return false, fmt.Errorf("store: force refresh gate: %w", err)
	}
	return ok, nil
}
