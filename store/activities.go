package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

var _ bot.Activities = (*Store)(nil)

// firstActivityNo keeps activity numbers short (three digits at first) and apart from
// ticket numbers (four digits).
const firstActivityNo = 100

// firstVolunteerNo starts volunteer numbers (志愿者编号) at five digits.
const firstVolunteerNo = 20000

func (s *Store) activityFields(a *bot.Activity) ([]any, error) {
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return []any{"json", raw, "status", string(a.Status), "cap", a.Capacity,
		"start", a.Start.UnixMilli(), "end", a.End.UnixMilli(), "community", a.Community}, nil
}

// CreateActivities numbers and stores new activities in one transaction.
func (s *Store) CreateActivities(ctx context.Context, as []*bot.Activity, key string) ([]*bot.Activity, error) {
	if len(as) == 0 {
		return nil, nil
	}
	keyKey := s.k.activityKey(key)
	for range txRetries {
		var out []*bot.Activity
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			first, err := tx.Get(ctx, keyKey).Int64()
			if err == nil {
				out = nil
				for i := range as {
					a, err := s.Activity(ctx, strconv.FormatInt(first+int64(i), 10))
					if err != nil {
						return err
					}
					out = append(out, a)
				}
				return nil
			}
			if !errors.Is(err, redis.Nil) {
				return err
			}
			last, err := tx.IncrBy(ctx, s.k.activitySeq(), int64(len(as))).Result()
			if err != nil {
				return err
			}
			firstNo := last - int64(len(as)) + 1 + firstActivityNo
			out = make([]*bot.Activity, len(as))
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				series := strconv.FormatInt(firstNo, 10)
				for i, a := range as {
					na := *a
					na.No = strconv.FormatInt(firstNo+int64(i), 10)
					na.Version = 1
					if na.Status == "" {
						na.Status = bot.ActivityOpen
					}
					if len(as) > 1 {
						na.Series, na.Occurrence = series, i+1
					}
					fields, err := s.activityFields(&na)
					if err != nil {
						return err
					}
					p.HSet(ctx, s.k.activity(na.No), fields...)
					p.ZAdd(ctx, s.k.activitiesByStart(), redis.Z{Score: float64(na.Start.UnixMilli()), Member: na.No})
					p.HSet(ctx, s.k.activitySpans(), na.No, span(&na))
					s.count(ctx, p, na.Community, na.Created, map[bot.Counter]int64{bot.CountActivities: 1})
					out[i] = &na
				}
				p.Set(ctx, keyKey, firstNo, ticketKeyTTL)
				return nil
			})
			return err
		}, keyKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: create activities: %w", err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: create activities: too much contention")
}

func span(a *bot.Activity) string {
	return strconv.FormatInt(a.Start.UnixMilli(), 10) + " " + strconv.FormatInt(a.End.UnixMilli(), 10)
}

// Activity loads one activity.
func (s *Store) Activity(ctx context.Context, no string) (*bot.Activity, error) {
	return s.loadActivity(ctx, s.rdb, no)
}

func (s *Store) loadActivity(ctx context.Context, c redis.Cmdable, no string) (*bot.Activity, error) {
	if no == "" || strings.ContainsAny(no, ": ") {
		return nil, bot.UserError(bot.ENotFound, bot.MsgVolNotFound, map[string]any{"No": no})
	}
	raw, err := c.HGet(ctx, s.k.activity(no), "json").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, bot.UserError(bot.ENotFound, bot.MsgVolNotFound, map[string]any{"No": no})
	}
	if err != nil {
		return nil, fmt.Errorf("store: load activity %s: %w", no, err)
	}
	var a bot.Activity
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("store: decode activity %s: %w", no, err)
	}
	return &a, nil
}

// UpdateActivity changes an activity with optimistic locking; its start and end
// move in the indexes in the same transaction.
func (s *Store) UpdateActivity(ctx context.Context, no string, fn func(a *bot.Activity) error) (*bot.Activity, error) {
	key := s.k.activity(no)
	for range txRetries {
		var out *bot.Activity
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			before, err := s.loadActivity(ctx, tx, no)
			if err != nil {
				return err
			}
			after := *before
			if err := fn(&after); err != nil {
				return err
			}
			after.No, after.Version = before.No, before.Version+1
			fields, err := s.activityFields(&after)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, fields...)
				p.ZAdd(ctx, s.k.activitiesByStart(), redis.Z{Score: float64(after.Start.UnixMilli()), Member: no})
				p.HSet(ctx, s.k.activitySpans(), no, span(&after))
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
			return nil, fmt.Errorf("store: update activity %s: %w", no, err)
		}
		return out, nil
	}
	return nil, bot.Errorf(bot.EUnavailable, "store: update activity %s: too much contention", no)
}

// Upcoming lists activities that have not ended by from, by start. Activities last
// less than a week, which bounds the window looked back over.
func (s *Store) Upcoming(ctx context.Context, from time.Time, limit int) ([]*bot.Activity, error) {
	nos, err := s.rdb.ZRangeByScore(ctx, s.k.activitiesByStart(), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.Add(-7*24*time.Hour).UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: upcoming activities: %w", err)
	}
	as, err := s.activities(ctx, nos)
	if err != nil {
		return nil, err
	}
	out := as[:0]
	for _, a := range as {
		if a.End.After(from) {
			out = append(out, a)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Between lists activities starting in [from, to), by start.
func (s *Store) Between(ctx context.Context, from, to time.Time) ([]*bot.Activity, error) {
	nos, err := s.rdb.ZRangeByScore(ctx, s.k.activitiesByStart(), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "(" + strconv.FormatInt(to.UnixMilli(), 10),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: activities: %w", err)
	}
	return s.activities(ctx, nos)
}

func (s *Store) activities(ctx context.Context, nos []string) ([]*bot.Activity, error) {
	if len(nos) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(nos))
	for i, no := range nos {
		cmds[i] = p.HGet(ctx, s.k.activity(no), "json")
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: load activities: %w", err)
	}
	out := make([]*bot.Activity, 0, len(nos))
	for _, c := range cmds {
		raw, err := c.Bytes()
		if err != nil {
			continue
		}
		var a bot.Activity
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("store: decode activity: %w", err)
		}
		out = append(out, &a)
	}
	return out, nil
}

// signupScript puts a person on an activity's list in one step: it reads the
// activity's status, capacity and times, refuses a second or overlapping sign-up,
// and takes the next arrival number, so the lists stay right whatever number of
// people and replicas sign up at once.
//
// KEYS: activity, confirmed, waitlist, the person's activities, spans, stats.
// ARGV: openid, now ms, activity no, counter name.
// Returns {state, n}: state "confirmed"/"waitlisted" with the list position, or a
// refusal "nf", "cancelled", "started", "dup", "overlap" (n: the other activity).
var signupScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'status', 'cap', 'start', 'end')
if not st[1] then return {'nf', ''} end
if st[1] ~= 'open' then return {'cancelled', ''} end
local start, fin = tonumber(st[3]), tonumber(st[4])
if tonumber(ARGV[2]) >= start then return {'started', ''} end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return {'dup', ''}
end
local mine = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. st[4])
for _, no in ipairs(mine) do
  local sp = redis.call('HGET', KEYS[5], no)
  if sp and no ~= ARGV[3] then
    local e = tonumber(string.match(sp, ' (%d+)$'))
    if e and e > start then return {'overlap', no} end
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 'arrivals', 1)
redis.call('ZADD', KEYS[4], start, ARGV[3])
redis.call('HINCRBY', KEYS[6], ARGV[4], 1)
if redis.call('ZCARD', KEYS[2]) < tonumber(st[2]) then
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
  return {'confirmed', tostring(redis.call('ZCARD', KEYS[2]))}
end
redis.call('ZADD', KEYS[3], seq, ARGV[1])
return {'waitlisted', tostring(redis.call('ZCARD', KEYS[3]))}
`)

// SignUp puts openid on a's list (see bot.Activities).
func (s *Store) SignUp(ctx context.Context, a *bot.Activity, openid string, now time.Time) (bot.SignupResult, error) {
	keys := []string{s.k.activity(a.No), s.k.activityConfirmed(a.No), s.k.activityWaitlist(a.No),
		s.k.volunteerSignups(openid), s.k.activitySpans(), s.k.stats(a.Community, bot.Period(now))}
	res, err := signupScript.Run(ctx, s.rdb, keys, openid, now.UnixMilli(), a.No, string(bot.CountSignups)).StringSlice()
	if err != nil {
		return bot.SignupResult{}, fmt.Errorf("store: sign up for %s: %w", a.No, err)
	}
	data := map[string]any{"No": a.No, "Title": a.Title}
	switch res[0] {
	case "confirmed", "waitlisted":
		n, _ := strconv.Atoi(res[1])
		return bot.SignupResult{State: bot.SignupState(res[0]), Position: n}, nil
	case "nf":
		return bot.SignupResult{}, bot.UserError(bot.ENotFound, bot.MsgVolNotFound, data)
	case "cancelled":
		return bot.SignupResult{}, bot.UserError(bot.EConflict, bot.MsgVolCancelledAct, data)
	case "started":
		return bot.SignupResult{}, bot.UserError(bot.EExpired, bot.MsgVolStarted, data)
	case "dup":
		return bot.SignupResult{}, bot.UserError(bot.EConflict, bot.MsgVolAlready, data)
	case "overlap":
		data["Other"] = res[1]
		return bot.SignupResult{}, bot.UserError(bot.EConflict, bot.MsgVolOverlap, data)
	}
	return bot.SignupResult{}, fmt.Errorf("store: sign up for %s: unexpected %q", a.No, res[0])
}

// unsignScript takes a person off an activity's list in one step and gives a freed
// place to the first waitlisted person.
//
// KEYS: activity, confirmed, waitlist, the person's activities, late, stats.
// ARGV: openid, now ms, activity no, late window ms, counter name.
// Returns {outcome, promoted openid, late}: outcome "confirmed"/"waitlisted" (what
// the person was), or "nf", "started", "not".
var unsignScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'status', 'start')
if not st[1] then return {'nf', '', '0'} end
local now, start = tonumber(ARGV[2]), tonumber(st[2])
if st[1] == 'open' and now >= start then return {'started', '', '0'} end
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then
  redis.call('ZREM', KEYS[4], ARGV[3])
  return {'waitlisted', '', '0'}
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return {'not', '', '0'} end
redis.call('ZREM', KEYS[4], ARGV[3])
local late = '0'
if st[1] == 'open' and now >= start - tonumber(ARGV[4]) then
  late = '1'
  redis.call('ZADD', KEYS[5], now, ARGV[1])
  redis.call('HINCRBY', KEYS[6], ARGV[5], 1)
end
if st[1] == 'open' then
  local nx = redis.call('ZPOPMIN', KEYS[3])
  if nx[1] then
    redis.call('ZADD', KEYS[2], nx[2], nx[1])
    return {'confirmed', nx[1], late}
  end
end
return {'confirmed', '', late}
`)

// CancelSignup takes openid off a's list (see bot.Activities).
func (s *Store) CancelSignup(ctx context.Context, a *bot.Activity, openid string, now time.Time, lateWindow time.Duration) (bot.CancelResult, error) {
	keys := []string{s.k.activity(a.No), s.k.activityConfirmed(a.No), s.k.activityWaitlist(a.No),
		s.k.volunteerSignups(openid), s.k.activityLate(a.No), s.k.stats(a.Community, bot.Period(now))}
	res, err := unsignScript.Run(ctx, s.rdb, keys, openid, now.UnixMilli(), a.No, lateWindow.Milliseconds(), string(bot.CountLateCancels)).StringSlice()
	if err != nil {
		return bot.CancelResult{}, fmt.Errorf("store: cancel sign-up for %s: %w", a.No, err)
	}
	data := map[string]any{"No": a.No, "Title": a.Title}
	switch res[0] {
	case "confirmed", "waitlisted":
		return bot.CancelResult{Was: bot.SignupState(res[0]), Promoted: res[1], Late: res[2] == "1"}, nil
	case "nf":
		return bot.CancelResult{}, bot.UserError(bot.ENotFound, bot.MsgVolNotFound, data)
	case "started":
		return bot.CancelResult{}, bot.UserError(bot.EExpired, bot.MsgVolStarted, data)
	case "not":
		return bot.CancelResult{}, bot.UserError(bot.ENotFound, bot.MsgVolNotSigned, data)
	}
	return bot.CancelResult{}, fmt.Errorf("store: cancel sign-up for %s: unexpected %q", a.No, res[0])
}

// Roster reads an activity's lists in arrival order.
func (s *Store) Roster(ctx context.Context, no string) (bot.Roster, error) {
	p := s.rdb.Pipeline()
	in := p.ZRange(ctx, s.k.activityConfirmed(no), 0, -1)
	wait := p.ZRange(ctx, s.k.activityWaitlist(no), 0, -1)
	late := p.ZRange(ctx, s.k.activityLate(no), 0, -1)
	if _, err := p.Exec(ctx); err != nil {
		return bot.Roster{}, fmt.Errorf("store: roster %s: %w", no, err)
	}
	r := bot.Roster{Confirmed: in.Val(), Waitlisted: wait.Val(), LateCancels: late.Val()}
	if r.Confirmed == nil {
		r.Confirmed = []string{}
	}
	if r.Waitlisted == nil {
		r.Waitlisted = []string{}
	}
	return r, nil
}

// SignupsOf lists the activities openid is on, by start.
func (s *Store) SignupsOf(ctx context.Context, openid string) ([]string, error) {
	nos, err := s.rdb.ZRange(ctx, s.k.volunteerSignups(openid), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: sign-ups: %w", err)
	}
	return nos, nil
}

// DropSignups removes a cancelled activity from its people's own indexes, so that
// it neither blocks an overlapping sign-up nor shows in 我的报名.
func (s *Store) DropSignups(ctx context.Context, a *bot.Activity) error {
	r, err := s.Roster(ctx, a.No)
	if err != nil {
		return err
	}
	p := s.rdb.Pipeline()
	for _, id := range append(r.Confirmed, r.Waitlisted...) {
		p.ZRem(ctx, s.k.volunteerSignups(id), a.No)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("store: drop sign-ups of %s: %w", a.No, err)
	}
	return nil
}

// codeDigits is the length of a check-in code: short to type, and with a million
// values and a code valid a few hours, not worth guessing (and a guess only checks
// in someone already signed up for that activity).
const codeDigits = 6

// CheckCode returns the activity's code, making one on first ask. The code maps back
// to the activity until expires.
func (s *Store) CheckCode(ctx context.Context, no string, expires time.Time) (string, error) {
	key := s.k.activity(no)
	if code, err := s.rdb.HGet(ctx, key, "code").Result(); err == nil {
		return code, nil
	} else if !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("store: check code of %s: %w", no, err)
	}
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", err
		}
		code := fmt.Sprintf("%0*d", codeDigits, n.Int64())
		ok, err := s.rdb.SetNX(ctx, s.k.activityCode(code), no, 0).Result()
		if err != nil {
			return "", fmt.Errorf("store: check code of %s: %w", no, err)
		}
		if !ok {
			continue
		}
		s.rdb.PExpireAt(ctx, s.k.activityCode(code), expires)
		set, err := s.rdb.HSetNX(ctx, key, "code", code).Result()
		if err != nil {
			return "", fmt.Errorf("store: check code of %s: %w", no, err)
		}
		if !set {
			// Another replica made one first: use theirs.
			s.rdb.Del(ctx, s.k.activityCode(code))
			return s.rdb.HGet(ctx, key, "code").Result()
		}
		return code, nil
	}
	return "", bot.Errorf(bot.EUnavailable, "store: no free check code")
}

// CodeActivity finds the activity of a code; "" when none.
func (s *Store) CodeActivity(ctx context.Context, code string) (string, error) {
	no, err := s.rdb.Get(ctx, s.k.activityCode(code)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: code: %w", err)
	}
	return no, nil
}

// checkinScript records a check-in of a confirmed person.
//
// KEYS: confirmed, attendance, stats. ARGV: openid, now ms, counter name.
var checkinScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'not' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'twice' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' 0 0 -')
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 'ok'
`)

// CheckIn records openid's arrival on a.
func (s *Store) CheckIn(ctx context.Context, a *bot.Activity, openid string, now time.Time) error {
	keys := []string{s.k.activityConfirmed(a.No), s.k.activityAttendance(a.No), s.k.stats(a.Community, bot.Period(now))}
	res, err := checkinScript.Run(ctx, s.rdb, keys, openid, now.UnixMilli(), string(bot.CountCheckins)).Text()
	if err != nil {
		return fmt.Errorf("store: check in %s: %w", a.No, err)
	}
	data := map[string]any{"No": a.No, "Title": a.Title}
	switch res {
	case "ok":
		return nil
	case "not":
		return bot.UserError(bot.EForbidden, bot.MsgVolCheckNotOn, data)
	case "twice":
		return bot.UserError(bot.EConflict, bot.MsgVolCheckedIn, data)
	}
	return fmt.Errorf("store: check in %s: unexpected %q", a.No, res)
}

// creditScript records a check-out (ARGV[3] = -1: minutes from the check-in, capped
// at the activity's length) or an organiser's 补签 (ARGV[3] = minutes), and credits
// hours and points with a ledger line, once per person and activity.
//
// KEYS: confirmed, attendance, volunteer, ledger, stats.
// ARGV: openid, now ms, minutes or -1, length ms, points per hour, year field,
// by, activity no (JSON string), by (JSON string), minutes and points counter names.
// Returns {outcome, minutes, points, balance}.
var creditScript = redis.NewScript(`
local now = tonumber(ARGV[2])
local att = redis.call('HGET', KEYS[2], ARGV[1])
local inms, outms, mins, by = 0, 0, 0, '-'
if att then
  local a, b, c, d = string.match(att, '^(%d+) (%d+) (%d+) (%S+)$')
  inms, outms, by = tonumber(a), tonumber(b), d
end
if outms > 0 or by ~= '-' then return {'done', 0, 0, 0} end
local m = tonumber(ARGV[3])
if m < 0 then
  if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {'not', 0, 0, 0} end
  if inms == 0 then return {'noin', 0, 0, 0} end
  local d = math.min(now - inms, tonumber(ARGV[4]))
  if d < 0 then d = 0 end
  m = math.floor(d / 60000)
  outms = now
end
local pts = math.floor(m * tonumber(ARGV[5]) / 60)
redis.call('HSET', KEYS[2], ARGV[1], inms .. ' ' .. outms .. ' ' .. m .. ' ' .. ARGV[7])
redis.call('HINCRBY', KEYS[3], 'min', m)
redis.call('HINCRBY', KEYS[3], ARGV[6], m)
redis.call('HINCRBY', KEYS[3], 'earned', pts)
local bal = redis.call('HINCRBY', KEYS[3], 'points', pts)
redis.call('RPUSH', KEYS[4], '{"at":' .. now .. ',"kind":"earned","minutes":' .. m .. ',"points":' .. pts ..
  ',"balance":' .. bal .. ',"activity":' .. ARGV[8] .. ',"actor":' .. ARGV[9] .. '}')
redis.call('HINCRBY', KEYS[5], ARGV[10], m)
redis.call('HINCRBY', KEYS[5], ARGV[11], pts)
return {'ok', m, pts, bal}
`)

func (s *Store) credit(ctx context.Context, a *bot.Activity, openid string, now time.Time, minutes int, by string, rate int) (bot.Credit, error) {
	keys := []string{s.k.activityConfirmed(a.No), s.k.activityAttendance(a.No), s.k.volunteer(openid),
		s.k.volunteerLedger(openid), s.k.stats(a.Community, bot.Period(now))}
	noJSON, _ := json.Marshal(a.No)
	byJSON, _ := json.Marshal(by)
	res, err := creditScript.Run(ctx, s.rdb, keys, openid, now.UnixMilli(), minutes, a.Length().Milliseconds(),
		rate, "y"+strconv.Itoa(bot.Year(a.Start)), by, string(noJSON), string(byJSON),
		string(bot.CountMinutes), string(bot.CountPoints)).Slice()
	if err != nil {
		return bot.Credit{}, fmt.Errorf("store: credit %s: %w", a.No, err)
	}
	data := map[string]any{"No": a.No, "Title": a.Title}
	switch res[0] {
	case "ok":
		return bot.Credit{Minutes: int(res[1].(int64)), Points: int(res[2].(int64))}, nil
	case "done":
		return bot.Credit{}, bot.UserError(bot.EConflict, bot.MsgVolCheckedOut, data)
	case "not":
		return bot.Credit{}, bot.UserError(bot.EForbidden, bot.MsgVolCheckNotOn, data)
	case "noin":
		return bot.Credit{}, bot.UserError(bot.EConflict, bot.MsgVolCheckNoIn, data)
	}
	return bot.Credit{}, fmt.Errorf("store: credit %s: unexpected %v", a.No, res[0])
}

// CheckOut records openid's check-out and credits the hours.
func (s *Store) CheckOut(ctx context.Context, a *bot.Activity, openid string, now time.Time, pointsPerHour int) (bot.Credit, error) {
	return s.credit(ctx, a, openid, now, -1, "code", pointsPerHour)
}

// Adjust credits minutes chosen by the organiser (补签).
func (s *Store) Adjust(ctx context.Context, a *bot.Activity, openid string, minutes int, actor string, now time.Time, pointsPerHour int) (bot.Credit, error) {
	if minutes < 0 {
		return bot.Credit{}, bot.Errorf(bot.EInvalid, "negative minutes")
	}
	return s.credit(ctx, a, openid, now, minutes, actor, pointsPerHour)
}

// Attendance lists who checked in or was credited on an activity.
func (s *Store) Attendance(ctx context.Context, no string) ([]bot.Attendance, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.activityAttendance(no)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: attendance %s: %w", no, err)
	}
	out := make([]bot.Attendance, 0, len(m))
	for id, v := range m {
		f := strings.Fields(v)
		if len(f) != 4 {
			continue
		}
		in, _ := strconv.ParseInt(f[0], 10, 64)
		outMs, _ := strconv.ParseInt(f[1], 10, 64)
		mins, _ := strconv.Atoi(f[2])
		at := bot.Attendance{OpenID: id, Minutes: mins}
		if in > 0 {
			at.In = time.UnixMilli(in)
		}
		if outMs > 0 {
			at.Out = time.UnixMilli(outMs)
		}
		if f[3] != "-" {
			at.Credited, at.By = true, f[3]
		}
		out = append(out, at)
	}
	return out, nil
}

// SaveVolunteer registers or updates a volunteer profile, giving a number to a new one.
func (s *Store) SaveVolunteer(ctx context.Context, v bot.Volunteer) (bot.Volunteer, error) {
	old, err := s.Volunteer(ctx, v.OpenID)
	switch {
	case err == nil:
		v.No, v.Joined = old.No, old.Joined
	case bot.ErrorCode(err) == bot.ENotFound:
		n, err := s.rdb.Incr(ctx, s.k.volunteerSeq()).Result()
		if err != nil {
			return v, fmt.Errorf("store: volunteer number: %w", err)
		}
		v.No = strconv.FormatInt(n+firstVolunteerNo, 10)
	default:
		return v, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.k.volunteer(v.OpenID), "json", raw)
		p.Set(ctx, s.k.volunteerNo(v.No), v.OpenID, 0)
		p.SAdd(ctx, s.k.volunteers(), v.OpenID)
		return nil
	})
	if err != nil {
		return v, fmt.Errorf("store: save volunteer: %w", err)
	}
	return v, nil
}

// Volunteer loads a volunteer profile (ENotFound when none).
func (s *Store) Volunteer(ctx context.Context, openid string) (bot.Volunteer, error) {
	raw, err := s.rdb.HGet(ctx, s.k.volunteer(openid), "json").Bytes()
	if errors.Is(err, redis.Nil) {
		return bot.Volunteer{}, bot.UserError(bot.ENotFound, bot.MsgVolNoVolunteer, nil)
	}
	if err != nil {
		return bot.Volunteer{}, fmt.Errorf("store: volunteer: %w", err)
	}
	var v bot.Volunteer
	if err := json.Unmarshal(raw, &v); err != nil {
		return bot.Volunteer{}, fmt.Errorf("store: decode volunteer: %w", err)
	}
	return v, nil
}

// VolunteerByNo finds a volunteer by number (志愿者编号).
func (s *Store) VolunteerByNo(ctx context.Context, no string) (bot.Volunteer, error) {
	id, err := s.rdb.Get(ctx, s.k.volunteerNo(no)).Result()
	if errors.Is(err, redis.Nil) {
		return bot.Volunteer{}, bot.UserError(bot.ENotFound, bot.MsgVolNoVolunteer, map[string]any{"No": no})
	}
	if err != nil {
		return bot.Volunteer{}, fmt.Errorf("store: volunteer number: %w", err)
	}
	return s.Volunteer(ctx, id)
}

// VolunteerIDs lists every registered volunteer's openid (exports).
func (s *Store) VolunteerIDs(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.volunteers()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: volunteers: %w", err)
	}
	return ids, nil
}

// Totals reads a person's hours and points.
func (s *Store) Totals(ctx context.Context, openid string) (bot.VolunteerTotals, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.volunteer(openid)).Result()
	if err != nil {
		return bot.VolunteerTotals{}, fmt.Errorf("store: totals: %w", err)
	}
	t := bot.VolunteerTotals{YearMinutes: map[int]int{}}
	for f, v := range m {
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch {
		case f == "min":
			t.Minutes = n
		case f == "points":
			t.Points = n
		case f == "earned":
			t.Earned = n
		case strings.HasPrefix(f, "y"):
			if y, err := strconv.Atoi(f[1:]); err == nil {
				t.YearMinutes[y] = n
			}
		}
	}
	return t, nil
}

// pointsScript takes points off a balance, never below zero.
//
// KEYS: volunteer, ledger, stats. ARGV: points, now ms, item (JSON), actor (JSON), counter name.
// Returns {outcome, balance}.
var pointsScript = redis.NewScript(`
local bal = tonumber(redis.call('HGET', KEYS[1], 'points') or '0')
local p = tonumber(ARGV[1])
if p > bal then return {'short', bal} end
bal = redis.call('HINCRBY', KEYS[1], 'points', -p)
redis.call('RPUSH', KEYS[2], '{"at":' .. ARGV[2] .. ',"kind":"redeemed","points":' .. -p ..
  ',"balance":' .. bal .. ',"item":' .. ARGV[3] .. ',"actor":' .. ARGV[4] .. '}')
redis.call('HINCRBY', KEYS[3], ARGV[5], p)
return {'ok', bal}
`)

// Redeem takes points off openid's balance (兑换), never below zero.
func (s *Store) RedeemPoints(ctx context.Context, openid string, points int, item, actor, community string, now time.Time) (bot.LedgerEntry, error) {
	if points <= 0 {
		return bot.LedgerEntry{}, bot.Errorf(bot.EInvalid, "redeem %d points", points)
	}
	itemJSON, _ := json.Marshal(item)
	actorJSON, _ := json.Marshal(actor)
	keys := []string{s.k.volunteer(openid), s.k.volunteerLedger(openid), s.k.stats(community, bot.Period(now))}
	res, err := pointsScript.Run(ctx, s.rdb, keys, points, now.UnixMilli(), string(itemJSON), string(actorJSON), string(bot.CountPointsRedeemed)).Slice()
	if err != nil {
		return bot.LedgerEntry{}, fmt.Errorf("store: redeem: %w", err)
	}
	bal := int(res[1].(int64))
	if res[0] == "short" {
		return bot.LedgerEntry{}, bot.UserError(bot.EConflict, bot.MsgVolPointsShort, map[string]any{"Balance": bal, "Points": points})
	}
	return bot.LedgerEntry{At: now, Kind: "redeemed", Points: -points, Balance: bal, Item: item, Actor: actor}, nil
}

// ledgerLine is a ledger entry as the scripts write it (time in unix ms).
type ledgerLine struct {
	At int64 `json:"at"`
	bot.LedgerEntry
}

// Ledger lists a person's points timeline, oldest first.
func (s *Store) Ledger(ctx context.Context, openid string) ([]bot.LedgerEntry, error) {
	raws, err := s.rdb.LRange(ctx, s.k.volunteerLedger(openid), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: ledger: %w", err)
	}
	out := make([]bot.LedgerEntry, 0, len(raws))
	for _, r := range raws {
		var l ledgerLine
		if err := json.Unmarshal([]byte(r), &l); err != nil {
			return nil, fmt.Errorf("store: decode ledger: %w", err)
		}
		l.LedgerEntry.At = time.UnixMilli(l.At)
		out = append(out, l.LedgerEntry)
	}
	return out, nil
}

// CountActivity adds to a community's report counters for the month of at.
func (s *Store) CountActivity(ctx context.Context, community string, at time.Time, d map[bot.Counter]int64) error {
	p := s.rdb.Pipeline()
	for f, n := range d {
		p.HIncrBy(ctx, s.k.stats(community, bot.Period(at)), string(f), n)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("store: count: %w", err)
	}
	return nil
}
