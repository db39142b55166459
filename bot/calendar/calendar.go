// Package calendar decides which days are working days in mainland China and
// turns ticket time limits, service hours and quiet hours into instants.
//
// Everything is reckoned in Asia/Shanghai whatever the location of the
// time.Time passed in, because the offices, the residents and the 12345
// rules all live on Beijing time; results are returned in that location.
//
// The official schedule of public holidays and make-up workdays (调休) comes
// from github.com/6tail/lunar-go's HolidayUtil. The State Council publishes
// each year's schedule only in the autumn before, so an Overrides file fills
// the years the library does not know yet and carries local changes.
//
// A Calendar is immutable after New and safe for concurrent use.
package calendar

import (
	"sort"
	"sync"
	"time"

	// The service often runs in slim containers without /usr/share/zoneinfo;
	// embedding the database keeps "Asia/Shanghai" (and its history) exact
	// instead of silently relying on the fixed-offset fallback.
	_ "time/tzdata"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// shanghai is loaded once; the fixed zone is only a last resort, and is
// correct for every date since China dropped daylight saving time in 1991.
var shanghai = loadShanghai()

func loadShanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Location returns Asia/Shanghai, the zone every result of this package is in.
func Location() *time.Location { return shanghai }

// Range of years scanned in lunar-go. Its data start in December 2001;
// scanning far ahead means a library upgrade needs no change here.
const (
	firstLunarYear = 2001
	lastLunarYear  = 2199
)

// Calendar knows which days are working days.
type Calendar struct {
	// status holds only the days that differ from, or are explicitly listed
	// against, the plain Monday–Friday week: true is a working day, false a
	// day off. Keeping exceptions only makes the map small (about 900
	// entries) and every other day a weekday check.
	status map[day]bool
	years  map[int]bool
	hours  Hours
}

// New builds a Calendar from lunar-go's data with the overrides applied on
// top: an override always wins over the library. Entries that do not parse
// are skipped, and a date listed both as holiday and as workday ends up a
// workday; call Overrides.Validate (LoadOverrides does) to reject both.
// Deadlines use DefaultHours until WithHours says otherwise.
func New(overrides Overrides) *Calendar {
	base := lunarData()
	c := &Calendar{
		status: make(map[day]bool, len(base.status)+len(overrides.Holidays)+len(overrides.Workdays)),
		years:  make(map[int]bool, len(base.years)),
		hours:  DefaultHours(),
	}
	for d, w := range base.status {
		c.status[d] = w
	}
	for y := range base.years {
		c.years[y] = true
	}
	apply := func(list []string, work bool) {
		for _, s := range list {
			d, err := parseDay(s)
			if err != nil {
				continue
			}
			c.status[d] = work
			c.years[d.year()] = true
		}
	}
	apply(overrides.Holidays, false)
	apply(overrides.Workdays, true)
	return c
}

// lunarData reads lunar-go once per process: scanning its string table
// takes milliseconds, and New should stay cheap enough to call from tests
// and per configuration reload. The table is effectively constant; a later
// HolidayUtil.Fix would not be seen, and the overrides are the way to
// change days anyway.
var lunarData = sync.OnceValue(func() *Calendar {
	c := &Calendar{status: make(map[day]bool, 1024), years: make(map[int]bool)}
	for y := firstLunarYear; y <= lastLunarYear; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		for e := l.Front(); e != nil; e = e.Next() {
			h, ok := e.Value.(*HolidayUtil.Holiday)
			if !ok {
				continue
			}
			d, err := parseDay(h.GetDay())
			if err != nil {
				continue
			}
			c.status[d] = h.IsWork()
			// A year counts as known only if it has a day off of its own:
			// 2001 merely holds the make-up days of New Year 2002.
			if !h.IsWork() {
				c.years[d.year()] = true
			}
		}
	}
	return c
})

// WithHours returns a Calendar that shares c's days but ends deadlines at
// h.Close. It exists because one deployment may serve offices with
// different hours while the holiday data stays the same. h should have
// passed Hours.Validate.
func (c *Calendar) WithHours(h Hours) *Calendar {
	cp := *c
	cp.hours = h
	return &cp
}

// Hours returns the service hours used for deadlines.
func (c *Calendar) Hours() Hours { return c.hours }

// IsWorkday reports whether t's date (in Asia/Shanghai) is a working day:
// Monday to Friday unless a public holiday, Saturday and Sunday only when
// they are make-up workdays (调休).
func (c *Calendar) IsWorkday(t time.Time) bool { return c.workday(dayOf(t)) }

func (c *Calendar) workday(d day) bool {
	if w, ok := c.status[d]; ok {
		return w
	}
	wd := d.weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// KnowsYear reports whether lunar-go or the overrides have holiday data for
// year y. Without it every weekday of y counts as a working day, so the
// caller should warn at start-up when the current or next year is unknown.
// Any single override entry makes its year "known": an operator filling in
// a missing year must enter that year's whole schedule.
func (c *Calendar) KnowsYear(y int) bool { return c.years[y] }

// KnownYears lists the years KnowsYear accepts, in order, for start-up logs.
func (c *Calendar) KnownYears() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// AddWorkingDays returns the deadline of a time limit of n working days for
// something received at t, following the 12345 hotline convention:
//
//   - the day of receipt is day 0 and does not count (受理次日起算), whatever
//     the hour it arrived;
//   - only working days count: holidays and ordinary weekends are skipped,
//     make-up workdays (调休) count;
//   - the deadline is the close of service hours (Hours.Close, 17:30 by
//     default) on the n-th working day after t's date.
//
// n = 0 means "the same working day": the close of t's date if that is a
// working day and t is not yet past its close, otherwise the close of the
// next working day. A deadline is therefore never before t. On a day off, or
// after hours, n = 0 and n = 1 thus give the same deadline: the office could
// not have acted on day 0 anyway. A negative n is treated as 0.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := dayOf(t)
	if n <= 0 {
		if c.workday(d) {
			if end := d.at(c.hours.Close); !t.After(end) {
				return end
			}
		}
		n = 1
	}
	for n > 0 {
		d++
		if c.workday(d) {
			n--
		}
	}
	return d.at(c.hours.Close)
}

// WorkingDaysBetween counts the working days after a's date up to and
// including b's date, so WorkingDaysBetween(t, AddWorkingDays(t, n)) == n
// for n >= 1 and an overdue ticket's lateness is
// WorkingDaysBetween(deadline, now). It is negative when b's date is before
// a's and 0 on the same date. Times of day are ignored.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	from, to := dayOf(a), dayOf(b)
	sign := 1
	if to < from {
		from, to, sign = to, from, -1
	}
	n := 0
	for d := from + 1; d <= to; d++ {
		if c.workday(d) {
			n++
		}
	}
	return sign * n
}

// day is a civil date in Asia/Shanghai as a count of days since 1970-01-01.
// Integer days make stepping and weekday arithmetic cheap in the deadline
// loops, and are a compact map key.
type day int64

func civil(y int, m time.Month, d int) day {
	return day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayOf(t time.Time) day { return civil(t.In(shanghai).Date()) }

func parseDay(s string) (day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return civil(t.Date()), nil
}

func (d day) date() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

func (d day) year() int {
	y, _, _ := d.date()
	return y
}

// weekday relies on 1970-01-01 having been a Thursday.
func (d day) weekday() time.Weekday {
	return time.Weekday(((int64(d)+4)%7 + 7) % 7)
}

// at returns the instant at clock c on day d in Asia/Shanghai.
func (d day) at(c Clock) time.Time {
	y, m, dd := d.date()
	return time.Date(y, m, dd, 0, int(c), 0, 0, shanghai)
}

// secondsOfDay is the wall-clock time of t in Asia/Shanghai.
func secondsOfDay(t time.Time) int {
	h, m, s := t.In(shanghai).Clock()
	return h*3600 + m*60 + s
}
