// Package handlers holds the conversation flows, one file per flow. Each file reads
// like the conversation it implements; the engine in bot/ handles routing, roles,
// sessions, cancel, back and time-outs.
package handlers

import (
	"context"
	"slices"
	"strings"

	"minyuan/bot"
)

// Flows holds each flow with what it needs: every flow declares its own
// dependencies (a struct in its own file), so a new flow adds a field here and
// grows nobody else's.
type Flows struct {
	Catalog  *bot.Catalog
	Basics   BasicsFlow
	Bind     BindFlow
	Profile  ProfileFlow
	Duty     DutyFlow
	Requests RequestFlow
	Desk     DeskFlow
	Relay    RelayFlow
	// Visits are party members' tasks (visits.go).
	Visits VisitFlow
	// Volunteers.
	Volunteers VolunteerFlow
	// Hotline: call-backs (回电) and linking a caller's number (hotline.go).
	Hotline HotlineFlow
	// Handoff: 转人工 (handoff.go).
	Handoff HandoffFlow
	// FollowUp takes a resident's free text (followup.go).
	FollowUp FollowUpFlow
	// Stats answers 统计 (stats.go).
	Stats StatsFlow
}

// NewMux routes every flow. It registers routes only: the ticket service's hooks
// are wired once, by the caller (see RelayFlow.TicketChanged).
func NewMux(f Flows) *bot.Mux {
	if f.FollowUp.Requests == nil {
		f.FollowUp.Requests = &f.Requests
	}
	m := bot.NewMux(f.Catalog, bot.HandlerFunc(f.FollowUp.fallback))
	m.Refuse(bot.HandlerFunc(refuse))
	// 更多→待办 is everyone's to-do: the desk's queue for staff, visit tasks for a
	// party member, and for a resident the word of who it is for.
	m.Menu("DESK_TODO", bot.RoleResident, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		switch {
		case r.User.Can(bot.RoleStaff):
			return f.Desk.deskQueue(ctx, r)
		case r.User.Can(bot.RoleParty):
			return f.Visits.visitMine(ctx, r)
		}
		r.Route.Role = bot.RoleStaff
		return refuse(ctx, r)
	}))
	f.Basics.register(m)
	f.Bind.register(m)
	f.Profile.register(m)
	f.Duty.register(m)
	f.Requests.register(m)
	f.Desk.register(m)
	f.Relay.register(m)
	f.Visits.register(m)
	// Volunteers.
	f.Volunteers.register(m)
	f.Hotline.register(m)
	f.Stats.register(m)
	// 催办 is two people's word: a branch secretary's 催办 <任务编号> nudges a party
	// member's visit (as before), and a resident's 催办 [诉求编号] nudges whoever has
	// their request. A secretary who gives a number means a visit task; without a
	// number, or from anyone else, it is the resident's 催办 (催一下, 怎么还没人来 are
	// the resident's alone, words.nudge).
	m.Command(wordsVisitNudge, bot.RoleResident, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		if _, _, numbered := splitTicketNo(r.Args); numbered && f.Visits.Visits != nil && r.User.Can(bot.RoleSecretary) {
			return f.Visits.visitNudge(ctx, r)
		}
		return f.Requests.nudge(ctx, r)
	}))
	// 转交 is two roles' word too: a party member's 转交 <任务编号> hands a visit back
	// to the secretary (as before); staff's 转交 <诉求编号> <社区或姓名> reassigns a
	// request, like 转派. What follows the number decides: a target means a request.
	m.Command(wordsVisitReturn, bot.RoleResident, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		_, target, _ := splitTicketNo(r.Args)
		visits := f.Visits.Visits != nil && r.User.Can(bot.RoleParty)
		switch {
		case r.User.Can(bot.RoleStaff) && (target != "" || !visits):
			return f.Desk.deskReassign(ctx, r)
		case visits:
			return f.Visits.visitReturn(ctx, r)
		}
		if rep, ok, err := f.Relay.relayed(ctx, r); ok || err != nil {
			return rep, err
		}
		r.Route.Role = bot.RoleParty
		return refuse(ctx, r)
	}))
	f.Handoff.Relay, f.Handoff.Requests = &f.Relay, &f.Requests
	f.Handoff.register(m)
	m.Use(f.Relay.conversationFirst)
	// What is not a command the sender may run goes to the other side of a live
	// relay, or waits with a 转人工 for whoever accepts.
	m.Through(func(ctx context.Context, r *bot.Request) (bot.Reply, bool, error) {
		if rep, ok, err := f.Relay.relayed(ctx, r); ok || err != nil {
			return rep, ok, err
		}
		return f.Handoff.waiting(ctx, r)
	})
	return m
}

// Communities are the communities served, as the flows look them up.
type Communities []bot.Community

// byCode finds a community by code.
func (cs Communities) byCode(code string) (bot.Community, bool) {
	for _, c := range cs {
		if c.Code == code {
			return c, true
		}
	}
	return bot.Community{}, false
}

// find matches a community by code (any case) or name, with or without its 社区
// suffix, as people type it.
func (cs Communities) find(s string) (bot.Community, bool) {
	bare := func(n string) string { return strings.TrimSuffix(strings.TrimSpace(n), "社区") }
	for _, c := range cs {
		if strings.EqualFold(c.Code, s) || c.Name == s || bare(c.Name) == bare(s) || slices.Contains(c.Aliases, bare(s)) {
			return c, true
		}
	}
	return bot.Community{}, false
}

// choices offers the communities in a form.
func (cs Communities) choices(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	out := make([]bot.Choice, len(cs))
	for i, c := range cs {
		out[i] = bot.Choice{Value: c.Code, Label: c.Name, Aliases: c.Aliases}
	}
	return out, nil
}

// fallback takes what no route took: in a live relay (对话) it is the conversation
// and goes to the peer; otherwise the sender is pointed to 帮助.
func fallback(_ context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Update.Kind == bot.KindText || r.Update.Kind == bot.KindVoice {
		return r.Say(msgFallback, nil), nil
	}
	return r.Say(msgFallbackMedia, nil), nil
}
