package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
)

// CLI is the command line. Every command reads the same --config and environment.
type CLI struct {
	Config string `help:"Configuration file (YAML); environment MINYUAN_<SECTION>_<KEY> overrides it." type:"path" env:"MINYUAN_CONFIG"`

	Serve  ServeCmd  `cmd:"" help:"Run the webhook and workers."`
	Demo   DemoCmd   `cmd:"" help:"Run Minyuan with an in-process Redis and a WeChat simulator, with a page to chat in."`
	Invite InviteCmd `cmd:"" help:"Create a one-time invite code that grants a role when typed in chat as 绑定 <code>."`
	Roles  RolesCmd  `cmd:"" help:"List or revoke granted roles."`
}

// Globals are passed to every command's Run.
type Globals struct {
	Ctx        context.Context
	ConfigPath string
	Out        io.Writer
}

func (g *Globals) load() (configs.Config, error) {
	return configs.Load(g.ConfigPath, os.Environ())
}

func newLogger(cfg configs.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// ServeCmd runs Minyuan for real.
type ServeCmd struct{}

func (ServeCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	a, err := app.New(g.Ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(g.Ctx)
}

// InviteCmd creates an invite code.
type InviteCmd struct {
	Role      string        `required:"" enum:"staff,secretary,party,hotline,admin" help:"staff, secretary (社区书记: staff who also gets overdue and flagged requests), party, hotline or admin."`
	Community string        `required:"" help:"Community code (see communities in the config)."`
	Name      string        `required:"" help:"The person's name, shown back to them when they bind."`
	TTL       time.Duration `name:"ttl" help:"How long the code stays valid (default: invite.ttl)."`
	JSON      bool          `name:"json" help:"Print JSON."`
}

func (c InviteCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	if _, ok := cfg.Community(c.Community); !ok {
		return fmt.Errorf("no community %q in the config", c.Community)
	}
	role, _ := bot.ParseRole(c.Role)
	ttl := c.TTL
	if ttl <= 0 {
		ttl = cfg.Invite.TTL
	}
	s, closeFn, err := app.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	inv, err := s.CreateInvite(g.Ctx, role, c.Community, c.Name, time.Now(), ttl)
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(g.Out).Encode(inv)
	}
	fmt.Fprintf(g.Out, "invite code: %s\nrole: %s  community: %s  name: %s\nexpires: %s\nin WeChat, send: 绑定 %s\n",
		inv.Code, inv.Role, inv.Community, inv.Name, inv.Expires.Format(time.RFC3339), inv.Code)
	return nil
}

// RolesCmd groups role administration.
type RolesCmd struct {
	List   RolesListCmd   `cmd:"" help:"List every granted role."`
	Revoke RolesRevokeCmd `cmd:"" help:"Take a role away."`
}

// RolesListCmd lists grants.
type RolesListCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c RolesListCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	s, closeFn, err := app.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	grants, err := s.ListGrants(g.Ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		if grants == nil {
			grants = []bot.Grant{}
		}
		return json.NewEncoder(g.Out).Encode(grants)
	}
	w := tabwriter.NewWriter(g.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COMMUNITY\tROLE\tNAME\tOPENID\tGRANTED")
	for _, gr := range grants {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", gr.Community, gr.Role, gr.Name, gr.OpenID, gr.Granted.Format(time.DateTime))
	}
	return w.Flush()
}

// RolesRevokeCmd revokes a grant.
type RolesRevokeCmd struct {
	OpenID    string `name:"openid" required:"" help:"The user's openid (see roles list)."`
	Role      string `required:"" enum:"staff,secretary,party,hotline,admin" help:"The role to take away."`
	Community string `required:"" help:"The community of the grant."`
}

func (c RolesRevokeCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	s, closeFn, err := app.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	role, _ := bot.ParseRole(c.Role)
	if err := s.Revoke(g.Ctx, c.OpenID, role, c.Community); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "revoked %s of %s in %s\n", role, c.OpenID, c.Community)
	return nil
}

// DemoCmd is filled in by the demo issue; until then it says so.
type DemoCmd struct{}

func (DemoCmd) Run(g *Globals) error {
	return fmt.Errorf("demo mode is not built yet")
}
