package calendar

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseClock(t *testing.T) {
	good := map[string]Clock{"08:30": 510, "8:30": 510, "00:00": 0, "23:59": 1439, "12:00": 720}
	for s, want := range good {
		got, err := ParseClock(s)
		if err != nil || got != want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "24:00", "12:60", "0830", "8:3", "ab:cd", "+8:30", "-1:00", " 8:30", "08:30:00", "123:00"} {
		if c, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) = %d, want error", s, c)
		}
	}
	if s := Clock(510).String(); s != "08:30" {
		t.Errorf("String() = %q", s)
	}
}

func TestHoursYAML(t *testing.T) {
	var cfg struct {
		Hours Hours `yaml:"hours"`
		Quiet Quiet `yaml:"quiet"`
	}
	src := "hours:\n  open: \"09:00\"\n  lunch_start: 12:00\n  lunch_end: 13:30\n  close: 18:00\nquiet:\n  start: 22:00\n  end: 07:30\n"
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Hours{Open: 540, LunchStart: 720, LunchEnd: 810, Close: 1080}
	if cfg.Hours != want || cfg.Quiet != (Quiet{Start: 1320, End: 450}) {
		t.Errorf("decoded %+v %+v", cfg.Hours, cfg.Quiet)
	}
	out, err := yaml.Marshal(cfg.Hours)
	if err != nil || !strings.Contains(string(out), "open: \"09:00\"") {
		t.Errorf("Marshal = %q, %v", out, err)
	}
	if err := yaml.Unmarshal([]byte("hours:\n  open: 830\n"), &cfg); err == nil {
		t.Error("bare number accepted as a clock")
	}
}

func TestHoursValidate(t *testing.T) {
	if err := DefaultHours().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	noLunch := Hours{Open: 540, LunchStart: 720, LunchEnd: 720, Close: 1020}
	if err := noLunch.Validate(); err != nil {
		t.Errorf("no lunch: %v", err)
	}
	bad := []Hours{
		{Open: 600, LunchStart: 720, LunchEnd: 810, Close: 540},   // close before open
		{Open: 540, LunchStart: 810, LunchEnd: 720, Close: 1080},  // lunch reversed
		{Open: 540, LunchStart: 540, LunchEnd: 1080, Close: 1080}, // lunch all day
		{Open: 540, LunchStart: 720, LunchEnd: 810, Close: 1440},  // 24:00
		{},
	}
	for _, h := range bad {
		if err := h.Validate(); err == nil {
			t.Errorf("%+v accepted", h)
		}
	}
}

func TestIsOpen(t *testing.T) {
	c := New(Overrides{})
	h := DefaultHours()
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-03-09 08:29:59", false}, // Monday before opening
		{"2026-03-09 08:30:00", true},
		{"2026-03-09 11:59:59", true},
		{"2026-03-09 12:00:00", false}, // lunch
		{"2026-03-09 13:00:00", false},
		{"2026-03-09 14:29:59", false},
		{"2026-03-09 14:30:00", true},
		{"2026-03-09 17:29:59", true},
		{"2026-03-09 17:30:00", false},
		{"2026-03-09 21:00:00", false},
		{"2026-03-07 10:00:00", false}, // plain Saturday
		{"2026-10-01 10:00:00", false}, // National Day
		{"2026-10-10 10:00:00", true},  // make-up Saturday
		{"2026-09-20 15:00:00", true},  // make-up Sunday
		{"2026-02-17 10:00:00", false}, // Spring Festival
	}
	for _, tc := range tests {
		tm := at(t, tc.at)
		if got := c.IsOpen(tm, h); got != tc.want {
			t.Errorf("IsOpen(%s) = %v, want %v", tc.at, got, tc.want)
		}
		if got := c.IsOpen(tm.In(time.UTC), h); got != tc.want {
			t.Errorf("IsOpen(%s in UTC) = %v, want %v", tc.at, got, tc.want)
		}
	}
	noLunch := Hours{Open: 540, LunchStart: 720, LunchEnd: 720, Close: 1020}
	if !c.IsOpen(at(t, "2026-03-09 12:30"), noLunch) {
		t.Error("no-lunch hours closed at 12:30")
	}
}

func TestNextOpen(t *testing.T) {
	c := New(Overrides{})
	h := DefaultHours()
	tests := []struct {
		from, want string
		why        string
	}{
		{"2026-03-06 18:00", "2026-03-09 08:30", "Friday evening to Monday morning"},
		{"2026-03-09 12:30", "2026-03-09 14:30", "lunch to afternoon"},
		{"2026-03-09 12:00", "2026-03-09 14:30", "start of lunch"},
		{"2026-03-09 07:00", "2026-03-09 08:30", "early morning"},
		{"2026-03-09 00:00", "2026-03-09 08:30", "midnight"},
		{"2026-03-09 17:30", "2026-03-10 08:30", "at closing"},
		{"2026-03-07 10:00", "2026-03-09 08:30", "Saturday"},
		{"2026-09-30 18:00", "2026-10-08 08:30", "eve of golden week"},
		{"2026-10-09 18:00", "2026-10-10 08:30", "Friday before the make-up Saturday"},
		{"2026-02-13 18:00", "2026-02-14 08:30", "Friday before the Spring Festival make-up Saturday"},
		{"2026-02-14 18:00", "2026-02-24 08:30", "over the Spring Festival"},
	}
	for _, tc := range tests {
		from, want := at(t, tc.from), at(t, tc.want)
		if got := c.NextOpen(from, h); !got.Equal(want) {
			t.Errorf("%s: NextOpen(%s) = %s, want %s", tc.why, tc.from, got, want)
		}
		if got := c.NextOpen(from.UTC(), h); !got.Equal(want) {
			t.Errorf("%s: NextOpen(%s UTC) = %s, want %s", tc.why, tc.from, got, want)
		}
	}
	// Open: t itself, to the nanosecond.
	open := at(t, "2026-03-09 10:15").Add(1234 * time.Nanosecond)
	if got := c.NextOpen(open, h); !got.Equal(open) {
		t.Errorf("NextOpen(open) = %s, want %s", got, open)
	}
	if got := c.NextOpen(open, Hours{}); !got.IsZero() {
		t.Errorf("never-open hours: got %s, want zero", got)
	}
	// Whatever NextOpen returns must be open.
	start := at(t, "2026-01-01 00:00")
	for i := 0; i < 2000; i++ {
		from := start.Add(time.Duration(i) * 4 * time.Hour).Add(time.Duration(i) * time.Minute)
		got := c.NextOpen(from, h)
		if !c.IsOpen(got, h) || got.Before(from) {
			t.Fatalf("NextOpen(%s) = %s, open %v", from, got, c.IsOpen(got, h))
		}
	}
}

func TestQuiet(t *testing.T) {
	q := DefaultQuiet()
	if q.Start.String() != "21:30" || q.End.String() != "08:00" {
		t.Fatalf("DefaultQuiet = %s-%s", q.Start, q.End)
	}
	tests := []struct {
		at     string
		quiet  bool
		defer_ string
	}{
		{"2026-03-06 21:29:59", false, ""},
		{"2026-03-06 21:30", true, "2026-03-07 08:00"}, // Friday night to Saturday: every day counts
		{"2026-03-06 23:59:59", true, "2026-03-07 08:00"},
		{"2026-03-07 00:00", true, "2026-03-07 08:00"},
		{"2026-03-07 03:00", true, "2026-03-07 08:00"},
		{"2026-03-07 07:59:59", true, "2026-03-07 08:00"},
		{"2026-03-07 08:00", false, ""},
		{"2026-03-07 12:00", false, ""},
		{"2026-12-31 22:00", true, "2027-01-01 08:00"}, // across the year
		{"2026-02-28 23:00", true, "2026-03-01 08:00"}, // across a month
		{"2026-10-01 22:00", true, "2026-10-02 08:00"}, // holidays too
	}
	for _, tc := range tests {
		tm := at(t, tc.at)
		if got := q.Contains(tm); got != tc.quiet {
			t.Errorf("Contains(%s) = %v, want %v", tc.at, got, tc.quiet)
		}
		want := tm
		if tc.defer_ != "" {
			want = at(t, tc.defer_)
		}
		if got := q.Defer(tm); !got.Equal(want) {
			t.Errorf("Defer(%s) = %s, want %s", tc.at, got, want)
		}
		if got := q.Defer(tm.UTC()); !got.Equal(want) {
			t.Errorf("Defer(%s UTC) = %s, want %s", tc.at, got, want)
		}
	}
	// Not wrapping, and empty.
	nap := Quiet{Start: MustClock("12:00"), End: MustClock("14:00")}
	if !nap.Contains(at(t, "2026-03-07 13:00")) || nap.Contains(at(t, "2026-03-07 14:00")) || nap.Contains(at(t, "2026-03-07 23:00")) {
		t.Error("non-wrapping quiet hours wrong")
	}
	if got, want := nap.Defer(at(t, "2026-03-07 13:00")), at(t, "2026-03-07 14:00"); !got.Equal(want) {
		t.Errorf("nap Defer = %s, want %s", got, want)
	}
	none := Quiet{Start: 600, End: 600}
	if none.Contains(at(t, "2026-03-07 10:00")) {
		t.Error("Start == End must mean no quiet hours")
	}
	if err := (Quiet{Start: -1, End: 10}).Validate(); err == nil {
		t.Error("negative clock accepted")
	}
}
