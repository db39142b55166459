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

// The caller log and the identity bridge of the hotline (bot.CallStore,
// bot.ProofStore).

var (
	_ bot.CallStore  = (*Store)(nil)
	_ bot.ProofStore = (*Store)(nil)
)

// callerLogKeep bounds how many calls one number's log keeps in its index.
const callerLogKeep = 200

// Call loads one call of the caller log.
func (s *Store) Call(ctx context.Context, id string) (*bot.Call, bool, error) {
	return s.loadCall(ctx, s.rdb, id)
}

func (s *Store) loadCall(ctx context.Context, c redis.Cmdable, id string) (*bot.Call, bool, error) {
	raw, err := c.Get(ctx, s.k.call(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: load call: %w", err)
	}
	var call bot.Call
	if err := json.Unmarshal(raw, &call); err != nil {
		return nil, false, fmt.Errorf("store: decode call: %w", err)
	}
	return &call, true, nil
}


// UpdateCall changes a call with optimistic locking, indexing it under its caller's
// hash and adding fn's counters in the same transaction.
func (s *Store) UpdateCall(ctx context.Context, id, callerHash string, fn func(c *bot.Call) (*bot.Call, map[bot.Counter]int64, error)) (*bot.Call, error) {
	key := s.k.call(id)
	for range txRetries {
		var out *bot.Call
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cur, ok, err := s.loadCall(ctx, tx, id)
			if err != nil {
				return err
			}
			var in *bot.Call
			if ok {
				cp := *cur
				in = &cp
			}
			next, counts, err := fn(in)
			if err != nil {
				return err
			}
			if next == nil {
				out = cur
				return nil
			}
			raw, err := json.Marshal(next)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, 0)
				if callerHash != "" && !ok {
					idx := s.k.callerCalls(callerHash)
					p.ZAdd(ctx, idx, redis.Z{Score: float64(next.Started.UnixMilli()), Member: id})
					p.ZRemRangeByRank(ctx, idx, 0, -callerLogKeep-1)
				}
				if len(counts) > 0 {
					s.count(ctx, p, next.Community, next.Updated, counts)
				}
				return nil
			})
			out = next
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
			return nil, fmt.Errorf("store: update call: %w", err)
		}
		if out == nil {
			return nil, bot.Errorf(bot.ENotFound, "call %s", id)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: update call: too much contention")
}

// CallsOf lists the calls of a number (by hash), newest first.
func (s *Store) CallsOf(ctx context.Context, callerHash string, limit int) ([]*bot.Call, error) {
	if callerHash == "" {
		return nil, nil
	}
	ids, err := s.rdb.ZRevRange(ctx, s.k.callerCalls(callerHash), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: caller log: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ks := make([]string, len(ids))
	for i, id := range ids {
		ks[i] = s.k.call(id)
	}
	vals, err := s.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, fmt.Errorf("store: caller log: %w", err)
	}
	out := make([]*bot.Call, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var c bot.Call
		if err := json.Unmarshal([]byte(str), &c); err != nil {
			return nil, fmt.Errorf("store: decode call: %w", err)
		}
		out = append(out, &c)
	}
	return out, nil
}

// ProvedBy is the resident who proved a number (by hash).
func (s *Store) ProvedBy(ctx context.Context, callerHash string) (string, bool, error) {
	if callerHash == "" {
		return "", false, nil
	}
	id, err := s.rdb.Get(ctx, s.k.proved(callerHash)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: proved number: %w", err)
	}
	return id, true, nil
}

// SaveProof stores a pending claim and its code by number, both until it expires.
func (s *Store) SaveProof(ctx context.Context, p bot.Proof) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: encode proof: %w", err)
	}
	ttl := time.Until(p.Expires)
	if ttl < time.Minute {
		ttl = time.Minute // tests move the clock; Expires is checked by the service anyway
	}
	_, err = s.rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.Set(ctx, s.k.proof(p.OpenID), raw, ttl)
		pl.HSet(ctx, s.k.proofCodes(p.Hash), p.OpenID, p.Code)
		pl.Expire(ctx, s.k.proofCodes(p.Hash), ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save proof: %w", err)
	}
	return nil
}

// Proof loads a resident's pending claim.
func (s *Store) Proof(ctx context.Context, openid string) (bot.Proof, bool, error) {
	raw, err := s.rdb.Get(ctx, s.k.proof(openid)).Bytes()
	if errors.Is(err, redis.Nil) {
		return bot.Proof{}, false, nil
	}
	if err != nil {
		return bot.Proof{}, false, fmt.Errorf("store: load proof: %w", err)
	}
	var p bot.Proof
	if err := json.Unmarshal(raw, &p); err != nil {
		return bot.Proof{}, false, fmt.Errorf("store: decode proof: %w", err)
	}
	return p, true, nil
}

// failProof counts a wrong code inside the stored claim, keeping its time to live.
//
// KEYS: proof. Returns the tries so far, or -1 when there is no claim.
var failProof = redis.NewScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then
	return -1
end
local p = cjson.decode(raw)
p.tries = (p.tries or 0) + 1
redis.call('SET', KEYS[1], cjson.encode(p), 'KEEPTTL')
return p.tries
`)

// FailProof counts a wrong code.
func (s *Store) FailProof(ctx context.Context, openid string) (int, error) {
	n, err := failProof.Run(ctx, s.rdb, []string{s.k.proof(openid)}).Int()
	if err != nil {
		return 0, fmt.Errorf("store: fail proof: %w", err)
	}
	if n < 0 {
		return 0, bot.Errorf(bot.ENotFound, "store: no proof pending")
	}
	return n, nil
}

// PendingProofs lists the claims waiting for a code to be read to a number.
func (s *Store) PendingProofs(ctx context.Context, hash string) ([]bot.Proof, error) {
	if hash == "" {
		return nil, nil
	}
	m, err := s.rdb.HGetAll(ctx, s.k.proofCodes(hash)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: pending codes: %w", err)
	}
	var out []bot.Proof
	for openid, code := range m {
		// A code whose claim is gone (proved, expired, replaced) is not read any more.
		p, ok, err := s.Proof(ctx, openid)
		if err != nil {
			return nil, err
		}
		if ok && p.Hash == hash && p.Code == code {
			out = append(out, p)
		}
	}
	return out, nil
}

// Prove links a number to the resident, and the tickets of its calls that have no
// resident yet, in one transaction; the claim is dropped.
func (s *Store) Prove(ctx context.Context, p bot.Proof, at time.Time) ([]string, error) {
	calls, err := s.CallsOf(ctx, p.Hash, callerLogKeep)
	if err != nil {
		return nil, err
	}
	var nos []string
	seen := map[string]bool{}
	watch := []string{s.k.proof(p.OpenID)}
	for _, c := range calls {
		if c.Ticket != "" && !seen[c.Ticket] {
			seen[c.Ticket] = true
			nos = append(nos, c.Ticket)
			watch = append(watch, s.k.ticket(c.Ticket))
		}
	}
	ev, err := json.Marshal(bot.Event{At: at, Actor: p.OpenID, Kind: "linked"})
	if err != nil {
		return nil, err
	}
	for range txRetries {
		var linked []string
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			linked = linked[:0]
			var writes []func(redis.Pipeliner)
			for _, no := range nos {
				t, err := s.loadTicket(ctx, tx, no)
				if bot.ErrorCode(err) == bot.ENotFound {
					continue
				}
				if err != nil {
					return err
				}
				if t.OpenID != "" {
					continue
				}
				t.OpenID = p.OpenID
				t.Version++
				raw, err := json.Marshal(t)
				if err != nil {
					return err
				}
				linked = append(linked, no)
				score := float64(t.Created.UnixMilli())
				writes = append(writes, func(pl redis.Pipeliner) {
					pl.Set(ctx, s.k.ticket(no), raw, 0)
					pl.RPush(ctx, s.k.ticketEvents(no), ev)
					pl.ZAdd(ctx, s.k.residentTickets(p.OpenID), redis.Z{Score: score, Member: no})
				})
			}
			_, err := tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
				pl.Set(ctx, s.k.proved(p.Hash), p.OpenID, 0)
				pl.Del(ctx, s.k.proof(p.OpenID))
				pl.HDel(ctx, s.k.proofCodes(p.Hash), p.OpenID)
				for _, w := range writes {
					w(pl)
				}
				return nil
			})
			return err
		}, watch...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: prove number: %w", err)
		}
		return linked, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: prove number: too much contention")
}
