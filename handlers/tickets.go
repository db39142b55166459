package handlers

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"minyuan/bot"
)

// What the ticket flows (resident_request.go, staff_desk.go, relay.go, deadlines.go)
// share. The rules are bot.TicketService's: these flows read the message, call it
// as the sender, and say what it did.

// Relays link a staff member and a resident in a live relay (对话).
type Relays interface {
	StartRelay(ctx context.Context, staff, resident, ticket string, ttl time.Duration) error
	Relay(ctx context.Context, openid string) (bot.Relay, bool, error)
	TouchRelay(ctx context.Context, a, b string, ttl time.Duration) error
	EndRelay(ctx context.Context, openid string) (bot.Relay, bool, error)
}

var msgNoSuchTicket = bot.Msg("ticket.not_found")

// PushKinds lists every kind of push the flows make (the templates a deployment may
// configure).
var PushKinds = []string{bot.PushTicketUpdate, bot.PushTicketAlert, bot.PushVisitTask}

// resident is the sender acting on their own requests.
func resident(r *bot.Request) bot.Actor { return bot.ChatActor(r.User, bot.ActorResident) }

// staff is the sender acting at the desk.
func staff(r *bot.Request) bot.Actor { return bot.ChatActor(r.User, bot.ActorStaff) }

// when formats a moment the way the catalogue says it.
func when(r *bot.Request, t time.Time) string { return bot.When(r.Catalog, t) }

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
func ticketNotFound(no string) error { return bot.NotFound(no) }

// excerpt shortens a description for a list line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
