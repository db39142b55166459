package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/bot/wechat"
)

const (
	hookToken = "hook-token"
	// A valid EncodingAESKey: 43 characters of base64 for a 32-byte key.
	hookAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// platform is the simulator's two sides against the real webhook: the Client posts
// to it, the API stands in for api.weixin.qq.com.
type platform struct {
	api     *sim.API
	apiURL  string
	clock   *bot.ManualClock
	updates chan bot.Update
	hookURL string
}

// newPlatform serves the real webhook with a handler that answers every Update with
// "收到 <kind>" (nothing for unsubscribe) and hands the Update to the test.
func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{
		clock:   bot.NewManualClock(time.Date(2025, 3, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))),
		updates: make(chan bot.Update, 16),
	}
	p.api = sim.NewAPI(appID, appSecret, p.clock)
	apiSrv := httptest.NewServer(p.api)
	t.Cleanup(apiSrv.Close)
	p.apiURL = apiSrv.URL
	hook, err := wechat.NewWebhook(wechat.Config{
		Token: hookToken, AppID: appID, EncodingAESKey: hookAESKey, Mode: wechat.ModeCompatible, Clock: p.clock,
	}, func(_ context.Context, u bot.Update) bot.Reply {
		p.updates <- u
		if u.Event == bot.EventUnsubscribe {
			return bot.Reply{}
		}
		return bot.Text("收到 " + string(u.Kind) + u.Event)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	p.hookURL = srv.URL + "/wechat"
	return p
}

func (p *platform) client(mode sim.Mode) *sim.Client {
	return &sim.Client{
		WebhookURL: p.hookURL, Token: hookToken, AppID: appID, EncodingAESKey: hookAESKey,
		Mode: mode, API: p.api, Clock: p.clock,
	}
}

func (p *platform) update(t *testing.T) bot.Update {
	t.Helper()
	select {
	case u := <-p.updates:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("the webhook got no update")
		return bot.Update{}
	}
}

// customTo sends a customer-service message through the API's HTTP interface, as
// the bot would, and returns the errcode: 0 only for a follower whose window is open.
func (p *platform) customTo(t *testing.T, openid string) int {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	getJSON(t, p.apiURL+"/cgi-bin/token?grant_type=client_credential&appid="+appID+"&secret="+appSecret, nil, &tok)
	body := `{"touser":"` + openid + `","msgtype":"text","text":{"content":"您好"}}`
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	getJSON(t, p.apiURL+"/cgi-bin/message/custom/send?access_token="+tok.AccessToken, []byte(body), &ans)
	return ans.ErrCode
}

// getJSON GETs url, or POSTs body to it, and decodes the JSON answer into v.
func getJSON(t *testing.T, url string, body []byte, v any) {
	t.Helper()
	var resp *http.Response
	var err error
	if body == nil {
		resp, err = http.Get(url)
	} else {
		resp, err = http.Post(url, "application/json", bytes.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// TestClientModes sends every kind of message in every mode through the real webhook
// and checks what the bot would see, the reply, and what the platform learned.
func TestClientModes(t *testing.T) {
	for _, mode := range []sim.Mode{sim.ModePlain, sim.ModeCompat, sim.ModeSafe} {
		t.Run(string(mode), func(t *testing.T) {
			p := newPlatform(t)
			c := p.client(mode)
			ctx := context.Background()
			const who = "o-zhang"

			if code := p.customTo(t, who); code != sim.ErrInvalidOpenID {
				t.Fatalf("before any message: errcode %d, want %d", code, sim.ErrInvalidOpenID)
			}
			reply, err := c.Subscribe(ctx, who, "QY")
			if err != nil || reply != "收到 eventsubscribe" {
				t.Fatalf("subscribe: %q, %v", reply, err)
			}
			u := p.update(t)
			if u.From != who || u.To != sim.DefaultAccount || u.Kind != bot.KindEvent || u.Event != bot.EventSubscribe || u.EventKey != "QY" || !strings.HasPrefix(u.ID, "e:") {
				t.Fatalf("subscribe update %+v", u)
			}
			if !u.Time.Equal(p.clock.Now().Truncate(time.Second)) {
				t.Fatalf("CreateTime %v, want the clock's %v", u.Time, p.clock.Now())
			}
			if code := p.customTo(t, who); code != 0 {
				t.Fatalf("after subscribe: errcode %d, want an open window", code)
			}

			reply, err = c.Text(ctx, who, "楼道灯坏了 <b>&amp;")
			if err != nil || reply != "收到 text" {
				t.Fatalf("text: %q, %v", reply, err)
			}
			if u := p.update(t); u.Kind != bot.KindText || u.Text != "楼道灯坏了 <b>&amp;" || !strings.HasPrefix(u.ID, "m:") {
				t.Fatalf("text update %+v", u)
			}

			if _, err := c.Voice(ctx, who, "三楼的灯不亮"); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Kind != bot.KindVoice || u.Text != "三楼的灯不亮" || u.MediaID == "" {
				t.Fatalf("voice update %+v", u)
			}
			if _, err := c.Image(ctx, who, ""); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Kind != bot.KindImage || u.PicURL == "" || u.MediaID == "" {
				t.Fatalf("image update %+v", u)
			}
			if _, err := c.Location(ctx, who, 33.6254, 114.6497, "七一路社区"); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Kind != bot.KindLocation || u.Location == nil || u.Location.Lat != 33.6254 || u.Location.Lon != 114.6497 || u.Location.Label != "七一路社区" {
				t.Fatalf("location update %+v", u)
			}
			if _, err := c.Click(ctx, who, "PROFILE"); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Event != bot.EventClick || u.EventKey != "PROFILE" {
				t.Fatalf("click update %+v", u)
			}
			if _, err := c.View(ctx, who, "https://example.org/m"); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Event != bot.EventView || u.EventKey != "https://example.org/m" {
				t.Fatalf("view update %+v", u)
			}
			if _, err := c.Scan(ctx, who, "HX"); err != nil {
				t.Fatal(err)
			}
			if u := p.update(t); u.Event != bot.EventScan || u.EventKey != "HX" {
				t.Fatalf("scan update %+v", u)
			}

			reply, err = c.Unsubscribe(ctx, who)
			if err != nil || reply != "" {
				t.Fatalf("unsubscribe: %q, %v; want no reply", reply, err)
			}
			if u := p.update(t); u.Event != bot.EventUnsubscribe {
				t.Fatalf("unsubscribe update %+v", u)
			}
			if code := p.customTo(t, who); code != sim.ErrNotSubscribed {
				t.Fatalf("after unsubscribe: errcode %d, want %d", code, sim.ErrNotSubscribed)
			}
			if c.Retries() != 0 {
				t.Fatalf("%d retries against a prompt server", c.Retries())
			}
		})
	}
}

// TestClientWindowFollowsMessages: a message opens the 48-hour window at the time of
// the Client's clock, and it closes 48 hours later.
func TestClientWindowFollowsMessages(t *testing.T) {
	p := newPlatform(t)
	c := p.client(sim.ModeSafe)
	if _, err := c.Text(context.Background(), alice, "你好"); err != nil {
		t.Fatal(err)
	}
	p.update(t)
	if code := p.customTo(t, alice); code != 0 {
		t.Fatalf("errcode %d inside the window", code)
	}
	p.clock.Advance(48 * time.Hour)
	if code := p.customTo(t, alice); code != sim.ErrWindowClosed {
		t.Fatalf("errcode %d after 48 h, want %d", code, sim.ErrWindowClosed)
	}
}

// slowHook is a fake server URL that records what it gets and is late for the first
// `late` deliveries.
type slowHook struct {
	mu     sync.Mutex
	bodies [][]byte
	ids    []string
	late   int
	delay  time.Duration
}

func (h *slowHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		MsgID int64  `xml:"MsgId"`
		From  string `xml:"FromUserName"`
	}
	_ = xml.Unmarshal(body, &m)
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	h.ids = append(h.ids, strconv.FormatInt(m.MsgID, 10))
	n := len(h.bodies)
	h.mu.Unlock()
	if n <= h.late {
		select {
		case <-time.After(h.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, `<xml><ToUserName><![CDATA[`+m.From+`]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>`+
		`<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[答复 `+strconv.Itoa(n)+`]]></Content></xml>`)
}

func (h *slowHook) seen() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies, h.ids
}

// TestClientRetriesLateAnswer: a server that answers after the platform's limit (6 s
// against 5 s, scaled down) gets the same message, same MsgId, again.
func TestClientRetriesLateAnswer(t *testing.T) {
	const limit = 100 * time.Millisecond
	hook := &slowHook{late: 1, delay: 6 * limit / 5 * 3}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	c := &sim.Client{WebhookURL: srv.URL, Token: hookToken, ReplyTimeout: limit}

	res, err := c.Send(context.Background(), sim.Message{From: alice, Type: "text", Content: "帮助"})
	if err != nil {
		t.Fatal(err)
	}
	bodies, ids := hook.seen()
	if res.Attempts != 2 || len(bodies) != 2 || c.Retries() != 1 {
		t.Fatalf("attempts %d, deliveries %d, retries %d; want 2, 2, 1", res.Attempts, len(bodies), c.Retries())
	}
	if ids[0] != ids[1] || ids[0] != strconv.FormatInt(res.MsgID, 10) || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("the retry differs: MsgIds %v (result %d)\n%s\n%s", ids, res.MsgID, bodies[0], bodies[1])
	}
	if res.Text != "答复 2" {
		t.Fatalf("reply %q, want the second delivery's", res.Text)
	}

	// A fresh message has a fresh MsgId.
	if _, err := c.Text(context.Background(), alice, "你好"); err != nil {
		t.Fatal(err)
	}
	if _, ids := hook.seen(); ids[2] == ids[0] {
		t.Fatalf("a new message reused MsgId %s", ids[0])
	}
}

// TestClientGivesUp: three late answers, and the platform gives up as WeChat does.
func TestClientGivesUp(t *testing.T) {
	const limit = 50 * time.Millisecond
	hook := &slowHook{late: 99, delay: 10 * limit}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	c := &sim.Client{WebhookURL: srv.URL, Token: hookToken, ReplyTimeout: limit}

	res, err := c.Text(context.Background(), alice, "帮助")
	if !errors.Is(err, sim.ErrNoAnswer) || res != "" {
		t.Fatalf("got %q, %v; want ErrNoAnswer", res, err)
	}
	_, ids := hook.seen()
	if len(ids) != sim.DefaultAttempts || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("deliveries %v, want %d of one MsgId", ids, sim.DefaultAttempts)
	}
	if c.Retries() != sim.DefaultAttempts-1 {
		t.Fatalf("retries %d", c.Retries())
	}
}

// TestClientRefused: an HTTP error is not retried (the platform shows an error).
func TestClientRefused(t *testing.T) {
	p := newPlatform(t)
	c := p.client(sim.ModeSafe)
	c.Token = "not-the-token"
	_, err := c.Text(context.Background(), alice, "帮助")
	var se *sim.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("got %v, want HTTP 403", err)
	}
	if c.Retries() != 0 {
		t.Fatalf("an HTTP error was retried")
	}
}

// TestClientRaw posts what the platform would never send.
func TestClientRaw(t *testing.T) {
	p := newPlatform(t)
	c := p.client(sim.ModePlain)
	ctx := context.Background()
	status, _, err := c.Raw(ctx, []byte("<xml><oops"), nil)
	if err != nil || status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d, %v; want 400", status, err)
	}
	q := c.SignedQuery()
	q.Set("signature", strings.Repeat("0", 40))
	status, _, err = c.Raw(ctx, []byte("<xml/>"), q)
	if err != nil || status != http.StatusForbidden {
		t.Fatalf("bad signature: %d, %v; want 403", status, err)
	}
	q = c.SignedQuery()
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", "x")
	status, _, err = c.Raw(ctx, []byte("<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>"), q)
	if err != nil || status != http.StatusForbidden {
		t.Fatalf("bad msg_signature: %d, %v; want 403", status, err)
	}
}

// TestClientChecksSealedReply: in safe mode a reply must carry a valid signature.
func TestClientChecksSealedReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `<xml><Encrypt><![CDATA[abc]]></Encrypt><MsgSignature><![CDATA[forged]]></MsgSignature><TimeStamp>1</TimeStamp><Nonce><![CDATA[1]]></Nonce></xml>`)
	}))
	defer srv.Close()
	c := &sim.Client{WebhookURL: srv.URL, Token: hookToken, AppID: appID, EncodingAESKey: hookAESKey, Mode: sim.ModeSafe}
	if _, err := c.Text(context.Background(), alice, "帮助"); err == nil || !strings.Contains(err.Error(), "MsgSignature") {
		t.Fatalf("got %v, want a bad MsgSignature", err)
	}
}

func TestClock(t *testing.T) {
	c := sim.NewClock()
	before := time.Now()
	if _, err := c.Advance(-time.Second); err == nil {
		t.Fatal("the clock went back")
	}
	now, err := c.Advance(2 * time.Hour)
	if err != nil || now.Sub(before) < 2*time.Hour || c.Offset() != 2*time.Hour {
		t.Fatalf("advance: %v, %v, offset %v", now, err, c.Offset())
	}
	target := time.Now().Add(26 * time.Hour)
	if now, err = c.AdvanceTo(target); err != nil || !now.Equal(target) && now.Before(target) {
		t.Fatalf("advance to: %v, %v", now, err)
	}
	if _, err := c.AdvanceTo(time.Now()); err == nil {
		t.Fatal("the clock went back to now")
	}
}
