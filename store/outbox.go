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

var _ bot.Pusher = (*Store)(nil)

// The states a push's idempotency key can hold.
const (
	PushQueued        = "queued"        // in the outbox, in flight, or waiting in the due set for a retry
	PushSent          = "sent"          // the platform accepted it
	PushUndeliverable = "undeliverable" // neither message kind can reach the person
	PushDead          = "dead"          // given up; in the dead-letter stream until replayed
)

// PushStateTTL is how long a push ID is remembered once queued or finished, so that
// pushing it again within that time does nothing. It outlasts the whole retry ladder
// many times over. Dead pushes are remembered until replayed.
const PushStateTTL = 7 * 24 * time.Hour

// outboxGroup is the consumer group every worker of every replica reads in.
const outboxGroup = "senders"

// DeadPush is a dead-letter entry.
type DeadPush struct {
	ID      string // the dead-letter entry: pass it (or Push.ID) to Replay
	Push    bot.Push
	Attempt int
	Reason  string
	At      time.Time
	// Malformed says why the entry could not be decoded; it cannot be replayed.
	Malformed string
}

// OutboxStats counts the outbox's entries.
type OutboxStats struct {
	Waiting int64 // recipients with a turn in the outbox stream, read or not
	Pending int64 // turns read by a worker and not yet finished
	Dead    int64 // entries in the dead-letter stream
}

// queueItem is a push as its recipient's queue holds it.
type queueItem struct {
	Push    bot.Push `json:"push"`
	Attempt int      `json:"attempt,omitempty"`
	At      int64    `json:"at"`             // unix ms queued
	Hold    int64    `json:"hold,omitempty"` // unix ms it may go; 0: at once
}

func encodeItem(p bot.Push, attempt int, at, hold time.Time) (string, error) {
	if p.ID == "" || p.To == "" {
		return "", bot.Errorf(bot.EInvalid, "store: push needs an id and a recipient (id %q)", p.ID)
	}
	it := queueItem{Push: p, Attempt: attempt, At: at.UnixMilli()}
	if !hold.IsZero() {
		it.Hold = hold.UnixMilli()
	}
	b, err := json.Marshal(it)
	if err != nil {
		return "", fmt.Errorf("store: push %s: %w", p.ID, err)
	}
	return string(b), nil
}

func decodeItem(raw string) (bot.Queued, error) {
	var it queueItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil || it.Push.ID == "" {
		return bot.Queued{Entry: raw}, fmt.Errorf("undecodable push (%v)", err)
	}
	q := bot.Queued{Push: it.Push, Attempt: it.Attempt, At: time.UnixMilli(it.At), Entry: raw}
	if it.Hold > 0 {
		q.Hold = time.UnixMilli(it.Hold)
	}
	return q, nil
}

// A recipient's turn is in one place at a time, which their flag (keys.obFlag) names:
//
//	(none)        no turn: the queue was empty when the last one ended
//	ready         in the outbox stream, waiting for a worker or being run by one
//	parked:<id>   in the due set until reminder <id> fires (a retry's backoff, gathering)
//	held:<id>     the same, for quiet hours: a push that may go now wakes it early
//
// Only the reminder a parking scheduled brings that parking back (Wake): one that
// fires later, after a push woke the turn and it parked again, finds another id and
// does nothing. Each parking has a reminder of its own (the caller builds the id
// from the turn's entry), because the scheduler finishes a reminder by id and due
// time: a parking until the same 08:00 under the same id would be finished with the
// reminder it replaced, leaving the turn parked with nothing to wake it.
//
// Flags written before these states: "1" (in the stream, or parked by Later),
// "woken" (in the stream) and "held" (held); the scripts still read them, erring
// towards a turn when "1" cannot tell which.
//
// The states of a parked turn, as the Go side writes them:
const (
	turnParked = "parked"
	turnHeld   = "held"
)

// pushScript queues a push unless its ID is known, at the end of its recipient's
// queue, and gives the recipient a turn unless they have one. A push that may go
// now (not held) also wakes a held turn: an urgent push must not wait for the
// morning behind held ones.
//
// KEYS: state, queue, flag, outbox. ARGV: state ttl ms, item JSON, recipient, held
// ("1" or "0").
var pushScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('SET', KEYS[1], 'queued', 'PX', ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
local flag = redis.call('GET', KEYS[3])
if not flag or (ARGV[4] == '0' and (flag == 'held' or string.sub(flag, 1, 5) == 'held:')) then
	redis.call('SET', KEYS[3], 'ready')
	redis.call('XADD', KEYS[4], '*', 'to', ARGV[3])
end
return 1
`)

// Push queues p for the outbox workers. A push whose ID is already queued or
// finished is not queued again.
func (s *Store) Push(ctx context.Context, p bot.Push) error {
	_, err := s.Enqueue(ctx, p, time.Time{})
	return err
}

// PushAt queues p to go no earlier than hold (the end of quiet hours), keeping its
// place in its recipient's queue.
func (s *Store) PushAt(ctx context.Context, p bot.Push, hold time.Time) error {
	_, err := s.Enqueue(ctx, p, hold)
	return err
}

// Enqueue queues p, held until hold unless that is zero, and says whether it was
// queued (false: its ID was known).
func (s *Store) Enqueue(ctx context.Context, p bot.Push, hold time.Time) (bool, error) {
	raw, err := encodeItem(p, 0, s.now(), hold)
	if err != nil {
		return false, err
	}
	held := "0"
	if !hold.IsZero() {
		held = "1"
	}
	n, err := pushScript.Run(ctx, s.rdb,
		[]string{s.k.pushState(p.ID), s.k.obQueue(p.To), s.k.obFlag(p.To), s.k.outbox()},
		PushStateTTL.Milliseconds(), raw, p.To, held).Int()
	if err != nil {
		return false, fmt.Errorf("store: push %s: %w", p.ID, err)
	}
	return n == 1, nil
}

// now is the time pushes are stamped with when queued.
func (s *Store) now() time.Time {
	if s.opt.Clock != nil {
		return s.opt.Clock.Now()
	}
	return time.Now()
}

// PushState returns the idempotency state of a push ID, "" when unknown.
func (s *Store) PushState(ctx context.Context, id string) (string, error) {
	v, err := s.rdb.Get(ctx, s.k.pushState(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: push state %s: %w", id, err)
	}
	return v, nil
}

// Read takes up to count recipients' turns for consumer, waiting up to block for
// one to arrive (block <= 0: no wait). It returns nothing, without error, when none
// came.
func (s *Store) Read(ctx context.Context, consumer string, count int, block time.Duration) ([]bot.Turn, error) {
	if block <= 0 {
		block = -1 // go-redis: no BLOCK argument; BLOCK 0 would wait for ever
	}
	args := &redis.XReadGroupArgs{
		Group:    outboxGroup,
		Consumer: consumer,
		Streams:  []string{s.k.outbox(), ">"},
		Count:    int64(count),
		Block:    block,
	}
	res, err := s.rdb.XReadGroup(ctx, args).Result()
	if isNoGroup(err) {
		if err = s.createGroup(ctx); err == nil {
			res, err = s.rdb.XReadGroup(ctx, args).Result()
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, ctxOr(ctx, fmt.Errorf("store: read outbox: %w", err))
	}
	var out []bot.Turn
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, decodeTurn(m))
		}
	}
	return out, nil
}

// Reclaim takes over up to count turns that other consumers read at least minIdle
// ago and never finished: their worker died, or its replica did.
func (s *Store) Reclaim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]bot.Turn, error) {
	args := &redis.XAutoClaimArgs{
		Stream:   s.k.outbox(),
		Group:    outboxGroup,
		MinIdle:  minIdle,
		Start:    "0-0",
		Count:    int64(count),
		Consumer: consumer,
	}
	res, _, err := s.rdb.XAutoClaim(ctx, args).Result()
	if isNoGroup(err) {
		// No group yet: nobody has read anything, so there is nothing to reclaim.
		return nil, s.createGroup(ctx)
	}
	if err != nil {
		return nil, ctxOr(ctx, fmt.Errorf("store: reclaim outbox: %w", err))
	}
	out := make([]bot.Turn, 0, len(res))
	for _, m := range res {
		out = append(out, decodeTurn(m))
	}
	return out, nil
}

func decodeTurn(m redis.XMessage) bot.Turn {
	to, _ := m.Values["to"].(string)
	return bot.Turn{Entry: m.ID, To: to}
}

// createGroup makes the consumer group, from the start of the stream so that turns
// given before any worker ever ran are read too (finished entries are deleted, so
// nothing old comes back).
func (s *Store) createGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.k.outbox(), outboxGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("store: create outbox group: %w", err)
	}
	return nil
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}

// Queued returns up to n of a recipient's pushes, in order. An item that cannot be
// decoded comes back with only its Entry and an empty Push.ID: dead-letter it.
func (s *Store) Queued(ctx context.Context, to string, n int) ([]bot.Queued, error) {
	raws, err := s.rdb.LRange(ctx, s.k.obQueue(to), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: queue of a recipient: %w", err)
	}
	out := make([]bot.Queued, 0, len(raws))
	for _, raw := range raws {
		q, _ := decodeItem(raw)
		out = append(out, q)
	}
	return out, nil
}

// finishScript records how a push ended and takes it out of its queue, together: a
// crash cannot leave a sent push queued to be sent again.
//
// KEYS: queue, state. ARGV: item JSON, state, state ttl ms.
var finishScript = redis.NewScript(`
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`)

// Sent records that the platform accepted q's push and takes it out of the queue.
func (s *Store) Sent(ctx context.Context, q bot.Queued) error {
	return s.finish(ctx, q, PushSent)
}

// Undeliverable records that q's push can reach nobody and takes it out of the queue.
func (s *Store) Undeliverable(ctx context.Context, q bot.Queued) error {
	return s.finish(ctx, q, PushUndeliverable)
}

func (s *Store) finish(ctx context.Context, q bot.Queued, state string) error {
	if q.Push.ID == "" {
		return bot.Errorf(bot.EInvalid, "store: a malformed push: dead-letter it")
	}
	err := finishScript.Run(ctx, s.rdb, []string{s.k.obQueue(q.Push.To), s.k.pushState(q.Push.ID)},
		q.Entry, state, PushStateTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("store: push %s %s: %w", q.Push.ID, state, err)
	}
	return nil
}

// attemptScript replaces an item by the same push with another attempt count, in
// its place.
//
// KEYS: queue. ARGV: old item JSON, new item JSON.
var attemptScript = redis.NewScript(`
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i, v in ipairs(items) do
	if v == ARGV[1] then
		redis.call('LSET', KEYS[1], i - 1, ARGV[2])
		return 1
	end
end
return 0
`)

// Failed records one more failed attempt of q's push, which keeps its place.
func (s *Store) Failed(ctx context.Context, q bot.Queued, attempt int) error {
	raw, err := encodeItem(q.Push, attempt, q.At, q.Hold)
	if err != nil {
		return err
	}
	if err := attemptScript.Run(ctx, s.rdb, []string{s.k.obQueue(q.Push.To)}, q.Entry, raw).Err(); err != nil {
		return fmt.Errorf("store: push %s attempt %d: %w", q.Push.ID, attempt, err)
	}
	return nil
}

// releaseScript ends a recipient's turn: with pushes still queued (some came in
// meanwhile) a fresh turn goes to the back of the stream, otherwise the recipient
// has none until the next push.
//
// KEYS: outbox, queue, flag. ARGV: group, entry id, recipient.
var releaseScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[2]) == 0 then
	redis.call('DEL', KEYS[3])
	return 0
end
redis.call('SET', KEYS[3], 'ready')
redis.call('XADD', KEYS[1], '*', 'to', ARGV[3])
return 1
`)

// Release ends a recipient's turn once a worker is done with it.
func (s *Store) Release(ctx context.Context, r bot.Turn) error {
	err := releaseScript.Run(ctx, s.rdb, []string{s.k.outbox(), s.k.obQueue(r.To), s.k.obFlag(r.To)},
		outboxGroup, r.Entry, r.To).Err()
	if err != nil {
		return fmt.Errorf("store: release a recipient's turn: %w", err)
	}
	return nil
}

// parkScript hands a recipient's turn to the due set: it ends the turn in the stream,
// schedules reminder <id> and sets the flag to <state>:<id>, together, so that the
// reminder cannot fire before the flag names it, nor a crash leave one without the
// other. A held turn is not parked when a push that may go now came in after the
// first seen ones were read: it goes straight back to the stream (seen < 0 skips
// that look; the worker read a full batch and saw only part of the queue).
//
// KEYS: outbox, queue, flag, due, in-flight, data. ARGV: group, entry id,
// recipient, state ("parked" or "held"), seen, reminder id, due ms, reminder value.
var parkScript = redis.NewScript(scheduleLua + `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local seen = tonumber(ARGV[5])
if ARGV[4] == 'held' and seen >= 0 then
	for _, v in ipairs(redis.call('LRANGE', KEYS[2], seen, -1)) do
		local ok, it = pcall(cjson.decode, v)
		if ok and type(it) == 'table' and (it.hold == nil or it.hold == 0) then
			redis.call('SET', KEYS[3], 'ready')
			redis.call('XADD', KEYS[1], '*', 'to', ARGV[3])
			return 1
		end
	end
end
schedule(KEYS[4], KEYS[5], KEYS[6], ARGV[6], ARGV[7], ARGV[8])
redis.call('SET', KEYS[3], ARGV[4] .. ':' .. ARGV[6])
return 0
`)

// Later parks a recipient's turn in the due set until reminder w fires: their
// pushes stay queued, in order, and new ones wait with them. w's id must be new to
// this parking (see the turn states above pushScript).
func (s *Store) Later(ctx context.Context, r bot.Turn, w bot.Reminder) error {
	return s.park(ctx, r, w, turnParked, -1)
}

// Held is Later for a turn whose pushes all wait for the end of quiet hours: a push
// that may go now (an urgent one) wakes it early, and so does one queued after the
// worker read the first seen pushes (seen < 0: do not look).
func (s *Store) Held(ctx context.Context, r bot.Turn, w bot.Reminder, seen int) error {
	return s.park(ctx, r, w, turnHeld, seen)
}

func (s *Store) park(ctx context.Context, r bot.Turn, w bot.Reminder, state string, seen int) error {
	v, err := encodeReminder(w)
	if err != nil {
		return err
	}
	err = parkScript.Run(ctx, s.rdb,
		[]string{s.k.outbox(), s.k.obQueue(r.To), s.k.obFlag(r.To), s.k.due(), s.k.dueInflight(), s.k.dueData()},
		outboxGroup, r.Entry, r.To, state, seen, w.ID, w.Due.UnixMilli(), v).Err()
	if err != nil {
		return fmt.Errorf("store: park a recipient's turn: %w", err)
	}
	return nil
}

// wakeScript brings back the turn parked until reminder <id>. A turn in the stream
// needs no second one, and a reminder of an earlier parking wakes nothing.
//
// KEYS: outbox, flag. ARGV: recipient, reminder id.
var wakeScript = redis.NewScript(`
local flag = redis.call('GET', KEYS[2])
if flag == 'parked:' .. ARGV[2] or flag == 'held:' .. ARGV[2] or flag == 'held' or flag == '1' then
	redis.call('SET', KEYS[2], 'ready')
	redis.call('XADD', KEYS[1], '*', 'to', ARGV[1])
	return 1
end
return 0
`)

// Wake gives a recipient whose turn waited in the due set a turn in the stream, when
// reminder id is the one their parking waits for.
func (s *Store) Wake(ctx context.Context, to, id string) error {
	if err := wakeScript.Run(ctx, s.rdb, []string{s.k.outbox(), s.k.obFlag(to)}, to, id).Err(); err != nil {
		return fmt.Errorf("store: wake a recipient's turn: %w", err)
	}
	return nil
}

// Parked returns the reminder a recipient's parked turn waits for; ok is false when
// their turn is not parked (for tests and tools).
func (s *Store) Parked(ctx context.Context, to string) (r bot.Reminder, ok bool, err error) {
	flag, err := s.rdb.Get(ctx, s.k.obFlag(to)).Result()
	if errors.Is(err, redis.Nil) {
		return bot.Reminder{}, false, nil
	}
	if err != nil {
		return bot.Reminder{}, false, fmt.Errorf("store: a recipient's turn: %w", err)
	}
	state, id, _ := strings.Cut(flag, ":")
	if id == "" || (state != turnParked && state != turnHeld) {
		return bot.Reminder{}, false, nil
	}
	return s.Reminder(ctx, id)
}

// deadScript moves a push from its queue to the dead-letter stream.
//
// KEYS: queue, dead, state. ARGV: item JSON, push JSON, attempt, reason, at unix
// ms, "1" to mark the state dead.
var deadScript = redis.NewScript(`
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('XADD', KEYS[2], '*', 'push', ARGV[2], 'attempt', ARGV[3], 'reason', ARGV[4], 'at', ARGV[5])
if ARGV[6] == '1' then
	redis.call('SET', KEYS[3], 'dead')
end
return 1
`)

// Dead moves q to the dead-letter stream, where an admin can list and replay it.
// attempt is the number of failed attempts, this one included. The push's state
// stays "dead", without expiry, so that pushing the same ID again does not bypass
// the admin. to is the recipient whose queue held q (a malformed item has no push
// to say so).
func (s *Store) Dead(ctx context.Context, to string, q bot.Queued, attempt int, reason string, at time.Time) error {
	mark, raw := "1", ""
	stateKey := s.k.pushState(q.Push.ID)
	if q.Push.ID == "" {
		mark, raw = "0", q.Entry
		stateKey = s.k.pushState("") // never set; KEYS must still name every key touched
	} else {
		b, err := json.Marshal(q.Push)
		if err != nil {
			return fmt.Errorf("store: dead-letter push %s: %w", q.Push.ID, err)
		}
		raw = string(b)
	}
	err := deadScript.Run(ctx, s.rdb, []string{s.k.obQueue(to), s.k.outboxDead(), stateKey},
		q.Entry, raw, attempt, reason, at.UnixMilli(), mark).Err()
	if err != nil {
		return fmt.Errorf("store: dead-letter push %s: %w", q.Push.ID, err)
	}
	return nil
}

// ListDead returns the dead-letter stream, oldest first.
func (s *Store) ListDead(ctx context.Context) ([]DeadPush, error) {
	res, err := s.rdb.XRange(ctx, s.k.outboxDead(), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("store: list dead pushes: %w", err)
	}
	out := make([]DeadPush, 0, len(res))
	for _, m := range res {
		d, _ := decodeDead(m)
		out = append(out, d)
	}
	return out, nil
}

func decodeDead(m redis.XMessage) (DeadPush, string) {
	d := DeadPush{ID: m.ID}
	raw, _ := m.Values["push"].(string)
	if err := json.Unmarshal([]byte(raw), &d.Push); err != nil || d.Push.ID == "" {
		d.Malformed = fmt.Sprintf("undecodable push (%v)", err)
		d.Push = bot.Push{}
	}
	if a, ok := m.Values["attempt"].(string); ok {
		d.Attempt, _ = strconv.Atoi(a)
	}
	d.Reason, _ = m.Values["reason"].(string)
	if a, ok := m.Values["at"].(string); ok {
		if ms, err := strconv.ParseInt(a, 10, 64); err == nil {
			d.At = time.UnixMilli(ms)
		}
	}
	return d, raw
}

// replayScript moves a dead-letter entry back to the end of its recipient's queue
// with a fresh attempt count. It checks the entry is still there (two admins
// replaying at once send it once) and leaves the queue alone when the push is
// queued or sent already.
//
// KEYS: dead, state, queue, flag, outbox. ARGV: dead entry id, item JSON, state ttl
// ms, recipient.
var replayScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
	return 0
end
redis.call('XDEL', KEYS[1], ARGV[1])
local st = redis.call('GET', KEYS[2])
if st == 'queued' or st == 'sent' then
	return 2
end
redis.call('SET', KEYS[2], 'queued', 'PX', ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
if redis.call('SET', KEYS[4], 'ready', 'NX') then
	redis.call('XADD', KEYS[5], '*', 'to', ARGV[4])
end
return 1
`)

// Replay sends dead pushes again: id is a dead-letter entry ID, or a push ID (every
// dead entry of that push). It returns how many went back to the outbox, and an
// ENotFound error when nothing matched.
func (s *Store) Replay(ctx context.Context, id string) (int, error) {
	var entries []redis.XMessage
	var err error
	if isStreamID(id) {
		entries, err = s.rdb.XRange(ctx, s.k.outboxDead(), id, id).Result()
	} else {
		var all []redis.XMessage
		all, err = s.rdb.XRange(ctx, s.k.outboxDead(), "-", "+").Result()
		for _, m := range all {
			if d, _ := decodeDead(m); d.Push.ID == id {
				entries = append(entries, m)
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("store: replay %s: %w", id, err)
	}
	if len(entries) == 0 {
		return 0, bot.Errorf(bot.ENotFound, "store: replay %s: no such dead push", id)
	}
	n := 0
	for _, m := range entries {
		ok, err := s.replay(ctx, m)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// ReplayAll sends every dead push again and returns how many went back to the
// outbox. Malformed entries stay where they are.
func (s *Store) ReplayAll(ctx context.Context) (int, error) {
	all, err := s.rdb.XRange(ctx, s.k.outboxDead(), "-", "+").Result()
	if err != nil {
		return 0, fmt.Errorf("store: replay all: %w", err)
	}
	n := 0
	for _, m := range all {
		if d, _ := decodeDead(m); d.Malformed != "" {
			continue
		}
		ok, err := s.replay(ctx, m)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func (s *Store) replay(ctx context.Context, m redis.XMessage) (bool, error) {
	d, _ := decodeDead(m)
	if d.Malformed != "" {
		return false, bot.Errorf(bot.EInvalid, "store: replay %s: %s", m.ID, d.Malformed)
	}
	item, err := encodeItem(d.Push, 0, s.now(), time.Time{})
	if err != nil {
		return false, err
	}
	to := d.Push.To
	n, err := replayScript.Run(ctx, s.rdb,
		[]string{s.k.outboxDead(), s.k.pushState(d.Push.ID), s.k.obQueue(to), s.k.obFlag(to), s.k.outbox()},
		m.ID, item, PushStateTTL.Milliseconds(), to).Int()
	if err != nil {
		return false, fmt.Errorf("store: replay %s: %w", m.ID, err)
	}
	return n == 1, nil
}

// isStreamID tells "1700000000000-0" from a push ID, which always has a letter.
func isStreamID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || ms == "" || seq == "" {
		return false
	}
	for _, r := range ms + seq {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// OutboxStats counts what waits, what is in flight and what is dead.
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	pipe := s.rdb.Pipeline()
	waiting := pipe.XLen(ctx, s.k.outbox())
	pending := pipe.XPending(ctx, s.k.outbox(), outboxGroup)
	dead := pipe.XLen(ctx, s.k.outboxDead())
	_, err := pipe.Exec(ctx)
	if err != nil && !isNoGroup(err) && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("store: outbox stats: %w", err)
	}
	st.Waiting, st.Dead = waiting.Val(), dead.Val()
	if p := pending.Val(); p != nil {
		st.Pending = p.Count
	}
	return st, nil
}

// PruneConsumers forgets consumers that hold no entries and have not read for idle:
// every start of a replica adds new ones, and the group would otherwise keep them
// all.
func (s *Store) PruneConsumers(ctx context.Context, idle time.Duration) (int, error) {
	cs, err := s.rdb.XInfoConsumers(ctx, s.k.outbox(), outboxGroup).Result()
	if isNoGroup(err) || errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, fmt.Errorf("store: outbox consumers: %w", err)
	}
	n := 0
	for _, c := range cs {
		if c.Pending == 0 && c.Idle >= idle {
			// A consumer that read meanwhile holds entries again: DELCONSUMER would
			// drop them from the pending list, so the check is redone inside Redis.
			del, err := pruneScript.Run(ctx, s.rdb, []string{s.k.outbox()}, outboxGroup, c.Name).Int()
			if err != nil {
				return n, fmt.Errorf("store: prune consumer %s: %w", c.Name, err)
			}
			n += del
		}
	}
	return n, nil
}

// pruneScript deletes a consumer only while it holds nothing.
//
// KEYS: outbox. ARGV: group, consumer.
var pruneScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then
	return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// Customer-service allowance: what the ladder knows of each recipient's (see
// bot.Contact). The commit of each Update records the action; the ladder takes one
// message from it before each customer-service send.

// contactTTL keeps a recipient's allowance a day past the platform's window.
const contactTTL = bot.CustomWindow + 24*time.Hour

// Contact returns what the ladder knows of openid's allowance.
func (s *Store) Contact(ctx context.Context, openid string) (bot.Contact, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.contact(openid)).Result()
	if err != nil {
		return bot.Contact{}, fmt.Errorf("store: contact: %w", err)
	}
	return decodeContact(m), nil
}

func decodeContact(m map[string]string) bot.Contact {
	ms := func(k string) time.Time {
		v, err := strconv.ParseInt(m[k], 10, 64)
		if err != nil || v <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	sends, _ := strconv.Atoi(m["sends"])
	return bot.Contact{Last: ms("last"), Kind: bot.Action(m["kind"]), LastMessage: ms("msg"), Sends: sends}
}

// actScript records an action of a user, the way bot.Contact.Acted does: an action
// older than the last one recorded changes nothing.
//
// KEYS: contact. ARGV: unix ms, kind, ttl ms.
const actLua = `
local function act(key, at, kind, ttl)
	local was = redis.call('HMGET', key, 'last', 'msg')
	if at < tonumber(was[1] or '0') then
		return 0
	end
	if kind == 'message' and at > tonumber(was[2] or '0') then
		redis.call('HSET', key, 'last', at, 'kind', kind, 'sends', 0, 'msg', at)
	else
		redis.call('HSET', key, 'last', at, 'kind', kind, 'sends', 0)
	end
	redis.call('PEXPIRE', key, ttl)
	return 1
end
`

var actScript = redis.NewScript(actLua + `return act(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3])`)

// Acted records that openid did a at t (for tests and tools; the engine's commit
// records actions with the rest of an Update's outcome).
func (s *Store) Acted(ctx context.Context, openid string, a bot.Action, t time.Time) error {
	if a == bot.ActionNone {
		return nil
	}
	if err := actScript.Run(ctx, s.rdb, []string{s.k.contact(openid)}, t.UnixMilli(), string(a), contactTTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("store: record an action: %w", err)
	}
	return nil
}

// takeScript takes one customer-service message from a recipient's allowance, the
// way bot.Contact.Left counts. It returns {left after this one, 0}, or {0, code}
// when none is left (45047 spent, 45015 closed).
//
// KEYS: contact. ARGV: now ms, message limit, message period ms, event limit, event
// period ms, window ms.
var takeScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'last', 'kind', 'msg', 'sends')
local last = tonumber(h[1] or '0')
local kind = h[2] or ''
local msg = tonumber(h[3] or '0')
local sends = tonumber(h[4] or '0')
local now = tonumber(ARGV[1])
if last == 0 or kind == '' then
	return {0, 45015}
end
local latest = last
if msg > latest then
	latest = msg
end
if now >= latest + tonumber(ARGV[6]) then
	return {0, 45015}
end
local limit, period = tonumber(ARGV[4]), tonumber(ARGV[5])
if kind == 'message' then
	limit, period = tonumber(ARGV[2]), tonumber(ARGV[3])
end
local e = last + period
if msg > 0 and msg + tonumber(ARGV[3]) > e then
	e = msg + tonumber(ARGV[3])
end
if now >= e or sends >= limit then
	return {0, 45047}
end
redis.call('HINCRBY', KEYS[1], 'sends', 1)
return {limit - sends - 1, 0}
`)

// TakeCustom takes one customer-service message from openid's allowance at now. It
// returns how many are left after this one, or, when there was none to take, why
// (bot.AllowanceSpent or bot.AllowanceClosed).
func (s *Store) TakeCustom(ctx context.Context, openid string, now time.Time) (left, code int, err error) {
	m, e := bot.MessageAllowance, bot.EventAllowance
	res, err := takeScript.Run(ctx, s.rdb, []string{s.k.contact(openid)}, now.UnixMilli(),
		m.Limit, m.Period.Milliseconds(), e.Limit, e.Period.Milliseconds(), bot.CustomWindow.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("store: take from the allowance: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("store: take from the allowance: answer %v", res)
	}
	return int(res[0]), int(res[1]), nil
}

// giveBackScript returns a customer-service message to the allowance, never below
// none sent.
//
// KEYS: contact.
var giveBackScript = redis.NewScript(`
if tonumber(redis.call('HGET', KEYS[1], 'sends') or '0') > 0 then
	redis.call('HINCRBY', KEYS[1], 'sends', -1)
end
return 1
`)

// GiveBack returns a customer-service message taken with TakeCustom that the
// platform refused: it did not count it either.
func (s *Store) GiveBack(ctx context.Context, openid string) error {
	if err := giveBackScript.Run(ctx, s.rdb, []string{s.k.contact(openid)}).Err(); err != nil {
		return fmt.Errorf("store: give back to the allowance: %w", err)
	}
	return nil
}
