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

var (
	keysMu sync.Mutex
	keys   = map[MsgKey]bool{}
)

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

// Catalog holds every user-facing text, as Go templates keyed by MsgKey.
type Catalog struct {
	tpl map[MsgKey]*template.Template
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
	var texts map[string]string
	if err := yaml.Unmarshal(raw, &texts); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{tpl: make(map[MsgKey]*template.Template, len(texts))}
	for k, v := range texts {
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
	if len(missing) > 0 {
		return nil, fmt.Errorf("catalog: missing keys: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Has reports whether key has a text.
func (c *Catalog) Has(key MsgKey) bool { return c.tpl[key] != nil }

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
