package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"minyuan/bot"
	"minyuan/bot/report"
	"minyuan/configs"
	"minyuan/store"
)

// Catalog loads the configured message catalogue.
func Catalog(cfg configs.Config) (*bot.Catalog, error) { return loadCatalog(cfg.Messages) }

// ReportRequest is what `minyuan report` asks for.
type ReportRequest struct {
	From, To  string // YYYY-MM-DD, inclusive
	Community string // "" = every community and the district
	Format    string // text, json, xlsx, html
	Now       time.Time
}

// BuildReport reads the report's counters from s.
func BuildReport(ctx context.Context, cfg configs.Config, cat *bot.Catalog, s *store.Store, req ReportRequest) (*report.Report, error) {
	from, err := report.ParseDate(req.From)
	if err != nil {
		return nil, err
	}
	to, err := report.ParseDate(req.To)
	if err != nil {
		return nil, err
	}
	comms := Communities(cfg)
	if req.Community != "" {
		c, ok := cfg.Community(req.Community)
		if !ok {
			return nil, fmt.Errorf("no community %q in the config", req.Community)
		}
		comms = []bot.Community{{Code: c.Code, Name: c.Name, Street: c.Street}}
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	return report.Build(ctx, s, report.Options{From: from, To: to, Communities: comms, Categories: cfg.Categories,
		Now: now, DistrictName: report.NewLabels(cat).L("district")})
}

// WriteReport renders r in format.
func WriteReport(w io.Writer, r *report.Report, cat *bot.Catalog, format string) error {
	l := report.NewLabels(cat)
	switch format {
	case "", "text":
		return report.WriteText(w, r, l)
	case "json":
		return report.WriteJSON(w, r)
	case "xlsx":
		return report.WriteXLSX(w, r, l)
	case "html":
		return report.WriteHTML(w, r, l)
	}
	return fmt.Errorf("unknown format %q: text, json, xlsx or html", format)
}

// RegisterRequest is what `minyuan register` asks for.
type RegisterRequest struct {
	From, To string // YYYY-MM-DD, inclusive
	Now      time.Time
}

// WriteRegister streams the unified register of the requests created in the period
// to w, and says how many rows it wrote.
func WriteRegister(ctx context.Context, w io.Writer, cfg configs.Config, cat *bot.Catalog, s *store.Store, req RegisterRequest) (int, error) {
	from, err := report.ParseDate(req.From)
	if err != nil {
		return 0, err
	}
	to, err := report.ParseDate(req.To)
	if err != nil {
		return 0, err
	}
	if to.Before(from) {
		return 0, fmt.Errorf("--to %s is before --from %s", req.To, req.From)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	reg, err := report.NewRegister(cat, from, to, cfg.Categories, Communities(cfg), now)
	if err != nil {
		return 0, err
	}
	if err := s.EachTicketWithTimeline(ctx, reg.Add); err != nil {
		return 0, err
	}
	return reg.Rows(), reg.Finish(w)
}
