package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"minyuan/bot"
)

// A catalogue without a declared text or list of words fails at start-up, naming it;
// a list where a text is wanted is refused too.
func TestCatalogChecksDeclaredKeys(t *testing.T) {
	if _, err := bot.ParseCatalog([]byte(testCatalog)); err != nil {
		t.Fatalf("the test catalogue is complete: %v", err)
	}
	cases := []struct {
		name, drop, add, want string
	}{
		{"a text", "engine.busy:", "", "engine.busy"},
		{"a list of words", "words.cancel:", "", "words.cancel (a list of words)"},
		{"words given as text", "words.back:", "words.back: 返回\n", "words.back (a list of words)"},
		{"a broken template", "", "engine.extra: \"{{.Oops\"\n", "engine.extra"},
	}
	for _, c := range cases {
		var lines []string
		for _, l := range strings.Split(testCatalog, "\n") {
			if c.drop == "" || !strings.HasPrefix(l, c.drop) {
				lines = append(lines, l)
			}
		}
		_, err := bot.ParseCatalog([]byte(strings.Join(lines, "\n") + "\n" + c.add))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
	cat, _ := bot.ParseCatalog([]byte(testCatalog))
	if got := cat.Words(wordsRegister); len(got) != 1 || got[0] != "登记" {
		t.Fatalf("words: %v", got)
	}
}

// A text that asks for a field its caller did not give fails (in a test binary,
// loudly) instead of rendering an empty hole.
func TestCatalogRefusesMissingFields(t *testing.T) {
	cat, err := bot.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.T("engine.cancelled", map[string]string{"Title": "登记"}); got != "已取消登记" {
		t.Fatalf("with the field: %q", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Title") {
			t.Fatalf("a missing field rendered: %v", r)
		}
	}()
	t.Fatalf("rendered %q", cat.T("engine.cancelled", map[string]string{}))
}

// Texts without a template action (most of them, the help texts among them) are
// handed out as they are; the others still run with their data.
func TestCatalogPlainAndTemplatedTexts(t *testing.T) {
	cat, err := bot.ParseCatalog([]byte(testCatalog + "\nx.plain: |-\n  第一行\n  第二行 {不是模板}\nx.empty: \"\"\nx.tpl: \"您好，{{.Name}}\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[bot.MsgKey]string{"x.plain": "第一行\n第二行 {不是模板}", "x.empty": ""} {
		if got := cat.T(key, nil); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	if got := cat.T("x.tpl", map[string]string{"Name": "王阿姨"}); got != "您好，王阿姨" {
		t.Errorf("templated: %q", got)
	}
}
