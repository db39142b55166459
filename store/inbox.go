package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Inbox = (*Store)(nil)

const (
	// pendingMarker stands in the inbox key while the owner works. It is not JSON, so
	// it cannot be mistaken for a committed reply.
	pendingMarker = "pending"
	// pendingTTL frees the claim of an owner that crashed before Commit or Abort. It
	// is far longer than any handling budget so that a slow owner is never doubled.
	pendingTTL = 120 * time.Second

	inboxPollMin = 10 * time.Millisecond
	inboxPollMax = 50 * time.Millisecond
)

// Begin claims an Update, or waits for its owner's reply.
func (s *Store) Begin(ctx context.Context, updateID string) (bot.Reply, bool, error) {
	if updateID == "" {
		return bot.Reply{}, false, bot.Errorf(bot.EInvalid, "store: begin: empty update id")
	}
	key := s.k.inbox(updateID)
	wait := inboxPollMin
	for {
		// Claiming again on every round, not only the first, lets a waiter take over
		// when the owner aborts (or its claim expires) instead of waiting in vain.
		owner, err := s.rdb.SetNX(ctx, key, pendingMarker, pendingTTL).Result()
		if err != nil {
			return bot.Reply{}, false, ctxOr(ctx, fmt.Errorf("store: begin %s: %w", updateID, err))
		}
		if owner {
			return bot.Reply{}, true, nil
		}
		v, err := s.rdb.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return bot.Reply{}, false, ctxOr(ctx, fmt.Errorf("store: begin %s: %w", updateID, err))
		case v != pendingMarker:
			var r bot.Reply
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				return bot.Reply{}, false, fmt.Errorf("store: begin %s: stored reply: %w", updateID, err)
			}
			return r, false, nil
		}
		if err := sleep(ctx, wait); err != nil {
			return bot.Reply{}, false, fmt.Errorf("store: begin %s: waiting for the first delivery: %w", updateID, err)
		}
		wait = min(wait*3/2, inboxPollMax)
	}
}

// Abort gives up a claim so that a retry of the Update is handled afresh. Only a
// pending claim is deleted: an Abort that comes late must not wipe a committed reply.
func (s *Store) Abort(ctx context.Context, updateID string) error {
	if err := compareAndDelete.Run(ctx, s.rdb, []string{s.k.inbox(updateID)}, pendingMarker).Err(); err != nil {
		return fmt.Errorf("store: abort %s: %w", updateID, err)
	}
	return nil
}

// commitScript writes the reply, the session and the last-seen time together, so that
// a crash can never leave a remembered reply without the session that produced it.
// Last-seen only moves forward: commits of one user can land out of order. With a
// lock token it also releases the user's lock, if still held with that token, which
// saves the message path a round trip.
//
// With an action it records it in the user's customer-service allowance (actLua).
//
// KEYS: inbox, session, seen, lock, contact. ARGV: reply, inbox ttl ms, session (""
// deletes it), session ttl ms, openid, seen unix ms (0: leave it), lock token ("":
// keep), action ("": none), contact ttl ms.
var commitScript = redis.NewScript(actLua + `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '' then
	redis.call('DEL', KEYS[2])
else
	redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
local seen = tonumber(ARGV[6])
if seen > 0 then
	local old = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
	if seen > old then
		redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
	end
end
if ARGV[7] ~= '' and redis.call('GET', KEYS[4]) == ARGV[7] then
	redis.call('DEL', KEYS[4])
end
if seen > 0 and ARGV[8] ~= '' then
	act(KEYS[5], seen, ARGV[8], ARGV[9])
end
return 1
`)

// Commit stores the outcome of an owned Update atomically.
func (s *Store) Commit(ctx context.Context, c bot.Commit) error {
	if c.UpdateID == "" || c.User == "" {
		return bot.Errorf(bot.EInvalid, "store: commit: update id %q, user %q", c.UpdateID, c.User)
	}
	reply, err := json.Marshal(c.Reply)
	if err != nil {
		return fmt.Errorf("store: commit %s: %w", c.UpdateID, err)
	}
	var sess []byte
	if c.Session != nil {
		if sess, err = json.Marshal(c.Session); err != nil {
			return fmt.Errorf("store: commit %s: session: %w", c.UpdateID, err)
		}
	}
	var seen int64
	if !c.Seen.IsZero() {
		seen = c.Seen.UnixMilli()
	}
	err = commitScript.Run(ctx, s.rdb,
		[]string{s.k.inbox(c.UpdateID), s.k.session(c.User), s.k.seen(), s.k.lock(c.User), s.k.contact(c.User)},
		string(reply), s.opt.InboxTTL.Milliseconds(), string(sess), s.opt.SessionTTL.Milliseconds(), c.User, seen, c.LockToken,
		string(c.Action), contactTTL.Milliseconds(),
	).Err()
	if err != nil {
		return fmt.Errorf("store: commit %s: %w", c.UpdateID, err)
	}
	return nil
}

// Session loads a user's conversation state; nil when there is none.
func (s *Store) Session(ctx context.Context, user string) (*bot.Session, error) {
	v, err := s.rdb.Get(ctx, s.k.session(user)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: session %s: %w", user, err)
	}
	var sess bot.Session
	if err := json.Unmarshal(v, &sess); err != nil {
		return nil, fmt.Errorf("store: session %s: %w", user, err)
	}
	return &sess, nil
}

var _ bot.Sessions = (*Store)(nil)

// Load reads the sender's grants and session together: one round trip on the
// message path instead of two.
func (s *Store) Load(ctx context.Context, openid string) ([]bot.Grant, *bot.Session, error) {
	var grants *redis.MapStringStringCmd
	var sess *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		grants = p.HGetAll(ctx, s.k.grants(openid))
		sess = p.Get(ctx, s.k.session(openid))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("store: load %s: %w", openid, err)
	}
	gs, err := decodeGrants(grants.Val())
	if err != nil {
		return nil, nil, fmt.Errorf("store: grants %s: %w", openid, err)
	}
	sortGrants(gs)
	raw, err := sess.Bytes()
	if errors.Is(err, redis.Nil) {
		return gs, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: session %s: %w", openid, err)
	}
	var se bot.Session
	if err := json.Unmarshal(raw, &se); err != nil {
		return nil, nil, fmt.Errorf("store: session %s: %w", openid, err)
	}
	return gs, &se, nil
}

// LastSeen is when openid last wrote to us, which opens the platform's 48-hour
// customer-service window. ok is false when they never have (since records began).
func (s *Store) LastSeen(ctx context.Context, openid string) (t time.Time, ok bool, err error) {
	ms, err := s.rdb.HGet(ctx, s.k.seen(), openid).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last seen %s: %w", openid, err)
	}
	return time.UnixMilli(ms), true, nil
}

// sleep waits for d or until ctx is done, returning ctx.Err() then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ctxOr reports the context's end rather than whatever the client made of it (a
// closed connection, a read timeout), so callers can tell "ran out of time" apart
// from "Redis is down".
func ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", err, cerr)
	}
	return err
}
