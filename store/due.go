package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Reminders = (*Store)(nil)

// MaxClaim bounds one Claim: the script unpacks the claimed IDs into single ZADD and
// ZREM calls, and Lua's stack takes a few thousand arguments at most. It also keeps
// one script, which blocks Redis while it runs, short.
const MaxClaim = 1000

// scheduleBatch is how many reminders Schedule sends per pipeline.
const scheduleBatch = 1000

// Reminders are stored as "<due unix ms> <JSON>" so that the scripts can compare due
// times, which act as the version of a reminder (see Done), without decoding JSON.

// scheduleLua writes or moves a reminder; other scripts that schedule one with the
// rest of their update share it. Dropping it from in-flight makes the new version a
// row of its own: the claimer running the old version cannot finish it (unless it
// has the same due time, see Done).
const scheduleLua = `
local function schedule(due, inflight, data, id, ms, value)
	redis.call('ZADD', due, ms, id)
	redis.call('ZREM', inflight, id)
	redis.call('HSET', data, id, value)
end
`

// scheduleScript writes or moves a reminder.
//
// KEYS: due, in-flight, data. ARGV: id, due ms, stored value.
var scheduleScript = redis.NewScript(scheduleLua + `
schedule(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
return 1
`)

// Schedule adds reminders, or moves those whose ID exists (in flight too: the
// claimer running the old version then leaves the new one alone), a thousand to a
// pipeline. Each is written atomically; the batch as a whole is not, so after an
// error some may be scheduled.
func (s *Store) Schedule(ctx context.Context, rs ...bot.Reminder) error {
	keys := s.dueKeys()
	for len(rs) > 0 {
		n := min(len(rs), scheduleBatch)
		calls := make([][]any, n)
		for i, r := range rs[:n] {
			v, err := encodeReminder(r)
			if err != nil {
				return err
			}
			calls[i] = []any{r.ID, r.Due.UnixMilli(), v}
		}
		if err := s.runEach(ctx, scheduleScript, keys, calls); err != nil {
			return fmt.Errorf("store: schedule %s: %w", rs[0].ID, err)
		}
		rs = rs[n:]
	}
	return nil
}

// runEach runs script once for each argument list, all in one pipeline, as the
// message path's batcher sends its calls (a server that forgot the script is sent it
// again). It returns the first error.
func (s *Store) runEach(ctx context.Context, script *redis.Script, keys []string, calls [][]any) error {
	batch := make([]*scriptCall, len(calls))
	for i, args := range calls {
		batch[i] = &scriptCall{ctx: ctx, script: script, keys: keys, args: args, done: make(chan struct{})}
	}
	s.batch.exec(batch)
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

func encodeReminder(r bot.Reminder) (string, error) {
	if r.ID == "" || r.Kind == "" || r.Due.IsZero() {
		return "", bot.Errorf(bot.EInvalid, "store: schedule: reminder needs an id, a kind and a due time (id %q, kind %q)", r.ID, r.Kind)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("store: schedule %s: %w", r.ID, err)
	}
	return strconv.FormatInt(r.Due.UnixMilli(), 10) + " " + string(b), nil
}

// cancelScript removes a reminder wherever it is.
//
// KEYS: due, in-flight, data. ARGV: id.
var cancelScript = redis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[3], ARGV[1])
`)

// Cancel removes reminders, waiting or in flight; cancelling one that does not exist
// is not an error. A handler already running it is not stopped, but cannot retry it.
func (s *Store) Cancel(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	calls := make([][]any, len(ids))
	for i, id := range ids {
		calls[i] = []any{id}
	}
	if err := s.runEach(ctx, cancelScript, s.dueKeys(), calls); err != nil {
		return fmt.Errorf("store: cancel reminder %s: %w", ids[0], err)
	}
	return nil
}

// claimScript first returns to due the rows whose claimer's lease has run out (it
// crashed or hung: nothing is lost, the row fires again), then moves up to limit due
// rows to in-flight and returns their stored values. With nothing due it is two
// empty range reads: an idle tick costs one round trip.
//
// Expired rows go back scored by their lease's end, which is in the past: they are
// due at once, ahead of rows that fell due since.
//
// KEYS: due, in-flight, data. ARGV: now ms, limit, lease end ms.
var claimScript = redis.NewScript(`
local limit = tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, limit)
if #expired > 0 then
	local back, ids = {}, {}
	for i = 1, #expired, 2 do
		back[#back+1] = expired[i+1]
		back[#back+1] = expired[i]
		ids[#ids+1] = expired[i]
	end
	redis.call('ZADD', KEYS[1], unpack(back))
	redis.call('ZREM', KEYS[2], unpack(ids))
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
if #ids == 0 then
	return {}
end
redis.call('ZREM', KEYS[1], unpack(ids))
local vals = redis.call('HMGET', KEYS[3], unpack(ids))
local out, flight = {}, {}
for i = 1, #ids do
	-- A row without data (written by hand, or by a bug) is dropped rather than
	-- claimed over and over.
	if vals[i] then
		flight[#flight+1] = ARGV[3]
		flight[#flight+1] = ids[i]
		out[#out+1] = ids[i]
		out[#out+1] = vals[i]
	end
end
if #flight > 0 then
	redis.call('ZADD', KEYS[2], unpack(flight))
end
return out
`)

// Claim takes up to limit reminders due at now and leases them to the caller until
// now+lease: until then no other claimer gets them; after it, they are due again.
// The caller finishes each with Done or Retry.
//
// A reminder whose stored JSON cannot be read comes back with only its ID and Due
// and an empty Kind, so that the caller logs it and calls Done instead of the row
// coming back after every lease.
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]bot.Reminder, error) {
	if limit <= 0 || limit > MaxClaim {
		return nil, bot.Errorf(bot.EInvalid, "store: claim: limit %d, want 1..%d", limit, MaxClaim)
	}
	if lease <= 0 {
		return nil, bot.Errorf(bot.EInvalid, "store: claim: lease %s, want > 0", lease)
	}
	ms := now.UnixMilli()
	res, err := claimScript.Run(ctx, s.rdb, s.dueKeys(), ms, limit, ms+lease.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: claim reminders: %w", err)
	}
	out := make([]bot.Reminder, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		out = append(out, decodeReminder(res[i], res[i+1]))
	}
	return out, nil
}

func decodeReminder(id, v string) bot.Reminder {
	msText, body, _ := strings.Cut(v, " ")
	var r bot.Reminder
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID != id {
		r = bot.Reminder{ID: id}
		if ms, err := strconv.ParseInt(msText, 10, 64); err == nil {
			r.Due = time.UnixMilli(ms)
		}
	}
	return r
}

// doneScript deletes a reminder only if it is still the version that was claimed:
// one moved meanwhile has another due time and stays. The row may be in flight, or
// back in due if the lease ran out before the handler finished; either way it has
// been handled.
//
// KEYS: due, in-flight, data. ARGV: id, claimed due ms.
var doneScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[3], ARGV[1])
if not v then
	return 0
end
local sp = string.find(v, ' ', 1, true)
if not sp or string.sub(v, 1, sp - 1) ~= ARGV[2] then
	return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`)

// Done removes a reminder that has been handled, unless it was moved (scheduled
// again with another due time) or cancelled after it was claimed. Moving it to the
// very same millisecond is indistinguishable from not moving it.
func (s *Store) Done(ctx context.Context, id string, claimedDue time.Time) error {
	if err := doneScript.Run(ctx, s.rdb, s.dueKeys(), id, claimedDue.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("store: reminder %s done: %w", id, err)
	}
	return nil
}

// retryScript is scheduleScript guarded like doneScript: a reminder moved or
// cancelled while its handler failed keeps the newer decision.
//
// KEYS: due, in-flight, data. ARGV: id, claimed due ms, new due ms, new value.
var retryScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[3], ARGV[1])
if not v then
	return 0
end
local sp = string.find(v, ' ', 1, true)
if not sp or string.sub(v, 1, sp - 1) ~= ARGV[2] then
	return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return 1
`)

// Retry schedules a claimed reminder again at at, with Attempt one higher and Due
// set to at. It does nothing if the reminder was moved or cancelled since the claim.
func (s *Store) Retry(ctx context.Context, r bot.Reminder, at time.Time) error {
	claimed := r.Due.UnixMilli()
	r.Attempt++
	r.Due = at
	v, err := encodeReminder(r)
	if err != nil {
		return err
	}
	if err := retryScript.Run(ctx, s.rdb, s.dueKeys(), r.ID, claimed, at.UnixMilli(), v).Err(); err != nil {
		return fmt.Errorf("store: retry reminder %s: %w", r.ID, err)
	}
	return nil
}

// Pending counts the reminders not yet done, waiting or in flight.
func (s *Store) Pending(ctx context.Context) (int64, error) {
	n, err := s.rdb.HLen(ctx, s.k.dueData()).Result()
	if err != nil {
		return 0, fmt.Errorf("store: pending reminders: %w", err)
	}
	return n, nil
}

// Reminder looks a reminder up by ID, waiting or in flight; ok is false when there
// is none.
func (s *Store) Reminder(ctx context.Context, id string) (r bot.Reminder, ok bool, err error) {
	v, err := s.rdb.HGet(ctx, s.k.dueData(), id).Result()
	if errors.Is(err, redis.Nil) {
		return bot.Reminder{}, false, nil
	}
	if err != nil {
		return bot.Reminder{}, false, fmt.Errorf("store: reminder %s: %w", id, err)
	}
	return decodeReminder(id, v), true, nil
}

func (s *Store) dueKeys() []string {
	return []string{s.k.due(), s.k.dueInflight(), s.k.dueData()}
}
