package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// What the hotline's HTTP API keeps: revoked tokens, per-token request counts, and
// request nonces for replay protection.

// Admit counts one request of a token (by name) in the current window and says
// whether the token (by hash) is revoked, in one round trip.
func (s *Store) Admit(ctx context.Context, name, hash string, now time.Time, window time.Duration) (revoked bool, count int64, err error) {
	w := now.UnixMilli() / window.Milliseconds()
	key := s.k.apiRate(name, w)
	var rev *redis.BoolCmd
	var incr *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rev = p.SIsMember(ctx, s.k.apiRevoked(), hash)
		incr = p.Incr(ctx, key)
		p.PExpire(ctx, key, 2*window)
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("store: admit api request: %w", err)
	}
	return rev.Val(), incr.Val(), nil
}

// FreshNonce records a request nonce; false when it was seen within ttl.
func (s *Store) FreshNonce(ctx context.Context, name, nonce string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.apiNonce(name, nonce), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: api nonce: %w", err)
	}
	return ok, nil
}

// RevokeToken revokes (or, with on false, restores) an API token by hash.
func (s *Store) RevokeToken(ctx context.Context, hash string, on bool) error {
	var err error
	if on {
		err = s.rdb.SAdd(ctx, s.k.apiRevoked(), hash).Err()
	} else {
		err = s.rdb.SRem(ctx, s.k.apiRevoked(), hash).Err()
	}
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// RevokedTokens lists the revoked token hashes.
func (s *Store) RevokedTokens(ctx context.Context) (map[string]bool, error) {
	hs, err := s.rdb.SMembers(ctx, s.k.apiRevoked()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: revoked tokens: %w", err)
	}
	out := make(map[string]bool, len(hs))
	for _, h := range hs {
		out[h] = true
	}
	return out, nil
}

// PhoneKey is the key of the phone-number hash when the config gives none: made
// once at random and shared by every replica.
func (s *Store) PhoneKey(ctx context.Context) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := s.rdb.SetNX(ctx, s.k.phoneKey(), hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, fmt.Errorf("store: phone key: %w", err)
	}
	v, err := s.rdb.Get(ctx, s.k.phoneKey()).Result()
	if errors.Is(err, redis.Nil) || err != nil {
		return nil, fmt.Errorf("store: phone key: %w", err)
	}
	return hex.DecodeString(v)
}
