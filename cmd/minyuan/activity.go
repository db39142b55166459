package main

import (
	"encoding/json"
	"fmt"
	"time"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
	"minyuan/store"
)

// ActivityCmd groups the volunteer activity commands.
type ActivityCmd struct {
	Add    ActivityAddCmd    `cmd:"" help:"Publish a volunteer activity (志愿活动), optionally repeating weekly."`
	List   ActivityListCmd   `cmd:"" help:"List activities that have not ended."`
	Show   ActivityShowCmd   `cmd:"" help:"Show an activity: capacity, confirmed and waitlisted (openids in order)."`
	Cancel ActivityCancelCmd `cmd:"" help:"Cancel an activity; everyone signed up or waitlisted is told."`
	Import ActivityImportCmd `cmd:"" help:"Publish every activity of a YAML file (activities: [{community, title, start, end, place, capacity, weekly}])."`
}

// ActivityAddCmd publishes an activity.
type ActivityAddCmd struct {
	Community   string `required:"" help:"Community code."`
	Title       string `required:"" help:"Title (活动名称)."`
	Start       string `required:"" help:"Start, \"YYYY-MM-DD HH:MM\" (China time)."`
	End         string `required:"" help:"End, \"YYYY-MM-DD HH:MM\" (China time)."`
	Place       string `required:"" help:"Place (地点)."`
	Capacity    int    `required:"" help:"Places (名额)."`
	Weekly      int    `help:"Repeat weekly: this many occurrences in all, each with its own sign-ups."`
	Audience    string `help:"Who may join: empty for everyone, 'party' for party members, or a skill from volunteers.skills."`
	Description string `help:"Description (活动内容)."`
	Organiser   string `help:"Organiser's name, shown to volunteers."`
	JSON        bool   `name:"json" help:"Print JSON: {\"no\": ..., \"nos\": [...]}."`
}

func (c ActivityAddCmd) Run(g *Globals) error {
	return g.withVolunteers(func(s *store.Store, svc *bot.VolunteerService) error {
		d := app.ActivityDraft{Community: c.Community, Title: c.Title, Start: c.Start, End: c.End, Place: c.Place,
			Capacity: c.Capacity, Weekly: c.Weekly, Audience: c.Audience, Description: c.Description, Organiser: c.Organiser}
		as, err := d.Publish(g.Ctx, svc, time.Now(), app.DraftKey(d))
		if err != nil {
			return err
		}
		nos := make([]string, len(as))
		for i, a := range as {
			nos[i] = a.No
		}
		if c.JSON {
			return json.NewEncoder(g.Out).Encode(map[string]any{"no": nos[0], "nos": nos})
		}
		for _, a := range as {
			fmt.Fprintf(g.Out, "%s\t%s\t%s\n", a.No, bot.ActivityWhen(svc.Catalog, a), a.Title)
		}
		return nil
	})
}

// ActivityListCmd lists activities.
type ActivityListCmd struct {
	Community string `help:"Only this community (code)."`
	JSON      bool   `name:"json" help:"Print JSON."`
}

func (c ActivityListCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error {
		return app.ListActivities(g.Ctx, g.Out, s, c.Community, time.Now(), c.JSON)
	})
}

// ActivityShowCmd shows one activity.
type ActivityShowCmd struct {
	No   string `arg:"" help:"The activity number."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c ActivityShowCmd) Run(g *Globals) error {
	return g.withStore(func(s *store.Store) error { return app.ShowActivity(g.Ctx, g.Out, s, c.No, c.JSON) })
}

// ActivityCancelCmd cancels an activity.
type ActivityCancelCmd struct {
	No     string `arg:"" help:"The activity number."`
	Reason string `help:"Why, told to everyone signed up."`
}

func (c ActivityCancelCmd) Run(g *Globals) error {
	return g.withVolunteers(func(s *store.Store, svc *bot.VolunteerService) error {
		a, err := svc.Cancel(g.Ctx, bot.SystemActor, time.Now(), c.No, c.Reason)
		if err != nil {
			return app.CLIError(svc, err)
		}
		r, _ := s.Roster(g.Ctx, a.No)
		fmt.Fprintf(g.Out, "cancelled %s; %d people told\n", a.No, len(r.Confirmed)+len(r.Waitlisted))
		return nil
	})
}

// ActivityImportCmd imports activities from YAML.
type ActivityImportCmd struct {
	File string `arg:"" help:"YAML file ('-' for standard input)."`
	JSON bool   `name:"json" help:"Print JSON: {\"nos\": [...]}."`
}

func (c ActivityImportCmd) Run(g *Globals) error {
	return g.withVolunteers(func(s *store.Store, svc *bot.VolunteerService) error {
		f, err := app.ReadFile(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		as, err := app.ImportActivities(g.Ctx, svc, f, time.Now())
		nos := []string{}
		for _, a := range as {
			nos = append(nos, a.No)
		}
		if c.JSON {
			if jerr := json.NewEncoder(g.Out).Encode(map[string]any{"nos": nos}); jerr != nil {
				return jerr
			}
		} else {
			for _, a := range as {
				fmt.Fprintf(g.Out, "%s\t%s\t%s\n", a.No, bot.ActivityWhen(svc.Catalog, a), a.Title)
			}
		}
		return err
	})
}

// VolunteersCmd groups the volunteer reports.
type VolunteersCmd struct {
	Hours VolunteersHoursCmd `cmd:"" help:"Service hours per volunteer for a period, with an attendance sheet per activity (--xlsx)."`
}

// VolunteersHoursCmd exports hours.
type VolunteersHoursCmd struct {
	From      string `required:"" help:"First day, YYYY-MM-DD (activities starting on or after it)."`
	To        string `required:"" help:"Last day, YYYY-MM-DD (inclusive)."`
	Community string `help:"Only this community (code)."`
	XLSX      string `name:"xlsx" type:"path" help:"Also write a workbook: the summary and an attendance sheet per activity."`
}

func (c VolunteersHoursCmd) Run(g *Globals) error {
	from, err := app.ParseCLITime(c.From + " 00:00")
	if err != nil {
		return fmt.Errorf("--from: want YYYY-MM-DD")
	}
	to, err := app.ParseCLITime(c.To + " 00:00")
	if err != nil {
		return fmt.Errorf("--to: want YYYY-MM-DD")
	}
	if to.Before(from) {
		return fmt.Errorf("--to is before --from")
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		return app.ExportHours(g.Ctx, g.Out, s, cfg, from, to.AddDate(0, 0, 1), c.Community, c.XLSX)
	})
}

// withVolunteers runs fn with the configured store and volunteer service.
func (g *Globals) withVolunteers(fn func(s *store.Store, svc *bot.VolunteerService) error) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		svc, err := app.CLIVolunteers(cfg, s)
		if err != nil {
			return err
		}
		return fn(s, svc)
	})
}
