package handlers

import (
	"context"
	"encoding/json"

	"fmt"
	"time"

	"minyuan/bot"
)

// Deadlines (督办): each ticket's sign-for and resolve deadlines in working days become
// reminders in the due set: a yellow warning to the handler the working day before,
// a red one at the deadline, the community secretary the next working day, the
// district the day after. A reminder that fires when its stage is already done (the
// ticket was claimed, or closed) does nothing. Unclaimed tickets are assigned
// round-robin after a wait.

// Reminder kinds handled here.
const (
	kindDeadline   = "ticket.deadline"
	kindAutoAssign = "ticket.autoassign"
)

var (
	msgWarnYellow    = bot.Msg("deadline.yellow")
	msgWarnRed       = bot.Msg("deadline.red")
	msgWarnSignRed   = bot.Msg("deadline.sign_red")
	msgWarnSecretary = bot.Msg("deadline.secretary")
	msgWarnDistrict  = bot.Msg("deadline.district")
	msgAutoAssigned  = bot.Msg("push.auto_assigned")
	msgColourGreen   = bot.Msg("colour.green")
	msgColourYellow  = bot.Msg("colour.yellow")
	msgColourRed     = bot.Msg("colour.red")
)

// Stages and levels of a deadline reminder.
const (
	stageSign    = "sign"
	stageResolve = "resolve"

	levelYellow    = "yellow"
	levelRed       = "red"
	levelSecretary = "secretary"
	levelDistrict  = "district"
)

type deadlineDue struct {
	No    string `json:"no"`
	Stage string `json:"stage"`
	Level string `json:"level"`
	// Version pins the reminder to the deadlines it was made for: after a reopen the
	// ticket gets new ones, and the old reminders do nothing.
	DueBy time.Time `json:"due_by"`
}

// deadlineIDs are the reminder IDs of a ticket, so they can be moved or cancelled.
func deadlineID(no, stage, level string) string { return "t:" + no + ":" + stage + ":" + level }

// yellowAt is the end of the working day before due, or half-way for short limits.
func (d *Deps) yellowAt(from, due time.Time, days int) time.Time {
	if days >= 2 {
		return d.Calendar.AddWorkingDays(from, days-1)
	}
	return from.Add(due.Sub(from) / 2)
}

// scheduleDeadlines puts t's reminders in the due set (moving any it had).
func (d *Deps) scheduleDeadlines(ctx context.Context, t *bot.Ticket, from time.Time) error {
	cat, _ := d.category(t.Category)
	type row struct {
		stage, level string
		at           time.Time
	}
	var rows []row
	if t.Claimed.IsZero() {
		rows = append(rows,
			row{stageSign, levelRed, t.SignBy},
			row{stageSign, levelSecretary, d.Calendar.AddWorkingDays(t.SignBy, 1)},
		)
	}
	rows = append(rows,
		row{stageResolve, levelYellow, d.yellowAt(from, t.DueBy, cat.ResolveDays)},
		row{stageResolve, levelRed, t.DueBy},
		row{stageResolve, levelSecretary, d.Calendar.AddWorkingDays(t.DueBy, 1)},
		row{stageResolve, levelDistrict, d.Calendar.AddWorkingDays(t.DueBy, 2)},
	)
	for _, r := range rows {
		payload, _ := json.Marshal(deadlineDue{No: t.No, Stage: r.stage, Level: r.level, DueBy: t.DueBy})
		err := d.Reminders.Schedule(ctx, bot.Reminder{ID: deadlineID(t.No, r.stage, r.level), Kind: kindDeadline, Due: r.at, Payload: payload})
		if err != nil {
			return err
		}
	}
	return nil
}

// cancelDeadlines removes what is left of t's reminders (it was closed).
func (d *Deps) cancelDeadlines(ctx context.Context, no string) error {
	for _, stage := range []string{stageSign, stageResolve} {
		for _, level := range []string{levelYellow, levelRed, levelSecretary, levelDistrict} {
			if err := d.Reminders.Cancel(ctx, deadlineID(no, stage, level)); err != nil {
				return err
			}
		}
	}
	return d.Reminders.Cancel(ctx, "t:"+no+":assign")
}

// scheduleAutoAssign assigns t round-robin if nobody claims it in time.
func (d *Deps) scheduleAutoAssign(ctx context.Context, t *bot.Ticket, from time.Time) error {
	payload, _ := json.Marshal(deadlineDue{No: t.No})
	return d.Reminders.Schedule(ctx, bot.Reminder{ID: "t:" + t.No + ":assign", Kind: kindAutoAssign,
		Due: from.Add(d.Desk.AutoAssignAfter), Payload: payload})
}

// colour is the deadline colour of an open ticket at now, for 待办.
func (d *Deps) colour(t *bot.Ticket, now time.Time) bot.MsgKey {
	cat, _ := d.category(t.Category)
	switch {
	case now.After(t.DueBy), t.Claimed.IsZero() && now.After(t.SignBy):
		return msgColourRed
	case now.After(d.yellowAt(t.Created, t.DueBy, cat.ResolveDays)):
		return msgColourYellow
	}
	return msgColourGreen
}

// ReminderHandlers are the due-set kinds the ticket flows handle, for the scheduler.
func (d *Deps) ReminderHandlers() map[string]func(ctx context.Context, r bot.Reminder) error {
	return map[string]func(context.Context, bot.Reminder) error{
		kindDeadline:   d.fireDeadline,
		kindAutoAssign: d.fireAutoAssign,
	}
}

// system is a Request for work the system does on its own (no Update), so that
// templates and pushes work the same way.
func (d *Deps) system() *bot.Request {
	return &bot.Request{User: &bot.User{OpenID: "system"}, Now: d.Clock.Now(), Catalog: d.Catalog}
}

func (d *Deps) fireDeadline(ctx context.Context, rem bot.Reminder) error {
	var p deadlineDue
	if err := json.Unmarshal(rem.Payload, &p); err != nil {
		return fmt.Errorf("deadline payload: %w", err)
	}
	t, err := d.Tickets.Ticket(ctx, p.No)
	if bot.ErrorCode(err) == bot.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	// Done stages and superseded deadlines need no warning.
	if !t.Open() || !t.DueBy.Equal(p.DueBy) || (p.Stage == stageSign && !t.Claimed.IsZero()) {
		return nil
	}
	r := d.system()
	var to []bot.Grant
	var key bot.MsgKey
	switch {
	case p.Level == levelSecretary:
		to, err = d.withRole(ctx, bot.RoleSecretary, t.Community)
		key = msgWarnSecretary
	case p.Level == levelDistrict:
		to, err = d.withRole(ctx, bot.RoleAdmin, "")
		key = msgWarnDistrict
	case p.Stage == stageSign:
		to, err = d.onDutyFirst(ctx, t.Community)
		key = msgWarnSignRed
	default:
		to, err = d.handlerOrDesk(ctx, t)
		key = msgWarnYellow
		if p.Level == levelRed {
			key = msgWarnRed
		}
	}
	if err != nil {
		return err
	}
	_, err = d.Tickets.Update(ctx, t.No, func(t *bot.Ticket) ([]bot.Event, error) {
		if p.Level == levelSecretary || p.Level == levelDistrict {
			t.Flagged = true
		}
		return []bot.Event{{At: r.Now, Actor: "system", Kind: "warned", Text: p.Stage + ":" + p.Level}}, nil
	})
	if err != nil {
		return err
	}
	return d.tellStaff(ctx, r, t, to, rem.ID, key, nil)
}

// handlerOrDesk is the ticket's handler, or the desk when nobody has it yet.
func (d *Deps) handlerOrDesk(ctx context.Context, t *bot.Ticket) ([]bot.Grant, error) {
	if t.Handler != "" {
		return []bot.Grant{{OpenID: t.Handler, Name: t.HandlerName, Community: t.Community}}, nil
	}
	return d.onDutyFirst(ctx, t.Community)
}

func (d *Deps) fireAutoAssign(ctx context.Context, rem bot.Reminder) error {
	var p deadlineDue
	if err := json.Unmarshal(rem.Payload, &p); err != nil {
		return fmt.Errorf("auto-assign payload: %w", err)
	}
	t, err := d.Tickets.Ticket(ctx, p.No)
	if bot.ErrorCode(err) == bot.ENotFound {
		return nil
	}
	if err != nil || t.Status != bot.StatusNew {
		return err
	}
	staff, err := d.onDutyFirst(ctx, t.Community)
	if err != nil {
		return err
	}
	if len(staff) == 0 {
		// Nobody to assign to: the sign-for deadline reminders take it up the chain.
		return nil
	}
	n, err := d.Directory.NextInTurn(ctx, t.Community)
	if err != nil {
		return err
	}
	g := staff[int(n-1)%len(staff)]
	r := d.system()
	t, err = d.Tickets.Update(ctx, t.No, func(t *bot.Ticket) ([]bot.Event, error) {
		if t.Status != bot.StatusNew {
			return nil, bot.Errorf(bot.EConflict, "claimed meanwhile")
		}
		// Assigned, not yet signed for: the assignee still signs with 接单, and the
		// sign-for deadline keeps running until they do.
		t.Status, t.Handler, t.HandlerName = bot.StatusClaimed, g.OpenID, g.Name
		return []bot.Event{{At: r.Now, Actor: "system", Kind: "assigned", Name: g.Name, Text: g.OpenID}}, nil
	})
	if bot.ErrorCode(err) == bot.EConflict {
		return nil
	}
	if err != nil {
		return err
	}
	return d.tellStaff(ctx, r, t, []bot.Grant{g}, rem.ID, msgAutoAssigned, nil)
}
