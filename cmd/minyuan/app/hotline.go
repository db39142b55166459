package app

import (
	"context"
	"fmt"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/httpapi"
	"minyuan/configs"
	"minyuan/handlers"
)

// The hotline bridge: the call-back service (also the delivery ladder's call-back
// sink), the hotline service, and the HTTP API for call-centre software and phone
// systems.

// hotline builds the hotline's services and the API, and registers the call-back
// reminder.
func (a *App) hotline(ctx context.Context, cfg configs.Config) error {
	key := []byte(cfg.Hotline.PhoneKey)
	if len(key) == 0 {
		var err error
		if key, err = a.Store.PhoneKey(ctx); err != nil {
			return err
		}
		if !a.memory {
			a.log.Warn("hotline.phone_key is empty: phone numbers are indexed with a random key kept in Redis; set MINYUAN_HOTLINE_PHONE_KEY to keep the key apart from the data")
		}
	}
	community := cfg.Hotline.Community
	if community == "" && len(cfg.Communities) > 0 {
		community = cfg.Communities[0].Code
	}
	a.Callbacks.Store, a.Callbacks.Reminders, a.Callbacks.Profiles = a.Store, a.Store, a.Store
	a.Callbacks.Tickets, a.Callbacks.Pusher = a.Store, a.pusher
	a.Callbacks.Clock, a.Callbacks.Retry, a.Callbacks.Community = a.clock, cfg.Hotline.CallbackRetry, community
	a.Callbacks.Holders = a.Store
	a.Hotline = &bot.HotlineService{
		Calls: a.Store, Intake: a.Tickets, Tickets: a.Store, Callbacks: a.Callbacks, Profiles: a.Store,
		Hasher: bot.NewPhoneHasher(key), Proofs: a.Store,
		Categories: cfg.Categories, Communities: Communities(cfg), Community: community,
	}
	a.Scheduler.Handle(bot.CallbackDueKind, a.Callbacks.Due)
	tokens := make([]httpapi.Token, len(cfg.Hotline.Tokens))
	for i, t := range cfg.Hotline.Tokens {
		tokens[i] = httpapi.Token{Name: t.Name, Secret: t.Token}
	}
	api, err := httpapi.New(httpapi.Config{
		Hotline: a.Hotline, Guard: a.Store, Tokens: tokens, CTIToken: cfg.Hotline.CTIToken,
		RateLimit: cfg.Hotline.RateLimit, MaxBody: cfg.Hotline.MaxBody, ReplayWindow: cfg.Hotline.ReplayWindow,
		Clock: a.clock, Log: a.log,
	})
	if err != nil {
		return err
	}
	a.api = api
	return nil
}

// hotlineFlows wires the hotline's chat side: it words what the services tell
// people, lists call-backs under 待办, and turns a reply to a caller nobody can
// reach in WeChat into a call-back task.
func (a *App) hotlineFlows(cat *bot.Catalog) {
	a.Flows.Hotline = handlers.HotlineFlow{
		Callbacks: a.Callbacks, Hotline: a.Hotline, Tickets: a.Tickets, Profiles: a.Store, People: a.Store,
		Pusher: a.pusher, Catalog: cat, Clock: a.clock, Communities: handlers.Communities(Communities(a.cfg)),
		Categories: a.cfg.Categories,
	}
	a.Callbacks.Notify = &a.Flows.Hotline
	a.Hotline.Notify = &a.Flows.Hotline
	a.Flows.Desk.Callbacks = a.Flows.Hotline.CallbackLines
	a.Flows.Desk.TicketCallbacks = a.Flows.Hotline.TicketCallbackLines
	a.Tickets.OnChange(a.replyByPhone)
	a.handoff(cat)
}

// handoff wires 转人工: the service (service hours from the calendar, the desk's
// staff and roster, the ticket a conversation is kept on) and its chat side.
func (a *App) handoff(cat *bot.Catalog) {
	cfg := a.cfg
	category := ""
	for _, want := range []string{"inquiry", "other"} {
		for _, c := range cfg.Categories {
			if c.Code == want && category == "" {
				category = c.Code
			}
		}
	}
	if category == "" && len(cfg.Categories) > 0 {
		category = cfg.Categories[0].Code
	}
	a.Handoff = &bot.HandoffService{
		Store: a.Store, Hours: deskHours{a.Calendar}, Directory: a.Store, Reminders: a.Store,
		AcceptWithin: cfg.Hotline.AcceptWithin, Tickets: a.Tickets, Category: category, Profiles: a.Store,
	}
	a.Flows.Handoff = handlers.HandoffFlow{
		Handoff: a.Handoff, Profiles: a.Store, Pusher: a.pusher, Catalog: cat,
		Communities: handlers.Communities(Communities(cfg)), Community: a.Callbacks.Community, Number: cfg.Hotline.Number,
	}
	a.Handoff.Notify = &a.Flows.Handoff
	a.Scheduler.Handle(bot.HandoffNextKind, func(ctx context.Context, r bot.Reminder) error {
		return a.Handoff.Next(ctx, a.clock.Now(), r)
	})
}

// deskHours are the desk's service hours on the working-day calendar.
type deskHours struct{ cal *calendar.Calendar }

func (h deskHours) IsOpen(t time.Time) bool        { return h.cal.IsOpen(t, h.cal.Hours()) }
func (h deskHours) NextOpen(t time.Time) time.Time { return h.cal.NextOpen(t, h.cal.Hours()) }

// replyByPhone: a reply on a ticket whose resident is not in WeChat (a call from a
// number nobody has linked) becomes a call-back task with the reply to read out.
func (a *App) replyByPhone(ctx context.Context, c bot.TicketChange) error {
	t := c.After
	if c.Event != bot.EventReply || t == nil || t.OpenID != "" || t.Phone == "" {
		return nil
	}
	evs, err := a.Store.Timeline(ctx, t.No)
	if err != nil {
		return err
	}
	text := ""
	if n := len(evs); n > 0 {
		text = evs[n-1].Text
	}
	_, _, err = a.Callbacks.Create(ctx, c.At, bot.Callback{
		ID: fmt.Sprintf("reply:%s:v%d", t.No, t.Version), Phone: t.Phone, Community: t.Community, Ref: t.No,
		Reason: bot.CallbackReply, Text: text,
	})
	return err
}
