package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// What the ticket flows (resident_request.go, staff_desk.go, deadlines.go) share: the
// repositories they need, how a ticket is shown, and who is told what.

// Directory finds the people of a community.
type Directory interface {
	// Holders lists the grants of role in community ("" for all communities);
	// admins are holders of every community, for RoleAdmin only.
	Holders(ctx context.Context, role bot.Role, community string) ([]bot.Grant, error)
	OnDuty(ctx context.Context, community string) ([]string, error)
	NextInTurn(ctx context.Context, community string) (int64, error)
}

// Relays link a staff member and a resident in a live relay (对话).
type Relays interface {
	StartRelay(ctx context.Context, staff, resident, ticket string, ttl time.Duration) error
	Relay(ctx context.Context, openid string) (bot.Relay, bool, error)
	TouchRelay(ctx context.Context, a, b string, ttl time.Duration) error
	EndRelay(ctx context.Context, openid string) (bot.Relay, bool, error)
}

// DeskConfig tunes the desk.
type DeskConfig struct {
	AutoAssignAfter time.Duration
	RelayTimeout    time.Duration
}

var (
	msgStatusNew     = bot.Msg("ticket.status.new")
	msgStatusClaimed = bot.Msg("ticket.status.claimed")
	msgStatusClosed  = bot.Msg("ticket.status.closed")
	msgNoSuchTicket  = bot.Msg("ticket.not_found")
	msgNewTicketPush = bot.Msg("push.new_ticket")
)

var statusNames = map[bot.Status]bot.MsgKey{
	bot.StatusNew:     msgStatusNew,
	bot.StatusClaimed: msgStatusClaimed,
	bot.StatusClosed:  msgStatusClosed,
}

// Push kinds: each maps to a template in the config, for when the 48-hour window is
// closed.
const (
	pushTicketUpdate = "ticket_update" // to a resident: a reply, a result, a request to rate
	pushTicketAlert  = "ticket_alert"  // to staff: a new, assigned or overdue ticket
)

// PushKinds lists every kind of push the flows make (the templates a deployment may
// configure).
var PushKinds = []string{pushTicketUpdate, pushTicketAlert}

func (d *Deps) category(code string) (bot.Category, bool) {
	for _, c := range d.Categories {
		if c.Code == code {
			return c, true
		}
	}
	return bot.Category{}, false
}

var (
	msgWhen     = bot.Msg("time.when")     // a moment, the way people say it
	msgWeekdays = bot.Msg("time.weekdays") // the names of Sunday to Saturday, one rune each
)

// when formats a moment in Beijing time the way the catalogue says it, e.g.
// 11月27日(周五) 17:30.
func when(r *bot.Request, t time.Time) string {
	t = t.In(calendar.Location())
	names := []rune(r.T(msgWeekdays, nil))
	wd := ""
	if int(t.Weekday()) < len(names) {
		wd = string(names[t.Weekday()])
	}
	return r.T(msgWhen, map[string]any{"Month": int(t.Month()), "Day": t.Day(), "Weekday": wd, "Clock": t.Format("15:04")})
}

// ticketView is a ticket as templates show it. The phone is masked.
func (d *Deps) ticketView(r *bot.Request, t *bot.Ticket) map[string]any {
	cat, _ := d.category(t.Category)
	com, _ := d.community(t.Community)
	return map[string]any{
		"No":          t.No,
		"Category":    cat.Name,
		"Community":   com.Name,
		"Description": t.Description,
		"Photos":      len(t.Photos),
		"Status":      r.T(statusNames[t.Status], nil),
		"Handler":     t.HandlerName,
		"Phone":       maskPhone(t.Phone),
		"Name":        t.Name,
		"Created":     when(r, t.Created),
		"SignBy":      when(r, t.SignBy),
		"DueBy":       when(r, t.DueBy),
		"Result":      t.Result,
		"Flagged":     t.Flagged,
		"Escalated":   t.Escalated,
	}
}

// staffOf lists the staff (and secretaries) of a community, secretaries first.
func (d *Deps) staffOf(ctx context.Context, community string) ([]bot.Grant, error) {
	var out []bot.Grant
	seen := map[string]bool{}
	for _, role := range []bot.Role{bot.RoleSecretary, bot.RoleStaff} {
		gs, err := d.Directory.Holders(ctx, role, community)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if !seen[g.OpenID] {
				seen[g.OpenID] = true
				out = append(out, g)
			}
		}
	}
	return out, nil
}

// withRole lists the grants of one role (in a community, unless it is "").
func (d *Deps) withRole(ctx context.Context, role bot.Role, community string) ([]bot.Grant, error) {
	return d.Directory.Holders(ctx, role, community)
}

// onDutyFirst lists the staff to tell about a community's ticket: those on duty, or
// all its staff when nobody is.
func (d *Deps) onDutyFirst(ctx context.Context, community string) ([]bot.Grant, error) {
	staff, err := d.staffOf(ctx, community)
	if err != nil {
		return nil, err
	}
	duty, err := d.Directory.OnDuty(ctx, community)
	if err != nil {
		return nil, err
	}
	var on []bot.Grant
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

// push queues one message. id makes it idempotent: the same id is sent once.
func (d *Deps) push(ctx context.Context, p bot.Push) error {
	return d.Pusher.Push(ctx, p)
}

// tellStaff pushes an alert about t to each of to.
func (d *Deps) tellStaff(ctx context.Context, r *bot.Request, t *bot.Ticket, to []bot.Grant, id string, key bot.MsgKey, extra map[string]any) error {
	view := d.ticketView(r, t)
	for k, v := range extra {
		view[k] = v
	}
	text := r.T(key, view)
	for _, g := range to {
		err := d.push(ctx, bot.Push{
			ID: id + ":" + g.OpenID, To: g.OpenID, Kind: pushTicketAlert, Text: text,
			Fields: map[string]string{"no": t.No, "category": fmt.Sprint(view["Category"]), "text": text},
			Ref:    t.No, Community: t.Community, Urgent: t.Urgency == bot.UrgencyHigh,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tellResident pushes text to the resident who brought t; a push that cannot reach
// them in WeChat becomes a call-back task.
func (d *Deps) tellResident(ctx context.Context, t *bot.Ticket, id, text string) error {
	if t.OpenID == "" {
		return nil
	}
	return d.push(ctx, bot.Push{
		ID: id, To: t.OpenID, Kind: pushTicketUpdate, Text: text,
		Fields:    map[string]string{"no": t.No, "text": text},
		Important: true, Ref: t.No, Community: t.Community,
	})
}

// splitTicketNo splits "1001 路灯已修好" into the number and the rest. Digits may be
// full-width (Chinese keyboards); the rest keeps its own punctuation.
func splitTicketNo(args string) (no, rest string, ok bool) {
	args = strings.TrimLeft(strings.TrimSpace(args), "#＃") // "#1001", as some type it
	var b strings.Builder
	i := 0
scan:
	for i < len(args) {
		r, size := utf8.DecodeRuneInString(args[i:])
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		default:
			break scan
		}
		i += size
	}
	if b.Len() == 0 || b.Len() > 12 {
		return "", "", false
	}
	rest = args[i:]
	if rest != "" {
		first, _ := utf8.DecodeRuneInString(rest)
		if !unicode.IsSpace(first) && !unicode.IsPunct(first) {
			return "", "", false // "1001号楼" is not a ticket number
		}
	}
	rest = strings.TrimLeftFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	return b.String(), strings.TrimSpace(rest), true
}

// ticketNotFound is the one answer for a number that does not exist and for one the
// sender may not see: nobody learns which it was.
func ticketNotFound(no string) error {
	return bot.UserError(bot.ENotFound, msgNoSuchTicket, map[string]string{"No": no})
}

// excerpt shortens a description for a list line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
