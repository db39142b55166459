package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xuri/excelize/v2"
	"go.yaml.in/yaml/v3"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/outbox"
	"minyuan/configs"
	"minyuan/store"
)

// The admin command line's view of volunteers: `minyuan activity …` and
// `minyuan volunteers hours`.

// NewVolunteers makes the volunteer service over a store: what the app wires into
// chat and the command line uses on its own (its pushes go through the outbox).
func NewVolunteers(cfg configs.Config, st *store.Store, pusher bot.Pusher, cat *bot.Catalog, clock bot.Clock) *bot.VolunteerService {
	if pusher == nil {
		pusher = &outbox.Pusher{Queue: st, Quiet: cfg.Calendar.Quiet, Clock: clock}
	}
	return &bot.VolunteerService{Store: st, Reminders: st, Pusher: pusher, Directory: st, Catalog: cat,
		Communities: Communities(cfg), Config: cfg.Volunteers.Service()}
}

// CLIVolunteers is the volunteer service for one command-line run.
func CLIVolunteers(cfg configs.Config, st *store.Store) (*bot.VolunteerService, error) {
	cat, err := loadCatalog(cfg.Messages)
	if err != nil {
		return nil, err
	}
	return NewVolunteers(cfg, st, nil, cat, bot.SystemClock{}), nil
}

// ParseCLITime reads "YYYY-MM-DD HH:MM" in China time.
func ParseCLITime(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(s), calendar.Location())
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want \"YYYY-MM-DD HH:MM\"", s)
	}
	return t, nil
}

// ActivityDraft is one activity as the command line and YAML imports give it.
type ActivityDraft struct {
	Community   string `yaml:"community" json:"community"`
	Title       string `yaml:"title" json:"title"`
	Start       string `yaml:"start" json:"start"`
	End         string `yaml:"end" json:"end"`
	Place       string `yaml:"place" json:"place"`
	Capacity    int    `yaml:"capacity" json:"capacity"`
	Weekly      int    `yaml:"weekly" json:"weekly,omitempty"`
	Audience    string `yaml:"audience" json:"audience,omitempty"`
	Description string `yaml:"description" json:"description,omitempty"`
	Organiser   string `yaml:"organiser" json:"organiser,omitempty"` // a name
}

// Publish publishes a draft as the system (the command line), keyed so that running
// the same command twice by accident does not publish twice within a week.
func (d ActivityDraft) Publish(ctx context.Context, svc *bot.VolunteerService, now time.Time, key string) ([]*bot.Activity, error) {
	start, err := ParseCLITime(d.Start)
	if err != nil {
		return nil, err
	}
	end, err := ParseCLITime(d.End)
	if err != nil {
		return nil, err
	}
	weeks := max(d.Weekly, 1)
	as, err := svc.Publish(ctx, bot.SystemActor, now, bot.Activity{
		Community: d.Community, Title: d.Title, Place: d.Place, Start: start, End: end, Capacity: d.Capacity,
		Audience: d.Audience, Description: d.Description, OrgName: d.Organiser,
	}, weeks, key)
	if err != nil {
		return nil, CLIError(svc, err)
	}
	return as, nil
}

// DraftKey is the idempotency key of a command-line publication.
func DraftKey(d ActivityDraft) string {
	raw, _ := json.Marshal(d)
	sum := sha256.Sum256(raw)
	return "cli:" + hex.EncodeToString(sum[:12])
}

// cliError turns a refusal into the text a person would read, so the operator gets
// the same clear answer as chat.
func CLIError(svc *bot.VolunteerService, err error) error {
	var be *bot.Error
	if ok := asBotError(err, &be); ok && be.Msg != "" {
		return fmt.Errorf("%s", svc.Catalog.T(be.Msg, be.Data))
	}
	return err
}

// ImportActivities publishes every activity of a YAML file:
//
//	activities:
//	  - {community: QY, title: 周六义务巡逻, start: "2026-12-05 09:00", end: "2026-12-05 11:00",
//	     place: 七一路, capacity: 10, weekly: 4}
//
// Importing the same file twice publishes nothing new.
func ImportActivities(ctx context.Context, svc *bot.VolunteerService, r io.Reader, now time.Time) ([]*bot.Activity, error) {
	var f struct {
		Activities []ActivityDraft `yaml:"activities"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("activities file: %w", err)
	}
	var out []*bot.Activity
	for i, d := range f.Activities {
		as, err := d.Publish(ctx, svc, now, DraftKey(d))
		if err != nil {
			return out, fmt.Errorf("activities[%d] (%s): %w", i, d.Title, err)
		}
		out = append(out, as...)
	}
	return out, nil
}

// ActivityJSON is an activity as `activity show --json` prints it.
type ActivityJSON struct {
	*bot.Activity
	Confirmed   []string `json:"confirmed"`
	Waitlisted  []string `json:"waitlisted"`
	LateCancels []string `json:"late_cancels"`
	Left        int      `json:"places_left"`
}

// ShowActivity prints one activity with its lists in arrival order.
func ShowActivity(ctx context.Context, w io.Writer, st *store.Store, no string, asJSON bool) error {
	a, err := st.Activity(ctx, no)
	if bot.ErrorCode(err) == bot.ENotFound {
		return fmt.Errorf("no activity %s", no)
	}
	if err != nil {
		return err
	}
	r, err := st.Roster(ctx, no)
	if err != nil {
		return err
	}
	if r.LateCancels == nil {
		r.LateCancels = []string{}
	}
	j := ActivityJSON{Activity: a, Confirmed: r.Confirmed, Waitlisted: r.Waitlisted, LateCancels: r.LateCancels,
		Left: max(0, a.Capacity-len(r.Confirmed))}
	if asJSON {
		return json.NewEncoder(w).Encode(j)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "activity\t%s\nstatus\t%s\ncommunity\t%s\ntitle\t%s\nplace\t%s\nstart\t%s\nend\t%s\ncapacity\t%d\n",
		a.No, a.Status, a.Community, a.Title, a.Place, cliWhen(a.Start), cliWhen(a.End), a.Capacity)
	if a.Series != "" {
		fmt.Fprintf(tw, "series\t%s (occurrence %d)\n", a.Series, a.Occurrence)
	}
	fmt.Fprintf(tw, "organiser\t%s %s\n", a.OrgName, paren(a.Organiser))
	for i, id := range r.Confirmed {
		fmt.Fprintf(tw, "confirmed %d\t%s\n", i+1, id)
	}
	for i, id := range r.Waitlisted {
		fmt.Fprintf(tw, "waitlisted %d\t%s\n", i+1, id)
	}
	for _, id := range r.LateCancels {
		fmt.Fprintf(tw, "late cancel\t%s\n", id)
	}
	return tw.Flush()
}

// ListActivities prints activities not yet ended (all of them with all), by start.
func ListActivities(ctx context.Context, w io.Writer, st *store.Store, community string, now time.Time, asJSON bool) error {
	as, err := st.Upcoming(ctx, now, 0)
	if err != nil {
		return err
	}
	out := []ActivityJSON{}
	for _, a := range as {
		if community != "" && a.Community != community {
			continue
		}
		r, err := st.Roster(ctx, a.No)
		if err != nil {
			return err
		}
		out = append(out, ActivityJSON{Activity: a, Confirmed: r.Confirmed, Waitlisted: r.Waitlisted,
			LateCancels: r.LateCancels, Left: max(0, a.Capacity-len(r.Confirmed))})
	}
	if asJSON {
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NO\tCOMMUNITY\tSTART\tEND\tTITLE\tPLACE\tCAPACITY\tCONFIRMED\tWAITLISTED\tSTATUS")
	for _, a := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", a.No, a.Community, cliWhen(a.Start), cliWhen(a.End),
			a.Title, a.Place, a.Capacity, len(a.Confirmed), len(a.Waitlisted), a.Status)
	}
	return tw.Flush()
}

// HoursRow is one volunteer's line of the hours export.
type HoursRow struct {
	No         string `json:"no"`
	Name       string `json:"name"`
	Phone      string `json:"phone"` // masked
	Community  string `json:"community"`
	Activities int    `json:"activities"`
	Minutes    int    `json:"minutes"`
	Points     int    `json:"points"`
}

// ExportHours builds the hours of activities starting in [from, to) — one row per
// volunteer — and, with xlsxPath, writes a workbook with that summary and an
// attendance sheet per activity.
func ExportHours(ctx context.Context, w io.Writer, st *store.Store, cfg configs.Config, from, to time.Time, community, xlsxPath string) error {
	as, err := st.Between(ctx, from, to)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(cfg.Messages)
	if err != nil {
		return err
	}
	rate := cfg.Volunteers.PointsPerHour
	rows := map[string]*HoursRow{}
	vols := map[string]bot.Volunteer{}
	volunteer := func(id string) bot.Volunteer {
		if v, ok := vols[id]; ok {
			return v
		}
		v, _ := st.Volunteer(ctx, id)
		vols[id] = v
		return v
	}
	type sheet struct {
		a    *bot.Activity
		r    bot.Roster
		att  map[string]bot.Attendance
		nums []string
	}
	var sheets []sheet
	for _, a := range as {
		if community != "" && a.Community != community {
			continue
		}
		r, err := st.Roster(ctx, a.No)
		if err != nil {
			return err
		}
		att, err := st.Attendance(ctx, a.No)
		if err != nil {
			return err
		}
		m := map[string]bot.Attendance{}
		for _, x := range att {
			m[x.OpenID] = x
			if !x.Credited {
				continue
			}
			row := rows[x.OpenID]
			if row == nil {
				v := volunteer(x.OpenID)
				row = &HoursRow{No: v.No, Name: v.Name, Phone: bot.MaskPhone(v.Phone), Community: v.Community}
				rows[x.OpenID] = row
			}
			row.Activities++
			row.Minutes += x.Minutes
			row.Points += x.Minutes * rate / 60
		}
		sheets = append(sheets, sheet{a: a, r: r, att: m})
	}
	list := make([]*HoursRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	slices.SortFunc(list, func(x, y *HoursRow) int { return strings.Compare(x.No, y.No) })

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NO\tNAME\tPHONE\tCOMMUNITY\tACTIVITIES\tHOURS\tPOINTS")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\n", r.No, r.Name, r.Phone, r.Community, r.Activities, bot.Hours(r.Minutes), r.Points)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if xlsxPath == "" {
		return nil
	}

	f := excelize.NewFile()
	defer f.Close()
	const summary = "志愿时长"
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return err
	}
	put := func(sheetName string, row int, vals ...any) error {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		return f.SetSheetRow(sheetName, cell, &vals)
	}
	if err := put(summary, 1, "志愿者编号", "姓名", "电话", "社区", "活动次数", "时长(小时)", "积分"); err != nil {
		return err
	}
	for i, r := range list {
		if err := put(summary, i+2, r.No, r.Name, r.Phone, r.Community, r.Activities, bot.Hours(r.Minutes), r.Points); err != nil {
			return err
		}
	}
	for _, s := range sheets {
		name := sheetName(s.a)
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
		_ = put(name, 1, "活动", s.a.No+" "+s.a.Title, "时间", bot.ActivityWhen(cat, s.a), "地点", s.a.Place)
		_ = put(name, 3, "序号", "志愿者编号", "姓名", "电话", "名单", "签到", "签退", "时长(小时)", "记录方式")
		row := 4
		write := func(i int, id, state string) {
			v := volunteer(id)
			x := s.att[id]
			how := ""
			switch {
			case x.Credited && x.By == "code":
				how = "签到码"
			case x.Credited:
				how = "补签"
			case !x.In.IsZero():
				how = "未签退"
			default:
				how = "未到"
			}
			if state == "候补" {
				how = ""
			}
			_ = put(name, row, i, v.No, v.Name, bot.MaskPhone(v.Phone), state, cliClock(x.In), cliClock(x.Out), bot.Hours(x.Minutes), how)
			row++
		}
		for i, id := range s.r.Confirmed {
			write(i+1, id, "正式")
		}
		for i, id := range s.r.Waitlisted {
			write(i+1, id, "候补")
		}
	}
	if err := f.SaveAs(xlsxPath); err != nil {
		return fmt.Errorf("write %s: %w", xlsxPath, err)
	}
	fmt.Fprintf(w, "wrote %s: %d volunteers, %d activities\n", xlsxPath, len(list), len(sheets))
	return nil
}

func cliClock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Location()).Format("01-02 15:04")
}

// sheetName is an activity's sheet: unique by number, within Excel's 31 characters
// and without the characters it refuses.
func sheetName(a *bot.Activity) string {
	t := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '_'
		}
		return r
	}, a.Title)
	n := []rune(a.No + " " + t)
	if len(n) > 31 {
		n = n[:31]
	}
	return string(n)
}

// ReadFile opens a file for an import ("-" is standard input).
func ReadFile(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(path)
}

func asBotError(err error, target **bot.Error) bool { return errors.As(err, target) }
