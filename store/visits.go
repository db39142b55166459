package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Visits = (*Store)(nil)

// firstVisitNo keeps task numbers three digits long at first, so they are not taken
// for the four-digit ticket numbers a party member may also see.
const firstVisitNo = 100

// CreateVisit stores a new task with its first timeline event and counters, in one
// transaction; a task already made for v.Event is returned instead.
func (s *Store) CreateVisit(ctx context.Context, v *bot.Visit, ev bot.VisitEvent) (*bot.Visit, bool, error) {
	if v.Event == "" || v.Community == "" || v.Trigger == "" {
		return nil, false, bot.Errorf(bot.EInvalid, "store: create visit: needs an event, a community and a trigger")
	}
	eventKey := s.k.visitByEvent(v.Event)
	for range txRetries {
		var out *bot.Visit
		created := false
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			no, err := tx.Get(ctx, eventKey).Result()
			if err == nil {
				out, err = s.loadVisit(ctx, tx, no)
				return err
			}
			if !errors.Is(err, redis.Nil) {
				return err
			}
			n, err := tx.Incr(ctx, s.k.visitSeq()).Result()
			if err != nil {
				return err
			}
			nv := *v
			nv.No = strconv.FormatInt(n+firstVisitNo, 10)
			nv.Version = 1
			raw, err := json.Marshal(&nv)
			if err != nil {
				return err
			}
			ev.Kind = "created"
			evRaw, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.k.visit(nv.No), raw, 0)
				p.Set(ctx, eventKey, nv.No, 0)
				p.RPush(ctx, s.k.visitEvents(nv.No), evRaw)
				p.ZAdd(ctx, s.k.branchVisits(nv.Community), redis.Z{Score: float64(nv.Deadline.UnixMilli()), Member: nv.No})
				if nv.Assignee != "" {
					p.ZAdd(ctx, s.k.memberVisits(nv.Assignee), redis.Z{Score: float64(nv.Deadline.UnixMilli()), Member: nv.No})
				}
				s.count(ctx, p, nv.Community, ev.At, bot.VisitStatDeltas(nil, &nv))
				return nil
			})
			out, created = &nv, true
			return err
		}, eventKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("store: create visit: %w", err)
		}
		return out, created, nil
	}
	return nil, false, bot.Errorf(bot.EUnavailable, "store: create visit: too much contention")
}

// Visit loads one task.
func (s *Store) Visit(ctx context.Context, no string) (*bot.Visit, error) {
	return s.loadVisit(ctx, s.rdb, no)
}

func (s *Store) loadVisit(ctx context.Context, c redis.Cmdable, no string) (*bot.Visit, error) {
	raw, err := c.Get(ctx, s.k.visit(no)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENotFound, "visit %s", no)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load visit %s: %w", no, err)
	}
	var v bot.Visit
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("store: decode visit %s: %w", no, err)
	}
	return &v, nil
}

// UpdateVisit changes a task with optimistic locking, like Update for tickets: the
// task, its events, the member and branch indexes and the counters are written in
// one transaction.
func (s *Store) UpdateVisit(ctx context.Context, no string, fn func(v *bot.Visit) ([]bot.VisitEvent, error)) (*bot.Visit, error) {
	key := s.k.visit(no)
	for range txRetries {
		var out *bot.Visit
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			before, err := s.loadVisit(ctx, tx, no)
			if err != nil {
				return err
			}
			after := *before
			after.Photos = append([]string(nil), before.Photos...)
			evs, err := fn(&after)
			if err != nil {
				return err
			}
			after.No, after.Community, after.Event, after.Version = before.No, before.Community, before.Event, before.Version+1
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
			score := float64(after.Deadline.UnixMilli())
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, 0)
				if len(evRaws) > 0 {
					p.RPush(ctx, s.k.visitEvents(no), evRaws...)
				}
				p.ZAdd(ctx, s.k.branchVisits(after.Community), redis.Z{Score: score, Member: no})
				if before.Assignee != "" && before.Assignee != after.Assignee {
					p.ZRem(ctx, s.k.memberVisits(before.Assignee), no)
				}
				if after.Assignee != "" {
					p.ZAdd(ctx, s.k.memberVisits(after.Assignee), redis.Z{Score: score, Member: no})
				}
				at := time.Now()
				if len(evs) > 0 {
					at = evs[len(evs)-1].At
				}
				s.count(ctx, p, after.Community, at, bot.VisitStatDeltas(before, &after))
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
			return nil, fmt.Errorf("store: update visit %s: %w", no, err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: update visit %s: too much contention", no)
}

// EraseVisit blanks a task's personal data (the person visited, the reason, the
// report, the photos, a reschedule's reason, the texts of its timeline) and returns
// it as it was. The task stays, with its kind, dates, member and counts.
func (s *Store) EraseVisit(ctx context.Context, no string, at time.Time) (*bot.Visit, error) {
	return eraseWithTimeline(ctx, s, "visit "+no, s.k.visit(no), s.k.visitEvents(no),
		func(tx *redis.Tx) (*bot.Visit, error) { return s.loadVisit(ctx, tx, no) },
		func(v *bot.Visit) (func(*bot.VisitEvent), func(redis.Pipeliner)) {
			v.Person, v.Reason, v.Report, v.Photos, v.ProposedReason = bot.Person{}, "", "", nil, ""
			if v.Erased.IsZero() {
				v.Erased = at
			}
			return func(ev *bot.VisitEvent) { ev.Text = "" }, nil
		})
}

// VisitTimeline lists a task's events, oldest first.
func (s *Store) VisitTimeline(ctx context.Context, no string) ([]bot.VisitEvent, error) {
	raws, err := s.rdb.LRange(ctx, s.k.visitEvents(no), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: visit timeline %s: %w", no, err)
	}
	out := make([]bot.VisitEvent, 0, len(raws))
	for _, r := range raws {
		var ev bot.VisitEvent
		if err := json.Unmarshal([]byte(r), &ev); err != nil {
			return nil, fmt.Errorf("store: decode event of visit %s: %w", no, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// MemberVisits lists the tasks assigned to a member, by deadline.
func (s *Store) MemberVisits(ctx context.Context, openid string) ([]*bot.Visit, error) {
	return s.visitsIn(ctx, s.k.memberVisits(openid))
}

// BranchVisits lists a community's tasks, by deadline.
func (s *Store) BranchVisits(ctx context.Context, community string) ([]*bot.Visit, error) {
	return s.visitsIn(ctx, s.k.branchVisits(community))
}

// AllVisits lists every task, by number: the command line's view.
func (s *Store) AllVisits(ctx context.Context) ([]*bot.Visit, error) {
	last, err := s.rdb.Get(ctx, s.k.visitSeq()).Int64()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: visit seq: %w", err)
	}
	nos := make([]string, 0, last)
	for n := int64(1); n <= last; n++ {
		nos = append(nos, strconv.FormatInt(n+firstVisitNo, 10))
	}
	return s.visits(ctx, nos)
}

func (s *Store) visitsIn(ctx context.Context, index string) ([]*bot.Visit, error) {
	nos, err := s.rdb.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: list visits: %w", err)
	}
	return s.visits(ctx, nos)
}

// visits loads tasks in batches, skipping any that vanished.
func (s *Store) visits(ctx context.Context, nos []string) ([]*bot.Visit, error) {
	const batch = 500
	out := make([]*bot.Visit, 0, len(nos))
	for len(nos) > 0 {
		n := min(len(nos), batch)
		keys := make([]string, n)
		for i, no := range nos[:n] {
			keys[i] = s.k.visit(no)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("store: load visits: %w", err)
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			var vt bot.Visit
			if err := json.Unmarshal([]byte(str), &vt); err != nil {
				return nil, fmt.Errorf("store: decode visit: %w", err)
			}
			out = append(out, &vt)
		}
		nos = nos[n:]
	}
	return out, nil
}

// CreatePairing numbers and stores a new 五包 pairing.
func (s *Store) CreatePairing(ctx context.Context, p *bot.Pairing) (*bot.Pairing, error) {
	n, err := s.rdb.Incr(ctx, s.k.pairingSeq()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: pairing seq: %w", err)
	}
	np := *p
	np.ID = "P" + strconv.FormatInt(n, 10)
	raw, err := json.Marshal(&np)
	if err != nil {
		return nil, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.Set(ctx, s.k.pairing(np.ID), raw, 0)
		pp.SAdd(ctx, s.k.pairings(np.Community), np.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create pairing: %w", err)
	}
	return &np, nil
}

// Pairing loads one pairing.
func (s *Store) Pairing(ctx context.Context, id string) (*bot.Pairing, error) {
	raw, err := s.rdb.Get(ctx, s.k.pairing(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.Errorf(bot.ENotFound, "pairing %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load pairing %s: %w", id, err)
	}
	var p bot.Pairing
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("store: decode pairing %s: %w", id, err)
	}
	return &p, nil
}

// EndPairing ends a pairing at at; ending an ended pairing changes nothing.
func (s *Store) EndPairing(ctx context.Context, id string, at time.Time) (*bot.Pairing, error) {
	p, err := s.Pairing(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.Active() {
		return p, nil
	}
	p.Ended = at
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := s.rdb.SetXX(ctx, s.k.pairing(id), raw, redis.KeepTTL).Err(); err != nil {
		return nil, fmt.Errorf("store: end pairing %s: %w", id, err)
	}
	return p, nil
}

// Pairings lists a community's pairings (all communities for ""), by ID.
func (s *Store) Pairings(ctx context.Context, community string) ([]*bot.Pairing, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.pairings(community)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: pairings: %w", err)
	}
	out := make([]*bot.Pairing, 0, len(ids))
	for _, id := range ids {
		p, err := s.Pairing(ctx, id)
		if bot.ErrorCode(err) == bot.ENotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].ID[1:])
		b, _ := strconv.Atoi(out[j].ID[1:])
		return a < b
	})
	return out, nil
}

// addFourOneScript records an entry once and counts it.
//
// KEYS: the member's year hash, the community's stats. ARGV: entry id, JSON, counter.
var addFourOneScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
	return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 1
`)

// AddFourOne records a 四个一 entry once per e.ID and counts it for the community.
func (s *Store) AddFourOne(ctx context.Context, community string, e bot.FourOneEntry) (bool, error) {
	if e.ID == "" || e.OpenID == "" || e.Item == "" {
		return false, bot.Errorf(bot.EInvalid, "store: four-one entry needs an id, a member and an item")
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	year := strconv.Itoa(bot.Year(e.At))
	keys := []string{s.k.fourOne(e.OpenID, year), s.k.stats(community, bot.Period(e.At))}
	added, err := addFourOneScript.Run(ctx, s.rdb, keys, e.ID, raw, string(string(bot.CounterFourOne(e.Item)))).Bool()
	if err != nil {
		return false, fmt.Errorf("store: add four-one: %w", err)
	}
	return added, nil
}

// FourOne lists a member's entries of a year, oldest first.
func (s *Store) FourOne(ctx context.Context, openid string, year int) ([]bot.FourOneEntry, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.fourOne(openid, strconv.Itoa(year))).Result()
	if err != nil {
		return nil, fmt.Errorf("store: four-one: %w", err)
	}
	out := make([]bot.FourOneEntry, 0, len(m))
	for _, v := range m {
		var e bot.FourOneEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("store: decode four-one: %w", err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
