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
	"minyuan/store"
)

// The admin command line's view of tickets: `minyuan tickets show` and `list`.

const cliTime = "2006-01-02 15:04:05"

func cliWhen(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(calendar.Location()).Format(cliTime)
}

// ShowTicket prints ticket no and its whole timeline, each event with its actor and
// time; private notes are included and marked.
func ShowTicket(ctx context.Context, w io.Writer, tickets bot.Tickets, no string) error {
	t, err := tickets.Ticket(ctx, no)
	if bot.ErrorCode(err) == bot.ENotFound {
		return fmt.Errorf("no ticket %s", no)
	}
	if err != nil {
		return err
	}
	evs, err := tickets.Timeline(ctx, no)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("ticket", t.No)
	row("status", string(t.Status))
	row("community", t.Community)
	row("category", t.Category)
	row("source", t.Source)
	row("resident", strings.TrimSpace(fmt.Sprintf("%s %s %s", t.Name, t.Phone, paren(t.OpenID))))
	row("handler", strings.TrimSpace(t.HandlerName+" "+paren(t.Handler)))
	row("created", cliWhen(t.Created))
	row("sign by", cliWhen(t.SignBy))
	row("due by", cliWhen(t.DueBy))
	row("claimed", cliWhen(t.Claimed))
	row("responded", cliWhen(t.Responded))
	row("closed", cliWhen(t.Closed))
	row("result", t.Result)
	row("rating", strings.TrimSpace(string(t.Rating)+" "+t.RatingNote))
	var flags []string
	if t.Flagged {
		flags = append(flags, "flagged")
	}
	if t.Escalated {
		flags = append(flags, "escalated")
	}
	if t.Reopened > 0 {
		flags = append(flags, fmt.Sprintf("reopened %d", t.Reopened))
	}
	row("flags", strings.Join(flags, ", "))
	row("description", t.Description)
	for _, p := range t.Photos {
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
		if ev.Name != "" && ev.Actor != "system" {
			actor = ev.Name + " " + paren(ev.Actor)
		}
		kind := ev.Kind
		if ev.Private {
			kind += " (private)"
		}
		text := strings.Join(strings.Fields(ev.Text), " ")
		if ev.Actor == "system" && ev.Name != "" {
			text = strings.TrimSpace(ev.Name + " " + text)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cliWhen(ev.At), actor, kind, text)
	}
	return tw.Flush()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// TicketFilter picks the tickets ListTickets prints; empty fields match all.
type TicketFilter struct {
	Community string
	Status    string // new, claimed, closed, or open (new and claimed)
}

func (f TicketFilter) match(t *bot.Ticket) bool {
	if f.Community != "" && !strings.EqualFold(t.Community, f.Community) {
		return false
	}
	switch f.Status {
	case "":
		return true
	case "open":
		return t.Open()
	}
	return string(t.Status) == f.Status
}

// ListTickets prints the tickets that match f, in number order, as a table or as a
// JSON array. It walks every ticket number rather than the community queues, so
// that closed tickets (which leave the queue) are listed as well.
func ListTickets(ctx context.Context, w io.Writer, s *store.Store, f TicketFilter, asJSON bool) error {
	out := []*bot.Ticket{}
	err := s.EachTicket(ctx, func(t *bot.Ticket) error {
		if f.match(t) {
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NO\tCOMMUNITY\tCATEGORY\tSTATUS\tHANDLER\tCREATED\tDUE BY\tDESCRIPTION")
	for _, t := range out {
		desc := []rune(strings.Join(strings.Fields(t.Description), " "))
		if len(desc) > 30 {
			desc = append(desc[:30], '…')
		}
		handler := t.HandlerName
		if handler == "" {
			handler = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.No, t.Community, t.Category, t.Status, handler,
			cliWhen(t.Created), cliWhen(t.DueBy), string(desc))
	}
	return tw.Flush()
}
