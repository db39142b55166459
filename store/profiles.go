package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Profiles = (*Store)(nil)

// saveProfile writes the profile and moves the phone index with it, in one step, so
// a phone never points at a resident who no longer gave it.
//
// KEYS: profile, new phone index (or the profile key again when no phone), old phone
// index (likewise). ARGV: profile JSON, openid.
var saveProfile = redis.NewScript(`
if KEYS[3] ~= KEYS[1] and KEYS[3] ~= KEYS[2] and redis.call('GET', KEYS[3]) == ARGV[2] then
	redis.call('DEL', KEYS[3])
end
redis.call('SET', KEYS[1], ARGV[1])
if KEYS[2] ~= KEYS[1] then
	redis.call('SET', KEYS[2], ARGV[2])
end
return 1
`)

// Profile loads a resident's profile; an unknown resident has an empty one.
func (s *Store) Profile(ctx context.Context, openid string) (bot.Profile, error) {
	raw, err := s.rdb.Get(ctx, s.k.profile(openid)).Bytes()
	if errors.Is(err, redis.Nil) {
		return bot.Profile{OpenID: openid}, nil
	}
	if err != nil {
		return bot.Profile{}, fmt.Errorf("store: load profile: %w", err)
	}
	var p bot.Profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return bot.Profile{}, fmt.Errorf("store: decode profile: %w", err)
	}
	return p, nil
}

// SaveProfile stores p, re-pointing the phone index when the phone changed.
func (s *Store) SaveProfile(ctx context.Context, p bot.Profile) error {
	old, err := s.Profile(ctx, p.OpenID)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: encode profile: %w", err)
	}
	pk := s.k.profile(p.OpenID)
	newIdx, oldIdx := pk, pk
	if p.Phone != "" {
		newIdx = s.k.phone(p.Phone)
	}
	if old.Phone != "" && old.Phone != p.Phone {
		oldIdx = s.k.phone(old.Phone)
	}
	if err := saveProfile.Run(ctx, s.rdb, []string{pk, newIdx, oldIdx}, raw, p.OpenID).Err(); err != nil {
		return fmt.Errorf("store: save profile: %w", err)
	}
	return nil
}

// ByPhone finds the resident who gave phone, if any.
func (s *Store) ByPhone(ctx context.Context, phone string) (string, bool, error) {
	id, err := s.rdb.Get(ctx, s.k.phone(phone)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: phone lookup: %w", err)
	}
	return id, true, nil
}
