package sim

import (
	"bytes"
	"encoding/json"
	"strings"

	"minyuan/bot"
)

// Template is a template an account has picked from the platform's library: its
// title and its keyword fields, in the order the phone shows them.
type Template struct {
	ID     string          `json:"id"`
	Title  string          `json:"title"`
	Fields []TemplateField `json:"fields"`
}

// TemplateField is one keyword of a template: the key the sender fills
// ("keyword1", "thing2") and the label the phone shows before its value.
type TemplateField struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Card is a template message as the phone shows it since 2023-03-30: the template's
// title, then its keyword fields with their labels, in the template's order. The
// first and remark fields are not shown, colours are not kept, and emoji show as
// 「□」.
type Card struct {
	ID     string      `json:"id"`
	Title  string      `json:"title"`
	URL    string      `json:"url,omitempty"`
	Fields []CardField `json:"fields"`
}

// CardField is one line of a Card.
type CardField struct {
	Label string `json:"label,omitempty"`
	Value string `json:"value"`
}

// Text is the card as one text, a line per field, for tests and logs.
func (c Card) Text() string {
	var b strings.Builder
	b.WriteString(c.Title)
	for _, f := range c.Fields {
		b.WriteString("\n")
		if f.Label != "" {
			b.WriteString(f.Label + "：")
		}
		b.WriteString(f.Value)
	}
	return b.String()
}

// AddTemplate makes t one of the account's templates. Once the account has any,
// sends with another template id answer 40037, as on the platform; an account
// without any (older tests) takes every id.
func (a *API) AddTemplate(t Template) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.templates[t.ID] = t
}

// TemplateOf returns one of the account's templates.
func (a *API) TemplateOf(id string) (Template, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.templates[id]
	return t, ok
}

// knownTemplate reports whether a send with id passes. The caller holds a.mu.
func (a *API) knownTemplate(id string) bool {
	if len(a.templates) == 0 {
		return true
	}
	_, ok := a.templates[id]
	return ok
}

// hiddenKeys are the fields the platform no longer shows.
var hiddenKeys = map[string]bool{"first": true, "remark": true}

// genericTitle heads a card whose template the simulator does not know.
const genericTitle = "模板消息"

// Card renders the body of a template send as the phone shows it.
func (a *API) Card(body json.RawMessage) Card {
	var m struct {
		TemplateID string          `json:"template_id"`
		URL        string          `json:"url"`
		Data       json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &m)
	data := templateData(m.Data)
	c := Card{ID: m.TemplateID, URL: m.URL, Fields: []CardField{}}
	t, known := a.TemplateOf(m.TemplateID)
	if known {
		c.Title = t.Title
		values := map[string]string{}
		for _, f := range data {
			values[f.key] = f.value
		}
		for _, f := range t.Fields {
			if v, ok := values[f.Key]; ok && !hiddenKeys[f.Key] {
				c.Fields = append(c.Fields, CardField{Label: f.Label, Value: boxEmoji(v)})
			}
		}
		return c
	}
	// Without the template's labels the keys would be all there is to show, and
	// those are not for people: the values alone, in the order sent.
	c.Title = genericTitle
	for _, f := range data {
		if !hiddenKeys[f.key] {
			c.Fields = append(c.Fields, CardField{Value: boxEmoji(f.value)})
		}
	}
	return c
}

type dataItem struct{ key, value string }

// templateData reads {"first":{"value":"...","color":"..."},"keyword1":{...}} keeping
// the order of the keys.
func templateData(raw json.RawMessage) []dataItem {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []dataItem
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var item struct {
			Value string `json:"value"`
		}
		if err := dec.Decode(&item); err != nil {
			break
		}
		out = append(out, dataItem{key, item.Value})
	}
	return out
}

// boxEmoji shows each emoji as the platform does: one 「□」 for a whole sequence (a
// base with its joiners, skin tones and presentation selectors).
func boxEmoji(s string) string {
	if !bot.HasEmoji(s) {
		return s
	}
	var b strings.Builder
	inEmoji, joined := false, false
	for _, r := range s {
		if !bot.IsEmoji(r) {
			inEmoji, joined = false, false
			b.WriteRune(r)
			continue
		}
		modifier := r == 0xFE0F || r == 0x20E3 || (r >= 0x1F3FB && r <= 0x1F3FF)
		switch {
		case r == 0x200D:
			joined = inEmoji
		case modifier && inEmoji, joined:
			joined = false
		default:
			b.WriteString("□")
		}
		inEmoji = true
	}
	return b.String()
}
