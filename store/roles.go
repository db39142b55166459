package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Roles = (*Store)(nil)

const (
	// codeAlphabet leaves out 0/O, 1/I/L so a code read aloud or off a screen can be
	// typed back without guessing.
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	codeLen      = 8
	// inviteGrace keeps an invite in Redis this long past its expiry, so that a late
	// user is told "expired" rather than "no such code".
	inviteGrace = 7 * 24 * time.Hour
)

// newCode draws a code uniformly from codeAlphabet.
func newCode() string {
	// Rejection sampling: 248 is the largest multiple of 31 below 256, so every
	// letter is equally likely.
	const limit = 256 - 256%len(codeAlphabet)
	b := make([]byte, 0, codeLen)
	var buf [16]byte
	for len(b) < codeLen {
		rand.Read(buf[:])
		for _, c := range buf {
			if int(c) < limit && len(b) < codeLen {
				b = append(b, codeAlphabet[int(c)%len(codeAlphabet)])
			}
		}
	}
	return string(b)
}

// normaliseCode makes what a user typed comparable with stored codes: upper case,
// without the spaces or dashes people put in to group characters. ok is false when
// it cannot be a code at all.
func normaliseCode(s string) (code string, ok bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u3000':
			return -1
		}
		return r
	}, strings.ToUpper(s))
	if len(s) != codeLen {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(codeAlphabet, r) {
			return "", false
		}
	}
	return s, true
}

// createInviteScript stores an invite unless the code is taken.
// KEYS: invite. ARGV: role, community, name, created ms, expires ms, redis ttl ms.
var createInviteScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], 'role', ARGV[1], 'community', ARGV[2], 'name', ARGV[3],
	'created', ARGV[4], 'expires', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`)

// CreateInvite makes a one-time code that grants role in community to the person
// called name, valid for ttl from now.
func (s *Store) CreateInvite(ctx context.Context, role bot.Role, community, name string, now time.Time, ttl time.Duration) (bot.Invite, error) {
	if _, ok := bot.ParseRole(string(role)); !ok {
		return bot.Invite{}, bot.Errorf(bot.EInvalid, "store: create invite: role %q cannot be granted", role)
	}
	// Admins act in every community; everybody else must be bound to one.
	if community == "" && role != bot.RoleAdmin {
		return bot.Invite{}, bot.Errorf(bot.EInvalid, "store: create invite: %s needs a community", role)
	}
	if strings.Contains(community, "|") {
		return bot.Invite{}, bot.Errorf(bot.EInvalid, "store: create invite: community %q contains '|'", community)
	}
	if ttl <= 0 {
		return bot.Invite{}, bot.Errorf(bot.EInvalid, "store: create invite: ttl %v", ttl)
	}
	inv := bot.Invite{Role: role, Community: community, Name: name, Created: now, Expires: now.Add(ttl)}
	// Collisions are rare (31^8 codes); a few tries make one vanishingly unlikely to
	// surface as an error.
	for range 5 {
		inv.Code = newCode()
		ok, err := createInviteScript.Run(ctx, s.rdb, []string{s.k.invite(inv.Code)},
			string(role), community, name, now.UnixMilli(), inv.Expires.UnixMilli(), (ttl + inviteGrace).Milliseconds(),
		).Bool()
		if err != nil {
			return bot.Invite{}, fmt.Errorf("store: create invite: %w", err)
		}
		if ok {
			return inv, nil
		}
	}
	return bot.Invite{}, bot.Errorf(bot.EInternal, "store: create invite: no free code after 5 tries")
}

// redeemScript binds a user with an invite, counting failures so codes cannot be
// guessed. A rate-limited try is not counted again, so the window does not slide for
// as long as someone keeps trying. A success clears the count: the user proved they
// had a real code. The grant goes into the holders index in the same step; the index
// keys depend on the invite, so the caller reads its role and community first and
// the script answers 'retry' if they are not the ones it was given.
//
// KEYS: invite, grants, grant index, bind fails[, holders of role, holders of role in community].
// ARGV: openid, now ms, fail limit, fail window ms, grant time (RFC 3339)[, role, community].
var redeemScript = redis.NewScript(`
local fails = tonumber(redis.call('GET', KEYS[4]) or '0')
if fails >= tonumber(ARGV[3]) then
	return {'rate_limited'}
end
local function fail(status)
	if redis.call('INCR', KEYS[4]) == 1 then
		redis.call('PEXPIRE', KEYS[4], ARGV[4])
	end
	return {status}
end
local inv = redis.call('HMGET', KEYS[1], 'role', 'community', 'name', 'expires', 'used_by')
if not inv[1] then
	return fail('not_found')
end
if #KEYS < 6 or inv[1] ~= ARGV[6] or inv[2] ~= ARGV[7] then
	return {'retry'}
end
if inv[5] then
	return fail('used')
end
if tonumber(ARGV[2]) >= tonumber(inv[4]) then
	return fail('expired')
end
redis.call('HSET', KEYS[1], 'used_by', ARGV[1], 'used_at', ARGV[2])
local grant = cjson.encode({openid = ARGV[1], role = inv[1], community = inv[2], name = inv[3], granted = ARGV[5]})
redis.call('HSET', KEYS[2], inv[1] .. '|' .. inv[2], grant)
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[5], inv[2] .. '|' .. ARGV[1], grant)
redis.call('HSET', KEYS[6], ARGV[1], grant)
redis.call('DEL', KEYS[4])
return {'ok', grant}
`)

// Redeem binds openid with an invite code: once, before it expires. Codes match
// case-insensitively. Every failure counts against openid; past the limit even a right
// code is refused with ERateLimited until the window ends.
func (s *Store) Redeem(ctx context.Context, code, openid string, now time.Time) (bot.Grant, error) {
	if openid == "" {
		return bot.Grant{}, bot.Errorf(bot.EInvalid, "store: redeem: empty openid")
	}
	norm, ok := normaliseCode(code)
	if !ok {
		// Still through the script, so that junk counts as a failed guess too; this
		// key is never created.
		norm = ""
	}
	// An invite's role and community never change, so one retry can only be needed
	// if the invite appeared between the two reads.
	for range 2 {
		keys := []string{s.k.invite(norm), s.k.grants(openid), s.k.grantIndex(), s.k.bindFails(openid)}
		args := []any{openid, now.UnixMilli(), s.opt.BindFailLimit, s.opt.BindFailWindow.Milliseconds(), now.Format(time.RFC3339Nano)}
		inv, err := s.rdb.HMGet(ctx, s.k.invite(norm), "role", "community").Result()
		if err != nil {
			return bot.Grant{}, fmt.Errorf("store: redeem: %w", err)
		}
		if role, ok := inv[0].(string); ok {
			community, _ := inv[1].(string)
			keys = append(keys, s.k.holders(role), s.k.holdersIn(role, community))
			args = append(args, role, community)
		}
		res, err := redeemScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			return bot.Grant{}, fmt.Errorf("store: redeem: %w", err)
		}
		switch res[0] {
		case "ok":
			var g bot.Grant
			if err := json.Unmarshal([]byte(res[1]), &g); err != nil {
				return bot.Grant{}, fmt.Errorf("store: redeem: grant: %w", err)
			}
			return g, nil
		case "retry":
			continue
		case "rate_limited":
			return bot.Grant{}, bot.Errorf(bot.ERateLimited, "store: redeem: too many failed tries by %s", openid)
		case "not_found":
			return bot.Grant{}, bot.Errorf(bot.ENotFound, "store: redeem: no invite %q", norm)
		case "used":
			return bot.Grant{}, bot.Errorf(bot.EConflict, "store: redeem: invite %s already used", norm)
		case "expired":
			return bot.Grant{}, bot.Errorf(bot.EExpired, "store: redeem: invite %s expired", norm)
		}
		return bot.Grant{}, fmt.Errorf("store: redeem: unexpected script answer %q", res)
	}
	return bot.Grant{}, bot.Errorf(bot.EInternal, "store: redeem: invite %s changed while being redeemed", norm)
}

// grantField is the grants hash field: one grant per role and community.
func grantField(role bot.Role, community string) string { return string(role) + "|" + community }

// Grants lists what openid may do, sorted by community and role.
func (s *Store) Grants(ctx context.Context, openid string) ([]bot.Grant, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.grants(openid)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: grants %s: %w", openid, err)
	}
	gs, err := decodeGrants(m)
	if err != nil {
		return nil, fmt.Errorf("store: grants %s: %w", openid, err)
	}
	sortGrants(gs)
	return gs, nil
}

// ListGrants lists every grant, sorted by community, role and name.
func (s *Store) ListGrants(ctx context.Context) ([]bot.Grant, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.grantIndex()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: list grants: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.grants(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list grants: %w", err)
	}
	var all []bot.Grant
	for i, c := range cmds {
		gs, err := decodeGrants(c.Val())
		if err != nil {
			return nil, fmt.Errorf("store: list grants: %s: %w", ids[i], err)
		}
		all = append(all, gs...)
	}
	sortGrants(all)
	return all, nil
}

func decodeGrants(m map[string]string) ([]bot.Grant, error) {
	gs := make([]bot.Grant, 0, len(m))
	for field, v := range m {
		var g bot.Grant
		if err := json.Unmarshal([]byte(v), &g); err != nil {
			return nil, fmt.Errorf("grant %q: %w", field, err)
		}
		gs = append(gs, g)
	}
	return gs, nil
}

func sortGrants(gs []bot.Grant) {
	slices.SortFunc(gs, func(a, b bot.Grant) int {
		return cmp.Or(
			cmp.Compare(a.Community, b.Community),
			cmp.Compare(a.Role, b.Role),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.OpenID, b.OpenID),
		)
	})
}

// revokeScript removes one grant and keeps the indexes exact: an openid stays in the
// grant index only while it holds something, and in the holders index only while it
// holds that role in that community.
// KEYS: grants, grant index, holders of role, holders of role in community.
// ARGV: openid, field, holders field.
var revokeScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
	return 0
end
if redis.call('HLEN', KEYS[1]) == 0 then
	redis.call('SREM', KEYS[2], ARGV[1])
end
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`)

// Revoke takes role in community away from openid; ENotFound when they did not hold it.
func (s *Store) Revoke(ctx context.Context, openid string, role bot.Role, community string) error {
	n, err := revokeScript.Run(ctx, s.rdb,
		[]string{s.k.grants(openid), s.k.grantIndex(), s.k.holders(string(role)), s.k.holdersIn(string(role), community)},
		openid, grantField(role, community), holdersField(community, openid)).Int()
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	if n == 0 {
		return bot.Errorf(bot.ENotFound, "store: revoke: %s holds no %s in %q", openid, role, community)
	}
	return nil
}
