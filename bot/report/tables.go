package report

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"minyuan/bot"
)

// Every word of a report is in the catalogue under report.*; the keys are declared
// here so that start-up fails when one is missing.
var labelKeys = func() map[string]bot.MsgKey {
	names := []string{
		"title", "period", "previous", "generated", "district", "unit", "none",
		"sec.summary", "sec.categories", "sec.rates", "sec.overdue", "sec.volunteers", "sec.visits",
		"sec.pairing", "sec.fourone", "sec.hotline",
		"received", "channel.wechat", "channel.hotline", "disputes", "hardships", "jobs",
		"signed", "signed_in_time", "closed", "closed_in_time", "rated", "satisfied", "basic", "unsatisfied",
		"reopened", "escalated", "overdue_count",
		"rate.timely", "rate.solved", "rate.satisfied", "rate.basic",
		"category", "no", "community", "stage", "stage.sign", "stage.resolve", "handler", "unassigned", "due", "days_over",
		"volunteer_hours", "trigger", "visit.created", "visit.done", "visit.done_in_time", "visit.overdue", "visit.coverage",
		"item", "chart.categories", "chart.rates",
	}
	for _, k := range VolunteerCounters {
		names = append(names, k)
	}
	for _, k := range HotlineCounters {
		names = append(names, k)
	}
	for _, t := range Triggers {
		names = append(names, "trigger."+t)
	}
	m := make(map[string]bot.MsgKey, len(names))
	for _, n := range names {
		m[n] = bot.Msg("report." + n)
	}
	return m
}()

// Labels gives a report's words from the catalogue.
type Labels struct{ c *bot.Catalog }

// NewLabels reads the report's words from c.
func NewLabels(c *bot.Catalog) Labels { return Labels{c} }

// L is the label of a declared key.
func (l Labels) L(name string) string { return l.c.T(labelKeys[name], nil) }

// fourOne is the label of a 四个一 item: report.fourone.<item> when the catalogue has
// one, else the item's own name.
func (l Labels) fourOne(item string) string {
	if k := bot.MsgKey("report.fourone." + item); l.c.Has(k) {
		return l.c.T(k, nil)
	}
	return item
}

// Period is the period's heading.
func (l Labels) Period(from, to string) string {
	return l.c.T(labelKeys["period"], map[string]string{"From": from, "To": to})
}

// CellKind says how a cell is shown.
type CellKind int

const (
	KindText CellKind = iota
	KindInt
	KindPct  // a fraction shown as a percentage; Null when there is nothing to divide by
	KindNum1 // one decimal
)

// Value is one figure.
type Value struct {
	N    float64
	Null bool
}

// Cell is one cell: a text, or a figure of this period and (when its column is
// paired) of the previous one.
type Cell struct {
	Text string
	Cur  Value
	Prev Value
}

// Column is a table column; a paired column shows the previous period beside.
type Column struct {
	Label  string
	Kind   CellKind
	Paired bool
}

// Table is one section of the report, rendered alike as text, a sheet and HTML.
type Table struct {
	Key     string // section key: summary, categories, ...
	Title   string
	Columns []Column
	Rows    [][]Cell
}

func txt(s string) Cell { return Cell{Text: s} }
func num(cur, prev int64) Cell {
	return Cell{Cur: Value{N: float64(cur)}, Prev: Value{N: float64(prev)}}
}
func one(cur int64) Cell { return Cell{Cur: Value{N: float64(cur)}} }
func pct(cur, prev *float64) Cell {
	v := func(p *float64) Value {
		if p == nil {
			return Value{Null: true}
		}
		return Value{N: *p}
	}
	return Cell{Cur: v(cur), Prev: v(prev)}
}

// units are the district first, then the communities.
func (r *Report) units() []Unit { return append([]Unit{r.District}, r.Communities...) }

// Tables lays the report out as its sections.
func (r *Report) Tables(l Labels) []Table {
	unitCol := Column{Label: l.L("unit")}
	p := func(key string, k CellKind) Column { return Column{Label: l.L(key), Kind: k, Paired: true} }
	var ts []Table

	sum := Table{Key: "summary", Title: l.L("sec.summary"), Columns: []Column{unitCol,
		p("received", KindInt), p("channel.wechat", KindInt), p("channel.hotline", KindInt),
		p("disputes", KindInt), p("hardships", KindInt), p("jobs", KindInt),
		p("rate.timely", KindPct), p("rate.solved", KindPct), p("rate.satisfied", KindPct), p("rate.basic", KindPct),
		p("reopened", KindInt), {Label: l.L("overdue_count"), Kind: KindInt}}}
	for _, u := range r.units() {
		c, v := u.Current, u.Previous
		sum.Rows = append(sum.Rows, []Cell{txt(u.Name), num(c.Received, v.Received),
			num(c.ByChannel["wechat"], v.ByChannel["wechat"]), num(c.ByChannel["hotline"], v.ByChannel["hotline"]),
			num(c.Disputes, v.Disputes), num(c.Hardships, v.Hardships), num(c.Jobs, v.Jobs),
			pct(c.Rates.TimelySign, v.Rates.TimelySign), pct(c.Rates.Solved, v.Rates.Solved),
			pct(c.Rates.Satisfied, v.Rates.Satisfied), pct(c.Rates.Basic, v.Rates.Basic),
			num(c.Reopened, v.Reopened), one(int64(len(u.Overdue)))})
	}
	ts = append(ts, sum)

	cats := Table{Key: "categories", Title: l.L("sec.categories"), Columns: []Column{{Label: l.L("category")}}}
	for _, u := range r.units() {
		cats.Columns = append(cats.Columns, Column{Label: u.Name, Kind: KindInt, Paired: true})
	}
	for i, cc := range r.District.Current.ByCategory {
		row := []Cell{txt(cc.Name)}
		for _, u := range r.units() {
			row = append(row, num(countAt(u.Current.ByCategory, i, cc.Code), countAt(u.Previous.ByCategory, -1, cc.Code)))
		}
		cats.Rows = append(cats.Rows, row)
	}
	ts = append(ts, cats)

	rates := Table{Key: "rates", Title: l.L("sec.rates"), Columns: []Column{unitCol,
		p("signed", KindInt), p("signed_in_time", KindInt), p("rate.timely", KindPct),
		p("received", KindInt), p("closed", KindInt), p("closed_in_time", KindInt), p("rate.solved", KindPct),
		p("rated", KindInt), p("satisfied", KindInt), p("basic", KindInt), p("unsatisfied", KindInt),
		p("rate.satisfied", KindPct), p("rate.basic", KindPct), p("reopened", KindInt), p("escalated", KindInt)}}
	for _, u := range r.units() {
		c, v := u.Current, u.Previous
		rates.Rows = append(rates.Rows, []Cell{txt(u.Name),
			num(c.Signed, v.Signed), num(c.SignedInTime, v.SignedInTime), pct(c.Rates.TimelySign, v.Rates.TimelySign),
			num(c.Received, v.Received), num(c.Closed, v.Closed), num(c.ClosedInTime, v.ClosedInTime), pct(c.Rates.Solved, v.Rates.Solved),
			num(c.Rated, v.Rated), num(c.Satisfied, v.Satisfied), num(c.Basic, v.Basic), num(c.Unsatisfied, v.Unsatisfied),
			pct(c.Rates.Satisfied, v.Rates.Satisfied), pct(c.Rates.Basic, v.Rates.Basic),
			num(c.Reopened, v.Reopened), num(c.Escalated, v.Escalated)})
	}
	ts = append(ts, rates)

	names := map[string]string{}
	for _, u := range r.Communities {
		names[u.Code] = u.Name
	}
	catNames := map[string]string{}
	for _, cc := range r.District.Current.ByCategory {
		catNames[cc.Code] = cc.Name
	}
	od := Table{Key: "overdue", Title: l.L("sec.overdue"), Columns: []Column{{Label: l.L("no")}, {Label: l.L("community")},
		{Label: l.L("category")}, {Label: l.L("stage")}, {Label: l.L("handler")}, {Label: l.L("due")}, {Label: l.L("days_over"), Kind: KindInt}}}
	for _, o := range r.District.Overdue {
		h := o.Handler
		if h == "" {
			h = l.L("unassigned")
		}
		cn := catNames[o.Category]
		if cn == "" {
			cn = o.Category
		}
		od.Rows = append(od.Rows, []Cell{txt(o.No), txt(names[o.Community]), txt(cn), txt(l.L("stage." + o.Stage)), txt(h),
			txt(o.Due.In(bot.ChinaTime()).Format("2006-01-02 15:04")), one(int64(o.DaysOver))})
	}
	ts = append(ts, od)

	vol := Table{Key: "volunteers", Title: l.L("sec.volunteers"), Columns: []Column{unitCol}}
	for _, k := range VolunteerCounters {
		if k == "volunteer.minutes" {
			vol.Columns = append(vol.Columns, p("volunteer_hours", KindNum1))
			continue
		}
		vol.Columns = append(vol.Columns, p(k, KindInt))
	}
	for _, u := range r.units() {
		row := []Cell{txt(u.Name)}
		for _, k := range VolunteerCounters {
			if k == "volunteer.minutes" {
				row = append(row, Cell{Cur: Value{N: u.Current.VolunteerHours}, Prev: Value{N: u.Previous.VolunteerHours}})
				continue
			}
			row = append(row, num(u.Current.Volunteers[k], u.Previous.Volunteers[k]))
		}
		vol.Rows = append(vol.Rows, row)
	}
	ts = append(ts, vol)

	vis := Table{Key: "visits", Title: l.L("sec.visits"), Columns: []Column{unitCol, {Label: l.L("trigger")},
		p("visit.created", KindInt), p("visit.done", KindInt), p("visit.done_in_time", KindInt),
		p("visit.overdue", KindInt), p("visit.coverage", KindPct)}}
	for _, u := range r.units() {
		for i, v := range u.Current.Visits {
			pv := u.Previous.Visits[i]
			vis.Rows = append(vis.Rows, []Cell{txt(u.Name), txt(l.L("trigger." + v.Trigger)),
				num(v.Created, pv.Created), num(v.Done, pv.Done), num(v.DoneInTime, pv.DoneInTime),
				num(v.Overdue, pv.Overdue), pct(v.Coverage, pv.Coverage)})
		}
	}
	ts = append(ts, vis)

	pair := Table{Key: "pairing", Title: l.L("sec.pairing"), Columns: []Column{unitCol}}
	for _, m := range r.District.Current.PairingMonths {
		pair.Columns = append(pair.Columns, Column{Label: m.Month, Kind: KindInt})
	}
	for _, u := range r.units() {
		row := []Cell{txt(u.Name)}
		for _, m := range u.Current.PairingMonths {
			row = append(row, one(m.Count))
		}
		pair.Rows = append(pair.Rows, row)
	}
	ts = append(ts, pair)

	items := map[string]bool{}
	for _, u := range r.units() {
		for _, it := range append(u.Current.FourOne, u.Previous.FourOne...) {
			items[it.Item] = true
		}
	}
	itemList := make([]string, 0, len(items))
	for it := range items {
		itemList = append(itemList, it)
	}
	sort.Strings(itemList)
	four := Table{Key: "fourone", Title: l.L("sec.fourone"), Columns: []Column{unitCol}}
	for _, it := range itemList {
		four.Columns = append(four.Columns, Column{Label: l.fourOne(it), Kind: KindInt, Paired: true})
	}
	for _, u := range r.units() {
		row := []Cell{txt(u.Name)}
		for _, it := range itemList {
			row = append(row, num(item(u.Current.FourOne, it), item(u.Previous.FourOne, it)))
		}
		four.Rows = append(four.Rows, row)
	}
	ts = append(ts, four)

	hot := Table{Key: "hotline", Title: l.L("sec.hotline"), Columns: []Column{unitCol}}
	for _, k := range HotlineCounters {
		hot.Columns = append(hot.Columns, p(k, KindInt))
	}
	for _, u := range r.units() {
		row := []Cell{txt(u.Name)}
		for _, k := range HotlineCounters {
			row = append(row, num(u.Current.Hotline[k], u.Previous.Hotline[k]))
		}
		hot.Rows = append(hot.Rows, row)
	}
	ts = append(ts, hot)
	return ts
}

// countAt finds a category's count, at index i when it is there (the usual case).
func countAt(cs []CategoryCount, i int, code string) int64 {
	if i >= 0 && i < len(cs) && cs[i].Code == code {
		return cs[i].Count
	}
	for _, c := range cs {
		if c.Code == code {
			return c.Count
		}
	}
	return 0
}

func item(is []ItemCount, name string) int64 {
	for _, i := range is {
		if i.Item == name {
			return i.Count
		}
	}
	return 0
}

// Format shows a value of a kind as text: "12", "66.7%", "3.5", or "—" for a rate
// with nothing to divide by.
func Format(v Value, k CellKind) string {
	switch {
	case v.Null:
		return "—"
	case k == KindPct:
		return strconv.FormatFloat(v.N*100, 'f', 1, 64) + "%"
	case k == KindNum1:
		return strconv.FormatFloat(v.N, 'f', 1, 64)
	default:
		return fmt.Sprintf("%d", int64(v.N))
	}
}

// CellText shows a cell as text, with the previous period in brackets when paired.
func CellText(c Cell, col Column) string {
	if col.Kind == KindText {
		return c.Text
	}
	s := Format(c.Cur, col.Kind)
	if col.Paired {
		s += " (" + Format(c.Prev, col.Kind) + ")"
	}
	return s
}

func generated(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(bot.ChinaTime()).Format("2006-01-02 15:04")
}
