package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// 四个一: each party member, each year, does one good deed, one day of voluntary
// labour, brings one piece of information to the branch and makes one proposal.
// Instructors (处级干部) have their own four, kept under the same item codes.

// FourOneProgress is one person's year.
type FourOneProgress struct {
	OpenID     string
	Name       string
	Community  string
	Instructor bool
	Entries    map[FourOneItem][]FourOneEntry
	// VolunteerMinutes are the year's volunteer hours, which count as the labour item.
	VolunteerMinutes int
}

// Has reports whether the item is done this year.
func (p *FourOneProgress) Has(item FourOneItem) bool {
	if len(p.Entries[item]) > 0 {
		return true
	}
	return item == FourLabour && p.VolunteerMinutes > 0
}

// Missing lists the items not yet done, in order.
func (p *FourOneProgress) Missing() []FourOneItem {
	var out []FourOneItem
	for _, it := range FourOneItems {
		if !p.Has(it) {
			out = append(out, it)
		}
	}
	return out
}

// fourOneRole is the role the actor reports 四个一 as, and in which community:
// a party member of a branch, else an instructor.
func fourOneRole(a Actor) (community string, instructor bool, ok bool) {
	for _, g := range a.Grants {
		if g.Role == RoleParty {
			return g.Community, false, true
		}
	}
	for _, g := range a.Grants {
		if g.Role == RoleInstructor {
			return g.Community, true, true
		}
	}
	return "", false, false
}

// MsgFourOneNotMember answers someone who is neither party member nor instructor.
var MsgFourOneNotMember = Msg("fourone.not_member")

// ReportFourOne records one item the actor did (四个一 好事 <text>, …). An 信息 or 建议
// also becomes a ticket of its category, so that it is handled; the entry notes the
// ticket. key identifies the report (the Update), so a retry records nothing more.
func (s *VisitService) ReportFourOne(ctx context.Context, actor Actor, at time.Time, key string, item FourOneItem, text string) (FourOneEntry, bool, error) {
	community, _, ok := fourOneRole(actor)
	if !ok {
		return FourOneEntry{}, false, UserError(EForbidden, MsgFourOneNotMember, nil)
	}
	if !slices.Contains(FourOneItems, item) {
		return FourOneEntry{}, false, UserError(EInvalid, MsgFourOneBadItem, nil)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return FourOneEntry{}, false, UserError(EInvalid, MsgFourOneBadItem, nil)
	}
	e := FourOneEntry{ID: key, OpenID: actor.ID, Name: actor.Name, Item: item, Text: text, At: at}
	if cat := s.Config.FourOneCategories[item]; cat != "" && s.Tickets != nil {
		no, err := s.Tickets.FileFourOne(ctx, actor, at, community, cat, text, "fourone:"+key)
		if err != nil {
			return FourOneEntry{}, false, err
		}
		e.Ticket = no
	}
	added, err := s.Visits.AddFourOne(ctx, community, e)
	return e, added, err
}

// FourOneOf is one person's progress in a year.
func (s *VisitService) FourOneOf(ctx context.Context, g Grant, at time.Time) (*FourOneProgress, error) {
	year := Year(at)
	es, err := s.Visits.FourOne(ctx, g.OpenID, year)
	if err != nil {
		return nil, err
	}
	p := &FourOneProgress{OpenID: g.OpenID, Name: g.Name, Community: g.Community, Instructor: g.Role == RoleInstructor,
		Entries: map[FourOneItem][]FourOneEntry{}}
	for _, e := range es {
		p.Entries[e.Item] = append(p.Entries[e.Item], e)
	}
	if s.Hours != nil {
		t, err := s.Hours.Totals(ctx, g.OpenID)
		if err != nil {
			return nil, err
		}
		p.VolunteerMinutes = t.YearMinutes[year]
	}
	return p, nil
}

// MyFourOne is the actor's own year (我的四个一).
func (s *VisitService) MyFourOne(ctx context.Context, actor Actor, at time.Time) (*FourOneProgress, error) {
	community, instructor, ok := fourOneRole(actor)
	if !ok {
		return nil, UserError(EForbidden, MsgFourOneNotMember, nil)
	}
	role := RoleParty
	if instructor {
		role = RoleInstructor
	}
	return s.FourOneOf(ctx, Grant{OpenID: actor.ID, Name: actor.Name, Community: community, Role: role}, at)
}

// BranchFourOne is the branch's table for its secretary: members, then instructors.
func (s *VisitService) BranchFourOne(ctx context.Context, actor Actor, at time.Time, community string) ([]*FourOneProgress, error) {
	if !may(actor, RoleSecretary, community) {
		return nil, UserError(EForbidden, MsgVisitNoBranch, nil)
	}
	people, err := s.fourOnePeople(ctx, community)
	if err != nil {
		return nil, err
	}
	out := make([]*FourOneProgress, 0, len(people))
	for _, g := range people {
		p, err := s.FourOneOf(ctx, g, at)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// fourOnePeople are the party members and instructors of a community ("" = all).
func (s *VisitService) fourOnePeople(ctx context.Context, community string) ([]Grant, error) {
	var out []Grant
	for _, role := range []Role{RoleParty, RoleInstructor} {
		gs, err := s.Holders.Holders(ctx, role, community)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if g.Role == role {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

// novemberAt is when the year's missing-items reminder goes out: the configured day
// of November (default the 1st), or the next working day, at the reminder hour.
func (s *VisitService) novemberAt(year int) time.Time {
	day := s.Config.NovemberDay
	if day <= 0 {
		day = 1
	}
	d := time.Date(year, time.November, day, 0, 0, 0, 0, chinaTime)
	for i := 0; i < 31 && !s.Calendar.IsWorkday(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return s.remindAt(d)
}

type dueNovember struct {
	Year int `json:"year"`
}

// ScheduleNovember puts the next November reminder in the due set (at start-up;
// scheduling it again only moves it to the same time).
func (s *VisitService) ScheduleNovember(ctx context.Context, now time.Time) error {
	year := Year(now)
	if !now.Before(s.novemberAt(year)) {
		year++
	}
	payload, _ := json.Marshal(dueNovember{Year: year})
	return s.Reminders.Schedule(ctx, Reminder{ID: FourOneReminderID, Kind: ReminderFourOneNov, Due: s.novemberAt(year), Payload: payload})
}

// FireNovember reminds every member and instructor still missing items of the year,
// and nobody else; then schedules next year's.
func (s *VisitService) FireNovember(ctx context.Context, at time.Time, r Reminder) error {
	var d dueNovember
	if err := json.Unmarshal(r.Payload, &d); err != nil || d.Year == 0 {
		d.Year = Year(at)
	}
	people, err := s.fourOnePeople(ctx, "")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, g := range people {
		if seen[g.OpenID] {
			continue
		}
		seen[g.OpenID] = true
		p, err := s.FourOneOf(ctx, g, at)
		if err != nil {
			return err
		}
		missing := p.Missing()
		if len(missing) == 0 {
			continue
		}
		labels := make([]string, len(missing))
		for i, it := range missing {
			labels[i] = s.FourOneLabel(it, p.Instructor)
		}
		err = s.Pusher.Push(ctx, Push{
			ID: FourOnePushID(d.Year, g.OpenID), To: g.OpenID, Kind: PushVisitTask,
			Text:   s.Catalog.T(msgFourOneNovember, map[string]any{"Name": g.Name, "Missing": strings.Join(labels, "、"), "Year": d.Year}),
			Fields: map[string]string{"visit_kind": s.Catalog.T(msgFourOneTitle, nil), "deadline": When(s.Catalog, time.Date(d.Year, 12, 31, 17, 30, 0, 0, chinaTime))},
			Ref:    "fourone", Community: g.Community,
		})
		if err != nil {
			return err
		}
	}
	payload, _ := json.Marshal(dueNovember{Year: d.Year + 1})
	return s.Reminders.Schedule(ctx, Reminder{ID: FourOneReminderID, Kind: ReminderFourOneNov, Due: s.novemberAt(d.Year + 1), Payload: payload})
}

var msgFourOneTitle = Msg("fourone.title")

// FourOneLabel is the catalogue's name of an item, for members or instructors.
func (s *VisitService) FourOneLabel(it FourOneItem, instructor bool) string {
	who := "member"
	if instructor {
		who = "instructor"
	}
	return s.Catalog.T(MsgKey("fourone.item."+who+"."+string(it)), nil)
}
