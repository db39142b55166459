// Package sim is the WeChat simulator: demo mode and the end-to-end tests talk to it
// instead of the platform.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"minyuan/bot"
)

// Kinds of Call, one per API the simulator answers.
const (
	KindCustom      = "custom"
	KindTemplate    = "template"
	KindToken       = "token"
	KindStableToken = "stable_token"
	KindUserInfo    = "user_info"
	KindMenuCreate  = "menu_create"
	KindMenuGet     = "menu_get"
	KindQRCode      = "qrcode"
)

// Error codes of the platform that callers must tell apart.
const (
	ErrSystem          = -1
	ErrInvalidToken    = 40001 // unknown, revoked, or superseded more than 5 minutes ago
	ErrInvalidOpenID   = 40003
	ErrInvalidAppID    = 40013
	ErrInvalidTemplate = 40037
	ErrInvalidSecret   = 40125
	ErrTokenExpired    = 42001
	ErrNotSubscribed   = 43004
	ErrDailyLimit      = 45009
	ErrWindowClosed    = 45015
	ErrCustomQuota     = 45047
)

// The platform's errmsg for each errcode the simulator can answer.
var errMsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40008: "invalid message type",
	40013: "invalid appid",
	40016: "invalid button size",
	40037: "invalid template_id",
	40053: "invalid action info",
	40125: "invalid appsecret",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	42001: "access_token expired",
	43002: "require POST method",
	43004: "require subscribe",
	44002: "empty post data",
	44004: "empty content",
	45009: "reach max api daily quota limit",
	45015: "response out of time limit or subscription is canceled",
	45047: "out of response count limit",
	46003: "menu no exist",
	47001: "data format error",
}

const (
	tokenLifetime = 7200 * time.Second
	// tokenGrace is how long the platform keeps honouring a token after a new one
	// has been issued in its place, so that holders can switch over.
	tokenGrace = 5 * time.Minute
	// maxCalls bounds the call log of a long-running demo; tests never get near it.
	maxCalls = 10000
	// maxBody bounds what is read of a request; the platform's own limits are lower.
	maxBody    = 1 << 20
	watchQueue = 64
)

// Call is one request the simulator answered (or that hung until the caller left).
type Call struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	OpenID string    `json:"openid,omitempty"`
	Kind   string    `json:"kind"` // one of the Kind constants; empty for an unknown path
	// Body is the JSON request body; a body that is not JSON is kept as a JSON
	// string, and the secret in a stable_token body is masked.
	Body    json.RawMessage `json:"body,omitempty"`
	ErrCode int             `json:"errcode"`
	// Status is the HTTP status answered; 0 when the caller gave up first.
	Status int `json:"status"`
	// Injected is true when a Fault decided the answer.
	Injected bool `json:"injected,omitempty"`
	// Duplicate is true for a template message whose client_msg_id the platform had
	// already sent to this openid within ten minutes: answered as sent, not shown.
	Duplicate bool `json:"duplicate,omitempty"`
}

// OK reports whether the call succeeded.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.ErrCode == 0 }

// Fault is a failure to inject into the answer to a call.
type Fault struct {
	// Status, unless 0 or 200, is answered as the HTTP status with a small non-JSON
	// body, as the platform's gateway does.
	Status int
	// ErrCode is answered with HTTP 200 and {"errcode":N,"errmsg":"..."}. An injected
	// 40001 or 42001 also retires the token the caller presented, as the platform
	// would have: a retry with the same token fails again until the caller refreshes.
	ErrCode int
	// Hang delays the answer, or leaves it unanswered when the caller's context ends
	// first: a time-out. It is wall-clock time, not the simulator's clock, because
	// it exercises the caller's real HTTP time-out. A Hang alone answers normally
	// after the delay.
	Hang time.Duration
}

type token struct {
	expires time.Time
	// until is zero while the token is the newest of its line; once superseded it
	// is the end of the grace period.
	until   time.Time
	revoked bool
}

type follower struct {
	subscribed bool
	since      time.Time
	// contact is the user's last action and the customer-service messages sent
	// since, which is what the platform's allowance (45047, 45015) limits.
	contact bot.Contact
}

type qrTicket struct {
	scene   string
	expires time.Time // zero: permanent
}

// API is a fake of the WeChat official-account HTTP API (api.weixin.qq.com). It
// answers the paths, queries and JSON bodies that github.com/silenceper/wechat/v2
// sends, with the platform's answer shapes and error codes, and records every call.
// It is safe for concurrent use.
type API struct {
	appID, appSecret string
	clock            bot.Clock

	mu sync.Mutex
	// Two token lines, isolated as on the platform: /cgi-bin/token issues a new
	// token on every call, /cgi-bin/stable_token hands out the current one.
	tokens  map[string]*token
	current string
	stable  string
	fetches int
	users   map[string]*follower
	// unlimited turns the allowance rules off (SetAllowanceRules): any action then
	// opens 48 hours of unlimited customer-service messages, as before mid-2023.
	unlimited bool
	templates map[string]Template
	queue     []Fault
	faultFor  map[string]Fault
	calls     []Call
	watchers  map[int]chan Call
	watchSeq  int
	menu      json.RawMessage
	tickets   map[string]qrTicket
	msgID     int64
	media     map[string][]byte    // uploaded media by media_id (media.go)
	mediaAt   map[string]time.Time // when a user's media arrived (AddMedia)
	// clientMsgs are the template messages sent with a client_msg_id, by openid
	// and id: the platform sends each once within ten minutes.
	clientMsgs map[string]sentOnce
	// User tags and personalised menus (menu.go); menuChanged says a call changed
	// what someone's menu is.
	tags        []tag
	userTags    map[string][]int32
	condMenus   []condMenu
	nextMenuID  int64
	menuChanged bool
}

// NewAPI makes a platform that knows one account. A nil clock is the system clock.
func NewAPI(appID, appSecret string, clock bot.Clock) *API {
	if clock == nil {
		clock = bot.SystemClock{}
	}
	return &API{
		appID:     appID,
		appSecret: appSecret,
		clock:     clock,
		tokens:    map[string]*token{},
		users:     map[string]*follower{},
		faultFor:  map[string]Fault{},
		watchers:  map[int]chan Call{},
		tickets:   map[string]qrTicket{},
		templates: map[string]Template{},
		msgID:     2_000_000_000,
	}
}

// Subscribe makes openid a follower of the account.
func (a *API) Subscribe(openid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.user(openid)
	if !u.subscribed {
		u.subscribed, u.since = true, a.clock.Now()
	}
}

// Unsubscribe makes openid stop following: sends to them answer 43004.
func (a *API) Unsubscribe(openid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.user(openid).subscribed = false
}

// Touch records that openid sent the account a message at t: Act with
// bot.ActionMessage.
func (a *API) Touch(openid string, t time.Time) { a.Act(openid, bot.ActionMessage, t) }

// Act records what openid did at t, as the platform learns it: a message gives 5
// customer-service messages within 48 hours, a click or scan-push menu click, a
// follow or a QR scan 3 within a minute; each action resets the allowance (the rules
// are bot.Contact's). Only followers can act, so an openid never seen before becomes
// one. ActionNone changes nothing.
func (a *API) Act(openid string, act bot.Action, t time.Time) {
	if act == bot.ActionNone {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, known := a.users[openid]
	if !known {
		u = a.user(openid)
		u.subscribed, u.since = true, t
	}
	u.contact = u.contact.Acted(act, t)
}

// Allowance returns how many customer-service messages openid may still receive
// now, and, when none, the errcode a send would get (0 when open).
func (a *API) Allowance(openid string) (left, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[openid]
	if !ok {
		return 0, ErrWindowClosed
	}
	return u.contact.Left(a.clock.Now())
}

func (a *API) user(openid string) *follower {
	u, ok := a.users[openid]
	if !ok {
		u = &follower{}
		a.users[openid] = u
	}
	return u
}

// SetAllowanceRules turns the platform's customer-service allowance rules on (the
// default) or off. Off, any action opens 48 hours of unlimited customer-service
// messages, as before mid-2023: only for tests that need a window without a count.
func (a *API) SetAllowanceRules(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unlimited = !on
}

// FailNext makes the next n calls other than token fetches fail with f. Calls queue
// up behind earlier FailNext calls, so a test can script a sequence of failures.
func (a *API) FailNext(n int, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.queue = append(a.queue, f)
	}
}

// FailFor makes every call about openid fail with f until Heal(openid). A pending
// FailNext goes first.
func (a *API) FailFor(openid string, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faultFor[openid] = f
}

// Heal ends FailFor(openid).
func (a *API) Heal(openid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.faultFor, openid)
}

// Calls returns the calls so far, oldest first.
func (a *API) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// Sent returns the successful customer-service and template sends to openid, oldest
// first: what the user's phone has received.
func (a *API) Sent(openid string) []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Call
	for _, c := range a.calls {
		if c.OpenID == openid && (c.Kind == KindCustom || c.Kind == KindTemplate) && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// TokenFetches counts the calls to /cgi-bin/token and /cgi-bin/stable_token.
func (a *API) TokenFetches() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetches
}

// Menu returns the buttons of the menu last created (the JSON array), or nil.
func (a *API) Menu() json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.menu)
}

// QRScene returns the scene of a QR code ticket the API issued and that has not
// expired, so that a simulated user can scan it.
func (a *API) QRScene(ticket string) (scene string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tickets[ticket]
	if !ok || (!t.expires.IsZero() && !a.clock.Now().Before(t.expires)) {
		return "", false
	}
	return t.scene, true
}

// Watch streams every call from now on until stop is called. A watcher that falls
// behind misses calls rather than slowing the API down; Calls has them all.
func (a *API) Watch() (<-chan Call, func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan Call, watchQueue)
	id := a.watchSeq
	a.watchSeq++
	a.watchers[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			delete(a.watchers, id)
			close(ch)
		})
	}
}

// Reset clears the call log, the token-fetch count and every injected fault. What
// the platform itself holds stays, as it would between two test cases against the
// real one: tokens, followers and their windows, the menu, QR tickets, the quota.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = nil
	a.fetches = 0
	a.queue = nil
	clear(a.faultFor)
}

// route maps a path to its kind and whether the platform insists on POST.
var route = map[string]struct {
	kind string
	post bool
}{
	"/cgi-bin/token":                 {KindToken, false},
	"/cgi-bin/stable_token":          {KindStableToken, true},
	"/cgi-bin/message/custom/send":   {KindCustom, true},
	"/cgi-bin/message/template/send": {KindTemplate, true},
	"/cgi-bin/user/info":             {KindUserInfo, false},
	"/cgi-bin/menu/create":           {KindMenuCreate, true},
	"/cgi-bin/menu/get":              {KindMenuGet, false},
	"/cgi-bin/qrcode/create":         {KindQRCode, true},
	"/cgi-bin/media/upload":          {KindMediaUpload, true},
	"/cgi-bin/media/get":             {KindMediaGet, false},
}

// ServeHTTP answers one API call.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Body: recordBody(body)}
	rt, known := route[r.URL.Path]
	if !known {
		a.finish(w, call, http.StatusNotFound, nil)
		return
	}
	call.Kind = rt.kind
	q := r.URL.Query()
	switch rt.kind {
	case KindToken, KindStableToken:
		if rt.kind == KindStableToken {
			call.Body = maskSecret(body)
		}
		a.mu.Lock()
		a.fetches++
		a.mu.Unlock()
		if rt.post && r.Method != http.MethodPost {
			a.finish(w, call, http.StatusOK, errAnswer(43002))
			return
		}
		a.finish(w, call, http.StatusOK, a.issueToken(rt.kind, q, body))
		return
	case KindCustom, KindTemplate:
		var to struct {
			ToUser string `json:"touser"`
		}
		_ = json.Unmarshal(body, &to)
		call.OpenID = to.ToUser
	case KindUserInfo:
		call.OpenID = q.Get("openid")
	}

	f, injected := a.fault(call.OpenID)
	if injected && f.Hang > 0 && !hang(r.Context(), f.Hang) {
		call.Injected = true
		a.finish(w, call, 0, nil)
		return
	}
	statusFault := f.Status != 0 && f.Status != http.StatusOK
	if injected && (statusFault || f.ErrCode != 0) {
		call.Injected = true
		if statusFault {
			a.finish(w, call, f.Status, nil)
			return
		}
		if f.ErrCode == ErrInvalidToken || f.ErrCode == ErrTokenExpired {
			a.retire(q.Get("access_token"), f.ErrCode)
		}
		a.finish(w, call, http.StatusOK, errAnswer(f.ErrCode))
		return
	}

	if rt.post && r.Method != http.MethodPost {
		a.finish(w, call, http.StatusOK, errAnswer(43002))
		return
	}
	a.mu.Lock()
	now := a.clock.Now()
	var answer map[string]any
	if code := a.checkToken(q.Get("access_token"), now); code != 0 {
		answer = errAnswer(code)
	} else {
		switch rt.kind {
		case KindCustom:
			answer = a.sendCustom(call.OpenID, body, now)
		case KindTemplate:
			answer, call.Duplicate = a.sendTemplate(call.OpenID, body, now)
		case KindUserInfo:
			answer = a.userInfo(call.OpenID)
		case KindMenuCreate:
			answer = a.createMenu(body)
		case KindMenuGet:
			answer = a.getMenu()
		case KindQRCode:
			answer = a.createQR(body, now)
		default:
			answer, _ = a.menuCall(rt.kind, body)
		case KindMediaUpload:
			answer = a.uploadMedia(r, body, q.Get("type"))
		case KindMediaGet:
			answer = a.getMedia(q.Get("media_id"), now)
		}
	}
	a.mu.Unlock()
	a.finish(w, call, http.StatusOK, answer)
}

// fault picks the fault for the next call about openid, if any.
func (a *API) fault(openid string) (Fault, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) > 0 {
		f := a.queue[0]
		a.queue = a.queue[1:]
		return f, true
	}
	if openid == "" {
		return Fault{}, false
	}
	f, ok := a.faultFor[openid]
	return f, ok
}

// hang waits d, and reports false if the caller gave up first.
func hang(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// finish records the call, tells the watchers and writes the answer: JSON for a 200,
// the status text otherwise.
func (a *API) finish(w http.ResponseWriter, call Call, status int, answer map[string]any) {
	if code, ok := answer["errcode"].(int); ok {
		call.ErrCode = code
	}
	call.Status = status
	a.mu.Lock()
	call.Time = a.clock.Now()
	if len(a.calls) >= maxCalls {
		a.calls = slices.Delete(a.calls, 0, len(a.calls)-maxCalls+1)
	}
	a.calls = append(a.calls, call)
	for _, ch := range a.watchers {
		select {
		case ch <- call:
		default:
		}
	}
	a.mu.Unlock()

	switch {
	case status == 0:
		// The caller has gone; there is no one to answer.
	case status != http.StatusOK:
		http.Error(w, http.StatusText(status), status)
	case answer["file"] != nil:
		// A media download answers the file itself.
		w.Header().Set("Content-Type", answer["type"].(string))
		_, _ = w.Write(answer["file"].([]byte))
	default:
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		_ = json.NewEncoder(w).Encode(answer)
	}
}

// issueToken answers both token APIs.
func (a *API) issueToken(kind string, q url.Values, body []byte) map[string]any {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if kind == KindToken {
		req.GrantType, req.AppID, req.Secret = q.Get("grant_type"), q.Get("appid"), q.Get("secret")
	} else if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer(47001)
	}
	switch {
	case req.GrantType != "client_credential":
		return errAnswer(40002)
	case req.AppID == "":
		return errAnswer(41002)
	case req.AppID != a.appID:
		return errAnswer(ErrInvalidAppID)
	case req.Secret == "":
		return errAnswer(41004)
	case req.Secret != a.appSecret:
		return errAnswer(ErrInvalidSecret)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	line := &a.current
	if kind == KindStableToken {
		line = &a.stable
		if !req.ForceRefresh && a.checkToken(a.stable, now) == 0 {
			left := a.tokens[a.stable].expires.Sub(now)
			return map[string]any{"access_token": a.stable, "expires_in": int64(left.Seconds())}
		}
	}
	if old, ok := a.tokens[*line]; ok && old.until.IsZero() {
		old.until = now.Add(tokenGrace)
	}
	*line = randomString(48)
	a.tokens[*line] = &token{expires: now.Add(tokenLifetime)}
	return map[string]any{"access_token": *line, "expires_in": int64(tokenLifetime.Seconds())}
}

// checkToken returns the errcode the platform gives for an access_token, 0 if valid.
// The caller holds a.mu.
func (a *API) checkToken(v string, now time.Time) int {
	if v == "" {
		return 41001
	}
	t, ok := a.tokens[v]
	switch {
	case !ok || t.revoked:
		return ErrInvalidToken
	case !now.Before(t.expires):
		return ErrTokenExpired
	case !t.until.IsZero() && !now.Before(t.until):
		return ErrInvalidToken
	}
	return 0
}

// retire makes a token answer code from now on, after an injected token error.
func (a *API) retire(v string, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[v]
	if !ok {
		return
	}
	if code == ErrTokenExpired {
		t.expires = a.clock.Now()
	} else {
		t.revoked = true
	}
}

// sendCustom checks what the platform checks, in its order. The caller holds a.mu.
func (a *API) sendCustom(openid string, body []byte, now time.Time) map[string]any {
	var msg struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if len(body) == 0 {
		return errAnswer(44002)
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return errAnswer(47001)
	}
	if code := a.reachable(openid); code != 0 {
		return errAnswer(code)
	}
	switch msg.MsgType {
	case "text":
		if msg.Text == nil || msg.Text.Content == "" {
			return errAnswer(44004)
		}
	case "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu", "wxcard", "miniprogrampage":
	default:
		return errAnswer(40008)
	}
	u := a.users[openid]
	_, code := u.contact.Left(now)
	if a.unlimited && code == bot.AllowanceSpent {
		code = 0
	}
	if code != 0 {
		return errAnswer(code)
	}
	u.contact.Sends++
	return errAnswer(0)
}

// sendTemplate needs no window, only a follower and a template. The caller holds a.mu.
// sendTemplate sends a template message; like the platform, it sends one message
// per openid and client_msg_id within ten minutes, answering a repeat with the first
// one's msgid (dup).
func (a *API) sendTemplate(openid string, body []byte, now time.Time) (answer map[string]any, dup bool) {
	var msg struct {
		TemplateID  string `json:"template_id"`
		ClientMsgID string `json:"client_msg_id"`
	}
	if len(body) == 0 {
		return errAnswer(44002), false
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return errAnswer(47001), false
	}
	if code := a.reachable(openid); code != 0 {
		return errAnswer(code), false
	}
	if msg.TemplateID == "" || !a.knownTemplate(msg.TemplateID) {
		return errAnswer(ErrInvalidTemplate), false
	}
	answer = errAnswer(0)
	key := openid + "\x00" + msg.ClientMsgID
	if prev, ok := a.clientMsgs[key]; ok && msg.ClientMsgID != "" && now.Sub(prev.at) < 10*time.Minute {
		answer["msgid"] = prev.msgID
		return answer, true
	}
	a.msgID++
	if msg.ClientMsgID != "" {
		if a.clientMsgs == nil {
			a.clientMsgs = map[string]sentOnce{}
		}
		a.clientMsgs[key] = sentOnce{msgID: a.msgID, at: now}
	}
	answer["msgid"] = a.msgID
	return answer, false
}

// sentOnce is a template message sent with a client_msg_id.
type sentOnce struct {
	msgID int64
	at    time.Time
}

// reachable tells a follower (0) from an unfollower (43004) and from an openid the
// account has never met (40003). The caller holds a.mu.
func (a *API) reachable(openid string) int {
	u, ok := a.users[openid]
	switch {
	case !ok:
		return ErrInvalidOpenID
	case !u.subscribed:
		return ErrNotSubscribed
	}
	return 0
}

// userInfo answers like the platform since 2021: no nickname or avatar, and only
// the openid for someone who no longer follows. The caller holds a.mu.
func (a *API) userInfo(openid string) map[string]any {
	u, ok := a.users[openid]
	if !ok {
		return errAnswer(ErrInvalidOpenID)
	}
	if !u.subscribed {
		return map[string]any{"subscribe": 0, "openid": openid, "tagid_list": []int{}}
	}
	return map[string]any{
		"subscribe":       1,
		"openid":          openid,
		"nickname":        "",
		"sex":             0,
		"language":        "zh_CN",
		"city":            "",
		"province":        "",
		"country":         "",
		"headimgurl":      "",
		"subscribe_time":  u.since.Unix(),
		"remark":          "",
		"groupid":         0,
		"tagid_list":      []int{},
		"subscribe_scene": "ADD_SCENE_OTHERS",
		"qr_scene":        0,
		"qr_scene_str":    "",
	}
}

// createMenu keeps the buttons for getMenu and Menu. The caller holds a.mu.
func (a *API) createMenu(body []byte) map[string]any {
	var req struct {
		Button []json.RawMessage `json:"button"`
	}
	if len(body) == 0 {
		return errAnswer(44002)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer(47001)
	}
	if len(req.Button) == 0 || len(req.Button) > 3 {
		return errAnswer(40016)
	}
	menu, err := json.Marshal(req.Button)
	if err != nil {
		return errAnswer(47001)
	}
	a.menu = menu
	return errAnswer(0)
}

// getMenu answers in the platform's shape, {"menu":{"button":[...]}}. The caller
// holds a.mu.
func (a *API) getMenu() map[string]any {
	if a.menu == nil {
		return errAnswer(46003)
	}
	return map[string]any{"menu": map[string]any{"button": slices.Clone(a.menu)}, "conditionalmenu": a.conditionalMenus()}
}

// createQR issues a ticket. Its success answer carries no errmsg: the library takes
// any errmsg, even "ok", for an error. The caller holds a.mu.
func (a *API) createQR(body []byte, now time.Time) map[string]any {
	var req struct {
		ExpireSeconds int64  `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr string `json:"scene_str"`
				SceneID  int    `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if len(body) == 0 {
		return errAnswer(44002)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer(47001)
	}
	scene := req.ActionInfo.Scene.SceneStr
	switch req.ActionName {
	case "QR_SCENE", "QR_LIMIT_SCENE":
		scene = strconv.Itoa(req.ActionInfo.Scene.SceneID)
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		if scene == "" {
			return errAnswer(40053)
		}
	default:
		return errAnswer(40053)
	}
	ticket := randomString(48)
	answer := map[string]any{"ticket": ticket, "url": "http://weixin.qq.com/q/" + randomString(16)}
	t := qrTicket{scene: scene}
	if req.ActionName == "QR_SCENE" || req.ActionName == "QR_STR_SCENE" {
		// The platform's default and ceiling for temporary codes.
		exp := req.ExpireSeconds
		if exp <= 0 {
			exp = 60
		}
		exp = min(exp, 30*24*3600)
		t.expires = now.Add(time.Duration(exp) * time.Second)
		answer["expire_seconds"] = exp
	}
	a.tickets[ticket] = t
	return answer
}

// errAnswer is the platform's error shape; code 0 is its success shape.
func errAnswer(code int) map[string]any {
	if code == 0 {
		return map[string]any{"errcode": 0, "errmsg": "ok"}
	}
	msg, ok := errMsgs[code]
	if !ok {
		msg = "error"
	}
	// The platform appends a request id, which keeps callers from matching errmsg.
	return map[string]any{"errcode": code, "errmsg": msg + " rid: " + rid()}
}

func rid() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%08x-%08x", binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}

func randomString(n int) string {
	b := make([]byte, n*3/4+1)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// recordBody keeps a request body in a form that marshals: JSON as it came, anything
// else as a JSON string.
func recordBody(body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	if json.Valid(body) {
		return slices.Clone(body)
	}
	s, _ := json.Marshal(string(body))
	return s
}

// maskSecret keeps the app secret out of the call log, which a demo page shows.
func maskSecret(body []byte) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return recordBody(body)
	}
	if _, ok := m["secret"]; ok {
		m["secret"] = "***"
	}
	out, _ := json.Marshal(m)
	return out
}
