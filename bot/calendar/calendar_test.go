package calendar

import (
	"strconv"
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// at parses "2026-10-01 09:00" (or a bare date, at midnight) in Asia/Shanghai.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	} else if len(s) == len(time.DateTime) {
		layout = time.DateTime
	}
	v, err := time.ParseInLocation(layout, s, Location())
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// lunarWork asks lunar-go directly, so the tables below are checked against
// the library's own data and not only against what we believe it says.
// ok is false when the library has no entry for the date.
func lunarWork(ymd string) (work, ok bool) {
	h := HolidayUtil.GetHoliday(ymd)
	if h == nil {
		return false, false
	}
	return h.IsWork(), true
}

func TestLocation(t *testing.T) {
	if got := Location().String(); got != "Asia/Shanghai" {
		t.Errorf("Location() = %q, want Asia/Shanghai (time/tzdata is embedded)", got)
	}
}

func TestIsWorkday(t *testing.T) {
	c := New(Overrides{})
	tests := []struct {
		date   string
		want   bool
		listed bool // lunar-go has an entry for the date
		why    string
	}{
		// Plain weekend, no holiday around.
		{"2026-03-06", true, false, "plain Friday"},
		{"2026-03-07", false, false, "plain Saturday"},
		{"2026-03-08", false, false, "plain Sunday"},
		{"2026-03-09", true, false, "plain Monday"},

		// Spring Festival 2026: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 worked.
		{"2026-02-13", true, false, "Friday before Spring Festival"},
		{"2026-02-14", true, true, "make-up Saturday before Spring Festival"},
		{"2026-02-15", false, true, "Spring Festival, Sunday"},
		{"2026-02-16", false, true, "Spring Festival eve, Monday"},
		{"2026-02-17", false, true, "Spring Festival day, Tuesday"},
		{"2026-02-20", false, true, "Spring Festival, Friday"},
		{"2026-02-23", false, true, "last day of Spring Festival, Monday"},
		{"2026-02-24", true, false, "back to work Tuesday"},
		{"2026-02-28", true, true, "make-up Saturday after Spring Festival"},
		{"2026-03-01", false, false, "Sunday after the make-up Saturday"},

		// Mid-Autumn and National Day 2026 are separate in 2026:
		// Sun Sep 20 worked, Sep 25–27 off, Oct 1–7 off, Sat Oct 10 worked.
		{"2026-09-19", false, false, "Saturday before the make-up Sunday"},
		{"2026-09-20", true, true, "make-up Sunday for National Day"},
		{"2026-09-24", true, false, "Thursday before Mid-Autumn"},
		{"2026-09-25", false, true, "Mid-Autumn, Friday"},
		{"2026-09-26", false, true, "Mid-Autumn, Saturday"},
		{"2026-09-27", false, true, "Mid-Autumn, Sunday"},
		{"2026-09-28", true, false, "Monday between the two holidays"},
		{"2026-09-30", true, false, "Wednesday before National Day"},
		{"2026-10-01", false, true, "National Day"},
		{"2026-10-05", false, true, "golden week, Monday"},
		{"2026-10-07", false, true, "last day of golden week, Wednesday"},
		{"2026-10-08", true, false, "Thursday after golden week"},
		{"2026-10-09", true, false, "Friday after golden week"},
		{"2026-10-10", true, true, "make-up Saturday after golden week"},
		{"2026-10-11", false, false, "Sunday after the make-up Saturday"},

		// 2025 merged 国庆中秋: Sun Sep 28 worked, Oct 1–8 off, Sat Oct 11 worked.
		{"2025-09-28", true, true, "make-up Sunday 2025"},
		{"2025-10-01", false, true, "National Day 2025"},
		{"2025-10-06", false, true, "Mid-Autumn 2025, Monday"},
		{"2025-10-08", false, true, "last day of golden week 2025, Wednesday"},
		{"2025-10-09", true, false, "Thursday after golden week 2025"},
		{"2025-10-11", true, true, "make-up Saturday 2025"},

		// New Year 2026: Jan 1–3 off and Sun Jan 4 worked.
		{"2026-01-02", false, true, "New Year holiday, Friday"},
		{"2026-01-04", true, true, "make-up Sunday after New Year"},
	}
	for _, tc := range tests {
		t.Run(tc.date+" "+tc.why, func(t *testing.T) {
			lw, listed := lunarWork(tc.date)
			if listed != tc.listed {
				t.Fatalf("lunar-go lists %s: %v, table says %v", tc.date, listed, tc.listed)
			}
			if listed && lw != tc.want {
				t.Fatalf("lunar-go says work=%v for %s, table says %v", lw, tc.date, tc.want)
			}
			// Any hour of the day, and any input zone, must give the same answer.
			for _, hm := range []string{"00:00", "12:00", "23:59"} {
				tm := at(t, tc.date+" "+hm)
				if got := c.IsWorkday(tm); got != tc.want {
					t.Errorf("IsWorkday(%s) = %v, want %v", tm, got, tc.want)
				}
				if got := c.IsWorkday(tm.UTC()); got != tc.want {
					t.Errorf("IsWorkday(%s UTC) = %v, want %v", tm.UTC(), got, tc.want)
				}
			}
		})
	}
}

// TestMatchesLunarGo checks every entry the library has against IsWorkday.
func TestMatchesLunarGo(t *testing.T) {
	c := New(Overrides{})
	n := 0
	for y := firstLunarYear; y <= lastLunarYear; y++ {
		for e := HolidayUtil.GetHolidaysByYear(y).Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			if got := c.IsWorkday(at(t, h.GetDay()+" 10:00")); got != h.IsWork() {
				t.Errorf("%s: IsWorkday = %v, lunar-go work = %v", h, got, h.IsWork())
			}
			n++
		}
	}
	if n < 700 {
		t.Errorf("only %d lunar-go entries seen; did the data move?", n)
	}
}

func TestKnowsYear(t *testing.T) {
	c := New(Overrides{})
	for y := 2002; y <= 2027; y++ {
		if !c.KnowsYear(y) {
			t.Errorf("KnowsYear(%d) = false", y)
		}
	}
	// 2001 holds only the make-up days of New Year 2002; 2028 is unpublished
	// in lunar-go v1.4.7.
	for _, y := range []int{1999, 2001, 2028, 2100} {
		if c.KnowsYear(y) {
			t.Errorf("KnowsYear(%d) = true", y)
		}
	}
	ys := c.KnownYears()
	if len(ys) == 0 || ys[0] != 2002 || ys[len(ys)-1] < 2027 {
		t.Errorf("KnownYears() = %v", ys)
	}
}

func TestOverrides(t *testing.T) {
	o := Overrides{
		// 2028 is not in lunar-go: a Monday off and a Saturday worked.
		Holidays: []string{"2028-01-03", "2026-10-10", "2026-10-08"},
		Workdays: []string{"2028-01-08", "2026-10-05"},
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	c := New(o)
	plain := New(Overrides{})
	tests := []struct {
		date      string
		want, was bool
	}{
		{"2028-01-03", false, true}, // holiday added on a Monday
		{"2028-01-04", true, true},  // untouched Tuesday
		{"2028-01-08", true, false}, // workday added on a Saturday
		{"2028-01-09", false, false},
		{"2026-10-10", false, true}, // override beats lunar-go's make-up Saturday
		{"2026-10-08", false, true}, // and a plain weekday next to a holiday
		{"2026-10-05", true, false}, // and lunar-go's golden-week day off
	}
	for _, tc := range tests {
		tm := at(t, tc.date+" 10:00")
		if got := c.IsWorkday(tm); got != tc.want {
			t.Errorf("with overrides IsWorkday(%s) = %v, want %v", tc.date, got, tc.want)
		}
		if got := plain.IsWorkday(tm); got != tc.was {
			t.Errorf("without overrides IsWorkday(%s) = %v, want %v", tc.date, got, tc.was)
		}
	}
	if !c.KnowsYear(2028) || plain.KnowsYear(2028) {
		t.Errorf("KnowsYear(2028): with overrides %v, without %v", c.KnowsYear(2028), plain.KnowsYear(2028))
	}
	// Fri 2027-12-31 + 1 skips the weekend and the overridden Monday.
	if got, want := c.AddWorkingDays(at(t, "2027-12-31 10:00"), 1), at(t, "2028-01-04 17:30"); !got.Equal(want) {
		t.Errorf("AddWorkingDays across 2028 override = %s, want %s", got, want)
	}
	// ... and the overridden Saturday counts.
	if got, want := c.AddWorkingDays(at(t, "2028-01-07 10:00"), 1), at(t, "2028-01-08 17:30"); !got.Equal(want) {
		t.Errorf("AddWorkingDays onto 2028 make-up Saturday = %s, want %s", got, want)
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := New(Overrides{})
	tests := []struct {
		from string
		n    int
		want string
		why  string
	}{
		// Across a plain weekend.
		{"2026-03-06 10:00", 0, "2026-03-06 17:30", "same working day"},
		{"2026-03-06 10:00", 1, "2026-03-09 17:30", "Friday + 1 is Monday"},
		{"2026-03-06 10:00", 5, "2026-03-13 17:30", "Friday + 5 is next Friday"},
		{"2026-03-06 23:59", 1, "2026-03-09 17:30", "late Friday still counts Friday as day 0"},
		{"2026-03-07 10:00", 0, "2026-03-09 17:30", "Saturday, same day rolls to Monday"},
		{"2026-03-07 10:00", 1, "2026-03-09 17:30", "Saturday + 1: Monday is the first working day after"},
		{"2026-03-07 10:00", 2, "2026-03-10 17:30", "Saturday + 2"},
		{"2026-03-08 10:00", 5, "2026-03-13 17:30", "Sunday + 5"},
		{"2026-03-06 17:30", 0, "2026-03-06 17:30", "exactly at close is still today"},
		{"2026-03-06 18:00", 0, "2026-03-09 17:30", "after close the day is over: never a deadline in the past"},
		{"2026-03-06 10:00", -3, "2026-03-06 17:30", "negative n is 0"},

		// Across Mid-Autumn and the National Day golden week 2026.
		{"2026-09-24 10:00", 1, "2026-09-28 17:30", "Thursday + 1 skips Mid-Autumn"},
		{"2026-09-24 10:00", 5, "2026-10-09 17:30", "Sep 28, 29, 30, Oct 8, 9"},
		{"2026-09-30 10:00", 0, "2026-09-30 17:30", "eve of golden week, same day"},
		{"2026-09-30 10:00", 1, "2026-10-08 17:30", "golden week skipped"},
		{"2026-09-30 10:00", 3, "2026-10-10 17:30", "make-up Saturday counts"},
		{"2026-09-30 10:00", 5, "2026-10-13 17:30", "Oct 8, 9, 10 (Sat), 12, 13"},
		{"2026-10-03 10:00", 0, "2026-10-08 17:30", "holiday, same day rolls past golden week"},
		{"2026-10-03 10:00", 1, "2026-10-08 17:30", "holiday + 1"},
		{"2026-10-03 10:00", 2, "2026-10-09 17:30", "holiday + 2"},
		{"2026-09-19 10:00", 1, "2026-09-20 17:30", "Saturday + 1 is the make-up Sunday"},

		// Spring Festival 2026.
		{"2026-02-13 10:00", 1, "2026-02-14 17:30", "make-up Saturday before the festival"},
		{"2026-02-13 10:00", 2, "2026-02-24 17:30", "the festival skipped"},
		{"2026-02-13 10:00", 5, "2026-02-27 17:30", "Feb 14, 24, 25, 26, 27"},
		{"2026-02-13 10:00", 6, "2026-02-28 17:30", "make-up Saturday after the festival"},
		{"2026-02-17 10:00", 0, "2026-02-24 17:30", "festival day, same day"},

		// Year boundary: New Year 2026 and its make-up Sunday.
		{"2025-12-31 10:00", 1, "2026-01-04 17:30", "Jan 1-3 off, Sunday Jan 4 worked"},
	}
	for _, tc := range tests {
		t.Run(tc.from+" "+tc.why, func(t *testing.T) {
			from := at(t, tc.from)
			want := at(t, tc.want)
			got := c.AddWorkingDays(from, tc.n)
			if !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.from, tc.n, got, want)
			}
			if got.Location() != Location() {
				t.Errorf("result in %s, want Asia/Shanghai", got.Location())
			}
			if got.Before(from) {
				t.Errorf("deadline %s before %s", got, from)
			}
			// Same instant given in UTC must give the same deadline.
			if g := c.AddWorkingDays(from.UTC(), tc.n); !g.Equal(want) {
				t.Errorf("AddWorkingDays(UTC %s, %d) = %s, want %s", from.UTC(), tc.n, g, want)
			}
		})
	}
}

func TestAddWorkingDaysWithHours(t *testing.T) {
	h := DefaultHours()
	h.Close = MustClock("18:00")
	c := New(Overrides{}).WithHours(h)
	if got, want := c.AddWorkingDays(at(t, "2026-03-06 10:00"), 1), at(t, "2026-03-09 18:00"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if c.Hours() != h || New(Overrides{}).Hours() != DefaultHours() {
		t.Error("WithHours changed the original or did not take")
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := New(Overrides{})
	tests := []struct {
		a, b string
		want int
	}{
		{"2026-03-06 10:00", "2026-03-06 23:00", 0},
		{"2026-03-06 10:00", "2026-03-09 08:00", 1},
		{"2026-03-06 10:00", "2026-03-13 17:30", 5},
		{"2026-03-13 17:30", "2026-03-06 10:00", -5},
		{"2026-09-30 10:00", "2026-10-08 10:00", 1},
		{"2026-09-30 10:00", "2026-10-11 10:00", 3},
		{"2026-02-13 10:00", "2026-02-28 10:00", 6},
	}
	for _, tc := range tests {
		if got := c.WorkingDaysBetween(at(t, tc.a), at(t, tc.b)); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	// Round trip over a stretch full of holidays.
	start := at(t, "2025-09-01 10:00")
	for i := 0; i < 500; i++ {
		from := start.Add(time.Duration(i) * 17 * time.Hour)
		for n := 1; n <= 25; n++ {
			if got := c.WorkingDaysBetween(from, c.AddWorkingDays(from, n)); got != n {
				t.Fatalf("WorkingDaysBetween(%s, AddWorkingDays(.., %d)) = %d", from, n, got)
			}
		}
	}
}

func TestWeekdayArithmetic(t *testing.T) {
	// day.weekday must agree with time's own weekday, including before 1970.
	for _, s := range []string{"1969-12-31", "1970-01-01", "2028-02-29", "2026-10-10", "2100-03-01"} {
		v, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		d := civil(v.Date())
		if d.weekday() != v.Weekday() {
			t.Errorf("%s: weekday %v, want %v", s, d.weekday(), v.Weekday())
		}
		if y, m, dd := d.date(); y != v.Year() || m != v.Month() || dd != v.Day() {
			t.Errorf("%s: round trip %d-%d-%d", s, y, m, dd)
		}
	}
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := New(Overrides{})
	from := at(b, "2026-09-24 10:00")
	for _, n := range []int{1, 5, 20} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				_ = c.AddWorkingDays(from, n)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		_ = New(Overrides{})
	}
}
