package report_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/report"
	"minyuan/store"
	"minyuan/store/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

func day(s string) time.Time {
	t, err := report.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPrevious(t *testing.T) {
	for _, c := range []struct{ from, to, pfrom, pto string }{
		{"2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31"},
		{"2026-01-01", "2026-12-31", "2025-01-01", "2025-12-31"},
		{"2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28"},
		{"2026-11-15", "2026-12-02", "2026-10-28", "2026-11-14"},
		{"2026-11-30", "2026-11-30", "2026-11-29", "2026-11-29"},
	} {
		pf, pt := report.Previous(day(c.from), day(c.to))
		if got := pf.Format(time.DateOnly) + " " + pt.Format(time.DateOnly); got != c.pfrom+" "+c.pto {
			t.Errorf("previous of %s..%s = %s, want %s %s", c.from, c.to, got, c.pfrom, c.pto)
		}
	}
}

// A range reads whole months from the monthly hashes and the ragged ends from the
// daily ones: the sum is the same as reading every day.
func TestRaggedRangeAddsDaysAndMonths(t *testing.T) {
	ctx := context.Background()
	s := store.New(srv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	comms := []bot.Community{{Code: "QY", Name: "七一路社区"}}
	var want int64
	for d := day("2026-10-20"); d.Before(day("2027-01-10")); d = d.AddDate(0, 0, 1) {
		n := int64(d.Day())
		if !d.Before(day("2026-10-25")) && !d.After(day("2027-01-05")) {
			want += n
		}
		if err := s.AddStats(ctx, "QY", d.Add(10*time.Hour), map[bot.Counter]int64{"received": n}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := report.Build(ctx, s, report.Options{From: day("2026-10-25"), To: day("2027-01-05"), Communities: comms})
	if err != nil {
		t.Fatal(err)
	}
	if r.District.Current.Received != want || r.Communities[0].Current.Received != want {
		t.Fatalf("received %d, want %d", r.District.Current.Received, want)
	}
}

// seedYear writes a year of counters for n communities, daily and monthly, with the
// fields a busy district has.
func seedYear(tb testing.TB, s *store.Store, n int, year int) []bot.Community {
	ctx := context.Background()
	var comms []bot.Community
	fields := map[bot.Counter]int64{"received": 3, "signed": 3, "signed_in_time": 2, "closed": 2, "closed_in_time": 2,
		"rated": 1, "rating:satisfied": 1, "category:dispute": 1, "category:hardship": 1, "category:jobs": 1,
		"source:wechat": 2, "source:hotline": 1, "disputes": 1, "hardships": 1, "volunteer.signups": 4,
		"volunteer.minutes": 120, "visit.created:hardship": 1, "visit.done:hardship": 1, "call.received": 2}
	for i := range n {
		c := fmt.Sprintf("C%02d", i)
		comms = append(comms, bot.Community{Code: c, Name: c})
		for d := time.Date(year, 1, 1, 10, 0, 0, 0, bot.ChinaTime()); d.Year() == year; d = d.AddDate(0, 0, 1) {
			if err := s.AddStats(ctx, c, d, fields); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return comms
}

func TestYearOf46Communities(t *testing.T) {
	ctx := context.Background()
	s := store.New(srv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	comms := seedYear(t, s, 46, 2026)
	start := time.Now()
	r, err := report.Build(ctx, s, report.Options{From: day("2026-01-01"), To: day("2026-12-31"), Communities: comms})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if r.District.Current.Received != 3*365*46 || r.District.Current.Disputes != 365*46 {
		t.Fatalf("district received %d", r.District.Current.Received)
	}
	if got := r.District.Current.Rates; !reflect.DeepEqual(*got.TimelySign, 0.6667) {
		t.Fatalf("rates %+v", got)
	}
	if took > time.Second {
		t.Fatalf("a year of 46 communities took %v", took)
	}
}

// BenchmarkReportYear46 builds a year's report of 46 communities: whole months (the
// monthly hashes) and a ragged year (days at both ends).
func BenchmarkReportYear46(b *testing.B) {
	ctx := context.Background()
	s := store.New(srv.Client(b), store.Options{Prefix: redistest.Prefix(b)})
	comms := seedYear(b, s, 46, 2026)
	for _, c := range []struct{ name, from, to string }{
		{"months", "2026-01-01", "2026-12-31"},
		{"ragged", "2026-01-16", "2026-12-15"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := report.Build(ctx, s, report.Options{From: day(c.from), To: day(c.to), Communities: comms}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
