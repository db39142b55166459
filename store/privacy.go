package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// auditMax caps the audit stream (approximately: XADD MAXLEN ~).
const auditMax = 1_000_000

// Audit appends a line to the audit log.
func (s *Store) Audit(ctx context.Context, e bot.AuditEntry) error {
	raw, _ := json.Marshal(e)
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.k.audit(), MaxLen: auditMax, Approx: true,
		Values: []any{"e", string(raw)}}).Err()
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditEntries reads the audit log newest first, keeping the lines q picks.
func (s *Store) AuditEntries(ctx context.Context, q bot.AuditQuery) ([]bot.AuditEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	end := "+"
	if !q.To.IsZero() {
		end = "(" + strconv.FormatInt(q.To.UnixMilli(), 10)
	}
	start := "-"
	if !q.From.IsZero() {
		start = strconv.FormatInt(q.From.UnixMilli(), 10)
	}
	var out []bot.AuditEntry
	for len(out) < limit {
		msgs, err := s.rdb.XRevRangeN(ctx, s.k.audit(), end, start, 500).Result()
		if err != nil {
			return nil, fmt.Errorf("store: audit entries: %w", err)
		}
		for _, m := range msgs {
			var e bot.AuditEntry
			raw, _ := m.Values["e"].(string)
			if json.Unmarshal([]byte(raw), &e) != nil {
				continue
			}
			if (q.Ticket == "" || e.Ticket == q.Ticket) && (q.Action == "" || e.Action == q.Action) &&
				(q.Actor == "" || e.Actor == q.Actor || e.Name == q.Actor) {
				out = append(out, e)
				if len(out) == limit {
					break
				}
			}
		}
		if len(msgs) < 500 {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

// Secret is the random key named name, made on first use and kept in Redis, so
// every replica uses the same one.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := s.rdb.SetNX(ctx, s.k.secret(name), hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	v, err := s.rdb.Get(ctx, s.k.secret(name)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return hex.DecodeString(v)
}

// EraseTicket blanks ticket no's personal data in one transaction: the resident's
// openid, name and phone, the description, result, rating note and attachments,
// and every text of its timeline (the events stay, with their kind, time and
// staff actor; the resident's become "resident"). Status, category, community,
// dates and rating stay, so the counts and the register's rows stay. It returns
// the ticket as it was; erasing an erased ticket changes nothing.
func (s *Store) EraseTicket(ctx context.Context, no string, at time.Time) (*bot.Ticket, error) {
	before, err := eraseWithTimeline(ctx, s, "ticket "+no, s.k.ticket(no), s.k.ticketEvents(no),
		func(tx *redis.Tx) (*bot.Ticket, error) { return s.loadTicket(ctx, tx, no) },
		func(t *bot.Ticket) (func(*bot.Event), func(redis.Pipeliner)) {
			openid := t.OpenID
			t.OpenID, t.Name, t.Phone, t.Description, t.Result, t.RatingNote, t.Photos, t.Voices, t.Added = "", "", "", "", "", "", nil, nil, nil
			if t.Erased.IsZero() {
				t.Erased = at
			}
			line := func(ev *bot.Event) {
				ev.Text = ""
				if openid != "" && ev.Actor == openid {
					ev.Actor, ev.Name = bot.ErasedActor, ""
				}
			}
			return line, func(p redis.Pipeliner) {
				if openid != "" {
					p.ZRem(ctx, s.k.residentTickets(openid), no)
				}
			}
		})
	if err != nil {
		return nil, err
	}
	return before, s.eraseCallbacksOf(ctx, no)
}

// eraseWithTimeline blanks a numbered record (a ticket, a visit task) and the
// events of its timeline in one optimistic transaction, and returns the record as
// it was. blank changes the loaded record and says how to blank each event and
// what else to write with them (nil: nothing).
func eraseWithTimeline[R, E any](ctx context.Context, s *Store, what, key, evKey string,
	load func(tx *redis.Tx) (*R, error), blank func(r *R) (line func(*E), more func(redis.Pipeliner))) (*R, error) {
	for range txRetries {
		var before *R
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			r, err := load(tx)
			if err != nil {
				return err
			}
			raws, err := tx.LRange(ctx, evKey, 0, -1).Result()
			if err != nil {
				return err
			}
			b := *r
			before = &b
			line, more := blank(r)
			evs := make([]any, 0, len(raws))
			for _, raw := range raws {
				var ev E
				if json.Unmarshal([]byte(raw), &ev) != nil {
					continue
				}
				line(&ev)
				out, _ := json.Marshal(ev)
				evs = append(evs, string(out))
			}
			raw, _ := json.Marshal(r)
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, redis.KeepTTL)
				p.Del(ctx, evKey)
				if len(evs) > 0 {
					p.RPush(ctx, evKey, evs...)
				}
				if more != nil {
					more(p)
				}
				return nil
			})
			return err
		}, key, evKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: erase %s: %w", what, err)
		}
		return before, nil
	}
	return nil, fmt.Errorf("store: erase %s: too much contention", what)
}

// eraseCallbacksOf blanks the personal fields of a ticket's call-back tasks (the
// number to ring, the openid, what to tell them, the voice code, the callers'
// notes), as Scrub does: the tasks stay, anonymous, for the counts.
func (s *Store) eraseCallbacksOf(ctx context.Context, no string) error {
	cbs, err := s.CallbacksOf(ctx, no)
	if err != nil {
		return err
	}
	for _, cb := range cbs {
		_, err := s.UpdateCallback(ctx, cb.No, func(c *bot.Callback) (map[bot.Counter]int64, error) {
			c.Phone, c.OpenID, c.Text, c.Code = "", "", "", ""
			for i := range c.Attempts {
				c.Attempts[i].Note = ""
			}
			return nil, nil
		})
		if err != nil {
			return fmt.Errorf("store: erase the call-back tasks of ticket %s: %w", no, err)
		}
	}
	return nil
}

// Scrub removes a person from everything else Redis holds, by walking every key
// under the prefix (an admin's rare command: O(keys)). ids are exact identifiers
// (the openid, the phone number): a key whose name holds one is deleted; a value
// holding one is cut out of its key (a field, a member, a list item, a stream
// entry), except in the records that stay anonymous (calls, call-back tasks,
// visit tasks), whose personal fields are blanked. texts (what the person wrote)
// are looked for only in caches and queues (inbox replies, sessions, pushes
// waiting or dead-lettered, reminders), which are deleted or cut where they hold
// one. It returns the keys that still hold any of them.
func (s *Store) Scrub(ctx context.Context, ids, texts []string) (left []string, err error) {
	pseudo := "erased:" + bot.Recipient(strings.Join(ids, "|"))
	has := func(v string, needles []string) bool {
		for _, n := range needles {
			if n != "" && strings.Contains(v, n) {
				return true
			}
		}
		return false
	}
	all := append(append([]string{}, ids...), texts...)
	transient := func(key string) bool {
		for _, p := range []string{"inbox:", "session:", "relay:", "outbox:q:", "outbox:dead", "hl:offer:", "due:data", "lockq"} {
			if strings.HasPrefix(key, s.k.prefix+p) {
				return true
			}
		}
		return false
	}
	err = s.eachKey(ctx, func(key, typ string) error {
		needles := ids
		if transient(key) {
			needles = all
		}
		if has(strings.TrimPrefix(key, s.k.prefix), ids) {
			return s.rdb.Del(ctx, key).Err()
		}
		switch typ {
		case "string":
			v, err := s.rdb.Get(ctx, key).Result()
			if err != nil || !has(v, needles) {
				return ignoreNil(err)
			}
			for _, id := range ids {
				if id != "" && v == id { // an index pointing to the person
					return s.rdb.Del(ctx, key).Err()
				}
			}
			if fixed, ok := s.blank(key, v, ids); ok {
				return s.rdb.Set(ctx, key, fixed, redis.KeepTTL).Err()
			}
			if transient(key) {
				return s.rdb.Del(ctx, key).Err()
			}
		case "hash":
			m, err := s.rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			for f, v := range m {
				if !has(f, needles) && !has(v, needles) {
					continue
				}
				if key == s.k.dueData() {
					if err := s.rdb.ZRem(ctx, s.k.due(), f).Err(); err != nil {
						return err
					}
					if err := s.rdb.ZRem(ctx, s.k.dueInflight(), f).Err(); err != nil {
						return err
					}
				}
				if strings.HasPrefix(key, s.k.prefix+"act:") && has(f, ids) {
					// Attendance keeps its minutes under a pseudonym.
					if err := s.rdb.HSet(ctx, key, pseudo, v).Err(); err != nil {
						return err
					}
				}
				if err := s.rdb.HDel(ctx, key, f).Err(); err != nil {
					return err
				}
			}
		case "list":
			items, err := s.rdb.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			for _, it := range items {
				if has(it, needles) {
					if err := s.rdb.LRem(ctx, key, 0, it).Err(); err != nil {
						return err
					}
				}
			}
		case "set":
			ms, err := s.rdb.SMembers(ctx, key).Result()
			if err != nil {
				return err
			}
			for _, m := range ms {
				if has(m, needles) {
					if err := s.rdb.SRem(ctx, key, m).Err(); err != nil {
						return err
					}
				}
			}
		case "zset":
			zs, err := s.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			for _, z := range zs {
				m, _ := z.Member.(string)
				if !has(m, needles) {
					continue
				}
				if strings.HasPrefix(key, s.k.prefix+"act:") {
					// A sign-up list keeps its place and count under a pseudonym.
					if err := s.rdb.ZAdd(ctx, key, redis.Z{Score: z.Score, Member: pseudo}).Err(); err != nil {
						return err
					}
				}
				if err := s.rdb.ZRem(ctx, key, m).Err(); err != nil {
					return err
				}
			}
		case "stream":
			msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
			if err != nil {
				return err
			}
			for _, m := range msgs {
				raw, _ := json.Marshal(m.Values)
				if has(string(raw), needles) {
					if err := s.rdb.XDel(ctx, key, m.ID).Err(); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: scrub: %w", err)
	}
	return s.Mentions(ctx, all)
}

// blank rewrites the records that stay, anonymous, when they name the person:
// a call (its number and summary), a call-back task (number, openid, text, code),
// a visit task (the person visited, the reason).
func (s *Store) blank(key, v string, ids []string) (string, bool) {
	rest, ok := strings.CutPrefix(key, s.k.prefix)
	if !ok {
		return "", false
	}
	var out any
	switch {
	case strings.HasPrefix(rest, "hl:call:"):
		var c bot.Call
		if json.Unmarshal([]byte(v), &c) != nil {
			return "", false
		}
		c.Caller, c.Summary, c.Users, c.RecordingURL = "", "", nil, ""
		out = c
	case strings.HasPrefix(rest, "cb:") && !strings.HasPrefix(rest, "cb:id:") && !strings.HasPrefix(rest, "cb:seq"):
		var c bot.Callback
		if json.Unmarshal([]byte(v), &c) != nil {
			return "", false
		}
		c.Phone, c.OpenID, c.Text, c.Code = "", "", "", ""
		out = c
	case strings.HasPrefix(rest, "visit:") && strings.Count(rest, ":") == 1:
		var t bot.Visit
		if json.Unmarshal([]byte(v), &t) != nil {
			return "", false
		}
		t.Person, t.Reason = bot.Person{}, ""
		out = t
	default:
		return "", false
	}
	raw, _ := json.Marshal(out)
	for _, id := range ids {
		if id != "" && strings.Contains(string(raw), id) {
			return "", false
		}
	}
	return string(raw), true
}

// Mentions lists the keys whose name or value holds any of needles.
func (s *Store) Mentions(ctx context.Context, needles []string) ([]string, error) {
	var out []string
	err := s.eachKey(ctx, func(key, typ string) error {
		vals := []string{strings.TrimPrefix(key, s.k.prefix)}
		switch typ {
		case "string":
			v, err := s.rdb.Get(ctx, key).Result()
			if err != nil {
				return ignoreNil(err)
			}
			vals = append(vals, v)
		case "hash":
			m, err := s.rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "list":
			items, err := s.rdb.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			vals = append(vals, items...)
		case "set":
			ms, err := s.rdb.SMembers(ctx, key).Result()
			if err != nil {
				return err
			}
			vals = append(vals, ms...)
		case "zset":
			ms, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			vals = append(vals, ms...)
		case "stream":
			msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
			if err != nil {
				return err
			}
			for _, m := range msgs {
				raw, _ := json.Marshal(m.Values)
				vals = append(vals, string(raw))
			}
		}
		for _, v := range vals {
			for _, n := range needles {
				if n != "" && strings.Contains(v, n) {
					out = append(out, key)
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// eachKey calls fn with every key under the prefix and its type.
func (s *Store) eachKey(ctx context.Context, fn func(key, typ string) error) error {
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, s.k.prefix+"*", 500).Result()
		if err != nil {
			return err
		}
		types := make([]*redis.StatusCmd, len(keys))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				types[i] = p.Type(ctx, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for i, k := range keys {
			if err := fn(k, types[i].Val()); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func ignoreNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// TicketOfKey is the number of the ticket whose record key is, if it is one.
func (s *Store) TicketOfKey(key string) (string, bool) {
	no, ok := strings.CutPrefix(key, s.k.ticket(""))
	if !ok || no == "" || strings.ContainsAny(no, ":") {
		return "", false
	}
	if _, err := strconv.Atoi(no); err != nil {
		return "", false
	}
	return no, true
}
