package app

import (
	"context"

	"minyuan/bot"
	"minyuan/bot/httpapi"
	"minyuan/configs"
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
	a.Callbacks.Clock, a.Callbacks.Retry, a.Callbacks.Community = a.clock, cfg.Hotline.CallbackRetry, community
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
