// Package httpapi is the hotline's HTTP API: call-centre software logs calls and
// reads tickets and callers; phone systems push generic CTI events. It only
// translates requests into bot.HotlineService calls and their answers into JSON;
// the rules live in the service. openapi.yaml describes it, and the tests check real
// requests and responses against that file.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"minyuan/bot"
)

//go:embed openapi.yaml
var spec []byte

// Spec is the OpenAPI 3 description of the API.
func Spec() []byte { return spec }

// Guard is what the API keeps in Redis: revoked tokens, request counts, nonces.
// *store.Store is one.
type Guard interface {
	Admit(ctx context.Context, name, hash string, now time.Time, window time.Duration) (revoked bool, count int64, err error)
	FreshNonce(ctx context.Context, name, nonce string, ttl time.Duration) (bool, error)
}

// Token is one named bearer token.
type Token struct {
	Name string
	// Secret is the token, or "sha256:<hex>" of it.
	Secret string
}

// HashToken is how a configured token is kept: the hex SHA-256 of the secret, or
// the hash itself when the config gives "sha256:<hex>".
func HashToken(secret string) string {
	if h, ok := strings.CutPrefix(secret, "sha256:"); ok {
		return strings.ToLower(h)
	}
	return hashPresented(secret)
}

// hashPresented hashes what a client sent: always the raw secret, so that knowing
// a configured hash is no way in.
func hashPresented(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Config configures the API.
type Config struct {
	Hotline *bot.HotlineService
	Guard   Guard
	Tokens  []Token
	// CTIToken is the secret path segment of the CTI endpoint; empty turns it off.
	CTIToken     string
	RateLimit    int           // requests per minute per token
	MaxBody      int64         // bytes
	ReplayWindow time.Duration // for X-Minyuan-Timestamp and X-Minyuan-Nonce
	Clock        bot.Clock
	Log          *slog.Logger
}

// API serves the hotline's HTTP endpoints.
type API struct {
	cfg    Config
	tokens map[string]string // hash -> name
	cti    string            // hash of the CTI token
	log    *slog.Logger
}

const window = time.Minute

// New checks cfg and makes the API.
func New(cfg Config) (*API, error) {
	if cfg.Hotline == nil || cfg.Guard == nil {
		return nil, errors.New("httpapi: needs the hotline service and a guard")
	}
	if cfg.Clock == nil {
		cfg.Clock = bot.SystemClock{}
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 120
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 10
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = 5 * time.Minute
	}
	a := &API{cfg: cfg, tokens: map[string]string{}, log: cfg.Log}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "httpapi")
	for _, t := range cfg.Tokens {
		if t.Name == "" || t.Secret == "" {
			return nil, errors.New("httpapi: every token needs a name and a secret")
		}
		a.tokens[HashToken(t.Secret)] = t.Name
	}
	if cfg.CTIToken != "" {
		a.cti = HashToken(cfg.CTIToken)
	}
	return a, nil
}

// Mount registers the endpoints on mux.
func (a *API) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/hotline/calls", a.authed(a.logCall))
	mux.HandleFunc("GET /api/v1/tickets/{n}", a.authed(a.ticket))
	mux.HandleFunc("GET /api/v1/callers/{number}", a.authed(a.caller))
	mux.HandleFunc("POST /api/v1/cti/{token}", a.ctiEvent)
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(spec)
	})
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint", "")
	})
}

type errBody struct {
	Error errInfo `json:"error"`
}

type errInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, errBody{Error: errInfo{Code: code, Message: msg, Field: field}})
}

// serviceError answers an error of the hotline service.
func (a *API) serviceError(w http.ResponseWriter, r *http.Request, err error) {
	switch bot.ErrorCode(err) {
	case bot.EInvalid:
		writeError(w, http.StatusUnprocessableEntity, "invalid_field", errMessage(err), bot.ErrorField(err))
	case bot.EConflict:
		writeError(w, http.StatusUnprocessableEntity, "call_id_conflict", errMessage(err), "call_id")
	case bot.ENotFound:
		writeError(w, http.StatusNotFound, "not_found", "not found", "")
	case bot.EUnavailable:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later", "")
	default:
		a.log.Error("api request failed", "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

func errMessage(err error) string {
	var e *bot.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

// authed checks the bearer token, its rate limit and the replay headers, then runs h
// as the token's actor.
func (a *API) authed(h func(http.ResponseWriter, *http.Request, bot.Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		name := ""
		hash := ""
		if ok && secret != "" {
			hash = hashPresented(strings.TrimSpace(secret))
			name = a.tokens[hash]
		}
		if name == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="minyuan"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required", "")
			return
		}
		now := a.cfg.Clock.Now()
		revoked, n, err := a.cfg.Guard.Admit(r.Context(), name, hash, now, window)
		if err != nil {
			a.serviceError(w, r, bot.Errorf(bot.EUnavailable, "admit: %v", err))
			return
		}
		if revoked {
			w.Header().Set("WWW-Authenticate", `Bearer realm="minyuan", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "this token has been revoked", "")
			return
		}
		if n > int64(a.cfg.RateLimit) {
			left := window - time.Duration(now.UnixMilli()%window.Milliseconds())*time.Millisecond
			w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
			writeError(w, http.StatusTooManyRequests, "rate_limited",
				fmt.Sprintf("more than %d requests a minute for this token", a.cfg.RateLimit), "")
			return
		}
		if !a.fresh(w, r, name, now) {
			return
		}
		a.log.Info("api request", "token", name, "route", r.Pattern)
		h(w, r, bot.Actor{Kind: bot.ActorAPI, ID: name, Name: name})
	}
}

// fresh refuses a replayed request: a timestamp outside the window, or a nonce seen
// within it. Both headers are optional.
func (a *API) fresh(w http.ResponseWriter, r *http.Request, name string, now time.Time) bool {
	if ts := r.Header.Get("X-Minyuan-Timestamp"); ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "X-Minyuan-Timestamp must be unix seconds", "")
			return false
		}
		if d := now.Sub(time.Unix(sec, 0)); d > a.cfg.ReplayWindow || d < -a.cfg.ReplayWindow {
			writeError(w, http.StatusBadRequest, "replayed", "X-Minyuan-Timestamp is outside the replay window", "")
			return false
		}
	}
	if nonce := r.Header.Get("X-Minyuan-Nonce"); nonce != "" {
		if len(nonce) < 8 || len(nonce) > 128 {
			writeError(w, http.StatusBadRequest, "bad_request", "X-Minyuan-Nonce must be 8 to 128 characters", "")
			return false
		}
		ok, err := a.cfg.Guard.FreshNonce(r.Context(), name, nonce, 2*a.cfg.ReplayWindow)
		if err != nil {
			a.serviceError(w, r, bot.Errorf(bot.EUnavailable, "nonce: %v", err))
			return false
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "replayed", "this request was already received (X-Minyuan-Nonce seen before)", "")
			return false
		}
	}
	return true
}

// body reads a request body within the limit; false when it answered already.
func (a *API) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > a.cfg.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBody), "")
		return nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBody), "")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read", "")
		return nil, false
	}
	return raw, true
}

func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// callLogRequest is the JSON of POST /api/v1/hotline/calls; pointers tell a missing
// field from an empty one.
type callLogRequest struct {
	CallID       *string `json:"call_id"`
	Caller       *string `json:"caller"`
	StartedAt    *string `json:"started_at"`
	DurationS    *int    `json:"duration_s"`
	Operator     *string `json:"operator"`
	Category     *string `json:"category"`
	Summary      *string `json:"summary"`
	Community    *string `json:"community"`
	RecordingURL *string `json:"recording_url"`
	Confidential *bool   `json:"confidential"`
}

type callLogged struct {
	Ticket string `json:"ticket"`
	CallID string `json:"call_id"`
	Status string `json:"status"`
	Linked bool   `json:"linked"`
}

func (a *API) logCall(w http.ResponseWriter, r *http.Request, actor bot.Actor) {
	if mt := mediaType(r); mt != "" && mt != "application/json" {
		writeError(w, http.StatusBadRequest, "bad_request", "Content-Type must be application/json", "")
		return
	}
	raw, ok := a.body(w, r)
	if !ok {
		return
	}
	var req callLogRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_field", te.Field+": wrong type", te.Field)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_json", "the body is not a JSON object", "")
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"call_id", req.CallID != nil}, {"caller", req.Caller != nil}, {"started_at", req.StartedAt != nil},
		{"category", req.Category != nil}, {"summary", req.Summary != nil}, {"community", req.Community != nil}} {
		if !f.set {
			writeError(w, http.StatusUnprocessableEntity, "missing_field", f.name+" is required", f.name)
			return
		}
	}
	started, err := time.Parse(time.RFC3339, *req.StartedAt)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_field", "started_at: RFC 3339 date-time", "started_at")
		return
	}
	in := bot.CallLog{CallID: *req.CallID, Caller: *req.Caller, StartedAt: started, Category: *req.Category,
		Summary: *req.Summary, Community: *req.Community, Via: bot.CallViaAPI}
	if req.DurationS != nil {
		in.DurationS = *req.DurationS
	}
	if req.Operator != nil {
		in.Operator = *req.Operator
	}
	if req.RecordingURL != nil {
		in.RecordingURL = *req.RecordingURL
	}
	if req.Confidential != nil {
		in.Confidential = *req.Confidential
	}
	_, t, created, err := a.cfg.Hotline.LogCall(r.Context(), actor, a.cfg.Clock.Now(), in)
	if err != nil {
		a.serviceError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, callLogged{Ticket: t.No, CallID: in.CallID, Status: string(t.Status), Linked: t.OpenID != ""})
}

type ticketView struct {
	Ticket       string      `json:"ticket"`
	Status       string      `json:"status"`
	Community    string      `json:"community"`
	Category     string      `json:"category"`
	Source       string      `json:"source"`
	Description  string      `json:"description,omitempty"`
	Handler      string      `json:"handler,omitempty"`
	Created      time.Time   `json:"created"`
	SignBy       *time.Time  `json:"sign_by,omitempty"`
	DueBy        *time.Time  `json:"due_by,omitempty"`
	Closed       *time.Time  `json:"closed,omitempty"`
	Result       string      `json:"result,omitempty"`
	Confidential bool        `json:"confidential"`
	Timeline     []eventView `json:"timeline"`
}

type eventView struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Who  string    `json:"who"`
	Name string    `json:"name,omitempty"`
	Text string    `json:"text,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func validTicketNo(n string) bool {
	if n == "" || len(n) > 12 {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (a *API) ticket(w http.ResponseWriter, r *http.Request, actor bot.Actor) {
	no := r.PathValue("n")
	if !validTicketNo(no) {
		writeError(w, http.StatusBadRequest, "bad_request", "a ticket number is digits", "n")
		return
	}
	t, evs, err := a.cfg.Hotline.PublicTicket(r.Context(), actor, no)
	if err != nil {
		a.serviceError(w, r, err)
		return
	}
	v := ticketView{Ticket: t.No, Status: string(t.Status), Community: t.Community, Category: t.Category, Source: t.Source,
		Description: t.Description, Handler: t.HandlerName, Created: t.Created, SignBy: timePtr(t.SignBy),
		DueBy: timePtr(t.DueBy), Closed: timePtr(t.Closed), Result: t.Result, Confidential: t.Confidential,
		Timeline: make([]eventView, 0, len(evs))}
	if v.Source == "" {
		v.Source = "wechat"
	}
	for _, ev := range evs {
		e := eventView{At: ev.At, Kind: string(ev.Kind), Text: ev.Text}
		switch {
		case ev.Actor == "system" || ev.Actor == "":
			e.Who = "system"
		case t.OpenID != "" && ev.Actor == t.OpenID:
			e.Who = "resident" // named by nobody: the resident's name is theirs
		case strings.HasPrefix(ev.Actor, "api:") || strings.HasPrefix(ev.Actor, "hotline:"):
			e.Who, e.Name = "hotline", ev.Name
		default:
			e.Who, e.Name = "staff", ev.Name
		}
		v.Timeline = append(v.Timeline, e)
	}
	writeJSON(w, http.StatusOK, v)
}

type callerView struct {
	Number    string          `json:"number"`
	Linked    bool            `json:"linked"`
	VoiceCode string          `json:"voice_code,omitempty"`
	Open      []callerTicket  `json:"open_tickets"`
	Calls     []callerCallRow `json:"calls"`
}

type callerTicket struct {
	Ticket   string    `json:"ticket"`
	Status   string    `json:"status"`
	Category string    `json:"category"`
	Summary  string    `json:"summary,omitempty"`
	Created  time.Time `json:"created"`
}

type callerCallRow struct {
	CallID   string    `json:"call_id"`
	Started  time.Time `json:"started"`
	State    string    `json:"state"`
	Missed   bool      `json:"missed"`
	Ticket   string    `json:"ticket,omitempty"`
	Callback string    `json:"callback,omitempty"`
}

func (a *API) caller(w http.ResponseWriter, r *http.Request, actor bot.Actor) {
	info, err := a.cfg.Hotline.Caller(r.Context(), actor, a.cfg.Clock.Now(), r.PathValue("number"))
	if err != nil {
		a.serviceError(w, r, err)
		return
	}
	v := callerView{Number: info.Number, Linked: info.Linked, VoiceCode: info.VoiceCode,
		Open: []callerTicket{}, Calls: []callerCallRow{}}
	for _, t := range info.Open {
		ct := callerTicket{Ticket: t.No, Status: string(t.Status), Category: t.Category, Created: t.Created}
		if !t.Confidential {
			ct.Summary = t.Description
		}
		v.Open = append(v.Open, ct)
	}
	for _, c := range info.Calls {
		v.Calls = append(v.Calls, callerCallRow{CallID: c.ID, Started: c.Started, State: string(c.State), Missed: c.Missed,
			Ticket: c.Ticket, Callback: c.Callback})
	}
	writeJSON(w, http.StatusOK, v)
}

// ctiEvent takes a generic CTI push: the token in the path is its only secret.
func (a *API) ctiEvent(w http.ResponseWriter, r *http.Request) {
	if a.cti == "" {
		writeError(w, http.StatusNotFound, "cti_disabled", "the CTI endpoint is off (hotline.cti_token is empty)", "")
		return
	}
	got := hashPresented(r.PathValue("token"))
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.cti)) != 1 {
		writeError(w, http.StatusUnauthorized, "unauthorized", "wrong CTI token", "")
		return
	}
	now := a.cfg.Clock.Now()
	// Three events a call: the CTI endpoint gets three times a token's allowance.
	if _, n, err := a.cfg.Guard.Admit(r.Context(), "cti", a.cti, now, window); err != nil {
		a.serviceError(w, r, bot.Errorf(bot.EUnavailable, "admit: %v", err))
		return
	} else if n > 3*int64(a.cfg.RateLimit) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many CTI events this minute", "")
		return
	}
	ev, ok := a.parseCTI(w, r)
	if !ok {
		return
	}
	for _, f := range []struct{ name, v string }{{"event", ev.Event}, {"callId", ev.CallID}} {
		if f.v == "" {
			writeError(w, http.StatusUnprocessableEntity, "missing_field", f.name+" is required", f.name)
			return
		}
	}
	if _, err := a.cfg.Hotline.CTI(r.Context(), now, ev); err != nil {
		a.serviceError(w, r, err)
		return
	}
	a.log.Info("cti event", "event", ev.Event, "direction", ev.Direction, "cause", ev.Cause)
	writeJSON(w, http.StatusOK, struct{}{})
}

// parseCTI reads the event from JSON or a form (urlencoded or multipart), as the
// generic CTI API allows; user may be one string or several (user[]).
func (a *API) parseCTI(w http.ResponseWriter, r *http.Request) (bot.CTIEvent, bool) {
	var ev bot.CTIEvent
	mt := mediaType(r)
	if mt == "application/json" {
		raw, ok := a.body(w, r)
		if !ok {
			return ev, false
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			writeError(w, http.StatusBadRequest, "bad_json", "the body is not a JSON object", "")
			return ev, false
		}
		str := func(k string) (string, bool) {
			v, ok := m[k]
			if !ok || string(v) == "null" {
				return "", true
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				writeError(w, http.StatusUnprocessableEntity, "invalid_field", k+": a string", k)
				return "", false
			}
			return s, true
		}
		for k, dst := range map[string]*string{"event": &ev.Event, "from": &ev.From, "to": &ev.To, "direction": &ev.Direction,
			"callId": &ev.CallID, "queue": &ev.Queue, "cause": &ev.Cause, "answeringNumber": &ev.AnsweringNumber} {
			s, ok := str(k)
			if !ok {
				return ev, false
			}
			*dst = s
		}
		for _, k := range []string{"user", "user[]"} {
			if v, ok := m[k]; ok {
				var one string
				var many []string
				switch {
				case json.Unmarshal(v, &one) == nil:
					ev.Users = append(ev.Users, one)
				case json.Unmarshal(v, &many) == nil:
					ev.Users = append(ev.Users, many...)
				default:
					writeError(w, http.StatusUnprocessableEntity, "invalid_field", "user: a string or a list of strings", "user")
					return ev, false
				}
			}
		}
		return ev, true
	}
	if r.ContentLength > a.cfg.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBody), "")
		return ev, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBody)
	var err error
	switch mt {
	case "multipart/form-data":
		err = r.ParseMultipartForm(a.cfg.MaxBody)
	case "application/x-www-form-urlencoded", "":
		err = r.ParseForm()
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "Content-Type must be JSON or a form", "")
		return ev, false
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBody), "")
		return ev, false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the form could not be read", "")
		return ev, false
	}
	f := r.PostForm
	if r.MultipartForm != nil {
		f = r.MultipartForm.Value
	}
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ev = bot.CTIEvent{Event: get("event"), From: get("from"), To: get("to"), Direction: get("direction"), CallID: get("callId"),
		Queue: get("queue"), Cause: get("cause"), AnsweringNumber: get("answeringNumber")}
	ev.Users = append(append(ev.Users, f["user[]"]...), f["user"]...)
	return ev, true
}
