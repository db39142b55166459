package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day in minutes since midnight, Asia/Shanghai.
// Minutes are the resolution office hours are ever announced in.
type Clock int

const minutesPerDay = 24 * 60

// ParseClock parses "08:30" (or "8:30"), 00:00 to 23:59.
func ParseClock(s string) (Clock, error) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, fmt.Errorf("calendar: clock %q: want HH:MM", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("calendar: clock %q: out of range 00:00-23:59", s)
	}
	return Clock(h*60 + m), nil
}

// digits rejects the signs and spaces strconv.Atoi would let through.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MustClock is ParseClock for constants; it panics on a malformed literal.
func MustClock(s string) Clock {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

// String formats c as "08:30".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Valid reports whether c is a time of day 00:00–23:59.
func (c Clock) Valid() bool { return c >= 0 && c < minutesPerDay }

// MarshalText lets configuration files carry "08:30" rather than 510.
func (c Clock) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("calendar: clock %d minutes: out of range", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText accepts what ParseClock accepts; YAML uses it too.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Hours are the service hours of a reception desk on a working day, with a
// lunch break. LunchStart == LunchEnd means no break.
type Hours struct {
	Open       Clock `yaml:"open"`
	LunchStart Clock `yaml:"lunch_start"`
	LunchEnd   Clock `yaml:"lunch_end"`
	Close      Clock `yaml:"close"`
}

// DefaultHours are the usual hours of a Chinese community office:
// 08:30–12:00 and 14:30–17:30. Offices change them with the seasons (夏令时
// / 冬令时 schedules), hence configuration rather than constants.
func DefaultHours() Hours {
	return Hours{Open: 8*60 + 30, LunchStart: 12 * 60, LunchEnd: 14*60 + 30, Close: 17*60 + 30}
}

// Validate requires Open <= LunchStart <= LunchEnd <= Close with some time
// open, all within one day: hours across midnight are not a desk's hours.
func (h Hours) Validate() error {
	for _, c := range []Clock{h.Open, h.LunchStart, h.LunchEnd, h.Close} {
		if !c.Valid() {
			return fmt.Errorf("calendar: hours: clock %d minutes out of range", int(c))
		}
	}
	if !(h.Open <= h.LunchStart && h.LunchStart <= h.LunchEnd && h.LunchEnd <= h.Close) {
		return fmt.Errorf("calendar: hours %s-%s, lunch %s-%s: want open <= lunch start <= lunch end <= close",
			h.Open, h.Close, h.LunchStart, h.LunchEnd)
	}
	if len(h.sessions()) == 0 {
		return errors.New("calendar: hours: never open")
	}
	return nil
}

// sessions are the open intervals of a working day in seconds since
// midnight, empty ones left out so the lookups below need no special cases.
func (h Hours) sessions() [][2]int {
	out := make([][2]int, 0, 2)
	add := func(from, to Clock) {
		if from < to {
			out = append(out, [2]int{int(from) * 60, int(to) * 60})
		}
	}
	if h.LunchStart >= h.LunchEnd {
		add(h.Open, h.Close)
		return out
	}
	add(h.Open, h.LunchStart)
	add(h.LunchEnd, h.Close)
	return out
}

// IsOpen reports whether the desk is open at t: a working day, within
// [Open, Close) and outside [LunchStart, LunchEnd).
func (c *Calendar) IsOpen(t time.Time, h Hours) bool {
	if !c.IsWorkday(t) {
		return false
	}
	s := secondsOfDay(t)
	for _, iv := range h.sessions() {
		if s >= iv[0] && s < iv[1] {
			return true
		}
	}
	return false
}

// NextOpen returns t itself when the desk is open, else the next moment it
// opens (after lunch, the next morning, or the first working day after a
// weekend or holiday), in Asia/Shanghai. With hours that are never open it
// returns the zero Time rather than searching forever.
func (c *Calendar) NextOpen(t time.Time, h Hours) time.Time {
	ss := h.sessions()
	if len(ss) == 0 {
		return time.Time{}
	}
	d := dayOf(t)
	if c.workday(d) {
		s := secondsOfDay(t)
		for _, iv := range ss {
			if s < iv[0] {
				return d.at(Clock(iv[0] / 60))
			}
			if s < iv[1] {
				return t
			}
		}
	}
	for d++; !c.workday(d); d++ {
	}
	return d.at(Clock(ss[0][0] / 60))
}

// Quiet is the part of every day (weekends and holidays included) when no
// reminder or push should reach a phone. Start > End wraps past midnight;
// Start == End means no quiet hours.
type Quiet struct {
	Start Clock `yaml:"start"`
	End   Clock `yaml:"end"`
}

// DefaultQuiet is 21:30 to 08:00, so that a reminder computed at night
// reaches people in the morning instead of waking them.
func DefaultQuiet() Quiet { return Quiet{Start: 21*60 + 30, End: 8 * 60} }

// Validate checks both ends are times of day.
func (q Quiet) Validate() error {
	if !q.Start.Valid() || !q.End.Valid() {
		return fmt.Errorf("calendar: quiet hours %d-%d minutes: out of range", int(q.Start), int(q.End))
	}
	return nil
}

// Contains reports whether t (in Asia/Shanghai) falls in [Start, End).
func (q Quiet) Contains(t time.Time) bool {
	s, from, to := secondsOfDay(t), int(q.Start)*60, int(q.End)*60
	switch {
	case from < to:
		return s >= from && s < to
	case from > to:
		return s >= from || s < to
	default:
		return false
	}
}

// Defer returns t when it is outside quiet hours, else the end of the quiet
// period it falls in: the next End, tomorrow's if t is before midnight in a
// period that wraps.
func (q Quiet) Defer(t time.Time) time.Time {
	if !q.Contains(t) {
		return t
	}
	d := dayOf(t)
	if q.Start > q.End && secondsOfDay(t) >= int(q.Start)*60 {
		d++
	}
	return d.at(q.End)
}
