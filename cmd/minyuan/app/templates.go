package app

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/configs"
)

// staffAlertKind is the kind of push that tells a sender their push could not be
// delivered: a staff alert (handlers' ticket_alert).
const staffAlertKind = "ticket_alert"

// colourRE finds what looks like a colour: the platform shows every field in its
// default colour since 2023-03-30.
var colourRE = regexp.MustCompile(`(?i)(^|[^0-9a-z])#[0-9a-f]{6}\b|\bcolou?r\b`)

// warnTemplates warns about template fields the platform no longer shows as
// configured (since 2023-03-30): the first and remark fields are not shown at all,
// colours are ignored and emoji show as 「□」. What matters belongs in the keywords.
func warnTemplates(log *slog.Logger, ts map[string]configs.Template) {
	kinds := make([]string, 0, len(ts))
	for k := range ts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		t := ts[kind]
		for key, v := range t.Fields {
			cfgKey := "templates." + kind + ".fields." + key
			switch {
			case key == "remark" || key == "first":
				log.Warn("template field not shown by WeChat since 2023: put what matters in the keyword fields", "config", cfgKey)
			case bot.HasEmoji(v):
				log.Warn("template text carries emoji, which WeChat shows as 「□」", "config", cfgKey)
			case colourRE.MatchString(v) || strings.Contains(strings.ToLower(key), "color"):
				log.Warn("template text sets a colour, which WeChat ignores since 2023", "config", cfgKey)
			}
		}
	}
}

// demoTemplates are the templates the demo account has picked from the platform's
// library, by kind of push: their titles and keyword labels, which the simulated
// phone shows. A real account's come from the console; the configuration only names
// their ids and fills their keys.
var demoTemplates = map[string]struct {
	title  string
	labels []string // keyword1, keyword2, ...
}{
	"ticket_update": {"诉求办理进度提醒", []string{"诉求编号", "办理进展"}},
	"ticket_alert":  {"民愿待办提醒", []string{"诉求编号", "待办事项"}},
}

// demoTemplateFields fills the demo's template of a kind of push: the ticket kinds
// name the ticket number ({ref}) and the text; the others only the text, since their
// ref is an internal key ("visit:101"), not something to show people.
func demoTemplateFields(kind string) map[string]string {
	if _, ok := demoTemplates[kind]; ok {
		return map[string]string{"keyword1": "{ref}", "keyword2": "{text}"}
	}
	return map[string]string{"keyword1": "{text}"}
}

// demoTemplate is the simulator's template for a kind of push.
func demoTemplate(kind, id string) sim.Template {
	d, ok := demoTemplates[kind]
	if !ok {
		d.title, d.labels = "社区服务提醒", []string{"内容"}
	}
	t := sim.Template{ID: id, Title: d.title}
	for i, l := range d.labels {
		t.Fields = append(t.Fields, sim.TemplateField{Key: fmt.Sprintf("keyword%d", i+1), Label: l})
	}
	return t
}
