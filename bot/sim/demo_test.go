package sim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot/sim"
)

type demoEnv struct {
	*platform
	demo *sim.Demo
	url  string
}

// newDemoPage serves the demo page in front of the real webhook (with the echoing
// handler of newPlatform) and the fake API.
func newDemoPage(t *testing.T) *demoEnv {
	t.Helper()
	p := newPlatform(t)
	c := p.client(sim.ModeSafe)
	c.Clock = sim.NewClock()
	d, err := sim.NewDemo(sim.DemoOptions{
		Client: c,
		Clock:  c.Clock.(*sim.Clock),
		Panes: []sim.Pane{
			{ID: "resident", Role: "resident", Name: "张秀兰", OpenID: alice,
				Menu: []sim.MenuButton{{Name: "帮助", Text: "帮助"}}},
			{ID: "staff", Role: "staff", Name: "王芳", OpenID: bob, Subscribed: true},
		},
		Invites: []sim.DemoInvite{{Code: "ZC9RSGN8", Role: "party", Community: "和谐社区"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The webhook's replay window reads the platform's fake clock; the demo's
	// clock is real time, so the two must agree.
	p.clock.Set(time.Now())
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	return &demoEnv{platform: p, demo: d, url: srv.URL}
}

func (e *demoEnv) post(t *testing.T, path, body string, v any) int {
	t.Helper()
	resp, err := http.Post(e.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

type sendAnswer struct {
	Reply    string `json:"reply"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// sseReader reads named events from the page's stream.
type sseReader struct {
	t    *testing.T
	body io.ReadCloser
	sc   *bufio.Scanner
}

func openEvents(t *testing.T, url string) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	return &sseReader{t: t, body: resp.Body, sc: bufio.NewScanner(resp.Body)}
}

// next returns the data of the next event named want, skipping others.
func (r *sseReader) next(want string) string {
	r.t.Helper()
	done := make(chan string, 1)
	go func() {
		event := ""
		for r.sc.Scan() {
			line := r.sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == want:
				done <- strings.TrimPrefix(line, "data: ")
				return
			}
		}
		close(done)
	}()
	select {
	case d, ok := <-done:
		if !ok {
			r.t.Fatalf("stream ended before a %q event", want)
		}
		return d
	case <-time.After(5 * time.Second):
		r.t.Fatalf("no %q event", want)
		return ""
	}
}

func TestDemoPageServes(t *testing.T) {
	e := newDemoPage(t)
	for path, want := range map[string]string{
		"/":                     "演示模式：数据仅保存在内存中，退出即清空",
		"/demo/assets/demo.js":  "EventSource",
		"/demo/assets/demo.css": ".phone",
	} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
}

// TestDemoConversation drives the page's API: what is typed goes through the webhook,
// and the pane's conversation (state and stream) shows it with the reply.
func TestDemoConversation(t *testing.T) {
	e := newDemoPage(t)
	events := openEvents(t, e.url+"/demo/api/events")

	var a sendAnswer
	if code := e.post(t, "/demo/api/send", `{"pane":"resident","event":"subscribe"}`, &a); code != 200 || a.Reply != "收到 eventsubscribe" {
		t.Fatalf("subscribe: %d %+v", code, a)
	}
	if code := e.post(t, "/demo/api/send", `{"pane":"resident","text":"帮助"}`, &a); code != 200 || a.Reply != "收到 text" || a.Attempts != 1 {
		t.Fatalf("text: %d %+v", code, a)
	}
	if code := e.post(t, "/demo/api/send", `{"pane":"resident","click":"PROFILE","label":"我的资料"}`, &a); code != 200 || a.Reply != "收到 eventCLICK" {
		t.Fatalf("click: %d %+v", code, a)
	}
	for _, bad := range []string{`{"pane":"nobody","text":"x"}`, `{"pane":"resident"}`, `{"pane":"resident","text":"   "}`} {
		if code := e.post(t, "/demo/api/send", bad, &a); code != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400", bad, code)
		}
	}

	var first sim.Entry
	if err := json.Unmarshal([]byte(events.next("entry")), &first); err != nil || first.Who != sim.WhoUser || first.Kind != "subscribe" {
		t.Fatalf("first streamed entry %+v, %v", first, err)
	}

	got := e.demo.Entries("resident")
	want := []struct{ who, kind, text string }{
		{sim.WhoUser, "subscribe", ""}, {sim.WhoBot, sim.EntryReply, "收到 eventsubscribe"},
		{sim.WhoUser, "text", "帮助"}, {sim.WhoBot, sim.EntryReply, "收到 text"},
		{sim.WhoUser, "click", "我的资料"}, {sim.WhoBot, sim.EntryReply, "收到 eventCLICK"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %+v", got)
	}
	for i, w := range want {
		if got[i].Who != w.who || got[i].Kind != w.kind || got[i].Text != w.text || got[i].Pane != "resident" {
			t.Fatalf("entry %d: %+v, want %+v", i, got[i], w)
		}
	}

	var st struct {
		Panes   []sim.Pane       `json:"panes"`
		Entries []sim.Entry      `json:"entries"`
		Invites []sim.DemoInvite `json:"invites"`
		Mode    string           `json:"mode"`
		Seq     int64            `json:"seq"`
	}
	resp, err := http.Get(e.url + "/demo/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Entries) != 6 || st.Seq != 6 || st.Mode != "safe" || !st.Panes[0].Subscribed || st.Invites[0].Code != "ZC9RSGN8" {
		t.Fatalf("state %+v", st)
	}

	// A page that reconnects after entry 4 gets 5 and 6 first.
	again := openEvents(t, e.url+"/demo/api/events?since=4")
	var fifth sim.Entry
	if err := json.Unmarshal([]byte(again.next("entry")), &fifth); err != nil || fifth.Seq != 5 {
		t.Fatalf("backlog starts with %+v, %v", fifth, err)
	}
}

// TestDemoShowsPushes: what the bot sends through the API appears in the recipient's
// pane, marked as customer-service or template message; every call is streamed.
func TestDemoShowsPushes(t *testing.T) {
	e := newDemoPage(t)
	events := openEvents(t, e.url+"/demo/api/events")
	e.api.Subscribe(bob)
	e.api.Touch(bob, e.clock.Now())
	e.api.AddTemplate(sim.Template{ID: "tpl-new-ticket", Title: "诉求待办提醒", Fields: []sim.TemplateField{
		{Key: "keyword1", Label: "诉求编号"}, {Key: "keyword2", Label: "诉求内容"}}})

	if code := e.customTo(t, bob); code != 0 {
		t.Fatalf("custom: errcode %d", code)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	getJSON(t, e.apiURL+"/cgi-bin/token?grant_type=client_credential&appid="+appID+"&secret="+appSecret, nil, &tok)
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	getJSON(t, e.apiURL+"/cgi-bin/message/template/send?access_token="+tok.AccessToken,
		[]byte(`{"touser":"`+bob+`","template_id":"tpl-new-ticket","url":"https://example.org/t/A7K3",`+
			`"data":{"first":{"value":"新诉求待接单"},"keyword2":{"value":"楼道灯坏了🔥","color":"#FF0000"},"keyword1":{"value":"A7K3"},"remark":{"value":"请尽快处理"}}}`), &ans)
	if ans.ErrCode != 0 {
		t.Fatalf("template: errcode %d", ans.ErrCode)
	}
	// To someone who has no pane: in the call log only.
	if code := e.customTo(t, "o-stranger"); code != sim.ErrInvalidOpenID {
		t.Fatalf("stranger: errcode %d", code)
	}

	var call sim.Call
	if err := json.Unmarshal([]byte(events.next("call")), &call); err != nil || call.Kind != sim.KindToken {
		t.Fatalf("first call %+v, %v", call, err)
	}
	var push sim.Entry
	if err := json.Unmarshal([]byte(events.next("entry")), &push); err != nil {
		t.Fatal(err)
	}
	if push.Pane != "staff" || push.Who != sim.WhoBot || push.Kind != sim.KindCustom || push.Text != "您好" || push.MsgType != "text" {
		t.Fatalf("custom push %+v", push)
	}
	var tpl sim.Entry
	if err := json.Unmarshal([]byte(events.next("entry")), &tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.Kind != sim.KindTemplate || tpl.Template == nil || tpl.Template.ID != "tpl-new-ticket" || tpl.Template.URL == "" {
		t.Fatalf("template push %+v", tpl)
	}
	// As the phone shows it since 2023: the template's title, its labelled keywords in
	// the template's order, no first or remark, emoji boxed.
	if got, want := tpl.Template.Text(), "诉求待办提醒\n诉求编号：A7K3\n诉求内容：楼道灯坏了□"; got != want {
		t.Fatalf("template card %q, want %q", got, want)
	}
	if n := len(e.demo.Entries("")); n != 2 {
		t.Fatalf("%d entries, want the 2 pushes to panes", n)
	}
}

// TestDemoMenuFromAPI: once the bot creates its custom menu, the page shows it.
func TestDemoMenuFromAPI(t *testing.T) {
	e := newDemoPage(t)
	events := openEvents(t, e.url+"/demo/api/events")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	getJSON(t, e.apiURL+"/cgi-bin/token?grant_type=client_credential&appid="+appID+"&secret="+appSecret, nil, &tok)
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	getJSON(t, e.apiURL+"/cgi-bin/menu/create?access_token="+tok.AccessToken,
		[]byte(`{"button":[{"type":"click","name":"我要反映","key":"REQUEST"},{"name":"更多","sub_button":[{"type":"view","name":"官网","url":"https://example.org"}]}]}`), &ans)
	if ans.ErrCode != 0 {
		t.Fatalf("menu: errcode %d", ans.ErrCode)
	}
	var menus struct {
		Menu  []sim.MenuButton            `json:"menu"`
		Panes map[string][]sim.MenuButton `json:"panes"`
	}
	if err := json.Unmarshal([]byte(events.next("menu")), &menus); err != nil {
		t.Fatal(err)
	}
	menu := menus.Menu
	if len(menu) != 2 || menu[0].Key != "REQUEST" || menu[1].Sub[0].URL != "https://example.org" {
		t.Fatalf("menu %+v", menu)
	}
	if got := menus.Panes["staff"]; len(got) != 2 || got[0].Key != "REQUEST" {
		t.Fatalf("the staff pane shows %+v before any personalised menu", got)
	}

	// A personalised menu for a tag: the tagged staff member's pane shows it, the
	// resident's keeps the default.
	var tag struct {
		Tag struct {
			ID int `json:"id"`
		} `json:"tag"`
	}
	getJSON(t, e.apiURL+"/cgi-bin/tags/create?access_token="+tok.AccessToken, []byte(`{"tag":{"name":"民愿·社区工作人员"}}`), &tag)
	id := strconv.Itoa(tag.Tag.ID)
	getJSON(t, e.apiURL+"/cgi-bin/menu/addconditional?access_token="+tok.AccessToken,
		[]byte(`{"button":[{"type":"click","name":"待办","key":"DESK_TODO"}],"matchrule":{"tag_id":"`+id+`"}}`), &ans)
	getJSON(t, e.apiURL+"/cgi-bin/tags/members/batchtagging?access_token="+tok.AccessToken,
		[]byte(`{"openid_list":["`+bob+`"],"tagid":`+id+`}`), &ans)
	if ans.ErrCode != 0 {
		t.Fatalf("tagging: errcode %d", ans.ErrCode)
	}
	events.next("menu")
	if err := json.Unmarshal([]byte(events.next("menu")), &menus); err != nil {
		t.Fatal(err)
	}
	if got := menus.Panes["staff"]; len(got) != 1 || got[0].Key != "DESK_TODO" {
		t.Fatalf("the tagged staff pane shows %+v", got)
	}
	if got := menus.Panes["resident"]; len(got) != 2 || got[0].Key != "REQUEST" {
		t.Fatalf("the resident's pane shows %+v", got)
	}
}

// TestDemoClock: the page moves the clock forward only, the hook runs, pages are told.
func TestDemoClock(t *testing.T) {
	e := newDemoPage(t)
	var hooked atomic.Int32
	e.demo.AfterClockMove = func(ctx context.Context) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the hook has no deadline")
		}
		hooked.Add(1)
	}
	events := openEvents(t, e.url+"/demo/api/events")
	var a struct {
		Now    time.Time `json:"now"`
		Offset int64     `json:"offset_ms"`
		Error  string    `json:"error"`
	}
	if code := e.post(t, "/demo/api/clock", `{"advance":"90m"}`, &a); code != 200 || time.Duration(a.Offset)*time.Millisecond != 90*time.Minute {
		t.Fatalf("advance: %d %+v", code, a)
	}
	if !strings.Contains(events.next("clock"), `"offset_ms":5400000`) {
		t.Fatal("the stream did not announce the move")
	}
	if code := e.post(t, "/demo/api/clock", `{"tomorrow":"09:00"}`, &a); code != 200 {
		t.Fatalf("tomorrow: %d %+v", code, a)
	}
	bj := a.Now.In(time.FixedZone("CST", 8*3600))
	if bj.Hour() != 9 || bj.Minute() != 0 || time.Until(a.Now) < 90*time.Minute {
		t.Fatalf("tomorrow 09:00 gave %v", bj)
	}
	for _, bad := range []string{`{"advance":"-1h"}`, `{"advance":"soon"}`, `{"tomorrow":"9点"}`, `{}`} {
		if code := e.post(t, "/demo/api/clock", bad, &a); code != http.StatusBadRequest || a.Error == "" {
			t.Fatalf("%s: %d %+v, want 400", bad, code, a)
		}
	}
	if hooked.Load() != 2 {
		t.Fatalf("hook ran %d times, want 2", hooked.Load())
	}
}

// TestDemoCloseEndsStreams: shutting the demo down ends the page's event streams,
// so that the server's graceful shutdown does not wait for them.
func TestDemoCloseEndsStreams(t *testing.T) {
	e := newDemoPage(t)
	events := openEvents(t, e.url+"/demo/api/events")
	e.demo.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, events.body)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the stream outlived Close")
	}
}
