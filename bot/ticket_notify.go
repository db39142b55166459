package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// How a ticket is shown and who is told what: the rendering the service and the
// channels share, so that a push and a chat answer say the same thing.

var (
	msgStatusNew       = Msg("ticket.status.new")
	msgStatusClaimed   = Msg("ticket.status.claimed")
	msgStatusClosed    = Msg("ticket.status.closed")
	msgWhen            = Msg("time.when")      // a moment, the way people say it
	msgWeekdays        = Msg("time.weekdays")  // the names of Sunday to Saturday, one rune each
	msgDayParts        = Msg("time.day_parts") // 凌晨 上午 中午 下午 晚上, space-separated
	msgRatingSatisfied = Msg("rating.satisfied")
	msgRatingBasic     = Msg("rating.basic")
	msgRatingUnsatis   = Msg("rating.unsatisfied")
)

// The states of a ticket, in the desk's words (待接单, 已派单·待接单, 办理中, 已逾期,
// 已办结, 已评价): a ticket the round-robin assigned is 已派单·待接单 until its
// handler takes it, not 办理中. Residents read their own four (residentStatus).
var (
	msgStatusAssigned = Msg("ticket.status.assigned")
	msgStatusRated    = Msg("ticket.status.rated")
	msgStatusOverdue  = Msg("ticket.status.overdue") // a state, overdue
	msgOverdueNote    = Msg("ticket.overdue.note")   // what happens next, to the resident
)

// What residents read (the glossary at the top of the catalogue): 已收到 until a
// person has taken the request (a round-robin assignment is the desk's business),
// then 已受理, 已办好, 已评价.
var residentStatus = map[MsgKey]MsgKey{
	msgStatusNew:      Msg("ticket.status.resident.new"),
	msgStatusAssigned: Msg("ticket.status.resident.new"),
	msgStatusClaimed:  Msg("ticket.status.resident.claimed"),
	msgStatusClosed:   Msg("ticket.status.resident.closed"),
	msgStatusRated:    Msg("ticket.status.resident.rated"),
}

// StatusWords names where t stands at now, in the desk's words; a zero now leaves
// lateness out (pushes are read later than they are made).
func (s *TicketService) StatusWords(t *Ticket, now time.Time) string {
	return s.statusWords(t, now, false)
}

func (s *TicketService) statusWords(t *Ticket, now time.Time, toResident bool) string {
	var key MsgKey
	switch {
	case t.Status == StatusClosed && t.Rating != "":
		key = msgStatusRated
	case t.Status == StatusClosed:
		key = msgStatusClosed
	case t.Handler == "":
		key = msgStatusNew
	case t.Claimed.IsZero():
		key = msgStatusAssigned
	default:
		key = msgStatusClaimed
	}
	if toResident {
		key = residentStatus[key]
	}
	words := s.Catalog.T(key, nil)
	if !now.IsZero() && t.Open() && s.Colour(t, now) == ColourRed {
		words = s.Catalog.T(msgStatusOverdue, map[string]string{"Status": words})
	}
	return words
}

// ViewAt is View as of now: the state with its lateness, and, for an overdue
// ticket, Overdue and the note that tells the resident which deadline passed and
// what happens next (the reminders deadlines makes: the community's
// supervision the next working day, the district's the day after).
func (s *TicketService) ViewAt(t *Ticket, now time.Time) map[string]any {
	return s.viewAt(t, now, false)
}

// ResidentViewAt is ViewAt in the resident's words (已收到, 已受理, 已办好, 已评价).
func (s *TicketService) ResidentViewAt(t *Ticket, now time.Time) map[string]any {
	return s.viewAt(t, now, true)
}

func (s *TicketService) viewAt(t *Ticket, now time.Time, toResident bool) map[string]any {
	v := s.View(t)
	v["Status"] = s.statusWords(t, now, toResident)
	v["Overdue"], v["OverdueNote"] = false, ""
	if !t.Open() || s.Colour(t, now) != ColourRed {
		return v
	}
	unsigned := t.Claimed.IsZero() && now.After(t.SignBy) && !now.After(t.DueBy)
	deadline := t.DueBy
	if unsigned {
		deadline = t.SignBy
	}
	community := s.Calendar.AddWorkingDays(deadline, 1)
	district := s.Calendar.AddWorkingDays(t.DueBy, 2)
	v["Overdue"] = true
	v["OverdueNote"] = s.Catalog.T(msgOverdueNote, map[string]any{
		"Unsigned": unsigned, "Deadline": When(s.Catalog, deadline),
		"Community": !now.Before(community), "CommunityAt": When(s.Catalog, community),
		"District": !unsigned && !now.Before(district), "DistrictAt": When(s.Catalog, district),
		"No": t.No,
	})
	return v
}

var ratingNames = map[Rating]MsgKey{
	RatingSatisfied:   msgRatingSatisfied,
	RatingBasic:       msgRatingBasic,
	RatingUnsatisfied: msgRatingUnsatis,
}

// Words of the timeline: every event kind, deadline stage and level has its words in
// the catalogue (timeline_catalog_test.go walks the constants), so nobody reads a
// stored code.
var (
	eventWords = map[EventKind]MsgKey{
		EventCreated:      Msg("timeline.kind.created"),
		EventClaimed:      Msg("timeline.kind.claimed"),
		EventAssigned:     Msg("timeline.kind.assigned"),
		EventReply:        Msg("timeline.kind.reply"),
		EventRelay:        Msg("timeline.kind.relay"),
		EventRelayStarted: Msg("timeline.kind.relay_started"),
		EventRelayEnded:   Msg("timeline.kind.relay_ended"),
		EventRelayTimeout: Msg("timeline.kind.relay_timeout"),
		EventNote:         Msg("timeline.kind.note"),
		EventAdded:        Msg("timeline.kind.added"),
		EventReassigned:   Msg("timeline.kind.reassigned"),
		EventEscalated:    Msg("timeline.kind.escalated"),
		EventClosed:       Msg("timeline.kind.closed"),
		EventRated:        Msg("timeline.kind.rated"),
		EventReopened:     Msg("timeline.kind.reopened"),
		EventWarned:       Msg("timeline.kind.warned"),
		EventNudged:       Msg("timeline.kind.nudged"),
	}
	msgEventOther = Msg("timeline.kind.other")
	stageWords    = map[string]MsgKey{
		StageSign:    Msg("deadline.stage.sign"),
		StageResolve: Msg("deadline.stage.resolve"),
	}
	levelWords = map[string]MsgKey{
		LevelYellow:    Msg("deadline.level.yellow"),
		LevelRed:       Msg("deadline.level.red"),
		LevelSecretary: Msg("deadline.level.secretary"),
		LevelDistrict:  Msg("deadline.level.district"),
	}
	msgDeadlineLabel = Msg("deadline.label")
)

// EventWords is the catalogue key of what an event kind did; false for a kind
// this build does not know.
func EventWords(k EventKind) (MsgKey, bool) { key, ok := eventWords[k]; return key, ok }

// DeadlineWords names a deadline reminder (a stage and a level) in words, e.g.
// 办结时限·报区级; ok is false when either is unknown.
func DeadlineWords(c *Catalog, stage, level string) (string, bool) {
	s, ok1 := stageWords[stage]
	l, ok2 := levelWords[level]
	if !ok1 || !ok2 {
		return "", false
	}
	return c.T(msgDeadlineLabel, map[string]string{"Stage": c.T(s, nil), "Level": c.T(l, nil)}), true
}

// EventWhat says what a timeline event did, in words: 回复：……, 督办提醒（办结时限·超期）.
// The event's text is shown as given (callers clip it for lists).
func EventWhat(c *Catalog, ev Event) string {
	text := ev.Text
	if ev.Kind == EventWarned {
		stage, level, _ := strings.Cut(ev.Text, ":")
		text, _ = DeadlineWords(c, stage, level)
	}
	data := map[string]any{"Text": text, "Name": ev.Name}
	key, ok := eventWords[ev.Kind]
	if !ok {
		key = msgEventOther
	}
	return c.T(key, data)
}

// RatingName is the catalogue key of a rating's name.
func RatingName(r Rating) MsgKey { return ratingNames[r] }

// When formats a moment in Beijing time the way the catalogue says it, e.g.
// 11月27日（周五）下午5:30.
func When(c *Catalog, t time.Time) string {
	t = t.In(chinaTime)
	names := []rune(c.T(msgWeekdays, nil))
	wd := ""
	if int(t.Weekday()) < len(names) {
		wd = string(names[t.Weekday()])
	}
	return c.T(msgWhen, map[string]any{"Month": int(t.Month()), "Day": t.Day(), "Weekday": wd, "Clock": ClockTime(c, t)})
}

// ClockTime is the time of day the way people say it: 上午9:00, 中午12:30, 下午5:30,
// 晚上8:00, 凌晨0:30 (time.day_parts names the parts).
func ClockTime(c *Catalog, t time.Time) string {
	t = t.In(chinaTime)
	parts := strings.Fields(c.T(msgDayParts, nil))
	h, part := t.Hour(), 0
	switch {
	case h < 6:
		part = 0
	case h < 12:
		part = 1
	case h < 13:
		part = 2
	case h < 18:
		part, h = 3, h-12
	default:
		part, h = 4, h-12
	}
	name := ""
	if part < len(parts) {
		name = parts[part]
	}
	return fmt.Sprintf("%s%d:%02d", name, h, t.Minute())
}

// whenSet is When, or "" for a moment not yet reached (a zero time).
func whenSet(c *Catalog, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return When(c, t)
}

// MaskPhone hides the middle of a phone number: 138****5678.
func MaskPhone(p string) string {
	if len(p) < 7 {
		return p
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// View is a ticket as templates show it to anyone. The phone is masked.
func (s *TicketService) View(t *Ticket) map[string]any {
	cat, _ := s.Category(t.Category)
	com, _ := s.Community(t.Community)
	return map[string]any{
		"No":          t.No,
		"Category":    cat.Name,
		"Community":   com.Name,
		"Description": s.description(t),
		"Photos":      len(t.Photos),
		"Status":      s.StatusWords(t, time.Time{}),
		"Handler":     t.HandlerName,
		"Phone":       MaskPhone(t.Phone),
		"Name":        t.Name,
		"Created":     When(s.Catalog, t.Created),
		"SignBy":      When(s.Catalog, t.SignBy),
		"DueBy":       When(s.Catalog, t.DueBy),
		"ClaimedAt":   whenSet(s.Catalog, t.Claimed),
		"Result":      t.Result,
		"Flagged":     t.Flagged,
		"Escalated":   t.Escalated,
		// Urgent: someone may be in danger (hardship, safety, illness): the texts
		// give the emergency numbers and the community's phone.
		"Urgent":         cat.Urgency == UrgencyHigh,
		"CommunityPhone": com.Phone,
		// SignLater: signing for it waits for the next working day (it came out of
		// hours or on a day off, or its category allows more than the same day).
		"SignLater": dayKey(t.SignBy) != dayKey(t.Created),
		// Care (illness, a death): a caring word, no rating asked. Private
		// (disputes, noise): the name and phone only for the handler and secretary.
		"Care":    cat.Care,
		"Private": cat.Private,
	}
}

func dayKey(t time.Time) string { return t.In(chinaTime).Format(time.DateOnly) }

// msgConfidential stands for the contents of a confidential call (hotline.go).
var msgConfidential = Msg("ticket.confidential")

// msgErased stands for the contents of a ticket whose personal data was erased.
var msgErased = Msg("ticket.erased")

// description is what views show of t's description: a confidential call's only
// to its handler (see the desk's 详情), never in pushes or lists.
func (s *TicketService) description(t *Ticket) string {
	if !t.Erased.IsZero() {
		return s.Catalog.T(msgErased, nil)
	}
	if t.Confidential {
		return s.Catalog.T(msgConfidential, nil)
	}
	return t.Description
}

// StaffView is a ticket as staff see it in a push or a text many read: the phone
// masked (PhoneFull too). extra adds to it.
func (s *TicketService) StaffView(t *Ticket, extra map[string]any) map[string]any {
	return s.StaffViewFor(Actor{Kind: ActorStaff}, t, extra)
}

// StaffViewFor is a ticket as viewer sees it at the desk: the phone in full
// (PhoneFull) only for its handler and the community's secretary, who may have to
// call; everyone else, an admin included, sees it masked. extra adds to it.
func (s *TicketService) StaffViewFor(viewer Actor, t *Ticket, extra map[string]any) map[string]any {
	v := s.View(t)
	v["PhoneFull"] = v["Phone"]
	if SeesPhone(viewer, t) {
		v["PhoneFull"] = t.Phone
	} else if cat, _ := s.Category(t.Category); cat.Private {
		v["Name"] = "" // the resident was told only the handler and secretary see it
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// SeesPhone reports whether viewer may read t's phone number in full: its handler
// and the secretaries of its community (also the system, e.g. the register export,
// which masks on its own).
func SeesPhone(viewer Actor, t *Ticket) bool {
	if viewer.Kind == ActorSystem || (t.Handler != "" && viewer.ID == t.Handler) {
		return true
	}
	for _, g := range viewer.Grants {
		if g.Role == RoleSecretary && g.Community == t.Community {
			return true
		}
	}
	return false
}

// HandlerView is StaffViewFor staff member a: a confidential call's contents are
// shown only when a handles it.
func (s *TicketService) HandlerView(a Actor, t *Ticket, extra map[string]any) map[string]any {
	v := s.StaffViewFor(a, t, extra)
	if t.Confidential && t.Handler != "" && t.Handler == a.ID && t.Erased.IsZero() {
		v["Description"] = t.Description
	}
	return v
}

// StaffOf lists the staff (and secretaries) of a community, each once, secretaries
// first.
func (s *TicketService) StaffOf(ctx context.Context, community string) ([]Grant, error) {
	staff, _, err := deskOf(ctx, s.Directory, community)
	return staff, err
}

// deskOf is StaffOf and who of the community is on duty, in one round trip.
func deskOf(ctx context.Context, d StaffDirectory, community string) (staff []Grant, onDuty []string, err error) {
	secs, rest, onDuty, err := d.Desk(ctx, community)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range append(secs, rest...) {
		if g.Community == community && !slices.ContainsFunc(staff, func(o Grant) bool { return o.OpenID == g.OpenID }) {
			staff = append(staff, g)
		}
	}
	return staff, onDuty, nil
}

// onDutyFirst lists the staff to tell about a community's ticket: those on duty, or
// all its staff when nobody is.
func (s *TicketService) onDutyFirst(ctx context.Context, community string) ([]Grant, error) {
	staff, duty, err := deskOf(ctx, s.Directory, community)
	if err != nil {
		return nil, err
	}
	var on []Grant
	for _, g := range staff {
		if slices.Contains(duty, g.OpenID) {
			on = append(on, g)
		}
	}
	if len(on) > 0 {
		return on, nil
	}
	return staff, nil
}

// handlerOrDesk is the ticket's handler, or the desk when nobody has it yet.
func (s *TicketService) handlerOrDesk(ctx context.Context, t *Ticket) ([]Grant, error) {
	if t.Handler != "" {
		return []Grant{{OpenID: t.Handler, Name: t.HandlerName, Community: t.Community}}, nil
	}
	return s.onDutyFirst(ctx, t.Community)
}

// escalationTo is who hears of an escalation to role (the community's secretaries,
// the district's admins): its holders, or, when nobody holds it, the community's
// staff, so that an escalation always reaches a person. fellBack says which.
func (s *TicketService) escalationTo(ctx context.Context, role Role, community string) (to []Grant, fellBack bool, err error) {
	in := community
	if role == RoleAdmin {
		in = ""
	}
	if to, err = s.Directory.Holders(ctx, role, in); err != nil || len(to) > 0 {
		return to, false, err
	}
	to, err = s.Directory.Holders(ctx, RoleStaff, community)
	return to, true, err
}

// secretaryAndHandler are who hear of a resident's dissatisfaction: the community's
// secretaries (or its staff when it has none, see escalationTo) and the ticket's
// handler, each once. secretaries is how many secretaries are among them.
func (s *TicketService) secretaryAndHandler(ctx context.Context, t *Ticket) (to []Grant, secretaries int, err error) {
	to, fellBack, err := s.escalationTo(ctx, RoleSecretary, t.Community)
	if err != nil {
		return nil, 0, err
	}
	if !fellBack {
		secretaries = len(to)
	}
	if t.Handler == "" || slices.ContainsFunc(to, func(g Grant) bool { return g.OpenID == t.Handler }) {
		return to, secretaries, nil
	}
	return append(to, Grant{OpenID: t.Handler, Name: t.HandlerName, Community: t.Community}), secretaries, nil
}

// RoleGap is an escalation role nobody holds: the secretary of a community, or the
// district's admin (Community ""). Escalations meant for it go to the community's
// staff until someone is bound.
type RoleGap struct {
	Role      Role
	Community string
}

// EmptyRoles lists the escalation roles nobody holds, in the communities a works in
// (every community for an admin or the system): what an administrator must bind.
func (s *TicketService) EmptyRoles(ctx context.Context, a Actor) ([]RoleGap, error) {
	codes, every := a.Communities(RoleStaff)
	if every || a.Kind == ActorSystem {
		codes = codes[:0]
		for _, c := range s.Communities {
			codes = append(codes, c.Code)
		}
	}
	var gaps []RoleGap
	admins, err := s.Directory.Holders(ctx, RoleAdmin, "")
	if err != nil {
		return nil, err
	}
	if len(admins) == 0 {
		gaps = append(gaps, RoleGap{Role: RoleAdmin})
	}
	for _, code := range codes {
		secs, err := s.Directory.Holders(ctx, RoleSecretary, code)
		if err != nil {
			return nil, err
		}
		if len(secs) == 0 {
			gaps = append(gaps, RoleGap{Role: RoleSecretary, Community: code})
		}
	}
	return gaps, nil
}

// tellStaff pushes an alert about t (as it stands after event) to each of to.
func (s *TicketService) tellStaff(ctx context.Context, t *Ticket, to []Grant, event EventKind, key MsgKey, extra map[string]any) error {
	// One text for every recipient: the phone is masked (a push names no number).
	view := s.StaffView(t, extra)
	text := s.Catalog.T(key, view)
	for _, g := range to {
		err := s.Pusher.Push(ctx, Push{
			ID: TicketPushID(t.No, t.Version, event, g.OpenID), To: g.OpenID, Kind: PushTicketAlert, Text: text,
			Fields: map[string]string{"no": t.No, "category": fmt.Sprint(view["Category"]), "text": text},
			Ref:    t.No, Community: t.Community, Urgent: t.Urgency == UrgencyHigh,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tellResident pushes text to the resident who brought t; a push that cannot reach
// them in WeChat becomes a call-back task, and the staff member whose message it is
// (a) is told at once. A ticket with no resident in WeChat (a caller) is told
// nothing here: its handler phones. It returns when the push goes out: zero for at
// once, or the end of the quiet hours that hold it.
func (s *TicketService) tellResident(ctx context.Context, a Actor, t *Ticket, event EventKind, text string) (time.Time, error) {
	if t.OpenID == "" {
		return time.Time{}, nil
	}
	p := Push{
		ID: TicketPushID(t.No, t.Version, event, t.OpenID), To: t.OpenID, Kind: PushTicketUpdate, Text: text,
		Fields:    map[string]string{"no": t.No, "text": text},
		Important: true, Ref: t.No, Community: t.Community,
	}
	if a.Kind == ActorStaff || a.Kind == ActorHotline {
		p.Sender = a.ID
	}
	var held time.Time
	if h, ok := s.Pusher.(Holder); ok {
		if at, ok := h.HeldUntil(p); ok {
			held = at
		}
	}
	return held, s.Pusher.Push(ctx, p)
}
