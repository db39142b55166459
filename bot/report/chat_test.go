package report_test

import (
	"context"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/report"
)

type dueRows map[string]bot.Reminder

func (d dueRows) Schedule(_ context.Context, rs ...bot.Reminder) error {
	for _, r := range rs {
		d[r.ID] = r
	}
	return nil
}
func (d dueRows) Cancel(_ context.Context, ids ...string) error {
	for _, id := range ids {
		delete(d, id)
	}
	return nil
}

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, bot.ChinaTime())
	if err != nil {
		panic(err)
	}
	return t
}

// The monthly push is due at 09:00 on the first working day (New Year's Day and
// the Spring Festival skipped); a start-up shortly after it was due fires it
// again (its push ids are remembered), a later one waits for next month's.
func TestMonthlyPushIsDueOnTheFirstWorkingDay(t *testing.T) {
	rows := dueRows{}
	s := &report.Service{Calendar: calendar.New(calendar.Overrides{}), Reminders: rows}
	for _, c := range []struct{ now, due, month string }{
		{"2026-11-30 12:00", "2026-12-01 09:00", "2026-11"},
		{"2026-12-01 08:59", "2026-12-01 09:00", "2026-11"},
		{"2026-12-03 10:00", "2026-12-01 09:00", "2026-11"}, // catch up: fire now
		{"2026-12-10 10:00", "2027-01-04 09:00", "2026-12"}, // 1-3 January are holidays
		{"2027-01-31 10:00", "2027-02-01 09:00", "2027-01"},
	} {
		if err := s.ScheduleMonthly(context.Background(), cst(c.now)); err != nil {
			t.Fatal(err)
		}
		r := rows[report.MonthlyReminderID]
		if !r.Due.Equal(cst(c.due)) || r.Kind != report.MonthlyReminderKind || string(r.Payload) != `{"month":"`+c.month+`"}` {
			t.Errorf("at %s: row %s %s %s, want due %s for %s", c.now, r.Kind, r.Due.In(bot.ChinaTime()), r.Payload, c.due, c.month)
		}
	}
}

func TestSpanRanges(t *testing.T) {
	at := cst("2027-01-15 10:00")
	for sp, want := range map[report.Span]string{
		report.SpanMonth:     "2027-01-01 2027-01-15",
		report.SpanLastMonth: "2026-12-01 2026-12-31",
		report.SpanYear:      "2027-01-01 2027-01-15",
	} {
		from, to := sp.Range(at)
		if got := from.Format(time.DateOnly) + " " + to.Format(time.DateOnly); got != want {
			t.Errorf("%s: %s, want %s", sp, got, want)
		}
	}
}
