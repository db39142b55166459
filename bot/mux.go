package bot

import (
	"context"
	"fmt"
	"runtime"
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
	// Relay is the live relay (对话) the sender was in when their message came, if any.
	Relay   *Relay
	Args    string
	Now     time.Time
	Catalog *Catalog
	// Route is what the router chose (for middleware); zero for the engine's own
	// answers.
	Route Route

	// last is the form the user finished a moment ago, if any (Session.Finished);
	// finished is the form this Update finished.
	last, finished *Finished
	// unclaimed: the Update was not claimed (Inbox.Peek), so only ReadOnly routes
	// may run.
	unclaimed bool
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

// RouteKind says how the router chose a handler.
type RouteKind string

const (
	RouteGlobal   RouteKind = "global"   // a command word that works even inside a flow
	RouteCommand  RouteKind = "command"  // the first word of a text
	RouteMenu     RouteKind = "menu"     // a custom-menu click, by key
	RouteEvent    RouteKind = "event"    // a platform event
	RouteKeyword  RouteKind = "keyword"  // a word inside a text
	RouteFlow     RouteKind = "flow"     // the next message of the flow the user is in
	RouteBack     RouteKind = "back"     // 返回 inside a flow
	RouteFallback RouteKind = "fallback" // what nothing else took
)

// Route is what the router chose for a Request, for middleware to read (metrics by
// Pattern, audit of who ran what).
type Route struct {
	Kind RouteKind
	// Pattern is what matched: the words key, menu key, event, keyword or flow name.
	Pattern string
	Role    Role   // the role the route needs; checked before the handler runs
	At      string // file:line where the route was registered
	// ReadOnly routes change nothing (ReadOnly): outside a flow the engine answers
	// them without claiming the Update.
	ReadOnly bool
}

// route is a registered Route and its Handler.
type route struct {
	Route
	h Handler
}

// Middleware wraps every Handler the Mux serves (see Mux.Use).
type Middleware func(Handler) Handler

// Mux routes an Update: by global command, menu key, the flow the user is in, command
// word, keyword, then fallback. The role of a route is checked before it starts.
//
// It refuses ambiguity at start-up: registering a word, menu key, event, keyword or
// flow name a second time panics, naming both registrations, as asynq's ServeMux does.
type Mux struct {
	global   map[string]route
	commands map[string]route
	menus    map[string]route
	events   map[string]route
	flows    map[string]route
	keywords []keyword
	fallback Handler
	refuse   Handler
	through  PassFunc
	words    *Catalog
	mws      []Middleware
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

// Use adds middleware around every handler the Mux serves: routes, the next message
// of a flow, 返回 in a flow, and the fallback. The first added is the outermost.
// Request.Route tells a middleware what was chosen. The role check is not a
// middleware: it is part of routing (a refused command goes to the live relay, a
// refused flow is ended), so middleware sees only what the sender may run.
func (m *Mux) Use(mw ...Middleware) { m.mws = append(m.mws, mw...) }

// wrap applies the middleware to h.
func (m *Mux) wrap(h Handler) Handler {
	for i := len(m.mws) - 1; i >= 0; i-- {
		h = m.mws[i](h)
	}
	return h
}

// Global routes the command words listed under key that work even inside a flow
// (帮助, 菜单). It does not touch the session unless the handler does. A global word
// may not be a flow word (取消, 确认, ...): inside a flow it would take the flow's answer.
func (m *Mux) Global(key WordsKey, role Role, h Handler) {
	rt := route{Route{Kind: RouteGlobal, Pattern: string(key), Role: role, At: caller(), ReadOnly: isReadOnly(h)}, h}
	for _, w := range m.words.Words(key) {
		if fk, ok := m.words.flowWord(w); ok {
			panic(fmt.Sprintf("bot: global word %q of %s (%s) is also the flow word of %s: inside a flow it would take the flow's answer", w, key, rt.At, fk))
		}
		m.claimWord(w, rt)
		m.global[w] = rt
	}
}

// Command routes the first word of a text message: any of the words listed under key.
func (m *Mux) Command(key WordsKey, role Role, h Handler) {
	rt := route{Route{Kind: RouteCommand, Pattern: string(key), Role: role, At: caller(), ReadOnly: isReadOnly(h)}, h}
	for _, w := range m.words.Words(key) {
		m.claimWord(w, rt)
		m.commands[w] = rt
	}
	m.register(rt)
}

// claimWord refuses a word that another global or command route already has.
func (m *Mux) claimWord(w string, rt route) {
	prev, ok := m.global[w]
	if !ok {
		prev, ok = m.commands[w]
	}
	if ok {
		panic(duplicate(fmt.Sprintf("word %q", w), prev.Route, rt.Route))
	}
}

// ReadOnly marks a command's handler as one that changes nothing: it only reads (and
// its answer, computed again for a retry, says the same). Outside a flow, and while
// nothing else of the sender's is in flight, the engine answers it in one round
// trip without claiming the Update or taking the sender's lock.
func ReadOnly(h Handler) Handler { return readOnly{h} }

type readOnly struct{ Handler }

func isReadOnly(h Handler) bool {
	_, ok := h.(readOnly)
	return ok
}

// readOnly reports whether u is a text whose command word routes, outside a flow,
// to a ReadOnly handler.
func (m *Mux) readOnly(u Update) bool {
	if u.Kind != KindText && u.Kind != KindVoice {
		return false
	}
	word, args := spokenCommand(u.Text)
	if rt, ok := m.global[word]; ok {
		return rt.ReadOnly
	}
	rt, _, ok := m.command(word, args)
	return ok && rt.ReadOnly
}

// Words is every global and command word with its route, for tools and tests.
func (m *Mux) Words() map[string]Route {
	out := make(map[string]Route, len(m.global)+len(m.commands))
	for w, rt := range m.global {
		out[w] = rt.Route
	}
	for w, rt := range m.commands {
		out[w] = rt.Route
	}
	return out
}

// Menu routes a custom-menu CLICK by its key.
func (m *Mux) Menu(key string, role Role, h Handler) {
	rt := route{Route{Kind: RouteMenu, Pattern: key, Role: role, At: caller()}, h}
	if prev, ok := m.menus[key]; ok {
		panic(duplicate(fmt.Sprintf("menu key %q", key), prev.Route, rt.Route))
	}
	m.menus[key] = rt
	m.register(rt)
}

// Event routes a platform event (subscribe, unsubscribe, SCAN).
func (m *Mux) Event(event string, h Handler) {
	rt := route{Route{Kind: RouteEvent, Pattern: event, Role: RoleResident, At: caller()}, h}
	if prev, ok := m.events[event]; ok {
		panic(duplicate(fmt.Sprintf("event %q", event), prev.Route, rt.Route))
	}
	m.events[event] = rt
}

// Refuse sets the Handler that answers a route the sender's roles do not allow
// (Request.Route names the role it needs), so that the answer can know who asks: a
// party member is not told to bind again. Without one the engine says
// engine.forbidden.
func (m *Mux) Refuse(h Handler) { m.refuse = h }

// Through sets the PassFunc that sees what would otherwise fall back or be refused.
func (m *Mux) Through(f PassFunc) { m.through = f }

// Keyword routes a text containing word, when nothing more specific matched.
func (m *Mux) Keyword(word string, role Role, h Handler) {
	rt := route{Route{Kind: RouteKeyword, Pattern: word, Role: role, At: caller()}, h}
	for _, k := range m.keywords {
		if k.word == word {
			panic(duplicate(fmt.Sprintf("keyword %q", word), k.Route, rt.Route))
		}
	}
	m.keywords = append(m.keywords, keyword{word, rt})
	m.register(rt)
}

// register remembers flows so that a session naming one can continue it. One flow
// may be started by several routes (a command and a menu key) with the same role;
// two flows of one name, or one flow under two roles, are refused.
func (m *Mux) register(rt route) {
	f, ok := rt.h.(Flow)
	if !ok {
		return
	}
	if prev, ok := m.flows[f.Name()]; ok {
		if !sameHandler(prev.h, f) || prev.Role != rt.Role {
			panic(duplicate(fmt.Sprintf("flow %q", f.Name()), prev.Route, rt.Route))
		}
		return
	}
	m.flows[f.Name()] = rt
}

// flow finds the flow a session is in.
func (m *Mux) flow(name string) (Flow, Role, bool) {
	rt, ok := m.flows[name]
	if !ok {
		return nil, "", false
	}
	return rt.h.(Flow), rt.Role, true
}

// flowRoute is the Route of kind (RouteFlow or RouteBack) in the flow name, which
// the Mux has.
func (m *Mux) flowRoute(kind RouteKind, name string, h Handler) route {
	rt := m.flows[name]
	return route{Route{Kind: kind, Pattern: name, Role: rt.Role, At: rt.At}, h}
}

// duplicate is the start-up panic for what was registered twice.
func duplicate(what string, first, second Route) string {
	return fmt.Sprintf("bot: %s registered twice: by %s %s at %s, and by %s %s at %s",
		what, first.Kind, first.Pattern, first.At, second.Kind, second.Pattern, second.At)
}

// sameHandler reports whether a and b are the same value; handlers that cannot be
// compared (a struct holding a func) are different.
func sameHandler(a, b Handler) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// caller is where the Mux method calling it was called from: file:line of the route's
// registration.
func caller() string {
	_, file, line, ok := runtime.Caller(2)
	if !ok {
		return "?"
	}
	if i := strings.LastIndex(file, "/"); i >= 0 {
		if j := strings.LastIndex(file[:i], "/"); j >= 0 {
			file = file[j+1:]
		}
	}
	return fmt.Sprintf("%s:%d", file, line)
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
