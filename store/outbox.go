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

// OutboxMsg is one outbox entry handed to a worker.
type OutboxMsg struct {
	ID      string // the stream entry
	Push    bot.Push
	Attempt int // failed delivery attempts before this one
	// State is the push's idempotency state when the entry was read: a worker skips
	// an entry whose push is already finished (a duplicate entry, reclaimed after
	// the first was sent). Empty when the key has expired.
	State string
	// Malformed says why the entry could not be decoded; such an entry can only be
	// dead-lettered.
	Malformed string

	raw string // the push as stored, kept for the dead-letter stream
}

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
	Waiting int64 // entries in the outbox stream, read or not
	Pending int64 // entries read by a worker and not yet finished
	Dead    int64 // entries in the dead-letter stream
}

// pushScript queues a push unless its ID is known.
//
// KEYS: state, outbox. ARGV: state ttl ms, push JSON.
var pushScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('SET', KEYS[1], 'queued', 'PX', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'push', ARGV[2], 'attempt', '0')
return 1
`)

// Push queues p for the outbox workers. A push whose ID is already queued or
// finished is not queued again.
func (s *Store) Push(ctx context.Context, p bot.Push) error {
	_, err := s.Enqueue(ctx, p)
	return err
}

// Enqueue is Push that also says whether p was queued (false: its ID was known).
func (s *Store) Enqueue(ctx context.Context, p bot.Push) (bool, error) {
	raw, err := encodePush(p)
	if err != nil {
		return false, err
	}
	n, err := pushScript.Run(ctx, s.rdb, []string{s.k.pushState(p.ID), s.k.outbox()},
		PushStateTTL.Milliseconds(), raw).Int()
	if err != nil {
		return false, fmt.Errorf("store: push %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func encodePush(p bot.Push) (string, error) {
	if p.ID == "" || p.To == "" {
		return "", bot.Errorf(bot.EInvalid, "store: push needs an id and a recipient (id %q)", p.ID)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("store: push %s: %w", p.ID, err)
	}
	return string(b), nil
}

// requeueScript puts a push back in the outbox for another attempt, unless it has
// been finished meanwhile (a duplicate entry got through first).
//
// KEYS: state, outbox. ARGV: state ttl ms, push JSON, attempt.
var requeueScript = redis.NewScript(`
local st = redis.call('GET', KEYS[1])
if st == 'sent' or st == 'undeliverable' or st == 'dead' then
	return 0
end
redis.call('SET', KEYS[1], 'queued', 'PX', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'push', ARGV[2], 'attempt', ARGV[3])
return 1
`)

// Requeue puts p back in the outbox for a retry, with the failed attempts so far.
// It reports false, and does nothing, when the push has been finished.
func (s *Store) Requeue(ctx context.Context, p bot.Push, attempt int) (bool, error) {
	raw, err := encodePush(p)
	if err != nil {
		return false, err
	}
	n, err := requeueScript.Run(ctx, s.rdb, []string{s.k.pushState(p.ID), s.k.outbox()},
		PushStateTTL.Milliseconds(), raw, attempt).Int()
	if err != nil {
		return false, fmt.Errorf("store: requeue %s: %w", p.ID, err)
	}
	return n == 1, nil
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

// Read takes up to count new entries for consumer, waiting up to block for one to
// arrive (block <= 0: no wait). It returns nothing, without error, when none came.
func (s *Store) Read(ctx context.Context, consumer string, count int, block time.Duration) ([]OutboxMsg, error) {
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
	var msgs []OutboxMsg
	for _, st := range res {
		for _, m := range st.Messages {
			msgs = append(msgs, decodeOutboxMsg(m))
		}
	}
	return msgs, s.fillStates(ctx, msgs)
}

// Reclaim takes over up to count entries that other consumers read at least minIdle
// ago and never finished: their worker died, or its replica did.
func (s *Store) Reclaim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]OutboxMsg, error) {
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
	msgs := make([]OutboxMsg, 0, len(res))
	for _, m := range res {
		msgs = append(msgs, decodeOutboxMsg(m))
	}
	return msgs, s.fillStates(ctx, msgs)
}

// createGroup makes the consumer group, from the start of the stream so that pushes
// queued before any worker ever ran are read too (finished entries are deleted, so
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

func decodeOutboxMsg(m redis.XMessage) OutboxMsg {
	msg := OutboxMsg{ID: m.ID}
	raw, _ := m.Values["push"].(string)
	msg.raw = raw
	if err := json.Unmarshal([]byte(raw), &msg.Push); err != nil || msg.Push.ID == "" {
		msg.Malformed = fmt.Sprintf("undecodable push (%v)", err)
		msg.Push = bot.Push{}
		return msg
	}
	if a, ok := m.Values["attempt"].(string); ok {
		msg.Attempt, _ = strconv.Atoi(a)
	}
	return msg
}

// fillStates reads the idempotency state of each message's push in one round trip.
func (s *Store) fillStates(ctx context.Context, msgs []OutboxMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(msgs))
	for i, m := range msgs {
		if m.Malformed == "" {
			cmds[i] = pipe.Get(ctx, s.k.pushState(m.Push.ID))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		// The entries are ours now; they come back to some worker through Reclaim.
		return ctxOr(ctx, fmt.Errorf("store: read push states: %w", err))
	}
	for i, c := range cmds {
		if c != nil {
			msgs[i].State = c.Val()
		}
	}
	return nil
}

// finishScript records how a push ended and removes its entry, together: a crash
// cannot leave a sent push in the outbox to be sent again.
//
// KEYS: outbox, state. ARGV: group, entry id, state, state ttl ms.
var finishScript = redis.NewScript(`
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`)

// Sent records that the platform accepted msg's push and removes the entry.
func (s *Store) Sent(ctx context.Context, msg OutboxMsg) error {
	return s.finish(ctx, msg, PushSent)
}

// Undeliverable records that msg's push can reach nobody and removes the entry.
func (s *Store) Undeliverable(ctx context.Context, msg OutboxMsg) error {
	return s.finish(ctx, msg, PushUndeliverable)
}

func (s *Store) finish(ctx context.Context, msg OutboxMsg, state string) error {
	if msg.Malformed != "" {
		return bot.Errorf(bot.EInvalid, "store: outbox entry %s is malformed: dead-letter it", msg.ID)
	}
	err := finishScript.Run(ctx, s.rdb, []string{s.k.outbox(), s.k.pushState(msg.Push.ID)},
		outboxGroup, msg.ID, state, PushStateTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("store: push %s %s: %w", msg.Push.ID, state, err)
	}
	return nil
}

// Ack removes an entry without touching its push's state: for a duplicate entry of
// a push already finished, and for an entry whose retry is now in the due set.
func (s *Store) Ack(ctx context.Context, msg OutboxMsg) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, s.k.outbox(), outboxGroup, msg.ID)
		p.XDel(ctx, s.k.outbox(), msg.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: ack outbox entry %s: %w", msg.ID, err)
	}
	return nil
}

// Defer hands msg's retry to the due set and removes the entry. The reminder lives in
// another repository, so the two cannot be one script: the reminder is written first.
// A crash in between leaves both, and the push is attempted twice, which its state
// key turns into one send once either attempt succeeds; the other order could lose
// it. The reminder's handler calls Requeue.
func (s *Store) Defer(ctx context.Context, msg OutboxMsg, due bot.Reminders, r bot.Reminder) error {
	if err := due.Schedule(ctx, r); err != nil {
		return fmt.Errorf("store: defer push %s: %w", msg.Push.ID, err)
	}
	return s.Ack(ctx, msg)
}

// deadScript moves an entry to the dead-letter stream.
//
// KEYS: outbox, dead, state. ARGV: group, entry id, push JSON, attempt, reason,
// at unix ms, "1" to mark the state dead.
var deadScript = redis.NewScript(`
redis.call('XADD', KEYS[2], '*', 'push', ARGV[3], 'attempt', ARGV[4], 'reason', ARGV[5], 'at', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[7] == '1' then
	redis.call('SET', KEYS[3], 'dead')
end
return 1
`)

// Dead moves msg to the dead-letter stream, where an admin can list and replay it.
// attempt is the number of failed attempts, this one included. The push's state
// stays "dead", without expiry, so that pushing the same ID again does not bypass
// the admin.
func (s *Store) Dead(ctx context.Context, msg OutboxMsg, attempt int, reason string, at time.Time) error {
	mark := "1"
	stateKey := s.k.pushState(msg.Push.ID)
	if msg.Malformed != "" {
		mark = "0"
		stateKey = s.k.pushState("") // never set; KEYS must still name every key touched
	}
	err := deadScript.Run(ctx, s.rdb, []string{s.k.outbox(), s.k.outboxDead(), stateKey},
		outboxGroup, msg.ID, msg.raw, attempt, reason, at.UnixMilli(), mark).Err()
	if err != nil {
		return fmt.Errorf("store: dead-letter push %s: %w", msg.Push.ID, err)
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

// replayScript moves a dead-letter entry back to the outbox with a fresh attempt
// count. It checks the entry is still there (two admins replaying at once send it
// once) and leaves the outbox alone when the push is queued or sent already.
//
// KEYS: dead, outbox, state. ARGV: dead entry id, push JSON, state ttl ms.
var replayScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
	return 0
end
redis.call('XDEL', KEYS[1], ARGV[1])
local st = redis.call('GET', KEYS[3])
if st == 'queued' or st == 'sent' then
	return 2
end
redis.call('SET', KEYS[3], 'queued', 'PX', ARGV[3])
redis.call('XADD', KEYS[2], '*', 'push', ARGV[2], 'attempt', '0')
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
	d, raw := decodeDead(m)
	if d.Malformed != "" {
		return false, bot.Errorf(bot.EInvalid, "store: replay %s: %s", m.ID, d.Malformed)
	}
	n, err := replayScript.Run(ctx, s.rdb,
		[]string{s.k.outboxDead(), s.k.outbox(), s.k.pushState(d.Push.ID)},
		m.ID, raw, PushStateTTL.Milliseconds()).Int()
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
