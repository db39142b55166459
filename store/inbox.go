package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Inbox = (*Store)(nil)

const (
	// DefaultLease is how long an Update's claim and its sender's lock stay held
	// without renewal. The engine renews them while a handler works, so a process
	// that dies (or a primary that fails over) frees them within this long.
	DefaultLease = 1500 * time.Millisecond

	beginPollMin = 2 * time.Millisecond
	beginPollMax = 25 * time.Millisecond
	// lockWaiterStale purges a queued Update whose process stopped asking for its turn
	// (it crashed, or gave up at its deadline), so it cannot hold the others up.
	lockWaiterStale = 2 * time.Second
)

// A pending claim is stored as "p:" and the owner's token; a committed reply as its
// JSON, which always starts with "{", so the two cannot be confused.
const pendingPrefix = "p:"

// beginScript claims an Update, takes its sender's lock in turn and loads the sender's
// grants and session, in one step.
//
// The claim: a committed reply answers a duplicate ("done"); a pending claim of
// another token is a live owner ("busy"); otherwise the claim is (re)taken as ours
// for one lease.
//
// The lock: the Update queues (scored by the user's send order) and takes the lock
// only when it is free and first in the queue; each poll refreshes the waiter's
// arrival mark, and waiters that stopped polling are purged.
//
// Nothing is taken once the caller's deadline has passed by Redis's clock: a request
// that waited in a paused server's socket must not take a lock nobody will use.
//
// With a replay guard (an eighth key) the signed query is remembered with its body's
// digest first, and a query seen with another body is refused before anything else.
//
// KEYS: inbox, lock, lock queue, lock arrivals, grants, session, relay[, nonce].
// ARGV: token, member (update id), send order, lease ms, deadline unix ms, stale ms[,
// body digest, nonce ttl ms].
// Returns {"replay"} | {"late"} | {"done", reply} | {"busy"} | {"wait"} |
// {"own", grants, {session, relay}}.
var beginScript = redis.NewScript(replayedLua + `
if KEYS[8] and replayed(KEYS[8], ARGV[7], ARGV[8]) then
	return {'replay'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine = 'p:' .. ARGV[1]
if now > tonumber(ARGV[5]) then
	local v = redis.call('GET', KEYS[1])
	if v and string.sub(v, 1, 2) ~= 'p:' then
		return {'done', v}
	end
	redis.call('ZREM', KEYS[3], ARGV[2])
	redis.call('ZREM', KEYS[4], ARGV[2])
	if v == mine then
		redis.call('DEL', KEYS[1])
	end
	return {'late'}
end
local v = redis.call('SET', KEYS[1], mine, 'NX', 'GET', 'PX', ARGV[4])
if v then
	if string.sub(v, 1, 2) ~= 'p:' then
		return {'done', v}
	end
	if v ~= mine then
		return {'busy'}
	end
	-- Our own claim, asked again while we wait for the lock.
	redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local head = redis.call('ZRANGE', KEYS[3], 0, 0)
if (head[1] == nil or head[1] == ARGV[2]) and redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[4]) then
	-- Nobody is queued ahead and the lock was free: the common case.
	if head[1] then
		redis.call('ZREM', KEYS[3], ARGV[2])
		redis.call('ZREM', KEYS[4], ARGV[2])
	end
	return {'own', redis.call('HGETALL', KEYS[5]), redis.call('MGET', KEYS[6], KEYS[7])}
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], now, ARGV[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[6]))
for _, m in ipairs(stale) do
	redis.call('ZREM', KEYS[3], m)
	redis.call('ZREM', KEYS[4], m)
end
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
if redis.call('EXISTS', KEYS[2]) == 1 then
	return {'wait'}
end
local head = redis.call('ZRANGE', KEYS[3], 0, 0)
if head[1] ~= ARGV[2] then
	return {'wait'}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
return {'own', redis.call('HGETALL', KEYS[5]), redis.call('MGET', KEYS[6], KEYS[7])}
`)

// replayedLua remembers a signed query with its body's digest for ttl ms and reports
// whether the query was seen before with another body (bot.ReplayGuard).
const replayedLua = `
local function replayed(key, sum, ttl)
	local seen = redis.call('SET', key, sum, 'NX', 'GET', 'PX', ttl)
	return seen and seen ~= sum
end
`

// guarded adds u's replay guard, if it has one, to a script's keys and arguments.
func (s *Store) guarded(u bot.Update, keys []string, args []any) ([]string, []any) {
	if g := u.Replay; g != nil {
		keys = append(keys, s.k.nonce(g.Key))
		args = append(args, g.Sum, max(g.TTL.Milliseconds(), 1))
	}
	return keys, args
}

// Begin claims u, takes its sender's lock in turn and loads their grants and session.
// It polls until ctx is done while another Update of the user holds the lock, or
// another owner holds u itself.
func (s *Store) Begin(ctx context.Context, u bot.Update, deadline time.Time) (*bot.Claim, error) {
	if u.ID == "" || u.From == "" {
		return nil, bot.Errorf(bot.EInvalid, "store: begin: update id %q, sender %q", u.ID, u.From)
	}
	c := &bot.Claim{Token: rand.Text(), Deadline: deadline, Update: u}
	keys := []string{s.k.inbox(u.From, u.ID), s.k.lock(u.From), s.k.lockQueue(u.From), s.k.lockArrivals(u.From),
		s.k.grants(u.From), s.k.session(u.From), s.k.relay(u.From)}
	keys, args := s.guarded(u, keys, []any{c.Token, u.ID, strconv.FormatInt(u.Time.Unix(), 10), s.opt.Lease.Milliseconds(),
		deadline.UnixMilli(), lockWaiterStale.Milliseconds()})
	wait := beginPollMin
	busy := false
	for {
		res, err := s.batch.run(ctx, beginScript, keys, args...).Slice()
		if err != nil {
			// The script may yet run (or have run) without our hearing of it: give
			// back whatever it took under our token.
			go s.abort(c)
			return nil, ctxOr(ctx, fmt.Errorf("store: begin %s: %w", u.ID, err))
		}
		switch res[0] {
		case "own":
			c.Owner = true
			if c.Grants, err = grantsFromFlat(res[1]); err != nil {
				return nil, fmt.Errorf("store: grants %s: %w", u.From, err)
			}
			if c.Session, c.Relay, err = sessionAndRelay(u.From, res[2]); err != nil {
				return nil, err
			}
			return c, nil
		case "done":
			if c.Reply, err = storedReply(u.ID, res[1]); err != nil {
				return nil, err
			}
			return c, nil
		case "replay":
			return nil, fmt.Errorf("store: begin %s: %w", u.ID, bot.ErrReplayed)
		case "late":
			if busy {
				return nil, fmt.Errorf("store: begin %s: %w", u.ID, bot.ErrInFlight)
			}
			return nil, fmt.Errorf("store: begin %s: %w", u.ID, context.DeadlineExceeded)
		case "busy":
			busy = true
		case "wait":
			// Our claim is held; the lock is someone else's for now.
			busy = false
		}
		if err := sleep(ctx, wait); err != nil {
			if busy {
				return nil, fmt.Errorf("store: begin %s: %w", u.ID, bot.ErrInFlight)
			}
			go s.abort(c)
			return nil, fmt.Errorf("store: begin %s: waiting for the user's lock: %w", u.ID, err)
		}
		wait = min(wait*2, beginPollMax)
	}
}

// peekScript is beginScript for a ReadOnly command: it checks the replay guard the
// same way, then, when the sender has nothing in flight (no claim of this Update, no
// lock, nobody queued), records the action and loads the grants, session and relay,
// taking nothing.
//
// KEYS: inbox, lock, lock queue, grants, session, relay, contact[, nonce].
// ARGV: seen unix ms, action ("": none), contact ttl ms[, body digest, nonce ttl ms].
// Returns {"replay"} | {"done", reply} | {"busy"} | {"free", grants, {session, relay}}.
var peekScript = redis.NewScript(actLua + replayedLua + `
if KEYS[8] and replayed(KEYS[8], ARGV[4], ARGV[5]) then
	return {'replay'}
end
local v = redis.call('GET', KEYS[1])
if v then
	if string.sub(v, 1, 2) ~= 'p:' then
		return {'done', v}
	end
	return {'busy'}
end
if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then
	return {'busy'}
end
if ARGV[2] ~= '' then
	act(KEYS[7], tonumber(ARGV[1]), ARGV[2], ARGV[3])
end
return {'free', redis.call('HGETALL', KEYS[4]), redis.call('MGET', KEYS[5], KEYS[6])}
`)

// Peek loads what a ReadOnly command needs when nothing of the sender's is in
// flight or kept, in one round trip that claims nothing (bot.Inbox).
func (s *Store) Peek(ctx context.Context, u bot.Update, seen time.Time) (*bot.Peeked, error) {
	if u.ID == "" || u.From == "" {
		return nil, bot.Errorf(bot.EInvalid, "store: peek: update id %q, sender %q", u.ID, u.From)
	}
	keys := []string{s.k.inbox(u.From, u.ID), s.k.lock(u.From), s.k.lockQueue(u.From), s.k.grants(u.From),
		s.k.session(u.From), s.k.relay(u.From), s.k.contact(u.From)}
	keys, args := s.guarded(u, keys, []any{seen.UnixMilli(), string(bot.ActionOf(u)), contactTTL.Milliseconds()})
	res, err := s.batch.run(ctx, peekScript, keys, args...).Slice()
	if err != nil {
		return nil, ctxOr(ctx, fmt.Errorf("store: peek %s: %w", u.ID, err))
	}
	switch res[0] {
	case "free":
		p := &bot.Peeked{}
		if p.Grants, err = grantsFromFlat(res[1]); err != nil {
			return nil, fmt.Errorf("store: grants %s: %w", u.From, err)
		}
		if p.Session, p.Relay, err = sessionAndRelay(u.From, res[2]); err != nil {
			return nil, err
		}
		return p, nil
	case "done":
		r, err := storedReply(u.ID, res[1])
		if err != nil {
			return nil, err
		}
		return &bot.Peeked{Reply: &r}, nil
	case "replay":
		return nil, fmt.Errorf("store: peek %s: %w", u.ID, bot.ErrReplayed)
	}
	return nil, nil
}

// storedReply decodes the reply committed for an Update, as the scripts return it.
func storedReply(id string, v any) (bot.Reply, error) {
	var r bot.Reply
	raw, _ := v.(string)
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return bot.Reply{}, fmt.Errorf("store: %s: stored reply: %w", id, err)
	}
	return r, nil
}

// sessionAndRelay decodes the MGET of a user's session and relay.
func sessionAndRelay(user string, v any) (*bot.Session, *bot.Relay, error) {
	loaded, _ := v.([]any)
	if len(loaded) != 2 {
		return nil, nil, fmt.Errorf("store: %s: loaded %d values, want session and relay", user, len(loaded))
	}
	var se *bot.Session
	if raw, ok := loaded[0].(string); ok {
		if err := json.Unmarshal([]byte(raw), &se); err != nil {
			return nil, nil, fmt.Errorf("store: session %s: %w", user, err)
		}
	}
	var rl *bot.Relay
	if raw, ok := loaded[1].(string); ok {
		if err := json.Unmarshal([]byte(raw), &rl); err != nil {
			return nil, nil, fmt.Errorf("store: relay %s: %w", user, err)
		}
	}
	return se, rl, nil
}

// grantsFromFlat decodes HGETALL's flat field, value list.
func grantsFromFlat(v any) ([]bot.Grant, error) {
	flat, _ := v.([]any)
	if len(flat) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		m[k] = val
	}
	gs, err := decodeGrants(m)
	if err != nil {
		return nil, err
	}
	sortGrants(gs)
	return gs, nil
}

// renewClaimScript extends the claim and the lock while they hold the token.
//
// KEYS: inbox, lock. ARGV: token, lease ms. Returns how many of the two were held.
var renewClaimScript = redis.NewScript(`
local n = 0
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	n = n + 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
	redis.call('PEXPIRE', KEYS[2], ARGV[2])
	n = n + 1
end
return n
`)

// Renew extends the leases of a claim and its lock.
func (s *Store) Renew(ctx context.Context, c *bot.Claim) (bool, error) {
	u := c.Update
	n, err := renewClaimScript.Run(ctx, s.rdb, []string{s.k.inbox(u.From, u.ID), s.k.lock(u.From)},
		c.Token, s.opt.Lease.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: renew %s: %w", u.ID, err)
	}
	return n == 2, nil
}

// abortScript gives up a pending claim, the lock and the queue place of one token;
// a committed reply is never deleted, so an Abort that comes late is harmless.
//
// KEYS: inbox, lock, lock queue, lock arrivals. ARGV: token, member.
var abortScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
	redis.call('DEL', KEYS[1])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
	redis.call('DEL', KEYS[2])
end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
return 1
`)

// Abort gives up a claim so that a retry of the Update is handled afresh.
func (s *Store) Abort(ctx context.Context, c *bot.Claim) error {
	u := c.Update
	err := abortScript.Run(ctx, s.rdb,
		[]string{s.k.inbox(u.From, u.ID), s.k.lock(u.From), s.k.lockQueue(u.From), s.k.lockArrivals(u.From)},
		c.Token, u.ID).Err()
	if err != nil {
		return fmt.Errorf("store: abort %s: %w", u.ID, err)
	}
	return nil
}

// abort is Abort on its own short clock, for a caller whose context is done.
func (s *Store) abort(c *bot.Claim) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.Abort(ctx, c)
}

// commitScript writes the reply and the session and releases the lock together, so
// that a crash can never leave a remembered reply without the session that produced
// it. It writes only while the claim is still the caller's and its deadline has not
// passed by Redis's clock: after that the engine has answered without it, and a
// retry must find the Update undone.
//
// With an action it records it, at the time seen, in the user's customer-service
// allowance (actLua), which only moves forward: commits of one user can land out of
// order.
//
// KEYS: inbox, session, lock, contact. ARGV: token, reply, inbox ttl ms,
// session ("" deletes it), session ttl ms, seen unix ms, deadline unix ms,
// action ("": none), contact ttl ms.
// Returns {"ok"} | {"done", reply} | {"lost"} | {"late"}.
var commitScript = redis.NewScript(actLua + `
local v = redis.call('GET', KEYS[1])
if v ~= 'p:' .. ARGV[1] then
	if v and string.sub(v, 1, 2) ~= 'p:' then
		return {'done', v}
	end
	return {'lost'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[7]) then
	redis.call('DEL', KEYS[1])
	if redis.call('GET', KEYS[3]) == ARGV[1] then
		redis.call('DEL', KEYS[3])
	end
	return {'late'}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == '' then
	redis.call('DEL', KEYS[2])
else
	redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
end
local seen = tonumber(ARGV[6])
if seen > 0 and ARGV[8] ~= '' then
	act(KEYS[4], seen, ARGV[8], ARGV[9])
end
if redis.call('GET', KEYS[3]) == ARGV[1] then
	redis.call('DEL', KEYS[3])
end
return {'ok'}
`)

// Commit stores the outcome of a claimed Update atomically and releases the lock.
func (s *Store) Commit(ctx context.Context, c *bot.Claim, out bot.Commit) error {
	if out.UpdateID == "" || out.User == "" {
		return bot.Errorf(bot.EInvalid, "store: commit: update id %q, user %q", out.UpdateID, out.User)
	}
	reply, err := json.Marshal(out.Reply)
	if err != nil {
		return fmt.Errorf("store: commit %s: %w", out.UpdateID, err)
	}
	var sess []byte
	if out.Session != nil {
		if sess, err = json.Marshal(out.Session); err != nil {
			return fmt.Errorf("store: commit %s: session: %w", out.UpdateID, err)
		}
	}
	var seen int64
	if !out.Seen.IsZero() {
		seen = out.Seen.UnixMilli()
	}
	res, err := s.batch.run(ctx, commitScript,
		[]string{s.k.inbox(out.User, out.UpdateID), s.k.session(out.User), s.k.lock(out.User), s.k.contact(out.User)},
		c.Token, reply, s.opt.InboxTTL.Milliseconds(), sess, s.opt.SessionTTL.Milliseconds(), seen,
		c.Deadline.UnixMilli(), string(out.Action), contactTTL.Milliseconds(),
	).Slice()
	if err != nil {
		return fmt.Errorf("store: commit %s: %w", out.UpdateID, err)
	}
	switch res[0] {
	case "ok":
		return nil
	case "done":
		r, err := storedReply(out.UpdateID, res[1])
		if err != nil {
			return err
		}
		return &bot.ErrClaimLost{Stored: &r, Reason: "another owner committed"}
	case "late":
		return &bot.ErrClaimLost{Reason: "deadline passed"}
	}
	return &bot.ErrClaimLost{Reason: "lease lapsed"}
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
