package sim

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

//go:embed web
var webFiles embed.FS

// Pane is one phone on the demo page: a person, their openid and the menu they see.
type Pane struct {
	ID        string `json:"id"`   // stable key: resident, staff, party
	Role      string `json:"role"` // the bot.Role the person holds
	Name      string `json:"name"`
	OpenID    string `json:"openid"`
	Community string `json:"community,omitempty"` // the community's name, for the pane's title
	// Subscribed is whether the person follows the account when the demo starts.
	Subscribed bool `json:"subscribed"`
	// Menu is shown while the account has not created a custom menu of its own
	// through the API; once it has, each pane shows the one its person sees (the
	// default menu, or a personalised menu matching one of their tags).
	Menu []MenuButton `json:"menu,omitempty"`
}

// menus is what the page needs to draw the menus: the account's default menu and,
// by pane, the menu each person sees.
type menus struct {
	Menu  []MenuButton            `json:"menu"`
	Panes map[string][]MenuButton `json:"panes"`
}

func (d *Demo) menus() menus {
	m := menus{Menu: accountMenu(d.api.Menu()), Panes: map[string][]MenuButton{}}
	for _, p := range d.panes {
		if b := accountMenu(d.api.MenuFor(p.OpenID)); b != nil {
			m.Panes[p.ID] = b
		}
	}
	return m
}

// MenuButton is a custom-menu button. With Key it sends a CLICK event, with URL a VIEW
// event, with Text a text message (a stand-in for a key the bot does not have yet);
// with Sub it opens a sub-menu.
type MenuButton struct {
	Name string       `json:"name"`
	Key  string       `json:"key,omitempty"`
	URL  string       `json:"url,omitempty"`
	Text string       `json:"text,omitempty"`
	Sub  []MenuButton `json:"sub,omitempty"`
}

// DemoInvite is an unused invite code the page offers to try (绑定 <code>).
type DemoInvite struct {
	Code      string `json:"code"`
	Role      string `json:"role"`
	Community string `json:"community"`
	Name      string `json:"name"`
}

// Who sent an Entry.
const (
	WhoUser   = "user"   // what the person did on their phone
	WhoBot    = "bot"    // what the account sent them
	WhoSystem = "system" // what the phone shows by itself
)

// Kinds of Entry beyond the message types (text, voice, image, location) and the
// events (subscribe, unsubscribe, click, view) a user sends.
const (
	EntryReply    = "reply"     // the passive reply to a message
	EntryNoAnswer = "no_answer" // the platform gave up: "该公众号暂时无法提供服务"
	EntryError    = "error"     // the server refused the message (HTTP error, bad reply)
)

// Entry is one line of a pane's conversation.
type Entry struct {
	Seq  int64     `json:"seq"`
	Pane string    `json:"pane"`
	Time time.Time `json:"time"` // on the demo clock
	Who  string    `json:"who"`
	// Kind is the message type or event for WhoUser; reply, custom or template for
	// WhoBot; no_answer or error for WhoSystem.
	Kind    string `json:"kind"`
	Text    string `json:"text,omitempty"`
	MsgType string `json:"msgtype,omitempty"` // of a customer-service message
	// Template is a template message as the phone shows it.
	Template *Card `json:"template,omitempty"`
	// Attempts above 1 say the platform had to send the message again.
	Attempts int `json:"attempts,omitempty"`
	// Media is where the page loads an image message's picture.
	Media string `json:"media,omitempty"`
}

// DemoOptions configure a Demo.
type DemoOptions struct {
	// Client sends as the panes' people; its API and Clock are the demo's.
	Client  *Client
	Clock   *Clock
	Panes   []Pane
	Invites []DemoInvite
	// FreshInvites, when set, gives the invites to offer instead of Invites, each
	// time a page loads its state: one that expired on the demo clock is re-issued.
	FreshInvites func(ctx context.Context) []DemoInvite
	// Hotline, when set, shows the hotline panel: a phone system's calls simulated
	// through the hotline API (POST /demo/api/hotline).
	Hotline *HotlinePanel
	Log     *slog.Logger
}

// HotlinePanel is the page's small hotline: a caller's number (the linked
// resident's, to start with) and what the buttons post to.
type HotlinePanel struct {
	Caller string       `json:"caller"`
	Handle http.Handler `json:"-"`
}

const (
	maxEntries = 2000
	// recentCalls is how much of the API's call log a fresh page gets.
	recentCalls = 100
	subQueue    = 256
	// sendWrite bounds the answer to /demo/api/send: three attempts of five seconds
	// each, beyond the app server's 10-second write time-out.
	sendWrite = 30 * time.Second
	// hookBudget bounds AfterClockMove.
	hookBudget = 30 * time.Second
	keepAlive  = 15 * time.Second
)

// Demo is the simulator's side of demo mode: the page with one phone per Pane, and the
// small API behind it. Messages typed on the page go through the Client to the real
// webhook; the passive replies, and every push the bot makes through the simulated
// API, come back to the page as a stream of Entries (server-sent events).
type Demo struct {
	// AfterClockMove, when set, runs after every move of the clock, before the page
	// is answered: it fires what has become due (reminders).
	AfterClockMove func(ctx context.Context)

	client  *Client
	api     *API
	clock   *Clock
	panes   []Pane
	byID    map[string]int
	byOpen  map[string]int
	invites []DemoInvite
	fresh   func(ctx context.Context) []DemoInvite
	hotline *HotlinePanel
	// boot names this run of the server: a page that finds another after a
	// reconnect reloads (the demo was restarted, its state is another).
	boot   string
	log    *slog.Logger
	paneMu []sync.Mutex
	mux    *http.ServeMux

	mu         sync.Mutex
	entries    []Entry
	seq        int64
	subscribed []bool
	subs       map[chan []byte]struct{}

	done      chan struct{}
	closeOnce sync.Once
	stopWatch func()
	watching  sync.WaitGroup
}

// NewDemo makes the page and starts following the API's calls; Close stops it.
func NewDemo(o DemoOptions) (*Demo, error) {
	switch {
	case o.Client == nil || o.Client.API == nil:
		return nil, errors.New("sim: demo needs a Client with an API")
	case o.Clock == nil:
		return nil, errors.New("sim: demo needs a Clock")
	case len(o.Panes) == 0:
		return nil, errors.New("sim: demo needs panes")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Demo{
		client:     o.Client,
		api:        o.Client.API,
		clock:      o.Clock,
		panes:      o.Panes,
		byID:       map[string]int{},
		byOpen:     map[string]int{},
		invites:    o.Invites,
		fresh:      o.FreshInvites,
		hotline:    o.Hotline,
		boot:       strconv.FormatInt(time.Now().UnixNano(), 36),
		log:        o.Log.With("component", "sim.demo"),
		paneMu:     make([]sync.Mutex, len(o.Panes)),
		subscribed: make([]bool, len(o.Panes)),
		subs:       map[chan []byte]struct{}{},
		done:       make(chan struct{}),
	}
	for i, p := range o.Panes {
		if p.ID == "" || p.OpenID == "" {
			return nil, fmt.Errorf("sim: pane %d needs an ID and an OpenID", i)
		}
		if _, dup := d.byID[p.ID]; dup {
			return nil, fmt.Errorf("sim: duplicate pane %q", p.ID)
		}
		d.byID[p.ID], d.byOpen[p.OpenID] = i, i
		d.subscribed[i] = p.Subscribed
	}

	assets, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, assets, "index.html")
	})
	d.mux.Handle("GET /demo/assets/", http.StripPrefix("/demo/assets/", http.FileServerFS(assets)))
	d.mux.HandleFunc("GET /demo/api/state", d.serveState)
	d.mux.HandleFunc("GET /demo/api/events", d.serveEvents)
	d.mux.HandleFunc("POST /demo/api/send", d.serveSend)
	d.mux.HandleFunc("POST /demo/api/clock", d.serveClock)
	d.mux.HandleFunc("GET /demo/api/media/{id}", d.serveMedia)
	if o.Hotline != nil && o.Hotline.Handle != nil {
		d.mux.Handle("POST /demo/api/hotline", o.Hotline.Handle)
	}

	calls, stop := d.api.Watch()
	d.stopWatch = stop
	d.watching.Add(1)
	go d.watch(calls)
	return d, nil
}

// maxSendBody bounds /demo/api/send: a long paste (a few thousand characters)
// goes through whole, so that the bot, not the page, says what is too long.
const maxSendBody = 64 << 10

// serveMedia gives the page a picture the bot uploaded (an image message's).
func (d *Demo) serveMedia(w http.ResponseWriter, r *http.Request) {
	b, ok := d.api.Media(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(b))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b)
}

// Handler serves the page at / and its API under /demo/.
func (d *Demo) Handler() http.Handler { return d.mux }

// Close ends the event streams, so that the server can shut down, and stops
// following the API.
func (d *Demo) Close() {
	d.closeOnce.Do(func() {
		close(d.done)
		d.stopWatch()
		d.watching.Wait()
	})
}

// Entries returns the conversation of one pane ("" for all), oldest first.
func (d *Demo) Entries(pane string) []Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Entry
	for _, e := range d.entries {
		if pane == "" || e.Pane == pane {
			out = append(out, e)
		}
	}
	return out
}

// watch turns the API's calls into pushes shown in the recipient's pane, and passes
// every call on to the page's call log.
func (d *Demo) watch(calls <-chan Call) {
	defer d.watching.Done()
	for c := range calls {
		d.publish("call", "", c)
		if !c.OK() {
			continue
		}
		switch c.Kind {
		case KindCustom, KindTemplate:
			i, ok := d.byOpen[c.OpenID]
			if !ok {
				continue
			}
			e := d.pushEntry(c)
			e.Pane = d.panes[i].ID
			d.record(e)
		case KindMenuCreate, KindMenuAddCond, KindMenuDelCond, KindTagging, KindUntagging:
			d.publish("menu", "", d.menus())
		}
	}
}

// pushEntry shows a customer-service or template message as the phone would.
func (d *Demo) pushEntry(c Call) Entry {
	e := Entry{Time: c.Time, Who: WhoBot, Kind: c.Kind}
	if c.Kind == KindCustom {
		var m struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
			Image struct {
				MediaID string `json:"media_id"`
			} `json:"image"`
		}
		_ = json.Unmarshal(c.Body, &m)
		e.MsgType, e.Text = m.MsgType, m.Text.Content
		if m.MsgType == "image" && m.Image.MediaID != "" {
			e.Media = "/demo/api/media/" + url.PathEscape(m.Image.MediaID)
		}
		return e
	}
	card := d.api.Card(c.Body)
	e.Template = &card
	return e
}

// accountMenu converts the menu the bot created ({"type":"click","name":..,"key":..,
// "sub_button":[..]}) to the page's buttons; nil when there is none.
func accountMenu(raw json.RawMessage) []MenuButton {
	if raw == nil {
		return nil
	}
	type button struct {
		Type string   `json:"type"`
		Name string   `json:"name"`
		Key  string   `json:"key"`
		URL  string   `json:"url"`
		Sub  []button `json:"sub_button"`
	}
	var bs []button
	if json.Unmarshal(raw, &bs) != nil {
		return nil
	}
	var conv func([]button) []MenuButton
	conv = func(bs []button) []MenuButton {
		out := make([]MenuButton, 0, len(bs))
		for _, b := range bs {
			mb := MenuButton{Name: b.Name, Sub: conv(b.Sub)}
			switch b.Type {
			case "click":
				mb.Key = b.Key
			case "view":
				mb.URL = b.URL
			}
			out = append(out, mb)
		}
		return out
	}
	return conv(bs)
}

// record numbers an entry, keeps it for pages that load later, and streams it. The
// numbering and the streaming happen under one lock, so that every stream sees the
// entries in order (a page drops what is older than what it has).
func (d *Demo) record(e Entry) Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	e.Seq = d.seq
	if len(d.entries) >= maxEntries {
		d.entries = d.entries[len(d.entries)-maxEntries+1:]
	}
	d.entries = append(d.entries, e)
	d.fanOutLocked("entry", strconv.FormatInt(e.Seq, 10), e)
	return e
}

// publish sends an event to every open stream.
func (d *Demo) publish(event, id string, v any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fanOutLocked(event, id, v)
}

// fanOutLocked sends an event to every open stream. A stream that cannot keep up is
// closed; its page reconnects and catches up from the entries it missed. The caller
// holds d.mu.
func (d *Demo) fanOutLocked(event, id string, v any) {
	frame, err := sseFrame(event, id, v)
	if err != nil {
		d.log.Error("event not encoded", "event", event, "err", err)
		return
	}
	for ch := range d.subs {
		select {
		case ch <- frame:
		default:
			delete(d.subs, ch)
			close(ch)
		}
	}
}

func sseFrame(event, id string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("event: " + event + "\n")
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes(), nil
}

type stateAnswer struct {
	Now    time.Time    `json:"now"`
	Offset int64        `json:"offset_ms"` // how far the demo clock is ahead
	Mode   Mode         `json:"mode"`
	Panes  []Pane       `json:"panes"` // Subscribed as of now
	Menu   []MenuButton `json:"menu"`  // the account's own menu; null while it has none
	// PaneMenus is the menu each pane's person sees, by pane id.
	PaneMenus map[string][]MenuButton `json:"pane_menus"`
	Invites   []DemoInvite            `json:"invites"`
	Boot      string                  `json:"boot"`
	Hotline   *HotlinePanel           `json:"hotline,omitempty"`
	Entries   []Entry                 `json:"entries"`
	Calls     []Call                  `json:"calls"`
	Seq       int64                   `json:"seq"`
}

func (d *Demo) serveState(w http.ResponseWriter, r *http.Request) {
	calls := d.api.Calls()
	calls = calls[max(0, len(calls)-recentCalls):]
	mode := d.client.Mode
	if mode == "" {
		mode = ModePlain
	}
	m := d.menus()
	a := stateAnswer{
		Now:       d.clock.Now(),
		Offset:    d.clock.Offset().Milliseconds(),
		Mode:      mode,
		Menu:      m.Menu,
		PaneMenus: m.Panes,
		Invites:   d.invites,
		Calls:     calls,
		Boot:      d.boot,
		Hotline:   d.hotline,
	}
	if d.fresh != nil {
		a.Invites = d.fresh(r.Context())
	}
	d.mu.Lock()
	for i, p := range d.panes {
		p.Subscribed = d.subscribed[i]
		a.Panes = append(a.Panes, p)
	}
	a.Entries = append([]Entry{}, d.entries...)
	a.Seq = d.seq
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, a)
}

// serveEvents streams entries, API calls, clock moves and menu changes. A page that
// reconnects names the last entry it has (Last-Event-ID or ?since=) and first gets
// the ones it missed.
func (d *Demo) serveEvents(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		since = id
	}
	rc := http.NewResponseController(w)
	// The app server's write time-out would cut the stream every few seconds.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")

	ch := make(chan []byte, subQueue)
	d.mu.Lock()
	select {
	case <-d.done:
		d.mu.Unlock()
		http.Error(w, "demo is shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	d.subs[ch] = struct{}{}
	var backlog []Entry
	for _, e := range d.entries {
		if e.Seq > since {
			backlog = append(backlog, e)
		}
	}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if _, ok := d.subs[ch]; ok {
			delete(d.subs, ch)
			close(ch)
		}
		d.mu.Unlock()
	}()

	var b bytes.Buffer
	b.WriteString("retry: 1000\n\n")
	// Which server this is, first: a page from before a restart reloads.
	hello, _ := sseFrame("hello", "", map[string]string{"boot": d.boot})
	b.Write(hello)
	for _, e := range backlog {
		f, _ := sseFrame("entry", strconv.FormatInt(e.Seq, 10), e)
		b.Write(f)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return
	}
	_ = rc.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var frame []byte
		select {
		case f, ok := <-ch:
			if !ok {
				return // fell behind; the page reconnects
			}
			frame = f
		case <-tick.C:
			frame = []byte(": keep-alive\n\n")
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		}
		if _, err := w.Write(frame); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// Action is what a person does on their phone; exactly one field is set (Label goes
// with Click or View, Scene with a subscribe).
type Action struct {
	Text     string        `json:"text,omitempty"`
	Voice    string        `json:"voice,omitempty"` // the recognised words
	Image    bool          `json:"image,omitempty"`
	Location *bot.Location `json:"location,omitempty"`
	Click    string        `json:"click,omitempty"` // a menu key
	View     string        `json:"view,omitempty"`  // a menu URL
	Label    string        `json:"label,omitempty"` // the name of the menu button
	Event    string        `json:"event,omitempty"` // subscribe or unsubscribe
	Scene    string        `json:"scene,omitempty"` // of a subscribe by QR code
}

// sendRequest is the page's POST /demo/api/send: {"pane":"resident","text":"帮助"}.
type sendRequest struct {
	Pane string `json:"pane"`
	Action
}

type sendAnswer struct {
	Reply    string `json:"reply"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

func (d *Demo) serveSend(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(sendWrite))
	var req sendRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxSendBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, sendAnswer{Error: "bad request"})
		return
	}
	res, err := d.Send(r.Context(), req.Pane, req.Action)
	a := sendAnswer{Reply: res.Text, Attempts: res.Attempts}
	status := http.StatusOK
	if err != nil {
		a.Error = err.Error()
		var bad badRequest
		if errors.As(err, &bad) {
			status = http.StatusBadRequest
		}
	}
	writeJSON(w, status, a)
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

// Send performs one action on a pane, records it and the reply, and returns what the
// Client got. The page's send goes here; so can tests.
func (d *Demo) Send(ctx context.Context, paneID string, req Action) (Result, error) {
	i, ok := d.byID[paneID]
	if !ok {
		return Result{}, badRequest(fmt.Sprintf("no pane %q", paneID))
	}
	p := d.panes[i]
	m, shown, err := d.message(p, req)
	if err != nil {
		return Result{}, err
	}
	// One pane's actions in order, as one person's thumb makes them.
	d.paneMu[i].Lock()
	defer d.paneMu[i].Unlock()

	switch m.Event {
	case bot.EventSubscribe, bot.EventUnsubscribe:
		d.mu.Lock()
		d.subscribed[i] = m.Event == bot.EventSubscribe
		d.mu.Unlock()
	}
	shown.Pane, shown.Time, shown.Who = p.ID, d.clock.Now(), WhoUser
	d.record(shown)

	res, err := d.client.Send(ctx, m)
	if err != nil {
		kind := EntryError
		if errors.Is(err, ErrNoAnswer) {
			kind = EntryNoAnswer
		}
		d.log.Warn("delivery failed", "pane", p.ID, "attempts", res.Attempts, "err", err)
		d.record(Entry{Pane: p.ID, Time: d.clock.Now(), Who: WhoSystem, Kind: kind, Attempts: res.Attempts})
		return res, err
	}
	if res.Text != "" {
		d.record(Entry{Pane: p.ID, Time: d.clock.Now(), Who: WhoBot, Kind: EntryReply, Text: res.Text, Attempts: res.Attempts})
	}
	return res, nil
}

// SendText types text on a pane, as the page does.
func (d *Demo) SendText(ctx context.Context, paneID, text string) (Result, error) {
	return d.Send(ctx, paneID, Action{Text: text})
}

// message builds the platform's message for an action, and the line the sender's
// phone shows for it.
func (d *Demo) message(p Pane, req Action) (Message, Entry, error) {
	m := Message{From: p.OpenID}
	var e Entry
	n := 0
	set := func(ok bool) bool {
		if ok {
			n++
		}
		return ok
	}
	switch {
	case set(strings.TrimSpace(req.Text) != ""):
		m.Type, m.Content = "text", req.Text
		e = Entry{Kind: "text", Text: req.Text}
	case set(strings.TrimSpace(req.Voice) != ""):
		m.Type, m.MediaID, m.Format, m.Recognition = "voice", randomString(24), "amr", req.Voice
		e = Entry{Kind: "voice", Text: req.Voice}
	case set(req.Image):
		m.Type, m.PicURL, m.MediaID = "image", "http://mmbiz.qpic.cn/sim/"+randomString(16)+"/0", randomString(24)
		e = Entry{Kind: "image"}
	case set(req.Location != nil):
		m.Type, m.Lat, m.Lon, m.Scale, m.Label = "location", req.Location.Lat, req.Location.Lon, 15, req.Location.Label
		e = Entry{Kind: "location", Text: req.Location.Label}
	case set(req.Click != ""):
		m.Type, m.Event, m.EventKey = "event", bot.EventClick, req.Click
		e = Entry{Kind: "click", Text: cmpOr(req.Label, req.Click)}
	case set(req.View != ""):
		m.Type, m.Event, m.EventKey = "event", bot.EventView, req.View
		e = Entry{Kind: "view", Text: cmpOr(req.Label, req.View)}
	case set(req.Event == bot.EventSubscribe):
		m.Type, m.Event = "event", bot.EventSubscribe
		if req.Scene != "" {
			m.EventKey = "qrscene_" + req.Scene
		}
		e = Entry{Kind: bot.EventSubscribe}
	case set(req.Event == bot.EventUnsubscribe):
		m.Type, m.Event = "event", bot.EventUnsubscribe
		e = Entry{Kind: bot.EventUnsubscribe}
	}
	if n == 0 {
		return Message{}, Entry{}, badRequest("nothing to send")
	}
	return m, e, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type clockRequest struct {
	// Advance is a Go duration ("1h", "30m").
	Advance string `json:"advance,omitempty"`
	// Tomorrow is a time of day, "09:00": the clock goes to that time tomorrow
	// (Beijing time).
	Tomorrow string `json:"tomorrow,omitempty"`
}

type clockAnswer struct {
	Now    time.Time `json:"now"`
	Offset int64     `json:"offset_ms"`
	Error  string    `json:"error,omitempty"`
}

func (d *Demo) serveClock(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(hookBudget + 5*time.Second))
	var req clockRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, clockAnswer{Error: "bad request"})
		return
	}
	var err error
	switch {
	case req.Advance != "":
		var dur time.Duration
		if dur, err = time.ParseDuration(req.Advance); err == nil {
			_, err = d.Advance(r.Context(), dur)
		}
	case req.Tomorrow != "":
		var at time.Time
		if at, err = time.ParseInLocation("15:04", req.Tomorrow, calendar.Location()); err == nil {
			now := d.clock.Now().In(calendar.Location())
			y, m, day := now.AddDate(0, 0, 1).Date()
			_, err = d.AdvanceTo(r.Context(), time.Date(y, m, day, at.Hour(), at.Minute(), 0, 0, calendar.Location()))
		}
	default:
		err = errors.New("advance or tomorrow is required")
	}
	a := clockAnswer{Now: d.clock.Now(), Offset: d.clock.Offset().Milliseconds()}
	if err != nil {
		a.Error = err.Error()
		writeJSON(w, http.StatusBadRequest, a)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// Advance moves the demo clock forward by dur, runs AfterClockMove and tells the pages.
func (d *Demo) Advance(ctx context.Context, dur time.Duration) (time.Time, error) {
	if _, err := d.clock.Advance(dur); err != nil {
		return time.Time{}, err
	}
	return d.moved(ctx), nil
}

// AdvanceTo moves the demo clock forward to t, as Advance does.
func (d *Demo) AdvanceTo(ctx context.Context, t time.Time) (time.Time, error) {
	if _, err := d.clock.AdvanceTo(t); err != nil {
		return time.Time{}, err
	}
	return d.moved(ctx), nil
}

func (d *Demo) moved(ctx context.Context) time.Time {
	now := d.clock.Now()
	d.log.Info("demo clock moved", "now", now.In(calendar.Location()).Format(time.DateTime), "offset", d.clock.Offset().Round(time.Second))
	if d.AfterClockMove != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hookBudget)
		d.AfterClockMove(hctx)
		cancel()
	}
	d.publish("clock", "", clockAnswer{Now: now, Offset: d.clock.Offset().Milliseconds()})
	return now
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
