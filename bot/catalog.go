package bot

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// MsgKey names a text in the message catalogue.
type MsgKey string

// WordsKey names a list of words in the catalogue: what users may type for one
// command or answer (取消, 退出). Communities change them as they change texts.
type WordsKey string

var (
	keysMu   sync.Mutex
	keys     = map[MsgKey]bool{}
	wordKeys = map[WordsKey]bool{}
)

// Words declares a catalogue key holding a list of words, checked at start-up like
// the texts declared with Msg.
func Words(key string) WordsKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	wordKeys[WordsKey(key)] = true
	return WordsKey(key)
}

// Msg declares a catalogue key used by the code. Declare keys as package-level
// variables, so that LoadCatalog can check at start-up that every one has a text.
func Msg(key string) MsgKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	keys[MsgKey(key)] = true
	return MsgKey(key)
}

// DeclaredKeys lists every key declared with Msg, sorted.
func DeclaredKeys() []MsgKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	out := make([]MsgKey, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Catalog holds every user-facing text, as Go templates keyed by MsgKey, and the
// words users type, as lists keyed by WordsKey.
type Catalog struct {
	tpl   map[MsgKey]*template.Template
	words map[WordsKey][]string
}

// LoadCatalog reads a YAML map of key to text and checks that every declared key has
// one and every template parses.
func LoadCatalog(fsys fs.FS, name string) (*Catalog, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return ParseCatalog(raw)
}

// ParseCatalog parses a catalogue from YAML bytes.
func ParseCatalog(raw []byte) (*Catalog, error) {
	var entries map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{tpl: make(map[MsgKey]*template.Template, len(entries)), words: map[WordsKey][]string{}}
	for k, node := range entries {
		if node.Kind == yaml.SequenceNode {
			var ws []string
			if err := node.Decode(&ws); err != nil {
				return nil, fmt.Errorf("catalog: key %q: a list of words: %w", k, err)
			}
			c.words[WordsKey(k)] = ws
			continue
		}
		var v string
		if err := node.Decode(&v); err != nil {
			return nil, fmt.Errorf("catalog: key %q: %w", k, err)
		}
		t, err := template.New(k).Option("missingkey=zero").Parse(strings.TrimRight(v, "\n"))
		if err != nil {
			return nil, fmt.Errorf("catalog: key %q: %w", k, err)
		}
		c.tpl[MsgKey(k)] = t
	}
	var missing []string
	for _, k := range DeclaredKeys() {
		if c.tpl[k] == nil {
			missing = append(missing, string(k))
		}
	}
	keysMu.Lock()
	for k := range wordKeys {
		if len(c.words[k]) == 0 {
			missing = append(missing, string(k)+" (a list of words)")
		}
	}
	keysMu.Unlock()
	sort.Strings(missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("catalog: missing keys: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Has reports whether key has a text.
func (c *Catalog) Has(key MsgKey) bool { return c.tpl[key] != nil }

// Words lists what users may type for key.
func (c *Catalog) Words(key WordsKey) []string { return c.words[key] }

// T renders key with data.
func (c *Catalog) T(key MsgKey, data any) string {
	t := c.tpl[key]
	if t == nil {
		slog.Error("catalog: no text", "key", key)
		return string(key)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		slog.Error("catalog: render", "key", key, "err", err)
	}
	return b.String()
}
