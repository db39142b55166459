package bot

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Request is what a Handler gets: the Update, who sent it, their session, and the text
// after the command word.
type Request struct {
	Update  Update
	User    *User
	Session *Session // nil outside a flow; a handler sets it with Start, clears it with End
	Args    string
	Now     time.Time
	Catalog *Catalog
}

// T renders a catalogue text.
func (r *Request) T(key MsgKey, data any) string { return r.Catalog.T(key, data) }

// Say renders a catalogue text as the Reply.
func (r *Request) Say(key MsgKey, data any) Reply { return Text(r.T(key, data)) }

// Start puts the user into flow at step 0 with no answers.
func (r *Request) Start(flow string) *Session {
	r.Session = &Session{User: r.Update.From, Flow: flow, Data: map[string]string{}}
	return r.Session
}

// End takes the user out of any flow.
func (r *Request) End() { r.Session = nil }

// Handler answers a Request.
type Handler interface {
	Serve(ctx context.Context, r *Request) (Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r *Request) (Reply, error)

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, r *Request) (Reply, error) { return f(ctx, r) }

// Flow is a Handler that keeps the user in a conversation across messages: Serve
// starts it, Continue takes each following message, Back steps back.
type Flow interface {
	Handler
	Name() string
	Title() MsgKey
	Continue(ctx context.Context, r *Request) (Reply, error)
	Back(ctx context.Context, r *Request) (Reply, error)
}

type route struct {
	role Role
	h    Handler
}

// Mux routes an Update: by global command, menu key, the flow the user is in, command
// word, keyword, then fallback. The role of a route is checked before it starts.
type Mux struct {
	global   map[string]route
	commands map[string]route
	menus    map[string]route
	events   map[string]route
	flows    map[string]route
	keywords []keyword
	fallback Handler
	through  PassFunc
	words    *Catalog
}

// PassFunc may take an Update the router would otherwise give to the fallback or
// refuse for want of a role: a live relay forwards such messages to the other side.
// ok reports whether it took the Update.
type PassFunc func(ctx context.Context, r *Request) (rep Reply, ok bool, err error)

type keyword struct {
	word string
	route
}

// NewMux makes an empty Mux whose fallback is h; the words of its commands come from
// the catalogue.
func NewMux(words *Catalog, fallback Handler) *Mux {
	return &Mux{
		words:    words,
		global:   map[string]route{},
		commands: map[string]route{},
		menus:    map[string]route{},
		events:   map[string]route{},
		flows:    map[string]route{},
		fallback: fallback,
	}
}

// Global routes the command words listed under key that work even inside a flow
// (帮助, 菜单). It does not touch the session unless the handler does.
func (m *Mux) Global(key WordsKey, role Role, h Handler) {
	for _, w := range m.words.Words(key) {
		m.global[w] = route{role, h}
	}
}

// Command routes the first word of a text message: any of the words listed under key.
func (m *Mux) Command(key WordsKey, role Role, h Handler) {
	for _, w := range m.words.Words(key) {
		m.commands[w] = route{role, h}
	}
	m.register(role, h)
}

// Menu routes a custom-menu CLICK by its key.
func (m *Mux) Menu(key string, role Role, h Handler) {
	m.menus[key] = route{role, h}
	m.register(role, h)
}

// Event routes a platform event (subscribe, unsubscribe, SCAN).
func (m *Mux) Event(event string, h Handler) { m.events[event] = route{RoleResident, h} }

// Through sets the PassFunc that sees what would otherwise fall back or be refused.
func (m *Mux) Through(f PassFunc) { m.through = f }

// Keyword routes a text containing word, when nothing more specific matched.
func (m *Mux) Keyword(word string, role Role, h Handler) {
	m.keywords = append(m.keywords, keyword{word, route{role, h}})
	m.register(role, h)
}

// register remembers flows so that a session naming one can continue it.
func (m *Mux) register(role Role, h Handler) {
	if f, ok := h.(Flow); ok {
		m.flows[f.Name()] = route{role, f}
	}
}

// flow finds the flow a session is in.
func (m *Mux) flow(name string) (Flow, Role, bool) {
	rt, ok := m.flows[name]
	if !ok {
		return nil, "", false
	}
	return rt.h.(Flow), rt.role, true
}

// SplitCommand splits "接单 12" into "接单" and "12". The command word ends at the
// first space (ASCII or full-width).
func SplitCommand(text string) (word, args string) {
	text = strings.TrimSpace(text)
	i := strings.IndexFunc(text, unicode.IsSpace)
	if i < 0 {
		return text, ""
	}
	return text[:i], strings.TrimSpace(text[i:])
}
