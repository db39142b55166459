package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// holdersVersion is the version of the holders index; a Store finding another value
// (or none: data from before the index) rebuilds it from the grants.
const holdersVersion = "1"

// holdersField is a grant's field in the per-role holders hash.
func holdersField(community, openid string) string { return community + "|" + openid }

// Holders lists the grants of role in community, sorted by community, role and name.
// The role must be held exactly: a secretary is not listed among staff (ask for
// both). community "" lists every community's holders of role. Admins act in every
// community, so asking for RoleAdmin lists every admin grant whatever the community.
//
// It reads one hash of the holders of that role in that community: its cost grows
// with them, not with every grant (party members and volunteers by the hundred do
// not slow a staff alert).
func (s *Store) Holders(ctx context.Context, role bot.Role, community string) ([]bot.Grant, error) {
	if err := s.ensureHolders(ctx); err != nil {
		return nil, err
	}
	key := s.k.holdersIn(string(role), community)
	if community == "" || role == bot.RoleAdmin {
		key = s.k.holders(string(role))
	}
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("store: holders of %s in %q: %w", role, community, err)
	}
	gs, err := decodeGrants(m)
	if err != nil {
		return nil, fmt.Errorf("store: holders of %s in %q: %w", role, community, err)
	}
	sortGrants(gs)
	return gs, nil
}

// Desk reads a community's secretaries and staff and who is on duty in one round
// trip (a pipeline of three reads).
func (s *Store) Desk(ctx context.Context, community string) (secretaries, staff []bot.Grant, onDuty []string, err error) {
	if err := s.ensureHolders(ctx); err != nil {
		return nil, nil, nil, err
	}
	var secs, staffs *redis.MapStringStringCmd
	var duty *redis.StringSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		secs = p.HGetAll(ctx, s.k.holdersIn(string(bot.RoleSecretary), community))
		staffs = p.HGetAll(ctx, s.k.holdersIn(string(bot.RoleStaff), community))
		duty = p.SMembers(ctx, s.k.onDuty(community))
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store: the desk of %q: %w", community, err)
	}
	for _, c := range []struct {
		m   map[string]string
		out *[]bot.Grant
	}{{secs.Val(), &secretaries}, {staffs.Val(), &staff}} {
		gs, err := decodeGrants(c.m)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store: the desk of %q: %w", community, err)
		}
		sortGrants(gs)
		*c.out = gs
	}
	return secretaries, staff, duty.Val(), nil
}

// ensureHolders builds the holders index once from the grants made before it
// existed. Grants and revocations since keep it in step by themselves, so a marker
// in Redis (and then a flag in the Store) says it need not be done again.
func (s *Store) ensureHolders(ctx context.Context) error {
	if s.holdersReady.Load() {
		return nil
	}
	v, err := s.rdb.Get(ctx, s.k.holdersBuilt()).Result()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("store: holders index: %w", err)
	}
	if v != holdersVersion {
		if err := s.RebuildHolders(ctx); err != nil {
			return err
		}
	}
	s.holdersReady.Store(true)
	return nil
}

// indexGrantsScript puts a user's grants into the holders index, each only if the
// user still holds it: a grant revoked since the caller read it is left out, and
// one granted since is indexed by the grant itself.
// KEYS: grants, then per grant: holders of its role, holders of its role in its community.
// ARGV: openid, then per grant: grants field, holders field.
var indexGrantsScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV, 2 do
	local g = redis.call('HGET', KEYS[1], ARGV[i])
	if g then
		redis.call('HSET', KEYS[i], ARGV[i + 1], g)
		redis.call('HSET', KEYS[i + 1], ARGV[1], g)
		n = n + 1
	end
end
return n
`)

// RebuildHolders indexes every existing grant by role and community, then marks the
// index built. It is safe to run while grants change, and more than once; Holders
// runs it by itself on data from before the index.
func (s *Store) RebuildHolders(ctx context.Context) error {
	all, err := s.ListGrants(ctx)
	if err != nil {
		return fmt.Errorf("store: rebuild holders: %w", err)
	}
	byUser := map[string][]bot.Grant{}
	for _, g := range all {
		byUser[g.OpenID] = append(byUser[g.OpenID], g)
	}
	// Loaded first: a pipeline cannot fall back from EVALSHA to EVAL.
	if err := indexGrantsScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("store: rebuild holders: %w", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for openid, gs := range byUser {
			keys := []string{s.k.grants(openid)}
			args := []any{openid}
			for _, g := range gs {
				keys = append(keys, s.k.holders(string(g.Role)), s.k.holdersIn(string(g.Role), g.Community))
				args = append(args, grantField(g.Role, g.Community), holdersField(g.Community, openid))
			}
			indexGrantsScript.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: rebuild holders: %w", err)
	}
	if err := s.rdb.Set(ctx, s.k.holdersBuilt(), holdersVersion, 0).Err(); err != nil {
		return fmt.Errorf("store: rebuild holders: %w", err)
	}
	return nil
}
