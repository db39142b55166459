package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"minyuan/cmd/minyuan/app"
	"minyuan/store"
)

// ReportCmd prints a period's report.
type ReportCmd struct {
	From      string `required:"" help:"First day of the period (YYYY-MM-DD, China time)."`
	To        string `required:"" help:"Last day of the period (YYYY-MM-DD, inclusive)."`
	Community string `help:"Only this community (code); default: every community and the district."`
	Format    string `enum:"text,json,xlsx,html," default:"" help:"text (default), json, xlsx or html; default from --out's extension."`
	Out       string `help:"Write to this file instead of standard output." type:"path"`
}

func (c ReportCmd) Run(g *Globals) error {
	format := c.Format
	if format == "" {
		switch strings.ToLower(filepath.Ext(c.Out)) {
		case ".json":
			format = "json"
		case ".xlsx":
			format = "xlsx"
		case ".html", ".htm":
			format = "html"
		default:
			format = "text"
		}
	}
	if format == "xlsx" && c.Out == "" {
		return fmt.Errorf("an XLSX report needs --out FILE")
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	cat, err := app.Catalog(cfg)
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		r, err := app.BuildReport(g.Ctx, cfg, cat, s, app.ReportRequest{From: c.From, To: c.To, Community: c.Community})
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := app.WriteReport(&b, r, cat, format); err != nil {
			return err
		}
		if c.Out == "" {
			_, err = g.Out.Write(b.Bytes())
			return err
		}
		if err := os.WriteFile(c.Out, b.Bytes(), 0o640); err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "report written to %s\n", c.Out)
		return nil
	})
}
