package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// VisitService holds the rules of party members' tasks: who may create, assign,
// complete and reschedule a visit task, when its reminders fire and who they reach,
// the 五包 pairings' monthly tasks and the 四个一 items. Chat, the command line and
// the scheduler only translate into it.
type VisitService struct {
	Visits    Visits
	Holders   RoleHolders
	Calendar  WorkCalendar
	Reminders Reminders
	Pusher    Pusher
	Catalog   *Catalog
	// Tickets files the 四个一 信息 and 建议 items as tickets; nil leaves them as
	// items only.
	Tickets FourOneTickets
	// Hours are volunteer hours; a member with any in the year has the 义务劳动
	// item. Nil counts none.
	Hours VolunteerHours
	// Profiles give a resident's address for a visit made from their ticket.
	Profiles Profiles
	Config   VisitConfig
	Log      *slog.Logger
}

// VisitConfig tunes the visit rules.
type VisitConfig struct {
	// AutoAssignAfter: a task nobody assigned within this time goes round-robin to
	// the branch member with the fewest open tasks; 0 assigns at once.
	AutoAssignAfter time.Duration
	// Deadlines in working days by kind of visit; a kind without an entry takes its
	// trigger's entry (the 五包 kinds take "pairing").
	Deadlines map[string]int
	// PairingEvery is the months between two 五包 visits by kind (default 1).
	PairingEvery map[string]int
	// Ticket categories that make a visit task: hardship and illness (a resident's
	// own request of that kind).
	HardshipCategories []string
	IllnessCategories  []string
	// FourOneCategories are the ticket categories an 信息 and an 建议 item become.
	FourOneCategories map[FourOneItem]string
	// RemindAt is the minute of the day reminders go out (default 09:00).
	RemindAt int
	// NovemberDay is the day of November the missing-items reminder goes out (default 1;
	// moved to the next working day).
	NovemberDay int
}

// RoleHolders finds who holds a role in a community (store.Holders).
type RoleHolders interface {
	Holders(ctx context.Context, role Role, community string) ([]Grant, error)
}

// FourOneTickets files a member's 信息 or 建议 as a ticket, so that it is handled.
type FourOneTickets interface {
	FileFourOne(ctx context.Context, actor Actor, at time.Time, community, category, text, key string) (no string, err error)
}

// VolunteerHours are the volunteers' hours (store.Totals): a person's minutes by
// year count as the 义务劳动 item.
type VolunteerHours interface {
	Totals(ctx context.Context, openid string) (VolunteerTotals, error)
}

// Reminder kinds of visit tasks, for the scheduler.
const (
	ReminderVisitAssign = "visit.assign"
	ReminderVisitDue    = "visit.due"
	ReminderPairing     = "visit.pairing"
	ReminderFourOneNov  = "visit.fourone_november"
	PushVisitTask       = "visit_task" // push kind: a task, its reminders, nudges
)

// Reminder levels of a task's deadline.
const (
	levelBefore    = "before"    // 09:00 the working day before the deadline
	levelOnDay     = "on_day"    // 09:00 on the deadline's day
	levelSecretary = "secretary" // overdue: the secretary, the next working day
	levelDistrict  = "district"  // still overdue: the district admins, the day after
)

var visitLevels = []string{levelBefore, levelOnDay, levelSecretary, levelDistrict}

// Catalogue texts of visit pushes and errors.
var (
	msgVisitNew        = Msg("visit.push.new")
	msgVisitUnassigned = Msg("visit.push.unassigned")
	msgVisitBefore     = Msg("visit.push.before")
	msgVisitOnDay      = Msg("visit.push.on_day")
	msgVisitSecretary  = Msg("visit.push.secretary")
	msgVisitDistrict   = Msg("visit.push.district")
	msgVisitNudge      = Msg("visit.push.nudge")
	msgVisitAskPush    = Msg("visit.push.reschedule_ask")
	msgVisitApproved   = Msg("visit.push.reschedule_ok")
	msgVisitRefused    = Msg("visit.push.reschedule_no")
	msgVisitReturned   = Msg("visit.push.returned")
	msgVisitDonePush   = Msg("visit.push.done")
	msgFourOneNovember = Msg("fourone.push.november")
	msgVisitKindPrefix = "visit.kind."

	MsgVisitNotFound    = Msg("visit.not_found")
	MsgVisitNotOpen     = Msg("visit.not_open")
	MsgVisitNotMember   = Msg("visit.not_member")
	MsgVisitBadDate     = Msg("visit.bad_date")
	MsgVisitNoProposal  = Msg("visit.no_proposal")
	MsgVisitNeedsReport = Msg("visit.needs_report")
	MsgVisitNoBranch    = Msg("visit.no_branch")
	MsgPairBadKind      = Msg("pair.bad_kind")
	MsgFourOneBadItem   = Msg("fourone.bad_item")
)

func (s *VisitService) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func isSystem(a Actor) bool { return a.ID == SystemActor.ID && a.Kind == SystemActor.Kind }

// may reports whether a may act in role in community; the system may do anything.
func may(a Actor, role Role, community string) bool {
	return isSystem(a) || a.CanIn(role, community)
}

// KindLabel is the catalogue's name of a kind of visit.
func (s *VisitService) KindLabel(k VisitKind) string {
	return s.Catalog.T(MsgKey(msgVisitKindPrefix+string(k)), nil)
}

func (s *VisitService) deadlineDays(v *Visit) int {
	if n, ok := s.Config.Deadlines[string(v.Kind)]; ok {
		return n
	}
	if n, ok := s.Config.Deadlines[string(v.Trigger)]; ok {
		return n
	}
	return 5
}

// NewVisit is what a trigger knows of a task to make.
type NewVisit struct {
	Community string
	Trigger   VisitTrigger
	Kind      VisitKind
	Event     string // one event, one task
	Person    Person
	Reason    string
	Ticket    string
	Pairing   string
	Period    string
	Assignee  Grant // preset (五包: the paired member); empty: the secretary or round-robin assigns
}

// Create makes a visit task for an event, once: a second call for the same event
// returns the first task with created false. Who may create: the system and the
// command line (triggers), the branch's secretary, and staff for hardship and
// illness visits.
func (s *VisitService) Create(ctx context.Context, actor Actor, at time.Time, nv NewVisit) (*Visit, bool, error) {
	role := RoleSecretary
	if nv.Trigger == TriggerHardship || nv.Trigger == TriggerIllness {
		role = RoleStaff
	}
	if !may(actor, role, nv.Community) {
		return nil, false, UserError(EForbidden, MsgVisitNoBranch, nil)
	}
	v := &Visit{
		Community: nv.Community, Trigger: nv.Trigger, Kind: nv.Kind, Event: nv.Event,
		Person: nv.Person, Reason: nv.Reason, Ticket: nv.Ticket, Pairing: nv.Pairing, Period: nv.Period,
		Status: VisitNew, Created: at,
	}
	v.Deadline = s.Calendar.AddWorkingDays(at, s.deadlineDays(v))
	if nv.Assignee.OpenID != "" {
		v.Status, v.Assignee, v.AssigneeName, v.Assigned = VisitAssigned, nv.Assignee.OpenID, nv.Assignee.Name, at
	}
	v, created, err := s.Visits.CreateVisit(ctx, v, VisitEvent{At: at, Actor: actor.ID, Name: actor.Name, Text: string(nv.Trigger)})
	if err != nil || !created {
		return v, false, err
	}
	s.log().Info("visit task created", "visit", v.No, "community", v.Community, "trigger", v.Trigger)
	if err := s.scheduleDeadline(ctx, v); err != nil {
		return v, true, err
	}
	if v.Status == VisitAssigned {
		return v, true, s.tellAssignee(ctx, v, msgVisitNew, "new")
	}
	if s.Config.AutoAssignAfter <= 0 {
		v, err = s.autoAssign(ctx, at, v.No)
		return v, true, err
	}
	if err := s.tellSecretaries(ctx, v, msgVisitUnassigned, "unassigned", nil); err != nil {
		return v, true, err
	}
	payload, _ := json.Marshal(dueVisit{No: v.No})
	return v, true, s.Reminders.Schedule(ctx, Reminder{ID: VisitReminderID(v.No, "assign"), Kind: ReminderVisitAssign,
		Due: at.Add(s.Config.AutoAssignAfter), Payload: payload})
}

type dueVisit struct {
	No       string    `json:"no"`
	Level    string    `json:"level,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
}

// remindAt is the reminder hour on t's date.
func (s *VisitService) remindAt(t time.Time) time.Time {
	loc := chinaTime
	y, m, d := t.In(loc).Date()
	at := s.Config.RemindAt
	if at <= 0 {
		at = 9 * 60
	}
	return time.Date(y, m, d, at/60, at%60, 0, 0, loc)
}

// prevWorkday is the working day before t's date.
func (s *VisitService) prevWorkday(t time.Time) time.Time {
	d := t
	for i := 0; i < 60; i++ {
		d = d.AddDate(0, 0, -1)
		if s.Calendar.IsWorkday(d) {
			return d
		}
	}
	return d
}

// scheduleDeadline puts (or moves) the task's four reminders in the due set.
func (s *VisitService) scheduleDeadline(ctx context.Context, v *Visit) error {
	at := map[string]time.Time{
		levelBefore:    s.remindAt(s.prevWorkday(v.Deadline)),
		levelOnDay:     s.remindAt(v.Deadline),
		levelSecretary: s.remindAt(s.Calendar.AddWorkingDays(v.Deadline, 1)),
		levelDistrict:  s.remindAt(s.Calendar.AddWorkingDays(v.Deadline, 2)),
	}
	for _, lvl := range visitLevels {
		id := VisitReminderID(v.No, lvl)
		if lvl == levelBefore && !at[lvl].After(v.Created) {
			// Too short a deadline for a warning the day before.
			if err := s.Reminders.Cancel(ctx, id); err != nil {
				return err
			}
			continue
		}
		payload, _ := json.Marshal(dueVisit{No: v.No, Level: lvl, Deadline: v.Deadline})
		if err := s.Reminders.Schedule(ctx, Reminder{ID: id, Kind: ReminderVisitDue, Due: at[lvl], Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (s *VisitService) cancelReminders(ctx context.Context, no string) error {
	for _, lvl := range append([]string{"assign"}, visitLevels...) {
		if err := s.Reminders.Cancel(ctx, VisitReminderID(no, lvl)); err != nil {
			return err
		}
	}
	return nil
}

// FireDue handles a task's deadline reminder: the assignee the day before and on
// the day, the secretary once overdue, the district the day after. A reminder for
// a task done, or a deadline since moved, does nothing.
func (s *VisitService) FireDue(ctx context.Context, at time.Time, r Reminder) error {
	var p dueVisit
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("visit reminder payload: %w", err)
	}
	v, err := s.Visits.Visit(ctx, p.No)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !v.Open() || !v.Deadline.Equal(p.Deadline) {
		return nil
	}
	ev := VisitEvent{At: at, Actor: SystemActor.ID, Kind: "reminded", Text: p.Level}
	if p.Level == levelSecretary || p.Level == levelDistrict {
		ev.Kind = "overdue"
	}
	v, err = s.Visits.UpdateVisit(ctx, v.No, func(v *Visit) ([]VisitEvent, error) {
		if ev.Kind == "overdue" {
			v.Overdue = true
		}
		return []VisitEvent{ev}, nil
	})
	if err != nil {
		return err
	}
	switch p.Level {
	case levelBefore:
		return s.tellAssigneeOrBranch(ctx, v, msgVisitBefore, p.Level)
	case levelOnDay:
		return s.tellAssigneeOrBranch(ctx, v, msgVisitOnDay, p.Level)
	case levelSecretary:
		return s.tellSecretaries(ctx, v, msgVisitSecretary, p.Level, nil)
	case levelDistrict:
		to, fellBack, err := s.escalationTo(ctx, RoleAdmin, v.Community)
		if err != nil {
			return err
		}
		return s.tell(ctx, v, to, msgVisitDistrict, p.Level, map[string]any{"FallBack": fellBack})
	}
	return nil
}

func (s *VisitService) tellAssigneeOrBranch(ctx context.Context, v *Visit, key MsgKey, event string) error {
	if v.Assignee != "" {
		return s.tellAssignee(ctx, v, key, event)
	}
	return s.tellSecretaries(ctx, v, msgVisitUnassigned, event, nil)
}

// FireAssign assigns a task nobody assigned in time.
func (s *VisitService) FireAssign(ctx context.Context, at time.Time, r Reminder) error {
	var p dueVisit
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("visit assign payload: %w", err)
	}
	_, err := s.autoAssign(ctx, at, p.No)
	if ErrorCode(err) == ENotFound || ErrorCode(err) == EConflict {
		return nil
	}
	return err
}

// autoAssign gives an unassigned task to the branch member with the fewest open
// tasks; among equals, the one whose last assignment is oldest (round-robin).
func (s *VisitService) autoAssign(ctx context.Context, at time.Time, no string) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if err != nil {
		return nil, err
	}
	if v.Status != VisitNew {
		return v, nil
	}
	members, err := s.Holders.Holders(ctx, RoleParty, v.Community)
	if err != nil {
		return nil, err
	}
	members = slices.DeleteFunc(members, func(g Grant) bool { return g.Role != RoleParty || g.Community != v.Community })
	if len(members) == 0 {
		// Nobody to give it to: the secretary is told, and the overdue chain runs.
		return v, s.tellSecretaries(ctx, v, msgVisitUnassigned, "nomember", nil)
	}
	tasks, err := s.Visits.BranchVisits(ctx, v.Community)
	if err != nil {
		return nil, err
	}
	open := map[string]int{}
	last := map[string]time.Time{}
	for _, t := range tasks {
		if t.Assignee == "" {
			continue
		}
		if t.Open() {
			open[t.Assignee]++
		}
		if t.Assigned.After(last[t.Assignee]) {
			last[t.Assignee] = t.Assigned
		}
	}
	sort.SliceStable(members, func(i, j int) bool {
		a, b := members[i].OpenID, members[j].OpenID
		if open[a] != open[b] {
			return open[a] < open[b]
		}
		if !last[a].Equal(last[b]) {
			return last[a].Before(last[b])
		}
		return a < b
	})
	return s.assign(ctx, SystemActor, at, no, members[0], true)
}

// Assign gives a task to a member of its branch: the branch's secretary does it
// (指派), naming the member by openid or name.
func (s *VisitService) Assign(ctx context.Context, actor Actor, at time.Time, no, member string) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if ErrorCode(err) == ENotFound {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	if err != nil {
		return nil, err
	}
	if !may(actor, RoleSecretary, v.Community) {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	g, err := s.Member(ctx, v.Community, member)
	if err != nil {
		return nil, err
	}
	return s.assign(ctx, actor, at, no, g, false)
}

// Member finds a party member of a branch by openid or name.
func (s *VisitService) Member(ctx context.Context, community, who string) (Grant, error) {
	who = strings.TrimSpace(who)
	members, err := s.Holders.Holders(ctx, RoleParty, community)
	if err != nil {
		return Grant{}, err
	}
	for _, g := range members {
		if g.Role == RoleParty && g.Community == community && (g.OpenID == who || (g.Name != "" && g.Name == who)) {
			return g, nil
		}
	}
	return Grant{}, UserError(EInvalid, MsgVisitNotMember, map[string]string{"Member": who})
}

func (s *VisitService) assign(ctx context.Context, actor Actor, at time.Time, no string, g Grant, auto bool) (*Visit, error) {
	v, err := s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		if !v.Open() {
			return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": v.No})
		}
		if auto && v.Status != VisitNew {
			return nil, Errorf(EConflict, "assigned meanwhile")
		}
		v.Status, v.Assignee, v.AssigneeName, v.Assigned = VisitAssigned, g.OpenID, g.Name, at
		v.Proposed, v.ProposedReason = time.Time{}, ""
		return []VisitEvent{{At: at, Actor: actor.ID, Name: actor.Name, Kind: "assigned", Text: g.Name}}, nil
	})
	if err != nil {
		return nil, err
	}
	_ = s.Reminders.Cancel(ctx, VisitReminderID(no, "assign"))
	return v, s.tellAssignee(ctx, v, msgVisitNew, "assigned")
}

// Get shows a task to who may see it: its assignee, the branch's secretary, an
// admin. To anybody else it does not exist.
func (s *VisitService) Get(ctx context.Context, actor Actor, no string) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if ErrorCode(err) == ENotFound || (err == nil && !s.canSee(actor, v)) {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	return v, err
}

func (s *VisitService) canSee(a Actor, v *Visit) bool {
	return (v.Assignee != "" && v.Assignee == a.ID) || may(a, RoleSecretary, v.Community)
}

// Timeline is a task's timeline, for who may see the task.
func (s *VisitService) Timeline(ctx context.Context, actor Actor, no string) ([]VisitEvent, error) {
	if _, err := s.Get(ctx, actor, no); err != nil {
		return nil, err
	}
	return s.Visits.VisitTimeline(ctx, no)
}

// Mine lists the actor's tasks: open ones first by deadline, then done ones, the
// latest first.
func (s *VisitService) Mine(ctx context.Context, actor Actor) ([]*Visit, error) {
	all, err := s.Visits.MemberVisits(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	var open, done []*Visit
	for _, v := range all {
		switch {
		case v.Assignee != actor.ID:
		case v.Open():
			open = append(open, v)
		default:
			done = append(done, v)
		}
	}
	slices.Reverse(done)
	return append(open, done...), nil
}

// ownTask loads a task its assignee acts on; to anyone else it does not exist.
func (s *VisitService) ownTask(ctx context.Context, actor Actor, no string) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if ErrorCode(err) == ENotFound || (err == nil && v.Assignee != actor.ID) {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	if err != nil {
		return nil, err
	}
	if !v.Open() {
		return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
	}
	return v, nil
}

// Complete closes a task with the assignee's report (完成) and photos. told is who
// heard of it: RoleSecretary, or RoleStaff when the community has no secretary.
func (s *VisitService) Complete(ctx context.Context, actor Actor, at time.Time, no, report string, photos []string) (v *Visit, told Role, err error) {
	if _, err := s.ownTask(ctx, actor, no); err != nil {
		return nil, "", err
	}
	report = strings.TrimSpace(report)
	if report == "" {
		return nil, "", UserError(EInvalid, MsgVisitNeedsReport, map[string]string{"No": no})
	}
	v, err = s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		if !v.Open() || v.Assignee != actor.ID {
			return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
		}
		v.Status, v.Done, v.Report = VisitDone, at, report
		v.Photos = append(v.Photos, photos...)
		v.Proposed, v.ProposedReason = time.Time{}, ""
		return []VisitEvent{{At: at, Actor: actor.ID, Name: actor.Name, Kind: "done", Text: report}}, nil
	})
	if err != nil {
		return nil, "", err
	}
	if err := s.cancelReminders(ctx, no); err != nil {
		return v, "", err
	}
	told, err = s.toSecretaries(ctx, v, msgVisitDonePush, "done", nil)
	return v, told, err
}

// AskReschedule asks the secretary to move the deadline to the end of date (改期).
// told is who heard of it: RoleSecretary, or RoleStaff when the community has no
// secretary (nobody can approve it until one is bound).
func (s *VisitService) AskReschedule(ctx context.Context, actor Actor, at time.Time, no string, date time.Time, reason string) (v *Visit, told Role, err error) {
	if _, err := s.ownTask(ctx, actor, no); err != nil {
		return nil, "", err
	}
	deadline := s.Calendar.AddWorkingDays(startOfDay(date), 0)
	if !s.Calendar.IsWorkday(date) || !deadline.After(at) || strings.TrimSpace(reason) == "" {
		return nil, "", UserError(EInvalid, MsgVisitBadDate, nil)
	}
	v, err = s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		if !v.Open() || v.Assignee != actor.ID {
			return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
		}
		v.Proposed, v.ProposedReason = deadline, strings.TrimSpace(reason)
		return []VisitEvent{{At: at, Actor: actor.ID, Name: actor.Name, Kind: "reschedule_asked", Text: v.ProposedReason}}, nil
	})
	if err != nil {
		return nil, "", err
	}
	told, err = s.toSecretaries(ctx, v, msgVisitAskPush, "ask", nil)
	return v, told, err
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, chinaTime)
}

// DecideReschedule is the secretary's 同意 or 不同意 to a reschedule.
func (s *VisitService) DecideReschedule(ctx context.Context, actor Actor, at time.Time, no string, approve bool) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if ErrorCode(err) == ENotFound || (err == nil && !may(actor, RoleSecretary, v.Community)) {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	if err != nil {
		return nil, err
	}
	v, err = s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		if !v.Open() {
			return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
		}
		if v.Proposed.IsZero() {
			return nil, UserError(EConflict, MsgVisitNoProposal, map[string]string{"No": no})
		}
		ev := VisitEvent{At: at, Actor: actor.ID, Name: actor.Name, Kind: "reschedule_refused"}
		if approve {
			ev.Kind = "rescheduled"
			v.Deadline = v.Proposed
		}
		v.Proposed, v.ProposedReason = time.Time{}, ""
		return []VisitEvent{ev}, nil
	})
	if err != nil {
		return nil, err
	}
	key := msgVisitRefused
	if approve {
		key = msgVisitApproved
		if err := s.scheduleDeadline(ctx, v); err != nil {
			return v, err
		}
	}
	return v, s.tellAssignee(ctx, v, key, "decided")
}

// Return hands a task back to the secretary (转交): it waits to be assigned again.
// told is who heard of it: RoleSecretary, or RoleStaff when the community has no
// secretary.
func (s *VisitService) Return(ctx context.Context, actor Actor, at time.Time, no string) (v *Visit, told Role, err error) {
	if _, err := s.ownTask(ctx, actor, no); err != nil {
		return nil, "", err
	}
	v, err = s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		if !v.Open() || v.Assignee != actor.ID {
			return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
		}
		v.Status, v.Assignee, v.AssigneeName, v.Assigned = VisitNew, "", "", time.Time{}
		v.Proposed, v.ProposedReason = time.Time{}, ""
		return []VisitEvent{{At: at, Actor: actor.ID, Name: actor.Name, Kind: "returned"}}, nil
	})
	if err != nil {
		return nil, "", err
	}
	told, err = s.toSecretaries(ctx, v, msgVisitReturned, "returned", map[string]any{"Member": actor.Name})
	return v, told, err
}

// Nudge pushes a reminder to the assignee at the secretary's word (催办).
func (s *VisitService) Nudge(ctx context.Context, actor Actor, at time.Time, no string) (*Visit, error) {
	v, err := s.Visits.Visit(ctx, no)
	if ErrorCode(err) == ENotFound || (err == nil && !may(actor, RoleSecretary, v.Community)) {
		return nil, UserError(ENotFound, MsgVisitNotFound, map[string]string{"No": no})
	}
	if err != nil {
		return nil, err
	}
	if !v.Open() || v.Assignee == "" {
		return nil, UserError(EConflict, MsgVisitNotOpen, map[string]string{"No": no})
	}
	v, err = s.Visits.UpdateVisit(ctx, no, func(v *Visit) ([]VisitEvent, error) {
		return []VisitEvent{{At: at, Actor: actor.ID, Name: actor.Name, Kind: "nudged"}}, nil
	})
	if err != nil {
		return nil, err
	}
	return v, s.tellAssignee(ctx, v, msgVisitNudge, "nudge")
}

// BranchSummary is a branch's task figures for its secretary (支部任务).
type BranchSummary struct {
	Community string
	Open      []*Visit // by deadline
	Overdue   int
	// Members is how many branch members there are; WithTasks how many have had a
	// task this month; DoneInTime how many tasks were done on time this month.
	Members    int
	WithTasks  int
	DoneMonth  int
	DoneInTime int
}

// Branch is the branch's open and overdue tasks and this month's coverage, for its
// secretary.
func (s *VisitService) Branch(ctx context.Context, actor Actor, at time.Time, community string) (BranchSummary, error) {
	if !may(actor, RoleSecretary, community) {
		return BranchSummary{}, UserError(EForbidden, MsgVisitNoBranch, nil)
	}
	all, err := s.Visits.BranchVisits(ctx, community)
	if err != nil {
		return BranchSummary{}, err
	}
	members, err := s.Holders.Holders(ctx, RoleParty, community)
	if err != nil {
		return BranchSummary{}, err
	}
	sum := BranchSummary{Community: community}
	inBranch := map[string]bool{}
	for _, g := range members {
		if g.Role == RoleParty && g.Community == community {
			inBranch[g.OpenID] = true
		}
	}
	sum.Members = len(inBranch)
	month := Period(at)
	with := map[string]bool{}
	for _, v := range all {
		if v.Open() {
			sum.Open = append(sum.Open, v)
			if at.After(v.Deadline) {
				sum.Overdue++
			}
		}
		if v.Assignee != "" && (v.Open() || Period(v.Done) == month) {
			with[v.Assignee] = true
		}
		if v.Status == VisitDone && Period(v.Done) == month {
			sum.DoneMonth++
			if !v.Overdue && !v.Done.After(v.Deadline) {
				sum.DoneInTime++
			}
		}
	}
	for id := range with {
		if inBranch[id] {
			sum.WithTasks++
		}
	}
	return sum, nil
}

// Secretaries lists the communities the actor is secretary of (all for admins).
func (s *VisitService) Secretaries(actor Actor) []string {
	cs, _ := actor.Communities(RoleSecretary)
	return cs
}

// pushData is what a push may say about a task: its number, kind, place and
// deadline. Never the reason: a hardship's details are shown in chat only.
func (s *VisitService) pushData(v *Visit, extra map[string]any) map[string]any {
	d := map[string]any{
		"No":       v.No,
		"Kind":     s.KindLabel(v.Kind),
		"Place":    v.Person.Address,
		"Deadline": When(s.Catalog, v.Deadline),
		"Assignee": v.AssigneeName,
		// Optional fields are there, empty: catalogue texts fail on a missing one.
		"Person":   "",
		"Proposed": "",
		"FallBack": false, // sent to the community's staff: nobody holds the role it is for
	}
	if v.Trigger == TriggerTransferIn || v.Trigger == TriggerPairing {
		// A newcomer's or a paired person's name is no secret to their visitor; a
		// resident in difficulty is named in chat only.
		d["Person"] = v.Person.Name
	}
	if !v.Proposed.IsZero() {
		d["Proposed"] = When(s.Catalog, v.Proposed)
	}
	for k, val := range extra {
		d[k] = val
	}
	return d
}

func (s *VisitService) tellAssignee(ctx context.Context, v *Visit, key MsgKey, event string) error {
	if v.Assignee == "" {
		return nil
	}
	return s.tell(ctx, v, []Grant{{OpenID: v.Assignee, Name: v.AssigneeName}}, key, event, nil)
}

// tellSecretaries tells the community's secretaries; with none bound, its staff, in
// words that say why and offer none of the secretary's commands (FallBack).
func (s *VisitService) tellSecretaries(ctx context.Context, v *Visit, key MsgKey, event string, extra map[string]any) error {
	_, err := s.toSecretaries(ctx, v, key, event, extra)
	return err
}

// toSecretaries is tellSecretaries, saying who was told: RoleSecretary or RoleStaff.
func (s *VisitService) toSecretaries(ctx context.Context, v *Visit, key MsgKey, event string, extra map[string]any) (Role, error) {
	to, fellBack, err := s.escalationTo(ctx, RoleSecretary, v.Community)
	if err != nil {
		return "", err
	}
	if extra == nil {
		extra = map[string]any{}
	}
	extra["FallBack"] = fellBack
	told := RoleSecretary
	if fellBack {
		told = RoleStaff
	}
	return told, s.tell(ctx, v, to, key, event, extra)
}

// escalationTo is who hears what is meant for role about a task of community (its
// secretaries, the district's admins): the role's holders, or, when nobody holds
// it, the community's staff, so that it always reaches a person (the rule of
// requests, TicketService.escalationTo). fellBack says which.
func (s *VisitService) escalationTo(ctx context.Context, role Role, community string) (to []Grant, fellBack bool, err error) {
	in := community
	if role == RoleAdmin {
		in = ""
	}
	if to, err = s.Holders.Holders(ctx, role, in); err != nil {
		return nil, false, err
	}
	if to = slices.DeleteFunc(to, func(g Grant) bool { return g.Role != role }); len(to) > 0 {
		return to, false, nil
	}
	to, err = s.Holders.Holders(ctx, RoleStaff, community)
	to = slices.DeleteFunc(to, func(g Grant) bool { return g.Role != RoleStaff || g.Community != community })
	return to, true, err
}

func (s *VisitService) tell(ctx context.Context, v *Visit, to []Grant, key MsgKey, event string, extra map[string]any) error {
	data := s.pushData(v, extra)
	// A deadline reminder is one per deadline (a retried reminder, which writes the
	// task again, tells nobody twice); anything else one per version of the task.
	stamp := "v" + strconv.Itoa(v.Version)
	if slices.Contains(visitLevels, event) {
		stamp = "d" + strconv.FormatInt(v.Deadline.Unix(), 10)
	}
	seen := map[string]bool{}
	for _, g := range to {
		if seen[g.OpenID] {
			continue
		}
		seen[g.OpenID] = true
		text := s.Catalog.T(key, data)
		err := s.Pusher.Push(ctx, Push{
			ID: VisitPushID(v.No, stamp, event, g.OpenID), To: g.OpenID, Kind: PushVisitTask, Text: text,
			Fields: map[string]string{"no": v.No, "visit_kind": s.KindLabel(v.Kind), "place": v.Person.Address, "deadline": When(s.Catalog, v.Deadline)},
			Ref:    "visit:" + v.No, Community: v.Community,
		})
		if err != nil {
			return err
		}
	}
	return nil
}
