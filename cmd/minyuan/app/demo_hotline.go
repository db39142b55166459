package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/configs"
)

// The demo's hotline panel: a phone system and a call-centre screen simulated on
// the page. Its buttons go through the real hotline API over HTTP, as a PBX and
// call-centre software would: newCall and hangup to the CTI endpoint, 登记 to
// POST /api/v1/hotline/calls. The resident's phone number is proved (linked) when
// the demo starts, so a call from it ends with the receipt in the resident's pane.

// DemoResidentPhone is the number the demo's resident calls from, linked to them.
const DemoResidentPhone = "13800138000"

var (
	msgDemoCallNew    = bot.Msg("demo.hotline.new_call")
	msgDemoCallHangup = bot.Msg("demo.hotline.hangup")
	msgDemoCallLogged = bot.Msg("demo.hotline.logged")
	msgDemoCallFailed = bot.Msg("demo.hotline.failed")
	msgDemoOperator   = bot.Msg("demo.hotline.operator")
)

type demoHotline struct {
	base, token, cti    string
	community, category string
	mu                  sync.Mutex
	answered            map[string]bool // call ids logged (answered) on the page
}

// fillDemoHotline gives the demo's hotline an API token, a CTI token and a number
// when the configuration has none.
func fillDemoHotline(cfg *configs.Config) {
	if cfg.Hotline.CTIToken == "" {
		cfg.Hotline.CTIToken = randomHex(16)
	}
	if len(cfg.Hotline.Tokens) == 0 {
		cfg.Hotline.Tokens = []configs.HotlineToken{{Name: "demo", Token: randomHex(16)}}
	}
	if cfg.Hotline.Number == "" {
		cfg.Hotline.Number = "0394-8123456"
	}
}

// hotlinePanel links the resident's number and makes the panel. The panel needs a
// token given in clear (not a sha256: hash).
func (d *Demo) hotlinePanel(ctx context.Context, cfg configs.Config) (*sim.HotlinePanel, error) {
	token := ""
	for _, t := range cfg.Hotline.Tokens {
		if !strings.HasPrefix(t.Token, "sha256:") {
			token = t.Token
			break
		}
	}
	if token == "" || cfg.Hotline.CTIToken == "" {
		return nil, nil
	}
	hash := d.App.Hotline.Hasher.Hash(DemoResidentPhone)
	if _, err := d.App.Store.Prove(ctx, bot.Proof{OpenID: DemoResident, Hash: hash, Phone: DemoResidentPhone}, d.Clock.Now()); err != nil {
		return nil, fmt.Errorf("demo: link the resident's number: %w", err)
	}
	category := cfg.Categories[0].Code
	for _, c := range cfg.Categories {
		if c.Code == "other" {
			category = c.Code
		}
	}
	d.hotline = demoHotline{base: strings.TrimSuffix(d.URL, "/"), token: token, cti: cfg.Hotline.CTIToken,
		community: d.App.Callbacks.Community, category: category, answered: map[string]bool{}}
	return &sim.HotlinePanel{Caller: DemoResidentPhone, Handle: http.HandlerFunc(d.serveHotline)}, nil
}

type hotlineAction struct {
	Event   string `json:"event"` // newCall, log, hangup
	CallID  string `json:"call_id"`
	From    string `json:"from"`
	Summary string `json:"summary"`
}

type hotlineAnswer struct {
	Line   string `json:"line,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (d *Demo) serveHotline(w http.ResponseWriter, r *http.Request) {
	var in hotlineAction
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&in); err != nil || in.CallID == "" {
		writeDemoJSON(w, http.StatusBadRequest, hotlineAnswer{Error: "bad request"})
		return
	}
	cat := d.App.Engine.Catalog
	from := strings.TrimSpace(in.From)
	h := &d.hotline
	var (
		status int
		body   []byte
		err    error
	)
	ok := func() bool { return err == nil && status/100 == 2 }
	fail := func() {
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = strings.TrimSpace(string(body))
		}
		writeDemoJSON(w, http.StatusBadGateway, hotlineAnswer{
			Line: cat.T(msgDemoCallFailed, map[string]any{"Status": status, "Error": msg})})
	}
	switch in.Event {
	case "newCall", "hangup":
		form := url.Values{"event": {in.Event}, "from": {from}, "to": {d.Config.Hotline.Number},
			"direction": {"in"}, "callId": {in.CallID}}
		h.mu.Lock()
		answered := h.answered[in.CallID]
		h.mu.Unlock()
		missed := in.Event == "hangup" && !answered
		if in.Event == "hangup" {
			form.Set("cause", "normalClearing")
			if missed {
				form.Set("cause", "noAnswer")
			}
		}
		status, body, err = d.hotlinePost(r.Context(), "/api/v1/cti/"+h.cti, "application/x-www-form-urlencoded", "", []byte(form.Encode()))
		if !ok() {
			fail()
			return
		}
		key := msgDemoCallNew
		if in.Event == "hangup" {
			key = msgDemoCallHangup
		}
		writeDemoJSON(w, http.StatusOK, hotlineAnswer{Line: cat.T(key, map[string]any{
			"Phone": bot.MaskPhone(from), "Status": status, "Missed": missed})})
	case "log":
		// The operator picks up (answer), then logs the call.
		answer := url.Values{"event": {"answer"}, "from": {from}, "to": {d.Config.Hotline.Number}, "direction": {"in"},
			"callId": {in.CallID}, "answeringNumber": {d.Config.Hotline.Number}}
		_, _, _ = d.hotlinePost(r.Context(), "/api/v1/cti/"+h.cti, "application/x-www-form-urlencoded", "", []byte(answer.Encode()))
		raw, _ := json.Marshal(map[string]any{
			"call_id": in.CallID, "caller": from, "started_at": d.Clock.Now().Add(-2 * time.Minute).Format(time.RFC3339),
			"duration_s": 120, "operator": cat.T(msgDemoOperator, nil), "category": h.category,
			"summary": in.Summary, "community": h.community,
		})
		status, body, err = d.hotlinePost(r.Context(), "/api/v1/hotline/calls", "application/json", "Bearer "+h.token, raw)
		if !ok() {
			fail()
			return
		}
		var got struct {
			Ticket string `json:"ticket"`
		}
		_ = json.Unmarshal(body, &got)
		h.mu.Lock()
		h.answered[in.CallID] = true
		h.mu.Unlock()
		proved, _, _ := d.App.Store.ProvedBy(r.Context(), d.App.Hotline.Hasher.Hash(from))
		writeDemoJSON(w, http.StatusOK, hotlineAnswer{Ticket: got.Ticket, Line: cat.T(msgDemoCallLogged, map[string]any{
			"No": got.Ticket, "Phone": bot.MaskPhone(from), "Status": status, "Linked": proved != ""})})
	default:
		writeDemoJSON(w, http.StatusBadRequest, hotlineAnswer{Error: "unknown event"})
	}
}

// hotlinePost sends one request to the demo's own API, as a phone system would.
func (d *Demo) hotlinePost(ctx context.Context, path, contentType, auth string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hotline.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, nil
}

func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
