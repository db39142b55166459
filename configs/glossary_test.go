package configs_test

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"minyuan/bot"
	"minyuan/configs"
)

// glossary is the machine-read part of the glossary at the top of the catalogue:
// which keys each role reads, the words it must not read there, and the words only
// some keys may use.
type glossary struct {
	keys, not, allow map[string][]string // by role: residents, staff
	only             map[string][]string // word → the key prefixes that may use it
}

func readGlossary(raw []byte) glossary {
	g := glossary{keys: map[string][]string{}, not: map[string][]string{}, allow: map[string][]string{}, only: map[string][]string{}}
	for _, l := range strings.Split(string(raw), "\n") {
		rest, ok := strings.CutPrefix(l, "# glossary.")
		if !ok {
			continue
		}
		name, list, _ := strings.Cut(rest, ":")
		fields := strings.Fields(list)
		if w, ok := strings.CutPrefix(name, "only."); ok {
			g.only[w] = fields
			continue
		}
		role, kind, _ := strings.Cut(name, ".")
		switch kind {
		case "keys":
			g.keys[role] = fields
		case "not":
			g.not[role] = fields
		case "allow":
			g.allow[role] = fields
		}
	}
	return g
}

func hasPrefix(key string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool {
		return key == p || strings.HasSuffix(p, ".") && strings.HasPrefix(key, p)
	})
}

// violations lists every text that uses a word the glossary forbids its readers.
func (g glossary) violations(texts map[string]string) []string {
	var bad []string
	for key, text := range texts {
		for role, prefixes := range g.keys {
			if !hasPrefix(key, prefixes) {
				continue
			}
			clean := text
			for _, a := range g.allow[role] {
				clean = strings.ReplaceAll(clean, a, "")
			}
			for _, w := range g.not[role] {
				if strings.Contains(clean, w) {
					bad = append(bad, fmt.Sprintf("%s (for %s) uses 「%s」: %s", key, role, w, text))
				}
			}
		}
		for w, prefixes := range g.only {
			if strings.Contains(text, w) && !hasPrefix(key, prefixes) {
				bad = append(bad, fmt.Sprintf("%s uses 「%s」, kept for %v: %s", key, w, prefixes, text))
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func catalogueTexts(t *testing.T) ([]byte, map[string]string) {
	t.Helper()
	raw, err := fs.ReadFile(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := yaml.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for k, v := range all {
		if s, ok := v.(string); ok {
			texts[k] = s
		}
	}
	return raw, texts
}

// The catalogue speaks one vocabulary: residents never read 承办, 签收, 办结, 督办
// or 受理 for "we got it"; staff never read 签收 or 问题追踪 for what they do.
func TestCatalogueKeepsTheGlossary(t *testing.T) {
	raw, texts := catalogueTexts(t)
	g := readGlossary(raw)
	for _, role := range []string{"residents", "staff"} {
		if len(g.keys[role]) == 0 || len(g.not[role]) == 0 {
			t.Fatalf("the glossary lost its %s lines: %+v", role, g)
		}
		n := 0
		for k := range texts {
			if hasPrefix(k, g.keys[role]) {
				n++
			}
		}
		if n < 20 {
			t.Fatalf("the %s prefixes match only %d texts", role, n)
		}
	}
	if bad := g.violations(texts); len(bad) > 0 {
		t.Fatalf("%d texts break the glossary:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// The check can fail: the old wordings it replaced are each caught.
func TestGlossaryCatchesTheOldWords(t *testing.T) {
	raw, _ := catalogueTexts(t)
	g := readGlossary(raw)
	old := map[string]string{
		"request.query":        "承办：{{.Handler}}",              // 承办人 for residents
		"push.claimed":         "已受理，我们会在 {{.DueBy}} 前办结并答复您。", // 办结 for residents
		"request.done":         "您的诉求已提交，待受理。",                 // submitted
		"help.staff":           "· 接单 编号：签收办理",                 // 签收 for staff
		"push.escalated":       "【问题追踪 {{.No}}】",               // 上报 labelled 问题追踪
		"timeline.kind.warned": "督办提醒",                         // every reminder called 督办
		"rate.thanks":          "诉求 {{.No}} 已完成。",              // 完成 for closed
		"stats.body":           "及时签收率 {{.Timely}}",            // allowed: the report's rate
	}
	bad := g.violations(old)
	caught := map[string]bool{}
	for _, b := range bad {
		key, _, _ := strings.Cut(b, " ")
		caught[key] = true
	}
	for key := range old {
		if want := key != "stats.body"; caught[key] != want {
			t.Errorf("%s: caught %v, want %v", key, caught[key], want)
		}
	}
}

// The sample config lists the default categories, so that a community copying it
// starts from what the code assumes; and the report's counters and the party visit
// for illness are still mapped.
func TestSampleCategoriesAreTheDefaults(t *testing.T) {
	cfg, err := configs.Load("minyuan.sample.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	def := configs.DefaultCategories()
	if len(cfg.Categories) != len(def) {
		t.Fatalf("sample has %d categories, defaults %d", len(cfg.Categories), len(def))
	}
	for i := range def {
		a, b := cfg.Categories[i], def[i]
		if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", b) {
			t.Errorf("category %d:\nsample   %+v\ndefaults %+v", i+1, a, b)
		}
	}
	counts := map[string]string{}
	for _, c := range def {
		if c.Counts != "" {
			counts[c.Counts] = c.Name
		}
	}
	if counts["hardships"] != "困难求助" || counts["disputes"] != "邻里纠纷" || counts["jobs"] != "就业创业" {
		t.Fatalf("report counters: %v", counts)
	}
	if last := def[len(def)-1]; last.Name != "其他" || !strings.Contains(last.Hint, "拿不准就选其他") {
		t.Fatalf("last: %+v", last)
	}
	for _, code := range cfg.Visits.IllnessCategories {
		if !slices.ContainsFunc(def, func(c bot.Category) bool { return c.Code == code && c.Care }) {
			t.Fatalf("illness category %q is not a care category", code)
		}
	}
}
