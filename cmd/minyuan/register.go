package main

import (
	"fmt"
	"os"
	"path/filepath"

	"minyuan/cmd/minyuan/app"
	"minyuan/store"
)

// RegisterCmd writes the unified register (统一接待登记本).
type RegisterCmd struct {
	From string `required:"" help:"First day (YYYY-MM-DD, China time): requests created from then."`
	To   string `required:"" help:"Last day (YYYY-MM-DD, inclusive)."`
	XLSX string `name:"xlsx" required:"" type:"path" help:"The spreadsheet to write."`
}

func (c RegisterCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	cat, err := app.Catalog(cfg)
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		// Written beside the target and renamed: a failed run leaves no half file.
		tmp, err := os.CreateTemp(filepath.Dir(c.XLSX), ".register-*.xlsx")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		n, err := app.WriteRegister(g.Ctx, tmp, cfg, cat, s, app.RegisterRequest{From: c.From, To: c.To})
		if err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), c.XLSX); err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "register written to %s: %d request(s)\n", c.XLSX, n)
		return nil
	})
}
