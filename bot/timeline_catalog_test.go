package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/configs"
)

// realCatalog is configs/messages.zh.yaml plus the engine tests' own keys (this test
// binary declares them too).
func realCatalog(t *testing.T) *bot.Catalog {
	t.Helper()
	raw, err := fs.ReadFile(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, l := range strings.Split(engineCatalog, "\n") {
		if strings.HasPrefix(l, "t.") {
			own = append(own, l)
		}
	}
	cat, err := bot.ParseCatalog(append(raw, "\n"+strings.Join(own, "\n")+"\n"...))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// constsOfPackage reads the bot package's source and returns its string constants:
// those of type typ (when typ is not ""), or those whose name starts with prefix.
func constsOfPackage(t *testing.T, typ, prefix string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range pkgs["bot"].Files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					id, _ := vs.Type.(*ast.Ident)
					if (typ != "" && id != nil && id.Name == typ) || (prefix != "" && strings.HasPrefix(name.Name, prefix)) {
						v, _ := strconv.Unquote(lit.Value)
						out[name.Name] = v
					}
				}
			}
		}
	}
	return out
}

// latinRe finds a stored code shown to people: a run of ASCII letters.
var latinRe = regexp.MustCompile(`[A-Za-z_]{2,}`)

// Every timeline event kind the package declares, and every deadline stage and level,
// has its words in the catalogue: a kind added without them fails here, before a
// staff member reads 「督办提醒（sign:red）」 in 详情.
func TestEveryTimelineEventAndDeadlineHasWords(t *testing.T) {
	cat := realCatalog(t)
	kinds := constsOfPackage(t, "EventKind", "")
	if len(kinds) < 10 {
		t.Fatalf("found only %d event kinds in the source: %v", len(kinds), kinds)
	}
	for name, kind := range kinds {
		key, ok := bot.EventWords(bot.EventKind(kind))
		if !ok {
			t.Errorf("event kind %s (%q) has no words: add it to eventWords and the catalogue", name, kind)
			continue
		}
		if !cat.Has(key) {
			t.Errorf("event kind %s: catalogue lacks %s", name, key)
		}
		got := bot.EventWhat(cat, bot.Event{At: time.Now(), Kind: bot.EventKind(kind), Text: "5", Name: "王芳"})
		if latinRe.MatchString(got) {
			t.Errorf("event kind %s reads %q: a code in front of people", name, got)
		}
	}
	stages := constsOfPackage(t, "", "Stage")
	levels := constsOfPackage(t, "", "Level")
	if len(stages) < 2 || len(levels) < 4 {
		t.Fatalf("stages %v levels %v", stages, levels)
	}
	for _, stage := range stages {
		for _, level := range levels {
			words, ok := bot.DeadlineWords(cat, stage, level)
			if !ok {
				t.Errorf("deadline %s:%s has no words", stage, level)
				continue
			}
			got := bot.EventWhat(cat, bot.Event{Kind: bot.EventWarned, Text: stage + ":" + level})
			if latinRe.MatchString(got) || !strings.Contains(got, words) {
				t.Errorf("warning %s:%s reads %q", stage, level, got)
			}
		}
	}
	// An event of a kind this build does not know still shows no code.
	if got := bot.EventWhat(cat, bot.Event{Kind: "future_kind"}); latinRe.MatchString(got) {
		t.Errorf("unknown kind reads %q", got)
	}
}
