package report

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"minyuan/bot"
)

// Service answers 统计 in chat and pushes last month's figures to the district
// admins on the first working day of each month. It reads the same counters as
// `minyuan report` (Build), so a figure in chat is the figure in the spreadsheet.
type Service struct {
	Source      Source
	Communities []bot.Community
	Categories  []bot.Category
	Catalog     *bot.Catalog
	Calendar    bot.WorkCalendar
	Directory   bot.Directory
	Pusher      bot.Pusher
	Reminders   bot.Reminders
	// MaxOverdue bounds the open tickets read per community for the overdue count
	// (default 1000).
	MaxOverdue int
}

// Span is the period 统计 asks about.
type Span string

const (
	SpanMonth     Span = "month"      // 本月: the first of this month to today
	SpanLastMonth Span = "last_month" // 上月: the whole previous month
	SpanYear      Span = "year"       // 本年: the first of January to today
)

// MonthlyReminderKind is the kind of the due-set row that pushes last month's
// figures; MonthlyReminderID its one row.
const (
	MonthlyReminderKind = "report.monthly"
	MonthlyReminderID   = "report:monthly"
	// MonthlyAt is the time of day of the monthly push (China time).
	monthlyHour = 9
	// monthlyCatchUp: a start-up this long after the push was due fires it again
	// (the push ids are remembered 7 days, so nobody gets it twice); later than that
	// the month is left and the next one is scheduled.
	monthlyCatchUp = 6 * 24 * time.Hour
)

var (
	msgStatsHead    = bot.Msg("stats.head")
	msgStatsBody    = bot.Msg("stats.body")
	msgStatsNone    = bot.Msg("stats.rate_none")
	msgStatsMany    = bot.Msg("stats.unit_many")
	msgPushMonthly  = bot.Msg("push.stats.monthly")
	msgStatsNoGrant = bot.Msg("stats.forbidden")
	spanNames       = map[Span]bot.MsgKey{
		SpanMonth:     bot.Msg("stats.span.month"),
		SpanLastMonth: bot.Msg("stats.span.last_month"),
		SpanYear:      bot.Msg("stats.span.year"),
	}
)

// Range is the days of span as seen at at (China time), inclusive.
func (sp Span) Range(at time.Time) (from, to time.Time) {
	at = at.In(bot.ChinaTime())
	today := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, bot.ChinaTime())
	first := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, bot.ChinaTime())
	switch sp {
	case SpanLastMonth:
		return first.AddDate(0, -1, 0), first.AddDate(0, 0, -1)
	case SpanYear:
		return time.Date(at.Year(), 1, 1, 0, 0, 0, 0, bot.ChinaTime()), today
	}
	return first, today
}

// Summary is the few lines 统计 answers: the headline figures and the three rates
// of the communities a works in (the district for an admin) over span.
func (s *Service) Summary(ctx context.Context, a bot.Actor, at time.Time, span Span) (string, error) {
	if a.Kind == bot.ActorResident || !a.Can(bot.RoleStaff) {
		return "", bot.UserError(bot.EForbidden, msgStatsNoGrant, nil)
	}
	if _, ok := spanNames[span]; !ok {
		span = SpanMonth
	}
	codes, all := a.Communities(bot.RoleStaff)
	comms := s.Communities
	unit := NewLabels(s.Catalog).L("district")
	if !all {
		comms = slices.DeleteFunc(slices.Clone(s.Communities), func(c bot.Community) bool { return !slices.Contains(codes, c.Code) })
		switch len(comms) {
		case 0:
			return "", bot.UserError(bot.EForbidden, msgStatsNoGrant, nil)
		case 1:
			unit = comms[0].Name
		default:
			unit = s.Catalog.T(msgStatsMany, map[string]any{"First": comms[0].Name, "N": len(comms)})
		}
	}
	from, to := span.Range(at)
	r, err := s.build(ctx, comms, from, to, at)
	if err != nil {
		return "", err
	}
	head := s.Catalog.T(msgStatsHead, map[string]any{"Span": s.Catalog.T(spanNames[span], nil), "Unit": unit,
		"From": r.From, "To": r.To})
	return head + "\n" + s.body(r.District), nil
}

func (s *Service) build(ctx context.Context, comms []bot.Community, from, to, at time.Time) (*Report, error) {
	return Build(ctx, s.Source, Options{From: from, To: to, Communities: comms, Categories: s.Categories,
		Now: at, DistrictName: NewLabels(s.Catalog).L("district"), MaxOverdue: cmpOr(s.MaxOverdue, 1000)})
}

func cmpOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// body renders a unit's current figures in a few lines.
func (s *Service) body(u Unit) string {
	f := u.Current
	pct := func(r *float64) string {
		if r == nil {
			return s.Catalog.T(msgStatsNone, nil)
		}
		return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
	}
	return s.Catalog.T(msgStatsBody, map[string]any{
		"Received": f.Received, "WeChat": f.ByChannel["wechat"], "Hotline": f.ByChannel["hotline"],
		"PrevReceived": u.Previous.Received,
		"Disputes":     f.Disputes, "Hardships": f.Hardships, "Jobs": f.Jobs,
		"Timely": pct(f.Rates.TimelySign), "Signed": f.Signed, "SignedInTime": f.SignedInTime,
		"Solved": pct(f.Rates.Solved), "Closed": f.Closed,
		"Satisfied": pct(f.Rates.Satisfied), "Basic": pct(f.Rates.Basic), "Rated": f.Rated,
		"Overdue": len(u.Overdue),
	})
}

// dueMonthly is the monthly row's payload: the month to report ("2026-11").
type dueMonthly struct {
	Month string `json:"month"`
}

// FirstWorkday is 09:00 on the first working day of t's month (China time).
func (s *Service) firstWorkday(year int, month time.Month) time.Time {
	d := time.Date(year, month, 1, monthlyHour, 0, 0, 0, bot.ChinaTime())
	for i := 0; i < 31 && !s.Calendar.IsWorkday(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// ScheduleMonthly puts the next monthly push in the due set (at start-up; scheduling
// it again only moves it). A start-up within a few days after this month's push was
// due schedules it again at once: the push ids make a second firing send nothing
// twice, and a month missed while every replica was down is still sent.
func (s *Service) ScheduleMonthly(ctx context.Context, now time.Time) error {
	n := now.In(bot.ChinaTime())
	due := s.firstWorkday(n.Year(), n.Month())
	if !now.Before(due.Add(monthlyCatchUp)) {
		due = s.firstWorkday(n.Year(), n.Month()+1)
	}
	return s.scheduleAt(ctx, due)
}

func (s *Service) scheduleAt(ctx context.Context, due time.Time) error {
	d := due.In(bot.ChinaTime())
	month := time.Date(d.Year(), d.Month()-1, 1, 0, 0, 0, 0, bot.ChinaTime()).Format("2006-01")
	payload, _ := json.Marshal(dueMonthly{Month: month})
	return s.Reminders.Schedule(ctx, bot.Reminder{ID: MonthlyReminderID, Kind: MonthlyReminderKind, Due: due, Payload: payload})
}

// FireMonthly pushes the district's figures of the row's month to every district
// admin, then schedules next month's push.
func (s *Service) FireMonthly(ctx context.Context, at time.Time, r bot.Reminder) error {
	var d dueMonthly
	if err := json.Unmarshal(r.Payload, &d); err != nil || d.Month == "" {
		d.Month = SpanLastMonth.month(at)
	}
	from, err := time.ParseInLocation("2006-01", d.Month, bot.ChinaTime())
	if err != nil {
		return err
	}
	to := from.AddDate(0, 1, -1)
	admins, err := s.Directory.Holders(ctx, bot.RoleAdmin, "")
	if err != nil {
		return err
	}
	if len(admins) > 0 {
		rep, err := s.build(ctx, s.Communities, from, to, at)
		if err != nil {
			return err
		}
		text := s.Catalog.T(msgPushMonthly, map[string]any{"Year": from.Year(), "Month": int(from.Month()),
			"Unit": rep.District.Name, "From": rep.From, "To": rep.To}) + "\n" + s.body(rep.District)
		seen := map[string]bool{}
		for _, g := range admins {
			if seen[g.OpenID] {
				continue
			}
			seen[g.OpenID] = true
			err := s.Pusher.Push(ctx, bot.Push{ID: bot.MonthlyReportPushID(d.Month, g.OpenID), To: g.OpenID,
				Kind: bot.PushTicketAlert, Text: text, Fields: map[string]string{"text": text}})
			if err != nil {
				return err
			}
		}
	}
	return s.scheduleAt(ctx, s.nextAfter(from.AddDate(0, 1, 0), at))
}

// nextAfter is when the row fires next, once the push due in month fired at at:
// next month's, or, when at is already past the push of its own month (the clock
// jumped, every replica was down), that one at once, within the catch-up; months
// further back are not sent.
func (s *Service) nextAfter(month time.Time, at time.Time) time.Time {
	fired := s.firstWorkday(month.Year(), month.Month())
	n := at.In(bot.ChinaTime())
	cur := s.firstWorkday(n.Year(), n.Month())
	if cur.After(fired) && !at.Before(cur) && at.Before(cur.Add(monthlyCatchUp)) {
		return cur
	}
	for next := s.firstWorkday(month.Year(), month.Month()+1); ; next = s.firstWorkday(next.Year(), next.Month()+1) {
		if next.After(at) {
			return next
		}
	}
}

// month is the month span ends in, as at sees it ("2026-11").
func (sp Span) month(at time.Time) string {
	_, to := sp.Range(at)
	return to.Format("2006-01")
}
