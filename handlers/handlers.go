// Package handlers holds the conversation flows, one file per flow. Each file reads
// like the conversation it implements; the engine in bot/ handles routing, roles,
// sessions, cancel, back and time-outs.
package handlers

import (
	"context"

	"minyuan/bot"
)

// Deps is what the flows need from the rest of Minyuan.
type Deps struct {
	Roles       bot.Roles
	Profiles    bot.Profiles
	Duty        Duty
	Tickets     *bot.TicketService
	Pusher      bot.Pusher // the relay's messages
	Relays      Relays
	Catalog     *bot.Catalog
	Clock       bot.Clock // for reminders: when they are handled
	Desk        DeskConfig
	Communities []bot.Community
	Categories  []bot.Category
}

// community finds a community by code.
func (d *Deps) community(code string) (bot.Community, bool) {
	for _, c := range d.Communities {
		if c.Code == code {
			return c, true
		}
	}
	return bot.Community{}, false
}

// NewMux routes every flow.
func NewMux(d *Deps) *bot.Mux {
	m := bot.NewMux(d.Catalog, bot.HandlerFunc(fallback))
	registerBasics(m, d)
	registerBind(m, d)
	registerProfile(m, d)
	registerDuty(m, d)
	registerResident(m, d)
	registerStaffDesk(m, d)
	registerRelay(m, d)
	return m
}

// fallback takes what no route took: in a live relay (对话) it is the conversation
// and goes to the peer; otherwise the sender is pointed to 帮助.
func fallback(_ context.Context, r *bot.Request) (bot.Reply, error) {
	if r.Update.Kind == bot.KindText || r.Update.Kind == bot.KindVoice {
		return r.Say(msgFallback, nil), nil
	}
	return r.Say(msgFallbackMedia, nil), nil
}
