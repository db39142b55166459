package main

import (
	"fmt"
	"strings"
	"time"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
	"minyuan/store"
)

// TasksCmd groups the party-member task commands.
type TasksCmd struct {
	List TasksListCmd `cmd:"" help:"List visit tasks (三必访, 五包) in any state, in number order."`
	Show TasksShowCmd `cmd:"" help:"Print a visit task and its timeline."`
}

// TasksListCmd lists tasks.
type TasksListCmd struct {
	Community string `help:"Only this community (branch)."`
	Member    string `help:"Only tasks assigned to this party member (openid)."`
	Status    string `help:"new, assigned, done, ended, open (new and assigned) or overdue."`
	JSON      bool   `name:"json" help:"Print JSON: number, kind, trigger, assignee, deadline, status (and more)."`
}

func (c TasksListCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		return app.ListTasks(g.Ctx, g.Out, s, app.TaskFilter{Community: c.Community, Member: c.Member, Status: c.Status}, time.Now(), c.JSON)
	})
}

// TasksShowCmd prints one task.
type TasksShowCmd struct {
	No string `arg:"" help:"Task number."`
}

func (c TasksShowCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error { return app.ShowTask(g.Ctx, g.Out, s, c.No) })
}

// PartyCmd groups the commands that make party members' tasks.
type PartyCmd struct {
	TransferIn PartyTransferInCmd `cmd:"" name:"transfer-in" help:"A party member transferred into a branch: makes the visit to them (三必访)."`
	Pair       PartyPairCmd       `cmd:"" help:"Pair a party member with a person to look after (五包): a visit task every month until unpaired."`
	Unpair     PartyUnpairCmd     `cmd:"" help:"End a 五包 pairing: no more tasks."`
	Pairings   PartyPairingsCmd   `cmd:"" help:"List 五包 pairings."`
}

// withVisits runs fn with a whole App (its pusher queues the task pushes).
func (g *Globals) withVisits(fn func(a *app.App) error) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	a, err := app.New(g.Ctx, cfg, app.Options{Log: newLogger(cfg)})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// cliActor is who the command line acts as: the system, named for the timeline.
func cliActor() bot.Actor {
	a := bot.SystemActor
	a.Name = "命令行"
	return a
}

// PartyTransferInCmd makes a transfer-in visit.
type PartyTransferInCmd struct {
	Community string `required:"" help:"The branch (community code)."`
	Name      string `required:"" help:"The newly transferred member's name."`
	Address   string `help:"Where to visit them."`
}

func (c PartyTransferInCmd) Run(g *Globals) error {
	return g.withVisits(func(a *app.App) error {
		cfg := a.Config()
		if _, ok := cfg.Community(c.Community); !ok {
			return fmt.Errorf("no community %q in the config", c.Community)
		}
		v, created, err := a.Visits.TransferIn(g.Ctx, cliActor(), time.Now(), c.Community, c.Name, c.Address)
		if err != nil {
			return err
		}
		return printTask(g, v, created)
	})
}

func printTask(g *Globals, v *bot.Visit, created bool) error {
	state := "created"
	if !created {
		state = "already exists"
	}
	who := v.AssigneeName
	if who == "" {
		who = "not yet assigned"
	}
	fmt.Fprintf(g.Out, "task %s %s: %s, %s, deadline %s\n", v.No, state, v.Kind, who, v.Deadline.Format(time.RFC3339))
	return nil
}

// PartyPairCmd starts a 五包 pairing.
type PartyPairCmd struct {
	Member    string `required:"" help:"The party member (openid or name)."`
	Kind      string `required:"" enum:"特困党员户,两劳释放人员,孤寡老人,下岗职工,残疾人" help:"特困党员户, 两劳释放人员, 孤寡老人, 下岗职工 or 残疾人."`
	Person    string `required:"" help:"The person's name."`
	Address   string `help:"The person's address."`
	Phone     string `help:"The person's phone."`
	Community string `help:"The branch, when the member's name is not unique."`
}

func (c PartyPairCmd) Run(g *Globals) error {
	return g.withVisits(func(a *app.App) error {
		m, err := app.PairMember(g.Ctx, a.Store, c.Member, c.Community)
		if err != nil {
			return err
		}
		p, v, err := a.Visits.Pair(g.Ctx, cliActor(), time.Now(), m.Community, m.OpenID, bot.PairKinds[c.Kind],
			bot.Person{Name: strings.TrimSpace(c.Person), Address: c.Address, Phone: c.Phone})
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "pairing %s: %s with %s (%s), every %d month(s)\n", p.ID, m.Name, p.Person.Name, c.Kind, p.Every)
		return printTask(g, v, true)
	})
}

// PartyUnpairCmd ends a pairing.
type PartyUnpairCmd struct {
	ID string `arg:"" help:"Pairing ID (P1, P2, ...)."`
}

func (c PartyUnpairCmd) Run(g *Globals) error {
	return g.withVisits(func(a *app.App) error {
		p, err := a.Visits.EndPairing(g.Ctx, cliActor(), time.Now(), c.ID)
		if err != nil {
			return fmt.Errorf("no pairing %s", c.ID)
		}
		fmt.Fprintf(g.Out, "pairing %s ended %s\n", p.ID, p.Ended.Format(time.RFC3339))
		return nil
	})
}

// PartyPairingsCmd lists pairings.
type PartyPairingsCmd struct {
	Community string `required:"" help:"The branch (community code)."`
}

func (c PartyPairingsCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		ps, err := s.Pairings(g.Ctx, c.Community)
		if err != nil {
			return err
		}
		for _, p := range ps {
			state := "active"
			if !p.Active() {
				state = "ended " + p.Ended.Format("2006-01-02")
			}
			fmt.Fprintf(g.Out, "%s\t%s\t%s\t%s\tevery %d month(s)\t%s\n", p.ID, p.MemberName, p.Kind, p.Person.Name, p.Every, state)
		}
		return nil
	})
}
