package handlers

import (
	"context"
	"slices"
	"strings"
	"time"

	"minyuan/bot"
	"minyuan/bot/report"
)

// 统计 [本月|上月|本年]: staff see their communities' headline figures and the three
// rates, admins the district's (bot/report's Service decides what each may see).

var (
	wordsStats          = bot.Words("words.stats")
	wordsStatsMonth     = bot.Words("words.stats_month")
	wordsStatsLastMonth = bot.Words("words.stats_last_month")
	wordsStatsYear      = bot.Words("words.stats_year")
	msgUsageStats       = bot.Msg("stats.usage")
)

// Stats is what the flow needs of the report service.
type Stats interface {
	Summary(ctx context.Context, a bot.Actor, at time.Time, span report.Span) (string, error)
}

// StatsFlow answers 统计.
type StatsFlow struct {
	Stats Stats
}

func (f *StatsFlow) register(m *bot.Mux) {
	if f.Stats == nil {
		return
	}
	m.Command(wordsStats, bot.RoleStaff, bot.ReadOnly(bot.HandlerFunc(f.stats)))
}

func (f *StatsFlow) stats(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	span, ok := parseSpan(r.Catalog, r.Args)
	if !ok {
		return r.Say(msgUsageStats, nil), nil
	}
	text, err := f.Stats.Summary(ctx, staff(r), r.Now, span)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(text), nil
}

// parseSpan reads what follows 统计: nothing is this month.
func parseSpan(c *bot.Catalog, s string) (report.Span, bool) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || slices.Contains(c.Words(wordsStatsMonth), s):
		return report.SpanMonth, true
	case slices.Contains(c.Words(wordsStatsLastMonth), s):
		return report.SpanLastMonth, true
	case slices.Contains(c.Words(wordsStatsYear), s):
		return report.SpanYear, true
	}
	return "", false
}
