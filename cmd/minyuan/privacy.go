package main

import (
	"fmt"
	"time"

	"minyuan/bot"
	"minyuan/bot/report"
	"minyuan/cmd/minyuan/app"
	"minyuan/store"
)

// ResidentCmd groups the data-protection commands about residents.
type ResidentCmd struct {
	Forget ResidentForgetCmd `cmd:"" help:"Erase a resident's personal data and attachments (their openid, or the number of one of their tickets); the report's counts stay; an audit line is written."`
	Expire ResidentExpireCmd `cmd:"" help:"Erase now the personal data of tickets closed longer ago than privacy.retention_days (the nightly job does the same)."`
	Name   ResidentNameCmd   `cmd:"" help:"Print the name a person has in logs and audit lines (a keyed hash of the openid)."`
}

// ResidentForgetCmd erases one resident.
type ResidentForgetCmd struct {
	Who string `arg:"" help:"The resident's openid, or one of their ticket numbers."`
}

func (c ResidentForgetCmd) Run(g *Globals) error {
	return g.withPrivacy(func(s *store.Store, p *bot.PrivacyService) error {
		return app.Forget(g.Ctx, g.Out, p, c.Who, time.Now())
	})
}

// ResidentExpireCmd runs the retention now.
type ResidentExpireCmd struct{}

func (ResidentExpireCmd) Run(g *Globals) error {
	return g.withPrivacy(func(s *store.Store, p *bot.PrivacyService) error {
		return app.Expire(g.Ctx, g.Out, p, time.Now())
	})
}

// ResidentNameCmd prints a person's name in the logs.
type ResidentNameCmd struct {
	OpenID string `arg:"" help:"The openid."`
}

func (c ResidentNameCmd) Run(g *Globals) error {
	return g.withPrivacy(func(s *store.Store, p *bot.PrivacyService) error {
		_, err := fmt.Fprintln(g.Out, p.Names.Of(c.OpenID))
		return err
	})
}

func (g *Globals) withPrivacy(fn func(s *store.Store, p *bot.PrivacyService) error) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		att, err := app.OpenAttachments(g.Ctx, cfg, s)
		if err != nil {
			return err
		}
		p, err := app.NewPrivacy(g.Ctx, cfg, s, att)
		if err != nil {
			return err
		}
		return fn(s, p)
	})
}

// AuditCmd prints the audit log: who read a ticket's details (详情 in chat,
// minyuan tickets show), opened an attachment, or erased personal data, and when.
type AuditCmd struct {
	Ticket string `help:"Only lines about this ticket."`
	Actor  string `help:"Only lines by this person (openid, name, or cli:<user>)."`
	Action string `enum:"detail,cli_show,forget,expire,attachment," default:"" help:"Only this action: detail, cli_show, forget, expire, attachment."`
	From   string `help:"From this day (YYYY-MM-DD, China time)."`
	To     string `help:"Up to this day, inclusive."`
	Limit  int    `default:"100" help:"At most this many lines, newest first."`
	JSON   bool   `name:"json" help:"Print JSON."`
}

func (c AuditCmd) Run(g *Globals) error {
	q := bot.AuditQuery{Ticket: c.Ticket, Actor: c.Actor, Action: c.Action, Limit: c.Limit}
	if c.From != "" {
		d, err := report.ParseDate(c.From)
		if err != nil {
			return err
		}
		q.From = d
	}
	if c.To != "" {
		d, err := report.ParseDate(c.To)
		if err != nil {
			return err
		}
		q.To = d.AddDate(0, 0, 1)
	}
	return g.withStore(func(s *store.Store) error { return app.WriteAudit(g.Ctx, g.Out, s, q, c.JSON) })
}
