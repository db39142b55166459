package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/store"
)

// CLI is the command line. Every command reads the same --config and environment.
type CLI struct {
	Config string `help:"Configuration file (YAML); environment MINYUAN_<SECTION>_<KEY> overrides it." type:"path" env:"MINYUAN_CONFIG"`

	Serve     ServeCmd     `cmd:"" help:"Run the webhook and workers."`
	Demo      DemoCmd      `cmd:"" help:"Run Minyuan with an in-process Redis and a WeChat simulator, with a page to chat in."`
	Invite    InviteCmd    `cmd:"" help:"Create a one-time invite code that grants a role when typed in chat as 绑定 <code>."`
	Roles     RolesCmd     `cmd:"" help:"List or revoke granted roles."`
	Tickets   TicketsCmd   `cmd:"" help:"Show a ticket (民愿) with its timeline, or list tickets."`
	Outbox    OutboxCmd    `cmd:"" help:"Pushes that could not be sent: list and replay them."`
	Callbacks CallbacksCmd `cmd:"" help:"Call-back tasks (回电): people WeChat could not reach."`
	Hotline   HotlineCmd   `cmd:"" help:"The hotline API's tokens: list, revoke, restore."`
	Menu      MenuCmd      `cmd:"" help:"The official account's custom menu."`
	// Party members' tasks.
	Tasks TasksCmd `cmd:"" help:"Party members' visit tasks (三必访, 五包): list and show."`
	Party PartyCmd `cmd:"" help:"Make party members' tasks: transfer-in visits, 五包 pairings."`
	// Volunteers.
	Activity   ActivityCmd   `cmd:"" help:"Volunteer activities (志愿活动): publish, list, show, cancel, import."`
	Volunteers VolunteersCmd `cmd:"" help:"Volunteer reports: service hours per volunteer."`

	// Reports and operations (issue 14).
	Report   ReportCmd   `cmd:"" help:"A period's report: requests, the three rates, overdue, volunteers, visits, hotline; per community and district."`
	Register RegisterCmd `cmd:"" help:"The unified register (统一接待登记本): one spreadsheet row per request, hotline calls included."`
	Doctor   DoctorCmd   `cmd:"" help:"Check config, Redis and its persistence, clock, calendar, WeChat credentials, templates and menu; exit 0 only if all pass."`
	// Data protection.
	Resident ResidentCmd `cmd:"" help:"Residents' personal data: forget one, expire old tickets, a person's name in the logs."`
	Audit    AuditCmd    `cmd:"" help:"The audit log: who read a ticket's details or erased personal data, and when."`
}

// MenuCmd groups the menu commands.
type MenuCmd struct {
	Create MenuCreateCmd `cmd:"" help:"Set the custom menu from the config's menu: section (WeChat API)."`
}

// MenuCreateCmd sets the custom menu.
type MenuCreateCmd struct{}

func (MenuCreateCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	a, err := app.New(g.Ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.CreateMenu(g.Ctx); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "menu set: %d buttons\n", len(cfg.Menu))
	return nil
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

// serveGCPercent is the garbage collector's target for serve unless GOGC says
// otherwise: each message allocates a few kilobytes that die at once, and the live
// heap is a few megabytes, so collecting at 4× its size instead of 2× spends a few
// megabytes to save most of the collector's CPU (README, Performance).
const serveGCPercent = 400

func (ServeCmd) Run(g *Globals) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
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
	Role      string        `required:"" enum:"staff,secretary,party,hotline,admin,instructor" help:"staff, secretary (社区书记: staff who also gets overdue and flagged requests), party, hotline, admin, or instructor (处级干部 assigned to a community: reports their 四个一)."`
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
	return g.withStore(func(s *store.Store) error {
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
	})
}

// RolesRevokeCmd revokes a grant.
type RolesRevokeCmd struct {
	OpenID    string `name:"openid" required:"" help:"The user's openid (see roles list)."`
	Role      string `required:"" enum:"staff,secretary,party,hotline,admin" help:"The role to take away."`
	Community string `required:"" help:"The community of the grant."`
}

func (c RolesRevokeCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		role, _ := bot.ParseRole(c.Role)
		if err := s.Revoke(g.Ctx, c.OpenID, role, c.Community); err != nil {
			return err
		}
		// The running service sets their menu back (role_menus).
		if err := app.ScheduleRetag(g.Ctx, s, c.OpenID, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "revoked %s of %s in %s; their menu follows\n", role, c.OpenID, c.Community)
		return nil
	})
}

// DemoCmd runs Minyuan with an in-process Redis and the WeChat simulator. It reads
// the same --config and environment as serve, but ignores the Redis address, makes up
// WeChat credentials the configuration lacks, and listens on 127.0.0.1:8080 unless
// http.addr names a host.
type DemoCmd struct{}

func (DemoCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	d, err := app.NewDemo(g.Ctx, cfg, app.DemoOptions{Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "\nMinyuan demo: open %s in a browser (Ctrl-C to stop).\n"+
		"Demo mode: data is kept in memory only and is gone when the demo stops.\n"+
		"演示模式：数据仅保存在内存中，退出即清空。\n\n", d.URL)
	return d.Run(g.Ctx)
}

// TicketsCmd groups the ticket commands.
type TicketsCmd struct {
	Show TicketsShowCmd `cmd:"" help:"Print a ticket and its whole timeline (actor and time of every action, private notes included)."`
	List TicketsListCmd `cmd:"" help:"List tickets in any state, in number order."`
}

// TicketsShowCmd prints one ticket.
type TicketsShowCmd struct {
	No string `arg:"" help:"The ticket number."`
}

func (c TicketsShowCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		if err := app.ShowTicket(g.Ctx, g.Out, s, c.No); err != nil {
			return err
		}
		op := app.Operator()
		return s.Audit(g.Ctx, bot.AuditEntry{At: time.Now(), Actor: op.ID, Name: op.Name, Action: bot.AuditShow, Ticket: c.No})
	})
}

// TicketsListCmd lists tickets.
type TicketsListCmd struct {
	Community string `help:"Only this community (code)."`
	Status    string `enum:"new,claimed,closed,open," default:"" help:"Only this status: new, claimed, closed, or open (new and claimed)."`
	JSON      bool   `name:"json" help:"Print JSON."`
}

func (c TicketsListCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		return app.ListTickets(g.Ctx, g.Out, s, app.TicketFilter{Community: c.Community, Status: c.Status}, c.JSON)
	})
}

// withStore runs fn with the configured store.
func (g *Globals) withStore(fn func(s *store.Store) error) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	s, closeFn, err := app.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(s)
}

// OutboxCmd groups the outbox commands.
type OutboxCmd struct {
	Dead   OutboxDeadCmd   `cmd:"" help:"List dead-lettered pushes (every attempt failed)."`
	Replay OutboxReplayCmd `cmd:"" help:"Send dead-lettered pushes again."`
	Stats  OutboxStatsCmd  `cmd:"" help:"Count waiting, in-flight and dead pushes."`
}

// OutboxDeadCmd lists dead pushes.
type OutboxDeadCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c OutboxDeadCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		dead, err := s.ListDead(g.Ctx)
		if err != nil {
			return err
		}
		if c.JSON {
			if dead == nil {
				dead = []store.DeadPush{}
			}
			return json.NewEncoder(g.Out).Encode(dead)
		}
		w := tabwriter.NewWriter(g.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ENTRY\tPUSH\tKIND\tTO\tREF\tATTEMPTS\tAT\tREASON")
		for _, d := range dead {
			reason := d.Reason
			if d.Malformed != "" {
				reason = "malformed: " + d.Malformed
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Push.ID, d.Push.Kind, d.Push.To, d.Push.Ref,
				d.Attempt, d.At.Format(time.DateTime), reason)
		}
		return w.Flush()
	})
}

// OutboxReplayCmd replays dead pushes.
type OutboxReplayCmd struct {
	ID  string `arg:"" optional:"" help:"A dead-letter entry (or push) ID from 'outbox dead'."`
	All bool   `name:"all" help:"Replay every dead push."`
}

func (c OutboxReplayCmd) Run(g *Globals) error {
	if (c.ID == "") == !c.All {
		return fmt.Errorf("give an ID or --all")
	}
	return g.withStore(func(s *store.Store) error {
		var n int
		var err error
		if c.All {
			n, err = s.ReplayAll(g.Ctx)
		} else {
			n, err = s.Replay(g.Ctx, c.ID)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "replayed %d push(es): they are back in the outbox\n", n)
		return nil
	})
}

// OutboxStatsCmd counts the outbox.
type OutboxStatsCmd struct{}

func (OutboxStatsCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		st, err := s.OutboxStats(g.Ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "waiting %d  in flight %d  dead %d\n", st.Waiting, st.Pending, st.Dead)
		return nil
	})
}
