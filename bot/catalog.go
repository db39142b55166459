package bot

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/template"
	"text/template/parse"

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
	wordKeys = map[WordsKey]wordScope{}
)

// wordScope says when the engine reads a list of words, and so which lists may
// share a word.
type wordScope int

const (
	// commandWords are read as the first word of a message outside a flow (global
	// commands: inside one too). No word may be in two command lists: it would name
	// two commands.
	commandWords wordScope = iota + 1
	// flowWords are read only while the user is in a flow, before or by its step:
	// 取消, 返回, 跳过, 确认, 完成. No word may be in two flow lists, since one flow
	// step may read several of them. A flow word may also be a command word (完成 a
	// visit, 取消 a sign-up): the engine asks the current flow first, so inside a
	// flow the word answers the flow and outside any flow the command takes it.
	flowWords
)

func (w wordScope) String() string {
	if w == flowWords {
		return "flow words"
	}
	return "command words"
}

// Words declares a catalogue key holding a list of command words, checked at
// start-up like the texts declared with Msg: none of them may be in another command
// list.
func Words(key string) WordsKey { return declareWords(key, commandWords) }

// FlowWords declares a catalogue key holding words that answer inside a flow (取消,
// 跳过, 确认, 完成); see flowWords for which lists may share them.
func FlowWords(key string) WordsKey { return declareWords(key, flowWords) }

func declareWords(key string, scope wordScope) WordsKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	if prev, ok := wordKeys[WordsKey(key)]; ok && prev != scope {
		panic(fmt.Sprintf("bot: words %s declared both as %s and as %s", key, prev, scope))
	}
	wordKeys[WordsKey(key)] = scope
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
	plain map[MsgKey]string // the texts without a template action: no need to run them
	words map[WordsKey][]string
	flow  map[string]WordsKey // flow word -> its list
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
	c := &Catalog{tpl: make(map[MsgKey]*template.Template, len(entries)), plain: map[MsgKey]string{}, words: map[WordsKey][]string{}}
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
		// A field the caller did not give is an error, not an empty string: a text
		// with a hole in it would tell someone something untrue.
		t, err := template.New(k).Option("missingkey=error").Parse(strings.TrimRight(v, "\n"))
		if err != nil {
			return nil, fmt.Errorf("catalog: key %q: %w", k, err)
		}
		c.tpl[MsgKey(k)] = t
		if nodes := t.Tree.Root.Nodes; len(nodes) == 0 {
			c.plain[MsgKey(k)] = ""
		} else if tn, ok := nodes[0].(*parse.TextNode); ok && len(nodes) == 1 {
			c.plain[MsgKey(k)] = string(tn.Text)
		}
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
	scopes := maps.Clone(wordKeys)
	keysMu.Unlock()
	sort.Strings(missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("catalog: missing keys: %s", strings.Join(missing, ", "))
	}
	if err := c.checkOverlaps(scopes); err != nil {
		return nil, err
	}
	c.flow = map[string]WordsKey{}
	for k, scope := range scopes {
		if scope == flowWords {
			for _, w := range c.words[k] {
				c.flow[w] = k
			}
		}
	}
	return c, nil
}

// checkOverlaps refuses a word in two declared lists of one scope: two commands
// would claim it, or one flow step would read it two ways. A flow word that is also
// a command word is fine: the engine asks the current flow first (see flowWords).
// Lists no code declares are not read, and not checked.
func (c *Catalog) checkOverlaps(scopes map[WordsKey]wordScope) error {
	ks := slices.Sorted(maps.Keys(scopes))
	seen := map[wordScope]map[string]WordsKey{}
	var clashes []string
	for _, k := range ks {
		scope := scopes[k]
		if seen[scope] == nil {
			seen[scope] = map[string]WordsKey{}
		}
		for _, w := range c.words[k] {
			if prev, ok := seen[scope][w]; ok && prev != k {
				clashes = append(clashes, fmt.Sprintf("%q is in both %s and %s (%s)", w, prev, k, scope))
				continue
			}
			seen[scope][w] = k
		}
	}
	if len(clashes) > 0 {
		return fmt.Errorf("catalog: overlapping words: %s; a word may be both a flow word and a command word (the current flow decides first), but not in two lists of one kind", strings.Join(clashes, "; "))
	}
	return nil
}

// flowWord reports which flow-word list holds w, if any.
func (c *Catalog) flowWord(w string) (WordsKey, bool) {
	k, ok := c.flow[w]
	return k, ok
}

// Has reports whether key has a text.
func (c *Catalog) Has(key MsgKey) bool { return c.tpl[key] != nil }

// Words lists what users may type for key.
func (c *Catalog) Words(key WordsKey) []string { return c.words[key] }

// T renders key with data. A text that asks for a field data lacks is a bug of the
// caller: it is logged as an error, and in a test binary it panics, so that the
// test that rendered it fails. In production the person still gets the text, with
// the missing field left empty rather than a half-rendered sentence.
func (c *Catalog) T(key MsgKey, data any) string {
	if s, ok := c.plain[key]; ok {
		return s
	}
	t := c.tpl[key]
	if t == nil {
		slog.Error("catalog: no text", "key", key)
		return string(key)
	}
	var b bytes.Buffer
	err := t.Execute(&b, data)
	if err == nil {
		return b.String()
	}
	slog.Error("catalog: render", "key", key, "err", err)
	if testing.Testing() {
		panic(fmt.Sprintf("catalog: render %s: %v", key, err))
	}
	b.Reset()
	if lenient, cerr := t.Clone(); cerr == nil {
		_ = lenient.Option("missingkey=zero").Execute(&b, data)
	}
	return b.String()
}
