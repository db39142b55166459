package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
)

// DoctorCmd checks a deployment, one line per check; it fails when any check does.
type DoctorCmd struct{}

// errChecksFailed makes the exit status non-zero after the lines are printed.
var errChecksFailed = errors.New("some checks failed")

func (DoctorCmd) Run(g *Globals) error {
	cfg, err := configs.Load(g.ConfigPath, os.Environ())
	checks := app.Doctor(g.Ctx, cfg, err, time.Now())
	failed := 0
	for _, c := range checks {
		if c.OK {
			fmt.Fprintf(g.Out, "ok    %-20s %s\n", c.Name, c.Detail)
			continue
		}
		failed++
		fmt.Fprintf(g.Out, "FAIL  %-20s %s — fix: %s\n", c.Name, c.Detail, c.Fix)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errChecksFailed, failed, len(checks))
	}
	return nil
}
