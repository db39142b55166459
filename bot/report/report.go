// Package report builds Minyuan's period reports (the figures of the community
// service report: requests received, disputes settled, hardships solved, jobs found,
// the three rates, overdue requests, volunteers, visits, 四个一, the hotline) from the
// counters kept at write time, never by reading every ticket, and renders them as
// text, JSON, XLSX and a self-contained HTML page.
package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"minyuan/bot"
)

// Counter names written by the ticket store (bot.StatDeltas) and by the volunteer,
// visit and hotline flows. A flow not yet built leaves its counters at zero.
const (
	cReceived       = "received"
	cSigned         = "signed"
	cSignedInTime   = "signed_in_time"
	cResponded      = "responded"
	cClosed         = "closed"
	cClosedInTime   = "closed_in_time"
	cRated          = "rated"
	cReopened       = "reopened"
	cEscalated      = "escalated"
	cDisputes       = "disputes"
	cHardships      = "hardships"
	cJobs           = "jobs"
	prefixCategory  = "category:"
	prefixSource    = "source:"
	prefixRating    = "rating:"
	prefixFourOne   = "fourone:"
	visitCreated    = "visit.created:"
	visitDone       = "visit.done:"
	visitDoneInTime = "visit.done_in_time:"
	visitOverdue    = "visit.overdue:"
)

// Channels are where requests come in, in report order.
var Channels = []string{"wechat", "hotline"}

// Triggers of visit tasks, in report order: 三必访 (transfer_in, hardship, illness)
// and 五包 (pairing).
var Triggers = []string{"transfer_in", "hardship", "illness", "pairing"}

// VolunteerCounters and HotlineCounters are the flows' counters, in report order.
var (
	VolunteerCounters = []string{"volunteer.activities", "volunteer.signups", "volunteer.checkins",
		"volunteer.late_cancels", "volunteer.minutes", "volunteer.points", "volunteer.points_redeemed"}
	HotlineCounters = []string{"call.received", "call.missed", "callback.created", "callback.done", "call.confidential"}
)

// Source is what the report reads: counter hashes and the open tickets' queues.
type Source interface {
	StatsMany(ctx context.Context, buckets []bot.StatsBucket) ([]map[string]int64, error)
	Queue(ctx context.Context, community string, limit int) ([]*bot.Ticket, error)
}

// Options say what to report on.
type Options struct {
	From, To     time.Time // days, inclusive, China time
	Communities  []bot.Community
	Categories   []bot.Category
	Now          time.Time
	DistrictName string
	// MaxOverdue bounds the open tickets read per community for the overdue list.
	MaxOverdue int
}

// Report is one report: the district and each community, this period and the
// previous one of the same length. Its JSON field names are documented in the README
// and stay stable.
type Report struct {
	From        string    `json:"from"`
	To          string    `json:"to"`
	PrevFrom    string    `json:"previous_from"`
	PrevTo      string    `json:"previous_to"`
	Generated   time.Time `json:"generated"`
	District    Unit      `json:"district"`
	Communities []Unit    `json:"communities"`
}

// Unit is the district or one community.
type Unit struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Current  Figures   `json:"current"`
	Previous Figures   `json:"previous"`
	Overdue  []Overdue `json:"overdue"`
}

// Figures are one unit's figures over one period.
type Figures struct {
	Received   int64            `json:"received"`
	ByChannel  map[string]int64 `json:"by_channel"`
	ByCategory []CategoryCount  `json:"by_category"`
	Disputes   int64            `json:"disputes_settled"`
	Hardships  int64            `json:"hardships_solved"`
	Jobs       int64            `json:"jobs_found"`

	Signed       int64 `json:"signed"`
	SignedInTime int64 `json:"signed_in_time"`
	Responded    int64 `json:"responded"`
	Closed       int64 `json:"closed"`
	ClosedInTime int64 `json:"closed_in_time"`
	Rated        int64 `json:"rated"`
	Satisfied    int64 `json:"satisfied"`
	Basic        int64 `json:"basic_satisfied"`
	Unsatisfied  int64 `json:"unsatisfied"`
	Reopened     int64 `json:"reopened"`
	Escalated    int64 `json:"escalated"`
	Rates        Rates `json:"rates"`

	Volunteers map[string]int64 `json:"volunteers"`
	// VolunteerHours is volunteer.minutes in hours, one decimal.
	VolunteerHours float64          `json:"volunteer_hours"`
	Visits         []VisitFigures   `json:"visits"`
	PairingMonths  []MonthCount     `json:"pairing_visits_by_month"`
	FourOne        []ItemCount      `json:"four_one"`
	Hotline        map[string]int64 `json:"hotline"`
}

// Rates are fractions between 0 and 1, or null when there is nothing to divide by.
type Rates struct {
	// TimelySign (及时签收率): signed within the sign deadline / signed in the period.
	TimelySign *float64 `json:"timely_sign"`
	// Solved (办结率): closed / received in the period.
	Solved *float64 `json:"solved"`
	// Satisfied (满意率): 满意 / rated; Basic: 基本满意 / rated, shown apart.
	Satisfied *float64 `json:"satisfied"`
	Basic     *float64 `json:"basic_satisfied"`
}

// CategoryCount is requests received in one category.
type CategoryCount struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// VisitFigures are the visit tasks of one trigger.
type VisitFigures struct {
	Trigger    string   `json:"trigger"`
	Created    int64    `json:"created"`
	Done       int64    `json:"done"`
	DoneInTime int64    `json:"done_in_time"`
	Overdue    int64    `json:"overdue"`
	Coverage   *float64 `json:"coverage"` // done / created
}

// MonthCount is a figure of one month ("2026-11").
type MonthCount struct {
	Month string `json:"month"`
	Count int64  `json:"count"`
}

// ItemCount is a counter of a named item (四个一: good deeds, labour days, ...).
type ItemCount struct {
	Item  string `json:"item"`
	Count int64  `json:"count"`
}

// Overdue is an open request past its deadline at the end of the period.
type Overdue struct {
	No        string    `json:"no"`
	Community string    `json:"community"`
	Category  string    `json:"category"`
	Stage     string    `json:"stage"` // "sign" (nobody claimed it) or "resolve"
	Handler   string    `json:"handler"`
	Due       time.Time `json:"due"`
	DaysOver  int       `json:"days_over"`
}

// ParseDate reads a YYYY-MM-DD date in China time.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, bot.ChinaTime())
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// Previous is the period of the same length just before [from, to]: the same number
// of whole months when the period is whole months, else the same number of days.
func Previous(from, to time.Time) (time.Time, time.Time) {
	pto := from.AddDate(0, 0, -1)
	if from.Day() == 1 && to.AddDate(0, 0, 1).Day() == 1 {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		return from.AddDate(0, -months, 0), pto
	}
	days := int(math.Round(to.Sub(from).Hours()/24)) + 1
	return from.AddDate(0, 0, -days), pto
}

// periods splits [from, to] into whole months and the loose days at its ends.
func periods(from, to time.Time) []string {
	var out []string
	for d := from; !d.After(to); {
		first := d.Day() == 1
		next := time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, d.Location())
		if first && !next.AddDate(0, 0, -1).After(to) {
			out = append(out, d.Format("2006-01"))
			d = next
			continue
		}
		out = append(out, d.Format(time.DateOnly))
		d = d.AddDate(0, 0, 1)
	}
	return out
}

// Build reads the counters of every community for the period and the previous one
// (one round trip), the open queues for the overdue list, and adds up the district.
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	if o.To.Before(o.From) {
		return nil, fmt.Errorf("report: --to %s is before --from %s", o.To.Format(time.DateOnly), o.From.Format(time.DateOnly))
	}
	if o.MaxOverdue <= 0 {
		o.MaxOverdue = 10000
	}
	pfrom, pto := Previous(o.From, o.To)
	cur, prev := periods(o.From, o.To), periods(pfrom, pto)
	var buckets []bot.StatsBucket
	for _, c := range o.Communities {
		for _, p := range cur {
			buckets = append(buckets, bot.StatsBucket{Community: c.Code, Period: p})
		}
		for _, p := range prev {
			buckets = append(buckets, bot.StatsBucket{Community: c.Code, Period: p})
		}
	}
	maps, err := src.StatsMany(ctx, buckets)
	if err != nil {
		return nil, err
	}
	r := &Report{
		From: o.From.Format(time.DateOnly), To: o.To.Format(time.DateOnly),
		PrevFrom: pfrom.Format(time.DateOnly), PrevTo: pto.Format(time.DateOnly),
		Generated: o.Now,
	}
	// The overdue list is as of the end of the period, or now if that is sooner.
	asOf := o.To.AddDate(0, 0, 1)
	if !o.Now.IsZero() && o.Now.Before(asOf) {
		asOf = o.Now
	}
	districtCur, districtPrev := []periodCounts{}, []periodCounts{}
	r.District = Unit{Code: "district", Name: o.DistrictName}
	i := 0
	for _, c := range o.Communities {
		pcCur := make([]periodCounts, len(cur))
		for j, p := range cur {
			pcCur[j] = periodCounts{p, maps[i]}
			i++
		}
		pcPrev := make([]periodCounts, len(prev))
		for j, p := range prev {
			pcPrev[j] = periodCounts{p, maps[i]}
			i++
		}
		districtCur = append(districtCur, pcCur...)
		districtPrev = append(districtPrev, pcPrev...)
		u := Unit{Code: c.Code, Name: c.Name,
			Current: figures(pcCur, o.Categories), Previous: figures(pcPrev, o.Categories)}
		u.Overdue, err = overdue(ctx, src, c.Code, asOf, o.MaxOverdue)
		if err != nil {
			return nil, err
		}
		r.District.Overdue = append(r.District.Overdue, u.Overdue...)
		r.Communities = append(r.Communities, u)
	}
	r.District.Current = figures(districtCur, o.Categories)
	r.District.Previous = figures(districtPrev, o.Categories)
	sortOverdue(r.District.Overdue)
	if r.District.Overdue == nil {
		r.District.Overdue = []Overdue{}
	}
	return r, nil
}

type periodCounts struct {
	period string
	counts map[string]int64
}

// figures adds up the counters of several hashes into the report's figures.
func figures(pcs []periodCounts, cats []bot.Category) Figures {
	sum := map[string]int64{}
	pairing := map[string]int64{}
	for _, pc := range pcs {
		for k, v := range pc.counts {
			sum[k] += v
		}
		pairing[pc.period[:7]] += pc.counts[visitDone+"pairing"]
	}
	f := Figures{
		Received:     sum[cReceived],
		ByChannel:    map[string]int64{},
		Disputes:     sum[cDisputes],
		Hardships:    sum[cHardships],
		Jobs:         sum[cJobs],
		Signed:       sum[cSigned],
		SignedInTime: sum[cSignedInTime],
		Responded:    sum[cResponded],
		Closed:       sum[cClosed],
		ClosedInTime: sum[cClosedInTime],
		Rated:        sum[cRated],
		Satisfied:    sum[prefixRating+string(bot.RatingSatisfied)],
		Basic:        sum[prefixRating+string(bot.RatingBasic)],
		Unsatisfied:  sum[prefixRating+string(bot.RatingUnsatisfied)],
		Reopened:     sum[cReopened],
		Escalated:    sum[cEscalated],
		Volunteers:   map[string]int64{},
		Hotline:      map[string]int64{},
	}
	for _, ch := range Channels {
		f.ByChannel[ch] = sum[prefixSource+ch]
	}
	known := map[string]bool{}
	for _, c := range cats {
		known[c.Code] = true
		f.ByCategory = append(f.ByCategory, CategoryCount{Code: c.Code, Name: c.Name, Count: sum[prefixCategory+c.Code]})
	}
	// A category since removed from the config still counts.
	var extra []string
	for k := range sum {
		if code, ok := strings.CutPrefix(k, prefixCategory); ok && !known[code] {
			extra = append(extra, code)
		}
	}
	sort.Strings(extra)
	for _, code := range extra {
		f.ByCategory = append(f.ByCategory, CategoryCount{Code: code, Name: code, Count: sum[prefixCategory+code]})
	}
	f.Rates = Rates{
		TimelySign: ratio(f.SignedInTime, f.Signed),
		Solved:     ratio(f.Closed, f.Received),
		Satisfied:  ratio(f.Satisfied, f.Rated),
		Basic:      ratio(f.Basic, f.Rated),
	}
	for _, k := range VolunteerCounters {
		f.Volunteers[k] = sum[k]
	}
	f.VolunteerHours = math.Round(float64(sum["volunteer.minutes"])/6) / 10
	for _, k := range HotlineCounters {
		f.Hotline[k] = sum[k]
	}
	for _, tr := range Triggers {
		v := VisitFigures{Trigger: tr, Created: sum[visitCreated+tr], Done: sum[visitDone+tr],
			DoneInTime: sum[visitDoneInTime+tr], Overdue: sum[visitOverdue+tr]}
		v.Coverage = ratio(v.Done, v.Created)
		f.Visits = append(f.Visits, v)
	}
	months := make([]string, 0, len(pairing))
	for m := range pairing {
		months = append(months, m)
	}
	sort.Strings(months)
	for _, m := range months {
		f.PairingMonths = append(f.PairingMonths, MonthCount{Month: m, Count: pairing[m]})
	}
	f.FourOne = []ItemCount{}
	for k, v := range sum {
		if item, ok := strings.CutPrefix(k, prefixFourOne); ok {
			f.FourOne = append(f.FourOne, ItemCount{Item: item, Count: v})
		}
	}
	sort.Slice(f.FourOne, func(i, j int) bool { return f.FourOne[i].Item < f.FourOne[j].Item })
	if f.ByCategory == nil {
		f.ByCategory = []CategoryCount{}
	}
	if f.PairingMonths == nil {
		f.PairingMonths = []MonthCount{}
	}
	return f
}

func ratio(n, d int64) *float64 {
	if d <= 0 {
		return nil
	}
	r := math.Round(float64(n)/float64(d)*10000) / 10000
	return &r
}

// overdue lists a community's open tickets whose deadline passed before asOf: the
// sign deadline while nobody has claimed it, else the resolve deadline. Only open
// tickets are read (the queue), never the closed ones.
func overdue(ctx context.Context, src Source, community string, asOf time.Time, limit int) ([]Overdue, error) {
	ts, err := src.Queue(ctx, community, limit)
	if err != nil {
		return nil, err
	}
	out := []Overdue{}
	for _, t := range ts {
		if !t.Open() || !t.Created.Before(asOf) {
			continue
		}
		var stage string
		var due time.Time
		switch {
		case !t.DueBy.IsZero() && t.DueBy.Before(asOf):
			stage, due = "resolve", t.DueBy
		case t.Claimed.IsZero() && !t.SignBy.IsZero() && t.SignBy.Before(asOf):
			stage, due = "sign", t.SignBy
		default:
			continue
		}
		out = append(out, Overdue{No: t.No, Community: t.Community, Category: t.Category, Stage: stage,
			Handler: t.HandlerName, Due: due, DaysOver: int(math.Ceil(asOf.Sub(due).Hours() / 24))})
	}
	sortOverdue(out)
	return out, nil
}

func sortOverdue(os []Overdue) {
	sort.SliceStable(os, func(i, j int) bool {
		if os[i].DaysOver != os[j].DaysOver {
			return os[i].DaysOver > os[j].DaysOver
		}
		return os[i].No < os[j].No
	})
}
