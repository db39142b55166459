package bot_test

import (
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
