package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Push kinds of the volunteer flow; each maps to a template in the config for when
// the 48-hour window is closed.
const (
	PushVolunteerReminder = "volunteer_reminder" // the evening before, two hours before
	PushVolunteerUpdate   = "volunteer_update"   // promoted, moved, cancelled, missing check-outs
)

// ActivityReminderKind is the due-set kind of every activity reminder.
const ActivityReminderKind = "volunteer.remind"

// Reminder slots of an activity.
const (
	SlotEvening = "eve"     // the evening before (18:00 by default)
	SlotSoon    = "soon"    // two hours before
	SlotMissing = "missing" // the next morning: check-outs still missing, to the organiser
)

// Catalogue keys of the volunteer flow that the rules and the store answer with.
var (
	MsgVolNotFound      = Msg("vol.not_found")
	MsgVolCancelledAct  = Msg("vol.cancelled_activity")
	MsgVolStarted       = Msg("vol.started")
	MsgVolAlready       = Msg("vol.already")
	MsgVolOverlap       = Msg("vol.overlap")
	MsgVolNotSigned     = Msg("vol.not_signed")
	MsgVolCheckNotOn    = Msg("vol.check_not_signed")
	MsgVolCheckedIn     = Msg("vol.checked_in_already")
	MsgVolCheckNoIn     = Msg("vol.check_no_in")
	MsgVolCheckedOut    = Msg("vol.checked_out_already")
	MsgVolPointsShort   = Msg("vol.points_short")
	MsgVolNoVolunteer   = Msg("vol.no_volunteer")
	MsgVolNeedProfile   = Msg("vol.need_profile")
	MsgVolNotEligible   = Msg("vol.not_eligible")
	MsgVolWhoParty      = Msg("vol.who_party") // who may sign up for a party-only activity
	MsgVolStaffOnly     = Msg("vol.staff_only")
	MsgVolBadCode       = Msg("vol.bad_code")
	MsgVolCodeEarly     = Msg("vol.code_early")
	MsgVolCodeExpired   = Msg("vol.code_expired")
	MsgVolBadDraft      = Msg("vol.bad_draft")
	MsgVolEnded         = Msg("vol.ended")
	MsgVolNoPerson      = Msg("vol.no_person")
	MsgVolBadHours      = Msg("vol.bad_hours")
	MsgVolBadPoints     = Msg("vol.bad_points")
	MsgVolPushPromoted  = Msg("vol.push.promoted")
	MsgVolPushEvening   = Msg("vol.push.evening")
	MsgVolPushSoon      = Msg("vol.push.soon")
	MsgVolPushChanged   = Msg("vol.push.changed")
	MsgVolPushCancelled = Msg("vol.push.cancelled")
	MsgVolPushMissing   = Msg("vol.push.missing")
	MsgVolPushTplFirst  = Msg("vol.push.template_first")
)

// VolunteerConfig are the volunteer flow's settings (configs: volunteers:).
type VolunteerConfig struct {
	// EveningAt is the time of day of the reminder the day before (18:00).
	EveningAt time.Duration
	// SoonBefore is how long before the start the second reminder goes (2h).
	SoonBefore time.Duration
	// LateCancel: cancelling within it before the start is allowed but counted.
	LateCancel time.Duration
	// PointsPerHour is how many 爱心积分 an hour of service earns.
	PointsPerHour int
	// CodeOpens is how long before the start check-in codes work (30m).
	CodeOpens time.Duration
	// CheckOutGrace is how long after the end a check-out is still taken: people
	// check out as the activity ends, a minute or two after it.
	CheckOutGrace time.Duration
	// MissingAt is the time of day, the morning after, of the missing check-outs list.
	MissingAt time.Duration
	// Skills volunteers may list (and activities may ask for).
	Skills []string
}

// VolunteerService holds the rules of volunteering: who may publish, sign up, check
// in and redeem, and what each step sets in motion (reminders, pushes, counters).
// Every method takes who acted and when; refusals are *Error with catalogue text.
type VolunteerService struct {
	Store     Activities
	Reminders Reminders
	Pusher    Pusher
	// Directory finds a community's staff for activities published without a
	// person as organiser (the command line).
	Directory interface {
		Holders(ctx context.Context, role Role, community string) ([]Grant, error)
	}
	Catalog     *Catalog
	Communities []Community
	Config      VolunteerConfig
}

// ActivityWhen formats an activity's time for people, the catalogue's way:
// "11月29日（周六）上午9:00–11:00".
func ActivityWhen(c *Catalog, a *Activity) string {
	s, e := a.Start.In(chinaTime), a.End.In(chinaTime)
	if s.YearDay() != e.YearDay() {
		return When(c, s) + " – " + When(c, e)
	}
	return When(c, s) + "–" + ClockTime(c, e)
}

// ActivityData is what the catalogue's texts about an activity can use.
func ActivityData(c *Catalog, a *Activity) map[string]any {
	return map[string]any{"No": a.No, "Title": a.Title, "Place": a.Place, "When": ActivityWhen(c, a),
		"Capacity": a.Capacity, "Description": a.Description, "Hours": Hours(int(a.Length().Minutes()))}
}

// Hours formats minutes as hours for people: "2", "1.5".
func Hours(minutes int) string {
	return strconv.FormatFloat(math.Round(float64(minutes)/6)/10, 'f', -1, 64)
}

func (s *VolunteerService) staffOf(actor Actor, community string) error {
	if !actor.CanIn(RoleStaff, community) {
		return UserError(EForbidden, MsgVolStaffOnly, nil)
	}
	return nil
}

// Publish creates an activity, and with weeks > 1 as many weekly occurrences, each
// with its own sign-ups and reminders. key makes a retried publication harmless.
func (s *VolunteerService) Publish(ctx context.Context, actor Actor, at time.Time, d Activity, weeks int, key string) ([]*Activity, error) {
	if err := s.staffOf(actor, d.Community); err != nil {
		return nil, err
	}
	d.Title, d.Place = strings.TrimSpace(d.Title), strings.TrimSpace(d.Place)
	bad := func(why string) error {
		return UserError(EInvalid, MsgVolBadDraft, map[string]any{"Why": why})
	}
	switch {
	case d.Title == "" || d.Place == "":
		return nil, bad("title")
	case !d.Start.After(at):
		return nil, bad("past")
	case !d.End.After(d.Start) || d.End.Sub(d.Start) > 24*time.Hour:
		return nil, bad("end")
	case d.Capacity < 1 || d.Capacity > 10000:
		return nil, bad("capacity")
	case weeks < 1 || weeks > 52:
		return nil, bad("weeks")
	case d.Audience != AudienceAll && d.Audience != AudienceParty && !slices.Contains(s.Config.Skills, d.Audience):
		return nil, bad("audience")
	}
	if !slices.ContainsFunc(s.Communities, func(c Community) bool { return c.Code == d.Community }) && len(s.Communities) > 0 {
		return nil, bad("community")
	}
	d.Status, d.Created = ActivityOpen, at
	if actor.Kind != ActorSystem && actor.Kind != ActorAPI {
		d.Organiser = actor.ID
	}
	if d.OrgName == "" {
		d.OrgName = actor.NameIn(d.Community)
	}
	as := make([]*Activity, weeks)
	for i := range as {
		o := d
		o.Start, o.End = d.Start.AddDate(0, 0, 7*i), d.End.AddDate(0, 0, 7*i)
		as[i] = &o
	}
	out, err := s.Store.CreateActivities(ctx, as, key)
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		if err := s.schedule(ctx, a); err != nil {
			return out, err
		}
	}
	return out, nil
}

type remindPayload struct {
	No    string `json:"no"`
	Slot  string `json:"slot"`
	Start int64  `json:"start"` // unix ms the reminder was made for
}

// reminderTimes are the due times of an activity's reminders.
func (s *VolunteerService) reminderTimes(a *Activity) map[string]time.Time {
	start := a.Start.In(chinaTime)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, chinaTime)
	end := a.End.In(chinaTime)
	next := time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, chinaTime)
	return map[string]time.Time{
		SlotEvening: day.AddDate(0, 0, -1).Add(s.Config.EveningAt),
		SlotSoon:    a.Start.Add(-s.Config.SoonBefore),
		SlotMissing: next.Add(s.Config.MissingAt),
	}
}

// schedule (re)places an activity's reminders in the due set: the same ids move.
func (s *VolunteerService) schedule(ctx context.Context, a *Activity) error {
	for slot, due := range s.reminderTimes(a) {
		raw, _ := json.Marshal(remindPayload{No: a.No, Slot: slot, Start: a.Start.UnixMilli()})
		if err := s.Reminders.Schedule(ctx, Reminder{ID: ActivityReminderID(a.No, slot), Kind: ActivityReminderKind,
			Due: due, Payload: raw}); err != nil {
			return err
		}
	}
	return nil
}

func (s *VolunteerService) unschedule(ctx context.Context, a *Activity) error {
	for _, slot := range []string{SlotEvening, SlotSoon, SlotMissing} {
		if err := s.Reminders.Cancel(ctx, ActivityReminderID(a.No, slot)); err != nil {
			return err
		}
	}
	return nil
}

// Edit moves an activity (start and end; zero keeps them) or its place ("" keeps
// it), tells everyone on its lists and moves their reminders.
func (s *VolunteerService) Edit(ctx context.Context, actor Actor, at time.Time, no string, start, end time.Time, place string) (*Activity, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, err
	}
	if err := s.staffOf(actor, a.Community); err != nil {
		return nil, err
	}
	if start.IsZero() {
		start, end = a.Start, a.End
	}
	switch {
	case a.Status != ActivityOpen:
		return nil, UserError(EConflict, MsgVolCancelledAct, ActivityData(s.Catalog, a))
	case !a.End.After(at):
		return nil, UserError(EExpired, MsgVolEnded, ActivityData(s.Catalog, a))
	case !start.After(at) || !end.After(start) || end.Sub(start) > 24*time.Hour:
		return nil, UserError(EInvalid, MsgVolBadDraft, map[string]any{"Why": "past"})
	}
	a, err = s.Store.UpdateActivity(ctx, no, func(x *Activity) error {
		x.Start, x.End = start, end
		if p := strings.TrimSpace(place); p != "" {
			x.Place = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.schedule(ctx, a); err != nil {
		return a, err
	}
	return a, s.tellAll(ctx, a, "changed", MsgVolPushChanged)
}

// Cancel cancels an activity: everyone on its lists is told and its reminders go.
func (s *VolunteerService) Cancel(ctx context.Context, actor Actor, at time.Time, no, reason string) (*Activity, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, err
	}
	if err := s.staffOf(actor, a.Community); err != nil {
		return nil, err
	}
	if a.Status != ActivityOpen {
		return nil, UserError(EConflict, MsgVolCancelledAct, ActivityData(s.Catalog, a))
	}
	if !a.End.After(at) {
		return nil, UserError(EExpired, MsgVolEnded, ActivityData(s.Catalog, a))
	}
	a, err = s.Store.UpdateActivity(ctx, no, func(x *Activity) error {
		if x.Status != ActivityOpen {
			return UserError(EConflict, MsgVolCancelledAct, ActivityData(s.Catalog, x))
		}
		x.Status = ActivityCancelled
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.unschedule(ctx, a); err != nil {
		return a, err
	}
	data := ActivityData(s.Catalog, a)
	data["Reason"] = reason
	if err := s.tellAllData(ctx, a, "cancelled", MsgVolPushCancelled, data); err != nil {
		return a, err
	}
	return a, s.Store.DropSignups(ctx, a)
}

func (s *VolunteerService) tellAll(ctx context.Context, a *Activity, event string, key MsgKey) error {
	return s.tellAllData(ctx, a, event, key, ActivityData(s.Catalog, a))
}

func (s *VolunteerService) tellAllData(ctx context.Context, a *Activity, event string, key MsgKey, data map[string]any) error {
	r, err := s.Store.Roster(ctx, a.No)
	if err != nil {
		return err
	}
	for _, id := range append(r.Confirmed, r.Waitlisted...) {
		if err := s.push(ctx, a, id, a.Version, event, PushVolunteerUpdate, key, data); err != nil {
			return err
		}
	}
	return nil
}

func (s *VolunteerService) push(ctx context.Context, a *Activity, to string, version int, event, kind string, key MsgKey, data map[string]any) error {
	text := s.Catalog.T(key, data)
	return s.Pusher.Push(ctx, Push{
		ID: ActivityPushID(a.No, version, event, to), To: to, Kind: kind, Text: text,
		Fields: map[string]string{"first": s.Catalog.T(MsgVolPushTplFirst, data), "title": a.Title, "when": ActivityWhen(s.Catalog, a), "place": a.Place},
		Ref:    a.No, Community: a.Community,
	})
}

// ActivityView is an activity as a list shows it.
type ActivityView struct {
	*Activity
	Confirmed  int
	Waitlisted int
	Left       int         // places left
	Mine       SignupState // the viewer's place, if any
}

// Upcoming lists activities not yet ended, the viewer's community first, then by
// start; cancelled ones are left out.
func (s *VolunteerService) Upcoming(ctx context.Context, actor Actor, at time.Time, limit int) ([]ActivityView, error) {
	as, err := s.Store.Upcoming(ctx, at, 0)
	if err != nil {
		return nil, err
	}
	home := ""
	if v, err := s.Store.Volunteer(ctx, actor.ID); err == nil {
		home = v.Community
	}
	var out []ActivityView
	for _, a := range as {
		if a.Status != ActivityOpen {
			continue
		}
		v, err := s.view(ctx, a, actor.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(x, y ActivityView) int {
		if (x.Community == home) != (y.Community == home) {
			if x.Community == home {
				return -1
			}
			return 1
		}
		return x.Start.Compare(y.Start)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *VolunteerService) view(ctx context.Context, a *Activity, viewer string) (ActivityView, error) {
	r, err := s.Store.Roster(ctx, a.No)
	if err != nil {
		return ActivityView{}, err
	}
	v := ActivityView{Activity: a, Confirmed: len(r.Confirmed), Waitlisted: len(r.Waitlisted), Left: max(0, a.Capacity-len(r.Confirmed))}
	switch {
	case slices.Contains(r.Confirmed, viewer):
		v.Mine = SignupConfirmed
	case slices.Contains(r.Waitlisted, viewer):
		v.Mine = SignupWaitlisted
	}
	return v, nil
}

// Show gives one activity with its counts as the viewer sees it.
func (s *VolunteerService) Show(ctx context.Context, actor Actor, no string) (ActivityView, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return ActivityView{}, err
	}
	return s.view(ctx, a, actor.ID)
}

// Register saves the actor's volunteer profile (志愿者登记): a first one gets a number.
func (s *VolunteerService) Register(ctx context.Context, actor Actor, at time.Time, v Volunteer) (Volunteer, error) {
	v.OpenID = actor.ID
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" || v.Community == "" {
		return Volunteer{}, UserError(EInvalid, MsgVolBadDraft, map[string]any{"Why": "profile"})
	}
	for _, sk := range v.Skills {
		if !slices.Contains(s.Config.Skills, sk) {
			return Volunteer{}, UserError(EInvalid, MsgVolBadDraft, map[string]any{"Why": "skill"})
		}
	}
	if old, err := s.Store.Volunteer(ctx, actor.ID); err == nil {
		v.Joined = old.Joined
	} else {
		v.Joined = at
	}
	v.Left = false
	return s.Store.SaveVolunteer(ctx, v)
}

// Leave ends the actor's volunteering: upcoming sign-ups are cancelled (places go to
// the waitlist); hours and points stay.
func (s *VolunteerService) Leave(ctx context.Context, actor Actor, at time.Time) error {
	v, err := s.Store.Volunteer(ctx, actor.ID)
	if err != nil {
		return err
	}
	nos, err := s.Store.SignupsOf(ctx, actor.ID)
	if err != nil {
		return err
	}
	for _, no := range nos {
		a, err := s.Store.Activity(ctx, no)
		if err != nil || !a.Start.After(at) {
			continue
		}
		if _, err := s.CancelSignup(ctx, actor, at, no); err != nil && ErrorCode(err) != ENotFound {
			return err
		}
	}
	v.Left = true
	_, err = s.Store.SaveVolunteer(ctx, v)
	return err
}

// SignUp puts the actor on an activity's list: confirmed, or on the waitlist.
func (s *VolunteerService) SignUp(ctx context.Context, actor Actor, at time.Time, no string) (*Activity, SignupResult, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, SignupResult{}, err
	}
	v, err := s.Store.Volunteer(ctx, actor.ID)
	if err != nil || v.Left {
		if err != nil && ErrorCode(err) != ENotFound {
			return nil, SignupResult{}, err
		}
		return a, SignupResult{}, UserError(ENotFound, MsgVolNeedProfile, ActivityData(s.Catalog, a))
	}
	switch a.Audience {
	case AudienceAll:
	case AudienceParty:
		if !actor.Can(RoleParty) {
			return a, SignupResult{}, UserError(EForbidden, MsgVolNotEligible, map[string]any{"No": a.No, "Title": a.Title, "Who": s.Catalog.T(MsgVolWhoParty, nil)})
		}
	default:
		if !v.HasSkill(a.Audience) {
			return a, SignupResult{}, UserError(EForbidden, MsgVolNotEligible, map[string]any{"No": a.No, "Title": a.Title, "Who": a.Audience})
		}
	}
	r, err := s.Store.SignUp(ctx, a, actor.ID, at)
	return a, r, err
}

// CancelSignup takes the actor off an activity's list; a freed place goes to the
// first waitlisted person, who is told at once.
func (s *VolunteerService) CancelSignup(ctx context.Context, actor Actor, at time.Time, no string) (CancelResult, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return CancelResult{}, err
	}
	c, err := s.Store.CancelSignup(ctx, a, actor.ID, at, s.Config.LateCancel)
	if err != nil {
		return c, err
	}
	if c.Promoted != "" {
		// The promoted person's own version of the event: each promotion is its own.
		err = s.Pusher.Push(ctx, Push{
			ID: ActivityPushID(a.No, a.Version, "promoted", c.Promoted), To: c.Promoted, Kind: PushVolunteerUpdate,
			Text:   s.Catalog.T(MsgVolPushPromoted, ActivityData(s.Catalog, a)),
			Fields: map[string]string{"first": s.Catalog.T(MsgVolPushTplFirst, ActivityData(s.Catalog, a)), "title": a.Title, "when": ActivityWhen(s.Catalog, a), "place": a.Place},
			Ref:    a.No, Community: a.Community, Important: true,
		})
	}
	return c, err
}

// MySignup is one line of 我的报名.
type MySignup struct {
	*Activity
	State    SignupState
	Position int
}

// MySignups lists the actor's activities not yet ended, with their place.
func (s *VolunteerService) MySignups(ctx context.Context, actor Actor, at time.Time) ([]MySignup, error) {
	nos, err := s.Store.SignupsOf(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	var out []MySignup
	for _, no := range nos {
		a, err := s.Store.Activity(ctx, no)
		if err != nil || !a.End.After(at) || a.Status != ActivityOpen {
			continue
		}
		r, err := s.Store.Roster(ctx, no)
		if err != nil {
			return nil, err
		}
		m := MySignup{Activity: a}
		if i := slices.Index(r.Confirmed, actor.ID); i >= 0 {
			m.State, m.Position = SignupConfirmed, i+1
		} else if i := slices.Index(r.Waitlisted, actor.ID); i >= 0 {
			m.State, m.Position = SignupWaitlisted, i+1
		} else {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// CheckCode gives the organiser (or the community's staff) the activity's check-in
// code and from when to when it works.
func (s *VolunteerService) CheckCode(ctx context.Context, actor Actor, at time.Time, no string) (*Activity, string, time.Time, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if a.Organiser != actor.ID {
		if err := s.staffOf(actor, a.Community); err != nil {
			return nil, "", time.Time{}, err
		}
	}
	if a.Status != ActivityOpen {
		return nil, "", time.Time{}, UserError(EConflict, MsgVolCancelledAct, ActivityData(s.Catalog, a))
	}
	if !a.End.After(at) {
		return nil, "", time.Time{}, UserError(EExpired, MsgVolEnded, ActivityData(s.Catalog, a))
	}
	// The code maps back to its activity a week past the end, so that a late try
	// is told "expired" rather than "wrong".
	code, err := s.Store.CheckCode(ctx, no, a.End.Add(7*24*time.Hour))
	return a, code, a.Start.Add(-s.Config.CodeOpens), err
}

func (s *VolunteerService) codeActivity(ctx context.Context, at time.Time, code string, grace time.Duration) (*Activity, error) {
	code = strings.TrimSpace(code)
	no := ""
	if code != "" {
		var err error
		if no, err = s.Store.CodeActivity(ctx, code); err != nil {
			return nil, err
		}
	}
	if no == "" {
		return nil, UserError(ENotFound, MsgVolBadCode, map[string]any{"Code": code})
	}
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, err
	}
	data := ActivityData(s.Catalog, a)
	data["Opens"] = ClockTime(s.Catalog, a.Start.Add(-s.Config.CodeOpens))
	switch {
	case a.Status != ActivityOpen:
		return nil, UserError(EConflict, MsgVolCancelledAct, data)
	case at.Before(a.Start.Add(-s.Config.CodeOpens)):
		return nil, UserError(EExpired, MsgVolCodeEarly, data)
	case at.After(a.End.Add(grace)):
		return nil, UserError(EExpired, MsgVolCodeExpired, data)
	}
	return a, nil
}

// CheckIn records the actor's arrival with the code shown on site.
func (s *VolunteerService) CheckIn(ctx context.Context, actor Actor, at time.Time, code string) (*Activity, error) {
	a, err := s.codeActivity(ctx, at, code, 0)
	if err != nil {
		return nil, err
	}
	return a, s.Store.CheckIn(ctx, a, actor.ID, at)
}

// CheckOut records the actor's leaving and credits hours (capped at the activity's
// length) and points.
func (s *VolunteerService) CheckOut(ctx context.Context, actor Actor, at time.Time, code string) (*Activity, Credit, error) {
	a, err := s.codeActivity(ctx, at, code, s.Config.CheckOutGrace)
	if err != nil {
		return nil, Credit{}, err
	}
	c, err := s.Store.CheckOut(ctx, a, actor.ID, at, s.Config.PointsPerHour)
	return a, c, err
}

// Person finds a volunteer on an activity's confirmed list by their number on that
// list (序号, as the missing check-outs list shows it), or by 志愿者编号.
func (s *VolunteerService) Person(ctx context.Context, a *Activity, who string) (string, error) {
	r, err := s.Store.Roster(ctx, a.No)
	if err != nil {
		return "", err
	}
	if n, err := strconv.Atoi(who); err == nil && n >= 1 && n <= len(r.Confirmed) {
		return r.Confirmed[n-1], nil
	}
	if v, err := s.Store.VolunteerByNo(ctx, who); err == nil && slices.Contains(r.Confirmed, v.OpenID) {
		return v.OpenID, nil
	}
	return "", UserError(ENotFound, MsgVolNoPerson, map[string]any{"No": a.No, "Who": who})
}

// Adjust is the organiser's 补签: it credits hours to someone on the activity whose
// check-out is missing (capped at the activity's length).
func (s *VolunteerService) Adjust(ctx context.Context, actor Actor, at time.Time, no, who, hours string) (*Activity, string, Credit, error) {
	a, err := s.Store.Activity(ctx, no)
	if err != nil {
		return nil, "", Credit{}, err
	}
	if a.Organiser != actor.ID {
		if err := s.staffOf(actor, a.Community); err != nil {
			return nil, "", Credit{}, err
		}
	}
	h, err := strconv.ParseFloat(strings.TrimSpace(hours), 64)
	if err != nil || h < 0 || math.IsNaN(h) || h*60 > a.Length().Minutes()+0.5 {
		return nil, "", Credit{}, UserError(EInvalid, MsgVolBadHours, ActivityData(s.Catalog, a))
	}
	if a.Start.After(at) {
		return nil, "", Credit{}, UserError(EConflict, MsgVolBadHours, ActivityData(s.Catalog, a))
	}
	id, err := s.Person(ctx, a, who)
	if err != nil {
		return nil, "", Credit{}, err
	}
	c, err := s.Store.Adjust(ctx, a, id, int(math.Round(h*60)), actor.ID, at, s.Config.PointsPerHour)
	return a, id, c, err
}

// Missing lists the people of an ended activity who checked in and have no hours
// yet, with their number on the confirmed list.
func (s *VolunteerService) Missing(ctx context.Context, a *Activity) ([]MissingCheckout, error) {
	r, err := s.Store.Roster(ctx, a.No)
	if err != nil {
		return nil, err
	}
	att, err := s.Store.Attendance(ctx, a.No)
	if err != nil {
		return nil, err
	}
	var out []MissingCheckout
	for _, at := range att {
		if at.Credited {
			continue
		}
		i := slices.Index(r.Confirmed, at.OpenID)
		if i < 0 {
			continue
		}
		m := MissingCheckout{N: i + 1, OpenID: at.OpenID, In: at.In}
		if v, err := s.Store.Volunteer(ctx, at.OpenID); err == nil {
			m.Name = v.Name
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(x, y MissingCheckout) int { return cmp.Compare(x.N, y.N) })
	return out, nil
}

// MissingCheckout is one line of the morning-after list.
type MissingCheckout struct {
	N      int
	OpenID string
	Name   string
	In     time.Time
}

// Remind is the handler of ActivityReminderKind: the evening-before and two-hours
// reminders to everyone confirmed, and the missing check-outs to the organiser.
// A reminder made for a start the activity no longer has is left alone: the
// reschedule made a new one.
func (s *VolunteerService) Remind(ctx context.Context, r Reminder) error {
	var p remindPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("volunteers: reminder %s: %w", r.ID, err)
	}
	a, err := s.Store.Activity(ctx, p.No)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Status != ActivityOpen || a.Start.UnixMilli() != p.Start {
		return nil
	}
	switch p.Slot {
	case SlotEvening, SlotSoon:
		key := MsgVolPushEvening
		if p.Slot == SlotSoon {
			key = MsgVolPushSoon
		}
		roster, err := s.Store.Roster(ctx, a.No)
		if err != nil {
			return err
		}
		for _, id := range roster.Confirmed {
			if err := s.push(ctx, a, id, a.Version, "remind-"+p.Slot, PushVolunteerReminder, key, ActivityData(s.Catalog, a)); err != nil {
				return err
			}
		}
		return nil
	case SlotMissing:
		ms, err := s.Missing(ctx, a)
		if err != nil || len(ms) == 0 {
			return err
		}
		data := ActivityData(s.Catalog, a)
		data["Missing"] = ms
		to := []string{a.Organiser}
		if a.Organiser == "" && s.Directory != nil {
			to = nil
			gs, err := s.Directory.Holders(ctx, RoleStaff, a.Community)
			if err != nil {
				return err
			}
			for _, g := range gs {
				if g.Role != RoleAdmin && !slices.Contains(to, g.OpenID) {
					to = append(to, g.OpenID)
				}
			}
		}
		for _, id := range to {
			if id == "" {
				continue
			}
			if err := s.push(ctx, a, id, a.Version, "missing", PushVolunteerUpdate, MsgVolPushMissing, data); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// Totals are a volunteer's hours and points as 我的时长 shows them.
func (s *VolunteerService) Totals(ctx context.Context, actor Actor, at time.Time) (Volunteer, VolunteerTotals, error) {
	v, err := s.Store.Volunteer(ctx, actor.ID)
	if err != nil && ErrorCode(err) != ENotFound {
		return v, VolunteerTotals{}, err
	}
	t, err := s.Store.Totals(ctx, actor.ID)
	return v, t, err
}

// HoursFor is how long openid served in activities of year (China time): what the
// visits flow counts as 义务劳动 for party members' 四个一.
func (s *VolunteerService) HoursFor(ctx context.Context, openid string, year int) (time.Duration, error) {
	t, err := s.Store.Totals(ctx, openid)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.YearMinutes[year]) * time.Minute, nil
}

// Redeem is staff exchanging a volunteer's points (兑换) for an item of the 爱心超市:
// never below zero, with a ledger line naming who did it.
func (s *VolunteerService) Redeem(ctx context.Context, actor Actor, at time.Time, who, points, item string) (Volunteer, LedgerEntry, error) {
	if !actor.Can(RoleStaff) {
		return Volunteer{}, LedgerEntry{}, UserError(EForbidden, MsgVolStaffOnly, nil)
	}
	n, err := strconv.Atoi(strings.TrimSpace(points))
	item = strings.TrimSpace(item)
	if err != nil || n <= 0 || item == "" {
		return Volunteer{}, LedgerEntry{}, UserError(EInvalid, MsgVolBadPoints, nil)
	}
	v, err := s.Store.VolunteerByNo(ctx, strings.TrimSpace(who))
	if err != nil {
		return v, LedgerEntry{}, err
	}
	if err := s.staffOf(actor, v.Community); err != nil {
		return v, LedgerEntry{}, err
	}
	l, err := s.Store.RedeemPoints(ctx, v.OpenID, n, item, actor.ID, v.Community, at)
	return v, l, err
}
