package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"minyuan/bot"
	"minyuan/bot/httpapi"
	"minyuan/store"
	"minyuan/store/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

const (
	goodToken = "callcentre-secret-0123456789"
	ctiToken  = "pbx-secret-abcdefghijklmnop"
)

var (
	communities = []bot.Community{{Code: "QY", Name: "七一路社区"}, {Code: "HF", Name: "和平社区"}}
	categories  = []bot.Category{
		{Code: "hardship", Name: "困难求助", SignDays: 1, ResolveDays: 5, Urgency: bot.UrgencyHigh},
		{Code: "inquiry", Name: "政策咨询", SignDays: 1, ResolveDays: 3, Urgency: bot.UrgencyLow},
	}
	start = time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
)

// storeIntake files a ticket straight in the store: the tests of the API check the
// translation, not the ticket service's deadlines.
type storeIntake struct{ st *store.Store }

func (s storeIntake) Intake(ctx context.Context, a bot.Actor, at time.Time, n bot.NewTicket, key string) (*bot.Ticket, error) {
	t := &bot.Ticket{Community: n.Community, Category: n.Category, Description: n.Description, Source: n.Source,
		OpenID: n.OpenID, Phone: n.Phone, Confidential: n.Confidential,
		Created: at, Status: bot.StatusNew, SignBy: at.Add(24 * time.Hour), DueBy: at.Add(72 * time.Hour)}
	return s.st.Create(ctx, t, key, bot.Event{At: at, Actor: a.EventActor(), Name: a.Name})
}

// apiEnv is the API on a real Redis under a fresh prefix, with the spec's validator.
type apiEnv struct {
	t      testing.TB
	st     *store.Store
	prefix string
	clock  *bot.ManualClock
	ts     *httptest.Server
	router routers.Router
	svc    *bot.HotlineService
}

func newAPI(t *testing.T, mod func(*httpapi.Config)) *apiEnv { return newAPIFor(t, mod) }

func newAPIFor(t testing.TB, mod func(*httpapi.Config)) *apiEnv {
	t.Helper()
	prefix := redistest.Prefix(t)
	st := store.New(srv.Client(t), store.Options{Prefix: prefix})
	clock := bot.NewManualClock(start)
	cbs := &bot.CallbackService{Store: st, Reminders: st, Profiles: st, Clock: clock, Community: "QY"}
	svc := &bot.HotlineService{Calls: st, Intake: storeIntake{st}, Tickets: st, Callbacks: cbs, Profiles: st,
		Hasher: bot.NewPhoneHasher([]byte("test-key")), Proofs: st, Categories: categories, Communities: communities}
	cfg := httpapi.Config{Hotline: svc, Guard: st, Clock: clock, RateLimit: 50, MaxBody: 4096,
		Tokens:   []httpapi.Token{{Name: "callcentre", Secret: goodToken}, {Name: "old", Secret: "sha256:" + httpapi.HashToken("old-secret-0123456789")}},
		CTIToken: ctiToken}
	if mod != nil {
		mod(&cfg)
	}
	api, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.Spec())
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiEnv{t: t, st: st, prefix: prefix, clock: clock, ts: ts, router: router, svc: svc}
}

type result struct {
	status int
	body   map[string]any
	raw    []byte
	// reqErr is the spec's verdict on the request (nil: the spec allows it).
	reqErr error
}

// do sends a request, checks it against the spec (recording the verdict), and checks
// the response against the spec (failing the test if it does not conform).
func (e *apiEnv) do(method, path, ctype string, body []byte, hdr map[string]string) result {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// The spec's view of the request, on a copy (validation reads the body).
	vreq := req.Clone(context.Background())
	vreq.URL, _ = url.Parse(path)
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		e.t.Fatalf("%s %s: no route in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(raw)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Errorf("%s %s: response %d %s does not match openapi.yaml: %v", method, path, resp.StatusCode, raw, err)
	}
	r := result{status: resp.StatusCode, raw: raw, reqErr: reqErr}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func (e *apiEnv) postCall(body any, hdr map[string]string) result {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	if hdr == nil {
		hdr = bearer(goodToken)
	}
	return e.do("POST", "/api/v1/hotline/calls", "application/json", raw, hdr)
}

func goodCall(id string) map[string]any {
	return map[string]any{
		"call_id": id, "caller": "138 1234 5678", "started_at": start.Add(-10 * time.Minute).Format(time.RFC3339),
		"duration_s": 240, "operator": "小李", "category": "困难求助", "summary": "独居老人家中暖气不热，请社区帮忙联系物业。",
		"community": "QY",
	}
}

func errCode(r result) string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// dataKeys lists what is stored under the prefix, leaving out the API's own
// bookkeeping (rate counters, nonces): "nothing stored" means none of the rest moved.
func (e *apiEnv) dataKeys() []string {
	var out []string
	for _, k := range srv.Keys(e.t, e.prefix) {
		if !strings.HasPrefix(k, e.prefix+"api:") {
			out = append(out, k)
		}
	}
	return out
}

func TestLogCallGoodAndRepeated(t *testing.T) {
	e := newAPI(t, nil)
	r := e.postCall(goodCall("c-1"), nil)
	if r.reqErr != nil {
		t.Fatalf("the good request does not match the spec: %v", r.reqErr)
	}
	if r.status != http.StatusCreated {
		t.Fatalf("first log: %d %s, want 201", r.status, r.raw)
	}
	no, _ := r.body["ticket"].(string)
	if no == "" || r.body["status"] != "new" || r.body["linked"] != false {
		t.Fatalf("first log answered %s", r.raw)
	}
	tk, err := e.st.Ticket(t.Context(), no)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Source != bot.SourceHotline || tk.Category != "hardship" || tk.Community != "QY" || tk.Phone != "13812345678" {
		t.Fatalf("ticket = %+v", tk)
	}

	before := e.dataKeys()
	again := e.postCall(goodCall("c-1"), nil)
	if again.status != http.StatusOK || again.body["ticket"] != no {
		t.Fatalf("repeat: %d %s, want 200 with ticket %s", again.status, again.raw, no)
	}
	if after := e.dataKeys(); !slices.Equal(before, after) {
		t.Fatalf("a repeated call changed Redis:\n%v\n%v", before, after)
	}
	seq, _ := e.st.LastTicketNo(t.Context())
	if fmt.Sprint(seq) != no {
		t.Fatalf("last ticket %d, want only %s", seq, no)
	}

	// The ticket reads back through the API, in the spec's shape.
	g := e.do("GET", "/api/v1/tickets/"+no, "", nil, bearer(goodToken))
	if g.status != 200 || g.body["status"] != "new" || g.body["source"] != "hotline" {
		t.Fatalf("GET ticket: %d %s", g.status, g.raw)
	}
	tl, _ := g.body["timeline"].([]any)
	if len(tl) != 1 {
		t.Fatalf("timeline %v", tl)
	}
}

func TestLogCallRefusals(t *testing.T) {
	e := newAPI(t, nil)
	e.postCall(goodCall("c-1"), nil) // a call on record, to see that nothing else moves
	before := e.dataKeys()

	missing := goodCall("c-2")
	delete(missing, "summary")
	wrongType := goodCall("c-3")
	wrongType["duration_s"] = "four minutes"
	badCat := goodCall("c-4")
	badCat["category"] = "no such thing"
	badCom := goodCall("c-5")
	badCom["community"] = "XX"
	future := goodCall("c-6")
	future["started_at"] = start.Add(2 * time.Hour).Format(time.RFC3339)
	conflict := goodCall("c-1")
	conflict["summary"] = "another story under the same call id"
	big := goodCall("c-7")
	big["summary"] = strings.Repeat("长", 3000)

	cases := []struct {
		name   string
		send   func() result
		status int
		code   string
		field  string
		specOK bool // the spec itself allows the request (the refusal is a rule)
	}{
		// The validator leaves authentication to the server (NoopAuthenticationFunc).
		{"no token", func() result { return e.postCall(goodCall("c-8"), map[string]string{}) }, 401, "unauthorized", "", true},
		{"wrong token", func() result { return e.postCall(goodCall("c-8"), bearer("guess-guess-guess-guess")) }, 401, "unauthorized", "", true},
		{"hash as token", func() result {
			return e.postCall(goodCall("c-8"), bearer("sha256:"+httpapi.HashToken("old-secret-0123456789")))
		}, 401, "unauthorized", "", true},
		{"bad json", func() result {
			return e.do("POST", "/api/v1/hotline/calls", "application/json", []byte(`{"call_id": "c-9",`), bearer(goodToken))
		}, 400, "bad_json", "", false},
		{"missing field", func() result { return e.postCall(missing, nil) }, 422, "missing_field", "summary", false},
		{"wrong type", func() result { return e.postCall(wrongType, nil) }, 422, "invalid_field", "duration_s", false},
		{"unknown category", func() result { return e.postCall(badCat, nil) }, 422, "invalid_field", "category", true},
		{"unknown community", func() result { return e.postCall(badCom, nil) }, 422, "invalid_field", "community", true},
		{"future call", func() result { return e.postCall(future, nil) }, 422, "invalid_field", "started_at", true},
		{"call id reused", func() result { return e.postCall(conflict, nil) }, 422, "call_id_conflict", "call_id", true},
		{"oversized", func() result { return e.postCall(big, nil) }, 413, "too_large", "", false},
		{"stale timestamp", func() result {
			h := bearer(goodToken)
			h["X-Minyuan-Timestamp"] = fmt.Sprint(start.Add(-time.Hour).Unix())
			return e.postCall(goodCall("c-10"), h)
		}, 400, "replayed", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.send()
			if r.status != c.status || errCode(r) != c.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, c.status, c.code)
			}
			if c.field != "" {
				if f := r.body["error"].(map[string]any)["field"]; f != c.field {
					t.Fatalf("field %v, want %s", f, c.field)
				}
			}
			if (r.reqErr == nil) != c.specOK {
				t.Fatalf("the spec's verdict on the request: %v (want allowed=%v)", r.reqErr, c.specOK)
			}
			if after := e.dataKeys(); !slices.Equal(before, after) {
				t.Fatalf("a refused request stored something:\n%v\n%v", before, after)
			}
		})
	}
}

func TestReplayedNonceAndRevokedToken(t *testing.T) {
	e := newAPI(t, nil)
	h := bearer(goodToken)
	h["X-Minyuan-Nonce"] = "n-0123456789"
	h["X-Minyuan-Timestamp"] = fmt.Sprint(start.Unix())
	if r := e.postCall(goodCall("c-1"), h); r.status != 201 {
		t.Fatalf("first: %d %s", r.status, r.raw)
	}
	before := e.dataKeys()
	r := e.postCall(goodCall("c-2"), h) // the same request headers again: a replay
	if r.status != 400 || errCode(r) != "replayed" {
		t.Fatalf("replay: %d %s", r.status, r.raw)
	}
	if after := e.dataKeys(); !slices.Equal(before, after) {
		t.Fatal("a replay stored something")
	}

	// The pre-hashed token works until revoked, on every replica at once.
	old := bearer("old-secret-0123456789")
	if r := e.postCall(goodCall("c-3"), old); r.status != 201 {
		t.Fatalf("hashed token: %d %s", r.status, r.raw)
	}
	if err := e.st.RevokeToken(t.Context(), httpapi.HashToken("old-secret-0123456789"), true); err != nil {
		t.Fatal(err)
	}
	if r := e.postCall(goodCall("c-4"), old); r.status != 401 || !strings.Contains(string(r.raw), "revoked") {
		t.Fatalf("revoked token: %d %s", r.status, r.raw)
	}
}

func TestRateLimitPerToken(t *testing.T) {
	e := newAPI(t, func(c *httpapi.Config) { c.RateLimit = 3 })
	for i := range 3 {
		if r := e.do("GET", "/api/v1/callers/13812345678", "", nil, bearer(goodToken)); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	r := e.do("GET", "/api/v1/callers/13812345678", "", nil, bearer(goodToken))
	if r.status != 429 || errCode(r) != "rate_limited" {
		t.Fatalf("4th request: %d %s", r.status, r.raw)
	}
	// Another token has its own allowance.
	if r := e.do("GET", "/api/v1/callers/13812345678", "", nil, bearer("old-secret-0123456789")); r.status != 200 {
		t.Fatalf("other token: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Minute)
	if r := e.do("GET", "/api/v1/callers/13812345678", "", nil, bearer(goodToken)); r.status != 200 {
		t.Fatalf("next minute: %d %s", r.status, r.raw)
	}
}

// cti posts one event in the given encoding.
func (e *apiEnv) cti(enc string, fields map[string]string, users ...string) result {
	e.t.Helper()
	path := "/api/v1/cti/" + ctiToken
	switch enc {
	case "json":
		m := map[string]any{}
		for k, v := range fields {
			m[k] = v
		}
		if len(users) == 1 {
			m["user"] = users[0]
		} else if len(users) > 1 {
			m["user"] = users
		}
		raw, _ := json.Marshal(m)
		return e.do("POST", path, "application/json", raw, nil)
	case "multipart":
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		for _, u := range users {
			mw.WriteField("user[]", u)
		}
		mw.Close()
		return e.do("POST", path, mw.FormDataContentType(), b.Bytes(), nil)
	}
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	for _, u := range users {
		v.Add("user[]", u)
	}
	return e.do("POST", path, "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
}

func ev(event, id string, extra ...string) map[string]string {
	m := map[string]string{"event": event, "from": "+86 139-0000-1111", "to": "02787654321", "direction": "in", "callId": id}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestCTISequences(t *testing.T) {
	for _, enc := range []string{"form", "multipart", "json"} {
		t.Run(enc, func(t *testing.T) {
			e := newAPI(t, nil)
			ctx := t.Context()
			ok := func(r result) {
				t.Helper()
				if r.status != 200 || string(bytes.TrimSpace(r.raw)) != "{}" {
					t.Fatalf("CTI answered %d %s", r.status, r.raw)
				}
				if r.reqErr != nil {
					t.Fatalf("the spec refuses a Zammad-style event: %v", r.reqErr)
				}
			}
			// Answered: newCall, answer, hangup normalClearing: logged, no call-back.
			ok(e.cti(enc, ev("newCall", "a-1"), "王芳"))
			e.clock.Advance(5 * time.Second)
			ok(e.cti(enc, ev("answer", "a-1", "answeringNumber", "8001"), "王芳"))
			e.clock.Advance(3 * time.Minute)
			ok(e.cti(enc, ev("hangup", "a-1", "cause", "normalClearing", "answeringNumber", "8001")))
			c, found, err := e.st.Call(ctx, "a-1")
			if err != nil || !found {
				t.Fatalf("call a-1 not logged: %v", err)
			}
			if c.State != bot.CallEnded || c.Missed || c.DurationS != 180 || c.Caller != "13900001111" || c.AnsweredBy != "8001" {
				t.Fatalf("answered call logged as %+v", c)
			}
			if cbs, _ := e.st.OpenCallbacks(ctx, "QY"); len(cbs) != 0 {
				t.Fatalf("an answered call made call-backs: %+v", cbs)
			}

			// Missed: newCall, hangup noAnswer → one 回电 task; the hangup again → still one.
			ok(e.cti(enc, ev("newCall", "m-1")))
			e.clock.Advance(20 * time.Second)
			ok(e.cti(enc, ev("hangup", "m-1", "cause", "noAnswer")))
			ok(e.cti(enc, ev("hangup", "m-1", "cause", "noAnswer")))
			ok(e.cti(enc, ev("newCall", "m-1"))) // late and repeated: changes nothing
			cbs, err := e.st.OpenCallbacks(ctx, "QY")
			if err != nil {
				t.Fatal(err)
			}
			if len(cbs) != 1 || cbs[0].Phone != "13900001111" || cbs[0].Reason != bot.CallbackMissedCall || cbs[0].CallID != "m-1" {
				t.Fatalf("missed call gave call-backs %+v", cbs)
			}
			c, _, _ = e.st.Call(ctx, "m-1")
			if !c.Missed || c.Callback != cbs[0].No || c.State != bot.CallEnded {
				t.Fatalf("missed call logged as %+v", c)
			}
			// Its reminder waits in the due set.
			if _, ok, _ := e.st.Reminder(ctx, bot.CallbackDueID(cbs[0].No, 0)); !ok {
				t.Fatal("the call-back task has no reminder")
			}
			// The caller log shows both calls to an operator.
			r := e.do("GET", "/api/v1/callers/13900001111", "", nil, bearer(goodToken))
			calls, _ := r.body["calls"].([]any)
			if r.status != 200 || len(calls) != 2 {
				t.Fatalf("caller: %d %s", r.status, r.raw)
			}
			stats, _ := e.st.Stats(ctx, "QY", bot.Period(e.clock.Now()))
			if stats["call.received"] != 2 || stats["call.missed"] != 1 || stats["callback.created"] != 1 {
				t.Fatalf("counters %v", stats)
			}
		})
	}
}

func TestCTIRefusals(t *testing.T) {
	e := newAPI(t, nil)
	before := e.dataKeys()
	raw := []byte(url.Values{"event": {"newCall"}, "from": {"13900001111"}, "callId": {"x-1"}}.Encode())
	if r := e.do("POST", "/api/v1/cti/wrong-token-wrong-token", "application/x-www-form-urlencoded", raw, nil); r.status != 401 {
		t.Fatalf("wrong token: %d %s", r.status, r.raw)
	}
	if r := e.cti("json", map[string]string{"event": "ring", "callId": "x-2"}); r.status != 422 || errCode(r) != "invalid_field" {
		t.Fatalf("unknown event: %d %s", r.status, r.raw)
	}
	if r := e.cti("json", map[string]string{"event": "newCall"}); r.status != 422 || errCode(r) != "missing_field" {
		t.Fatalf("no callId: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/cti/"+ctiToken, "application/json", []byte("{"), nil); r.status != 400 || errCode(r) != "bad_json" {
		t.Fatalf("bad json: %d %s", r.status, r.raw)
	}
	big := url.Values{"event": {"newCall"}, "callId": {"x-3"}, "queue": {strings.Repeat("q", 5000)}}.Encode()
	if r := e.do("POST", "/api/v1/cti/"+ctiToken, "application/x-www-form-urlencoded", []byte(big), nil); r.status != 413 {
		t.Fatalf("oversized: %d %s", r.status, r.raw)
	}
	if after := e.dataKeys(); !slices.Equal(before, after) {
		t.Fatalf("a refused CTI event stored something:\n%v\n%v", before, after)
	}

	off := newAPI(t, func(c *httpapi.Config) { c.CTIToken = "" })
	if r := off.do("POST", "/api/v1/cti/"+ctiToken, "application/x-www-form-urlencoded", raw, nil); r.status != 404 || errCode(r) != "cti_disabled" {
		t.Fatalf("CTI off: %d %s", r.status, r.raw)
	}
}

func TestTicketTimelineHidesPrivateNotesAndConfidentialCalls(t *testing.T) {
	e := newAPI(t, nil)
	r := e.postCall(goodCall("c-1"), nil)
	no := r.body["ticket"].(string)
	_, err := e.st.Update(t.Context(), no, func(tk *bot.Ticket) ([]bot.Event, error) {
		return []bot.Event{
			{At: start, Actor: "o-staff", Name: "王芳", Kind: "note", Text: "家属电话另记", Private: true},
			{At: start, Actor: "o-staff", Name: "王芳", Kind: "reply", Text: "已联系物业，明天上午检修。"},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g := e.do("GET", "/api/v1/tickets/"+no, "", nil, bearer(goodToken))
	if strings.Contains(string(g.raw), "家属电话另记") || !strings.Contains(string(g.raw), "明天上午检修") {
		t.Fatalf("timeline: %s", g.raw)
	}

	conf := goodCall("c-2")
	conf["confidential"] = true
	conf["summary"] = "来电人情绪低落，倾诉家庭矛盾。"
	r = e.postCall(conf, nil)
	if r.status != 201 {
		t.Fatalf("confidential: %d %s", r.status, r.raw)
	}
	g = e.do("GET", "/api/v1/tickets/"+r.body["ticket"].(string), "", nil, bearer(goodToken))
	if g.status != 200 || strings.Contains(string(g.raw), "情绪低落") || g.body["confidential"] != true {
		t.Fatalf("confidential ticket shown as %s", g.raw)
	}
	c := e.do("GET", "/api/v1/callers/13812345678", "", nil, bearer(goodToken))
	if strings.Contains(string(c.raw), "情绪低落") {
		t.Fatalf("caller view shows a confidential summary: %s", c.raw)
	}
	stats, _ := e.st.Stats(t.Context(), "QY", bot.Period(start))
	if stats["call.confidential"] != 1 || stats["call.received"] != 2 || stats["category:hardship"] != 1 {
		t.Fatalf("counters %v", stats)
	}
	if g := e.do("GET", "/api/v1/tickets/99999", "", nil, bearer(goodToken)); g.status != 404 {
		t.Fatalf("unknown ticket: %d", g.status)
	}
}
