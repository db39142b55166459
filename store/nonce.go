package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fresh reports whether a signed query is new, or was seen with exactly this body
// (a platform retry), remembering it for ttl; replicas share what they saw, so a
// replay sent to another replica is refused too. It implements wechat.Nonces.
func (s *Store) Fresh(ctx context.Context, key string, body []byte, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256(body)
	old, err := s.rdb.SetArgs(ctx, s.k.nonce(key), sum[:], redis.SetArgs{Mode: "NX", Get: true, TTL: ttl}).Result()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: nonce: %w", err)
	}
	return old == string(sum[:]), nil
}
