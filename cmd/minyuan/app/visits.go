package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/configs"
	"minyuan/handlers"
	"minyuan/store"
)

// Party members' tasks: the visit service's wiring, and the command line's view of
// tasks (`minyuan tasks list`, `show`).

// newVisits builds the visit service and registers its reminder kinds.
func (a *App) newVisits(cfg configs.Config, cal *calendar.Calendar, cat *bot.Catalog) {
	a.Visits = &bot.VisitService{
		Visits: a.Store, Holders: a.Store, Calendar: cal, Reminders: a.Store, Pusher: a.pusher,
		Catalog: cat, Profiles: a.Store, Hours: a.Store, Tickets: fourOneTickets{a.Tickets},
		Config: cfg.Visits.VisitConfig(), Log: a.log,
	}
	a.Flows.Visits = handlers.VisitFlow{Visits: a.Visits, Tickets: a.Tickets, Communities: handlers.Communities(Communities(cfg))}
	// A new ticket of a hardship or illness category makes its visit task.
	a.Tickets.OnChange(func(ctx context.Context, c bot.TicketChange) error {
		if c.Before != nil {
			return nil
		}
		_, err := a.Visits.TicketVisit(ctx, c.At, c.After)
		return err
	})
	at := func(fn func(context.Context, time.Time, bot.Reminder) error) func(context.Context, bot.Reminder) error {
		return func(ctx context.Context, r bot.Reminder) error { return fn(ctx, a.clock.Now(), r) }
	}
	a.Scheduler.Handle(bot.ReminderVisitAssign, at(a.Visits.FireAssign))
	a.Scheduler.Handle(bot.ReminderVisitDue, at(a.Visits.FireDue))
	a.Scheduler.Handle(bot.ReminderPairing, at(a.Visits.FirePairing))
	a.Scheduler.Handle(bot.ReminderFourOneNov, at(a.Visits.FireNovember))
}

// fourOneTickets files a member's 四个一 信息 or 建议 as a ticket of their branch,
// on their behalf: they follow it as their own request.
type fourOneTickets struct{ t *bot.TicketService }

func (f fourOneTickets) FileFourOne(ctx context.Context, member bot.Actor, at time.Time, community, category, text, key string) (string, error) {
	by := bot.SystemActor
	by.Name = member.Name
	t, err := f.t.Intake(ctx, by, at, bot.NewTicket{Community: community, Category: category, Description: text,
		Source: "wechat", OpenID: member.ID, Name: member.Name}, key)
	if err != nil {
		return "", err
	}
	return t.No, nil
}

// TaskFilter picks the tasks ListTasks prints; empty fields match all.
type TaskFilter struct {
	Community string
	Member    string // the assignee's openid
	Status    string // new, assigned, done, ended, open (new and assigned) or overdue
}

func (f TaskFilter) match(v *bot.Visit, now time.Time) bool {
	if f.Community != "" && !strings.EqualFold(v.Community, f.Community) {
		return false
	}
	if f.Member != "" && v.Assignee != f.Member {
		return false
	}
	switch f.Status {
	case "":
		return true
	case "open":
		return v.Open()
	case "overdue":
		return v.Open() && now.After(v.Deadline)
	}
	return string(v.Status) == f.Status
}

// taskRow is a task as `tasks list --json` prints it.
type taskRow struct {
	Number       string    `json:"number"`
	Kind         string    `json:"kind"`
	Trigger      string    `json:"trigger"`
	Assignee     string    `json:"assignee"`
	AssigneeName string    `json:"assignee_name,omitempty"`
	Deadline     time.Time `json:"deadline"`
	Status       string    `json:"status"`
	Community    string    `json:"community"`
	Overdue      bool      `json:"overdue"`
	Ticket       string    `json:"ticket,omitempty"`
	Pairing      string    `json:"pairing,omitempty"`
}

// ListTasks prints the tasks that match f, in number order, as a table or JSON.
func ListTasks(ctx context.Context, w io.Writer, s *store.Store, f TaskFilter, now time.Time, asJSON bool) error {
	switch f.Status {
	case "", "open", "overdue", "new", "assigned", "done", "ended":
	default:
		return fmt.Errorf("--status: one of new, assigned, done, ended, open, overdue (got %q)", f.Status)
	}
	all, err := s.AllVisits(ctx)
	if err != nil {
		return err
	}
	rows := []taskRow{}
	for _, v := range all {
		if !f.match(v, now) {
			continue
		}
		rows = append(rows, taskRow{Number: v.No, Kind: string(v.Kind), Trigger: string(v.Trigger), Assignee: v.Assignee,
			AssigneeName: v.AssigneeName, Deadline: v.Deadline, Status: string(v.Status), Community: v.Community,
			Overdue: v.Overdue || (v.Open() && now.After(v.Deadline)), Ticket: v.Ticket, Pairing: v.Pairing})
	}
	if asJSON {
		return json.NewEncoder(w).Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NO\tCOMMUNITY\tKIND\tTRIGGER\tSTATUS\tASSIGNEE\tDEADLINE\tOVERDUE")
	for _, r := range rows {
		who := r.AssigneeName
		if who == "" {
			who = "-"
		}
		late := ""
		if r.Overdue {
			late = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Community, r.Kind, r.Trigger, r.Status, who, cliWhen(r.Deadline), late)
	}
	return tw.Flush()
}

// ShowTask prints one task with its timeline.
func ShowTask(ctx context.Context, w io.Writer, s *store.Store, no string) error {
	v, err := s.Visit(ctx, no)
	if bot.ErrorCode(err) == bot.ENotFound {
		return fmt.Errorf("no task %s", no)
	}
	if err != nil {
		return err
	}
	evs, err := s.VisitTimeline(ctx, no)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" && v != "-" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("task", v.No)
	row("status", string(v.Status))
	row("community", v.Community)
	row("trigger", string(v.Trigger))
	row("kind", string(v.Kind))
	row("person", strings.TrimSpace(strings.Join([]string{v.Person.Name, v.Person.Phone, v.Person.Address}, " ")))
	row("reason", v.Reason)
	row("ticket", v.Ticket)
	row("pairing", strings.TrimSpace(v.Pairing+" "+v.Period))
	row("assignee", strings.TrimSpace(v.AssigneeName+" "+paren(v.Assignee)))
	row("created", cliWhen(v.Created))
	row("assigned", cliWhen(v.Assigned))
	row("deadline", cliWhen(v.Deadline))
	if v.Overdue {
		row("overdue", "yes")
	}
	if !v.Proposed.IsZero() {
		row("reschedule asked", cliWhen(v.Proposed)+" "+v.ProposedReason)
	}
	row("done", cliWhen(v.Done))
	row("report", v.Report)
	for _, p := range v.Photos {
		row("photo", p)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntimeline (%d events):\n", len(evs))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tKIND\tTEXT")
	for _, ev := range evs {
		actor := ev.Actor
		if ev.Name != "" {
			actor = ev.Name + " " + paren(ev.Actor)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cliWhen(ev.At), actor, ev.Kind, strings.Join(strings.Fields(ev.Text), " "))
	}
	return tw.Flush()
}

// PairMember finds the party member a `party pair --member` names: an openid, or a
// name, within community when given.
func PairMember(ctx context.Context, s *store.Store, member, community string) (bot.Grant, error) {
	gs, err := s.Holders(ctx, bot.RoleParty, community)
	if err != nil {
		return bot.Grant{}, err
	}
	var found []bot.Grant
	for _, g := range gs {
		if g.Role == bot.RoleParty && (g.OpenID == member || g.Name == member) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return bot.Grant{}, fmt.Errorf("no party member %q%s (bind them first with an invite of role party)", member, inCommunity(community))
	case 1:
		return found[0], nil
	}
	return bot.Grant{}, fmt.Errorf("%d party members match %q: give --community or the openid", len(found), member)
}

func inCommunity(c string) string {
	if c == "" {
		return ""
	}
	return " in " + c
}

// Config is the configuration the App was built with.
func (a *App) Config() configs.Config { return a.cfg }
