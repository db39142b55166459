package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Tickets = (*Store)(nil)

const (
	// firstTicketNo keeps numbers four digits long from the start: short enough to
	// type on a phone's number pad, long enough not to be confused with a menu choice.
	firstTicketNo = 1000
	ticketKeyTTL  = 7 * 24 * time.Hour
	txRetries     = 10
)

// SetCategories tells the store the categories, so that closing a ticket counts
// towards the right report figure.
func (s *Store) SetCategories(cats []bot.Category) {
	m := make(map[string]bot.Category, len(cats))
	for _, c := range cats {
		m[c.Code] = c
	}
	s.cats = m
}

// queueScore orders a community's queue: more urgent first, then older first.
func queueScore(t *bot.Ticket) float64 {
	return float64(t.Urgency)*1e13 + float64(t.Created.UnixMilli())
}

// numberScript finds the ticket a creation key made, or draws the next number.
//
// KEYS: creation key, sequence. Returns {"have", no} | {"new", n}.
var numberScript = redis.NewScript(`
local no = redis.call('GET', KEYS[1])
if no then
	return {'have', no}
end
return {'new', redis.call('INCR', KEYS[2])}
`)

// Create stores a new ticket, numbered, with its first timeline event and counters,
// in one transaction. A second Create with the same key returns the first ticket.
func (s *Store) Create(ctx context.Context, t *bot.Ticket, key string, ev bot.Event) (*bot.Ticket, error) {
	keyKey := s.k.ticketKey(key)
	for range txRetries {
		var out *bot.Ticket
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			res, err := numberScript.Run(ctx, tx, []string{keyKey, s.k.ticketSeq()}).Slice()
			if err != nil {
				return err
			}
			if res[0] == "have" {
				out, err = s.Ticket(ctx, res[1].(string))
				return err
			}
			n := res[1].(int64)
			nt := *t
			nt.No = strconv.FormatInt(n+firstTicketNo, 10)
			nt.Version = 1
			raw, err := json.Marshal(&nt)
			if err != nil {
				return err
			}
			ev.Kind = bot.EventCreated
			evRaw, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.k.ticket(nt.No), raw, 0)
				p.Set(ctx, keyKey, nt.No, ticketKeyTTL)
				p.RPush(ctx, s.k.ticketEvents(nt.No), evRaw)
				p.ZAdd(ctx, s.k.queue(nt.Community), redis.Z{Score: queueScore(&nt), Member: nt.No})
				if nt.OpenID != "" {
					p.ZAdd(ctx, s.k.residentTickets(nt.OpenID), redis.Z{Score: float64(nt.Created.UnixMilli()), Member: nt.No})
				}
				s.count(ctx, p, nt.Community, ev.At, bot.StatDeltas(nil, &nt, s.cats))
				return nil
			})
			out = &nt
			return err
		}, keyKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: create ticket: %w", err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: create ticket: too much contention")
}

// Ticket loads one ticket.
func (s *Store) Ticket(ctx context.Context, no string) (*bot.Ticket, error) {
	return s.loadTicket(ctx, s.rdb, no)
}

func (s *Store) loadTicket(ctx context.Context, c redis.Cmdable, no string) (*bot.Ticket, error) {
	raw, err := c.Get(ctx, s.k.ticket(no)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENotFound, "ticket %s", no)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load ticket %s: %w", no, err)
	}
	var t bot.Ticket
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("store: decode ticket %s: %w", no, err)
	}
	return &t, nil
}

// Update changes a ticket with optimistic locking: fn sees the current ticket, and
// its change, events, queue moves and counters are written in one transaction, or
// fn runs again on the newer ticket.
func (s *Store) Update(ctx context.Context, no string, fn func(t *bot.Ticket) ([]bot.Event, error)) (*bot.Ticket, error) {
	key := s.k.ticket(no)
	for range txRetries {
		var out *bot.Ticket
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			before, err := s.loadTicket(ctx, tx, no)
			if err != nil {
				return err
			}
			after := *before
			after.Photos = append([]string(nil), before.Photos...)
			evs, err := fn(&after)
			if err != nil {
				return err
			}
			after.No, after.Version = before.No, before.Version+1
			raw, err := json.Marshal(&after)
			if err != nil {
				return err
			}
			evRaws := make([]any, len(evs))
			for i, ev := range evs {
				if evRaws[i], err = json.Marshal(ev); err != nil {
					return err
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, 0)
				if len(evRaws) > 0 {
					p.RPush(ctx, s.k.ticketEvents(no), evRaws...)
				}
				if before.Community != after.Community || !after.Open() {
					p.ZRem(ctx, s.k.queue(before.Community), no)
				}
				if after.Open() {
					p.ZAdd(ctx, s.k.queue(after.Community), redis.Z{Score: queueScore(&after), Member: no})
				}
				at := time.Now()
				if len(evs) > 0 {
					at = evs[len(evs)-1].At
				}
				s.count(ctx, p, after.Community, at, bot.StatDeltas(before, &after, s.cats))
				return nil
			})
			out = &after
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			var be *bot.Error
			if errors.As(err, &be) {
				return nil, err
			}
			return nil, fmt.Errorf("store: update ticket %s: %w", no, err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: update ticket %s: too much contention", no)
}

func (s *Store) count(ctx context.Context, p redis.Pipeliner, community string, at time.Time, d map[bot.Counter]int64) {
	// The month's hash for reports over whole months, the day's for any range.
	for _, key := range []string{s.k.stats(community, bot.Period(at)), s.k.stats(community, bot.Day(at))} {
		for f, n := range d {
			p.HIncrBy(ctx, key, string(f), n)
		}
	}
}

// Timeline lists a ticket's events, oldest first.
func (s *Store) Timeline(ctx context.Context, no string) ([]bot.Event, error) {
	raws, err := s.rdb.LRange(ctx, s.k.ticketEvents(no), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: timeline %s: %w", no, err)
	}
	out := make([]bot.Event, 0, len(raws))
	for _, r := range raws {
		var ev bot.Event
		if err := json.Unmarshal([]byte(r), &ev); err != nil {
			return nil, fmt.Errorf("store: decode event of %s: %w", no, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// ByResident lists a resident's tickets, newest first.
func (s *Store) ByResident(ctx context.Context, openid string, limit int) ([]*bot.Ticket, error) {
	nos, err := s.rdb.ZRevRange(ctx, s.k.residentTickets(openid), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: resident tickets: %w", err)
	}
	return s.tickets(ctx, nos)
}

// Queue lists a community's open tickets, most urgent and oldest first.
func (s *Store) Queue(ctx context.Context, community string, limit int) ([]*bot.Ticket, error) {
	nos, err := s.rdb.ZRange(ctx, s.k.queue(community), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: queue %s: %w", community, err)
	}
	return s.tickets(ctx, nos)
}

// tickets loads several tickets in one round trip, skipping any that vanished.
func (s *Store) tickets(ctx context.Context, nos []string) ([]*bot.Ticket, error) {
	if len(nos) == 0 {
		return nil, nil
	}
	keys := make([]string, len(nos))
	for i, no := range nos {
		keys[i] = s.k.ticket(no)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: load tickets: %w", err)
	}
	out := make([]*bot.Ticket, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var t bot.Ticket
		if err := json.Unmarshal([]byte(str), &t); err != nil {
			return nil, fmt.Errorf("store: decode ticket: %w", err)
		}
		out = append(out, &t)
	}
	return out, nil
}

// Stats reads one community's counters for one period.
func (s *Store) Stats(ctx context.Context, community, period string) (map[string]int64, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.stats(community, period)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		n, _ := strconv.ParseInt(v, 10, 64)
		out[k] = n
	}
	return out, nil
}

// LastTicketNo is the highest ticket number given so far (for the command line,
// which walks the numbers to list tickets in any state).
func (s *Store) LastTicketNo(ctx context.Context) (int64, error) {
	n, err := s.rdb.Get(ctx, s.k.ticketSeq()).Int64()
	if errors.Is(err, redis.Nil) {
		return firstTicketNo, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: ticket seq: %w", err)
	}
	return n + firstTicketNo, nil
}

// EachTicket calls fn with every ticket in number order, loading them in batches:
// the command line's way to list tickets in any state, closed ones included.
func (s *Store) EachTicket(ctx context.Context, fn func(t *bot.Ticket) error) error {
	const batch = 500
	last, err := s.LastTicketNo(ctx)
	if err != nil {
		return err
	}
	for from := int64(firstTicketNo + 1); from <= last; from += batch {
		nos := make([]string, 0, batch)
		for n := from; n < from+batch && n <= last; n++ {
			nos = append(nos, strconv.FormatInt(n, 10))
		}
		ts, err := s.tickets(ctx, nos)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := fn(t); err != nil {
				return err
			}
		}
	}
	return nil
}
