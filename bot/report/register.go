package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"minyuan/bot"
)

// The unified register (统一接待登记本): one row per request, hotline calls included,
// with the columns of a paper reception register.

var registerCols = []string{"no", "date", "channel", "resident", "phone", "community", "category", "summary",
	"handler", "actions", "result", "deadline_met", "rating"}

// registerEvents are the timeline kinds the register's 办理过程 shows, each by its
// catalogue word; relay messages are counted, warnings and ratings have columns or
// stay out.
var registerEvents = []bot.EventKind{bot.EventClaimed, bot.EventAssigned, bot.EventReply, bot.EventRelayStarted,
	bot.EventRelayEnded, bot.EventNote, bot.EventAdded, bot.EventReassigned, bot.EventEscalated, bot.EventClosed,
	bot.EventReopened}

var registerKeys = func() map[string]bot.MsgKey {
	m := map[string]bot.MsgKey{}
	for _, c := range registerCols {
		m["col."+c] = bot.Msg("register.col." + c)
	}
	for _, k := range registerEvents {
		m["event."+string(k)] = bot.Msg("register.event." + string(k))
	}
	for _, n := range []string{"sheet", "channel.wechat", "channel.hotline", "met.yes", "met.no", "met.open",
		"met.overdue", "rating.satisfied", "rating.basic", "rating.unsatisfied", "rating.none", "relay_messages"} {
		m[n] = bot.Msg("register." + n)
	}
	return m
}()

// Register writes the register as an XLSX file row by row (excelize's stream
// writer: memory stays bounded whatever the number of requests).
type Register struct {
	f     *excelize.File
	sw    *excelize.StreamWriter
	c     *bot.Catalog
	cats  map[string]string
	comms map[string]string
	now   time.Time
	from  time.Time
	to    time.Time // exclusive
	rows  int
	wrap  int
}

// NewRegister starts a register of the requests created from from to to (days,
// inclusive).
func NewRegister(c *bot.Catalog, from, to time.Time, cats []bot.Category, comms []bot.Community, now time.Time) (*Register, error) {
	r := &Register{f: excelize.NewFile(), c: c, cats: map[string]string{}, comms: map[string]string{},
		now: now, from: from, to: to.AddDate(0, 0, 1)}
	for _, x := range cats {
		r.cats[x.Code] = x.Name
	}
	for _, x := range comms {
		r.comms[x.Code] = x.Name
	}
	sheet := r.t("sheet")
	if err := r.f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	var err error
	if r.sw, err = r.f.NewStreamWriter(sheet); err != nil {
		return nil, err
	}
	for i, w := range []float64{8, 17, 8, 10, 14, 12, 10, 40, 10, 50, 30, 10, 10} {
		if err := r.sw.SetColWidth(i+1, i+1, w); err != nil {
			return nil, err
		}
	}
	if r.wrap, err = r.f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return nil, err
	}
	bold, err := r.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	head := make([]any, len(registerCols))
	for i, c := range registerCols {
		head[i] = excelize.Cell{Value: r.t("col." + c), StyleID: bold}
	}
	if err := r.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	return r, r.sw.SetRow("A1", head)
}

func (r *Register) t(key string) string { return r.c.T(registerKeys[key], nil) }

// Add writes t's row when it was created in the period.
func (r *Register) Add(t *bot.Ticket, evs []bot.Event) error {
	if t.Created.Before(r.from) || !t.Created.Before(r.to) {
		return nil
	}
	loc := bot.ChinaTime()
	channel := r.t("channel.wechat")
	if t.Source == "hotline" {
		channel = r.t("channel.hotline")
	}
	var met string
	switch {
	case !t.Open() && !t.Closed.After(t.DueBy):
		met = r.t("met.yes")
	case !t.Open():
		met = r.t("met.no")
	case r.now.After(t.DueBy):
		met = r.t("met.overdue")
	default:
		met = r.t("met.open")
	}
	rating := ""
	switch {
	case t.Rating != "":
		rating = r.t("rating." + string(t.Rating))
	case !t.Open():
		rating = r.t("rating.none")
	}
	cat := r.cats[t.Category]
	if cat == "" {
		cat = t.Category
	}
	com := r.comms[t.Community]
	if com == "" {
		com = t.Community
	}
	r.rows++
	cell, _ := excelize.CoordinatesToCellName(1, r.rows+1)
	return r.sw.SetRow(cell, []any{
		t.No, t.Created.In(loc).Format("2006-01-02 15:04"), channel, t.Name, bot.MaskPhone(t.Phone), com, cat,
		excerpt(t.Description, 80), t.HandlerName,
		excelize.Cell{Value: r.actions(evs), StyleID: r.wrap}, excelize.Cell{Value: t.Result, StyleID: r.wrap},
		met, rating,
	})
}

// actions is the 办理过程: who did what when, one line each; private notes show as
// notes without their text, relay messages as a count.
func (r *Register) actions(evs []bot.Event) string {
	var b strings.Builder
	relay := 0
	for _, ev := range evs {
		if ev.Kind == bot.EventRelay {
			relay++
			continue
		}
		key, ok := registerKeys["event."+string(ev.Kind)]
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ev.At.In(bot.ChinaTime()).Format("01-02 15:04"))
		if ev.Name != "" {
			b.WriteString(" " + ev.Name)
		}
		b.WriteString(" " + r.c.T(key, nil))
		if ev.Text != "" && !ev.Private && ev.Kind != bot.EventAssigned {
			b.WriteString("：" + excerpt(ev.Text, 40))
		}
	}
	if relay > 0 {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.c.T(registerKeys["relay_messages"], map[string]int{"N": relay}))
	}
	return b.String()
}

// Rows is the number of rows written so far.
func (r *Register) Rows() int { return r.rows }

// Finish completes the workbook and writes it to w.
func (r *Register) Finish(w io.Writer) error {
	defer r.f.Close()
	if err := r.sw.Flush(); err != nil {
		return err
	}
	if r.rows > 0 {
		last, _ := excelize.CoordinatesToCellName(len(registerCols), r.rows+1)
		if err := r.f.AutoFilter(r.t("sheet"), "A1:"+last, nil); err != nil {
			return fmt.Errorf("register: filter: %w", err)
		}
	}
	_, err := r.f.WriteTo(w)
	return err
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
