package app_test

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/bot/wechat"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/store/redistest"
)

const (
	token  = "e2e-token"
	appID  = "wxe2e0000000000000"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // 43 characters
)

// env is one Minyuan behind a real HTTP server, on the shared real Redis under its own
// prefix.
type env struct {
	t      testing.TB
	app    *app.App
	srv    *httptest.Server
	clock  *bot.ManualClock
	prefix string
	msgID  atomic.Int64
	pushed []bot.Push // what pushesTo has read from the outbox
}

func newEnv(t testing.TB) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with the configuration changed by tune first.
func newEnvWith(t testing.TB, tune func(*configs.Config)) *env {
	t.Helper()
	cfg := configs.Default()
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token, cfg.WeChat.EncodingAESKey = appID, "secret", token, aesKey
	cfg.WeChat.Mode = "compatible"               // most tests post plaintext, some encrypted
	cfg.WeChat.APIBaseURL = "http://127.0.0.1:1" // nothing in these tests calls the API
	cfg.Communities = []configs.Community{{Code: "QY", Name: "七一路社区"}, {Code: "HX", Name: "和谐社区"}}
	cfg.Redis.Prefix = redistest.Prefix(t)
	cfg.Log.Level = "warn"
	if tune != nil {
		tune(&cfg)
	}
	// A working day in office hours, so that quiet hours hold nothing back unless a
	// test moves the clock there.
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, calendar.Location())
	e := &env{t: t, clock: bot.NewManualClock(start), prefix: cfg.Redis.Prefix}
	e.msgID.Store(time.Now().UnixNano() / 1000)
	a, err := app.New(context.Background(), cfg, app.Options{Redis: srv.Client(t), Clock: e.clock, Log: quietLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(func() { e.srv.Close(); a.Close() })
	return e
}

// query signs a request at the app's current time.
func (e *env) query(extra ...string) url.Values {
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	nonce := rand.Text()[:10]
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Sign(token, ts, nonce)}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func (e *env) post(q url.Values, body string) (int, string) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+"/wechat?"+q.Encode(), "text/xml", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// textXML is a text message as WeChat sends it.
func textXML(from string, msgID int64, sent time.Time, text string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_minyuan]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>`,
		from, sent.Unix(), text, msgID)
}

// replyText reads the Content of a plaintext reply ("" for "success").
func replyText(t testing.TB, body string) string {
	t.Helper()
	if body == "success" {
		return ""
	}
	var r struct {
		Content string `xml:"Content"`
	}
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("reply %q: %v", body, err)
	}
	return r.Content
}

// sayAt sends text as from with a given MsgId and send time, and returns the reply.
func (e *env) sayAt(from string, id int64, sent time.Time, text string) string {
	e.t.Helper()
	code, body := e.post(e.query(), textXML(from, id, sent, text))
	if code != http.StatusOK {
		e.t.Fatalf("%q: status %d %s", text, code, body)
	}
	return replyText(e.t, body)
}

func (e *env) say(from, text string) string {
	e.t.Helper()
	return e.sayAt(from, e.msgID.Add(1), e.clock.Now(), text)
}

func TestURLCheck(t *testing.T) {
	e := newEnv(t)
	q := e.query("echostr", "hello-echo")
	resp, err := http.Get(e.srv.URL + "/wechat?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello-echo" {
		t.Fatalf("good check: %d %q", resp.StatusCode, b)
	}
	q.Set("signature", strings.Repeat("0", 40))
	resp, err = http.Get(e.srv.URL + "/wechat?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bad check: %d", resp.StatusCode)
	}
}

func TestPlaintextMessage(t *testing.T) {
	e := newEnv(t)
	if got := e.say("o_res", "帮助"); !strings.Contains(got, "【居民】") {
		t.Fatalf("help: %q", got)
	}
}

// A safe-mode request encrypted as the platform does (the webhook's own tests use a
// separate AES implementation; here the library's) gets an encrypted, signed reply.
func TestSafeModeMessage(t *testing.T) {
	e := newEnv(t)
	plain := textXML("o_res", e.msgID.Add(1), e.clock.Now(), "帮助")
	random := []byte(rand.Text()[:16])
	enc, err := util.EncryptMsg(random, []byte(plain), appID, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	q := e.query("encrypt_type", "aes")
	q.Set("msg_signature", wechat.Sign(token, q.Get("timestamp"), q.Get("nonce"), string(enc)))
	code, body := e.post(q, fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_minyuan]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>`, enc))
	if code != 200 {
		t.Fatalf("status %d %s", code, body)
	}
	var env message.ResponseEncryptedXMLMsg
	if err := xml.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(env.Timestamp, 10)
	if env.MsgSignature != wechat.Sign(token, ts, env.Nonce, env.EncryptedMsg) {
		t.Fatal("reply signature does not verify")
	}
	_, raw, err := util.DecryptMsg(appID, env.EncryptedMsg, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := replyText(t, string(raw)); !strings.Contains(got, "【居民】") {
		t.Fatalf("decrypted reply: %q", got)
	}
}

// Bad input gets its status and leaves Redis exactly as it was.
func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	e.say("o_res", "帮助") // some state to compare against
	before := srv.Keys(t, e.prefix)
	good := textXML("o_res", e.msgID.Add(1), e.clock.Now(), "我的资料")
	stale := func() url.Values {
		ts := strconv.FormatInt(e.clock.Now().Add(-6*time.Minute).Unix(), 10)
		return url.Values{"timestamp": {ts}, "nonce": {"n"}, "signature": {wechat.Sign(token, ts, "n")}}
	}
	cases := []struct {
		name string
		q    url.Values
		body string
		want int
	}{
		{"bad signature", func() url.Values { q := e.query(); q.Set("signature", strings.Repeat("a", 40)); return q }(), good, 403},
		{"stale timestamp", stale(), good, 403},
		{"oversized body", e.query(), good + strings.Repeat(" ", 64<<10), 413},
		{"malformed XML", e.query(), "<xml><FromUserName>o_res</From", 400},
	}
	for _, tc := range cases {
		if code, body := e.post(tc.q, tc.body); code != tc.want {
			t.Errorf("%s: status %d %q, want %d", tc.name, code, body, tc.want)
		}
	}
	if after := srv.Keys(t, e.prefix); !slices.Equal(before, after) {
		t.Fatalf("Redis changed:\nbefore %v\nafter  %v", before, after)
	}
	// The good message itself goes through: the refusals were about the wrapping.
	if got := e.sayAt("o_res", e.msgID.Add(1), e.clock.Now(), "我的资料"); !strings.Contains(got, "称呼") {
		t.Fatalf("good message: %q", got)
	}
}

// WeChat retries a message it got no answer to, sometimes while the first delivery is
// still being handled. Binding with an invite code is an effect that cannot happen
// twice: a second real bind would be refused as "already used".
func TestRetriesHaveOneEffectAndOneAnswer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inv, err := e.app.Store.CreateInvite(ctx, bot.RoleStaff, "QY", "王芳", e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := e.msgID.Add(1)
	body := textXML("o_staff", id, e.clock.Now(), "绑定 "+inv.Code)
	replies := make([]string, 3)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() { replies[i] = e.sayAt("o_staff", id, e.clock.Now(), "绑定 "+inv.Code) })
	}
	wg.Wait()
	late := replyText(t, func() string { _, b := e.post(e.query(), body); return b }())
	for i, r := range append(replies, late) {
		if r != replies[0] || !strings.Contains(r, "绑定成功") {
			t.Fatalf("reply %d = %q, first %q", i, r, replies[0])
		}
	}
	grants, err := e.app.Store.Grants(ctx, "o_staff")
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants %v %v", grants, err)
	}
}

// A signed plaintext query replayed with another body is refused with 403 and does
// nothing: the forged request neither files a request nor reaches a session; the
// platform's own retry (same query, same body) gets the first answer.
func TestReplayedQueryWithAnotherBodyIsRefused(t *testing.T) {
	e := newEnv(t)
	q := e.query()
	first := textXML("o_res", e.msgID.Add(1), e.clock.Now(), "诉求")
	code, body := e.post(q, first)
	if code != http.StatusOK || !strings.Contains(replyText(t, body), "类别") {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, again := e.post(q, first); code != http.StatusOK || again != body {
		t.Fatalf("the platform's retry: %d %q, want the first answer", code, again)
	}
	forged := textXML("o_victim", e.msgID.Add(1), e.clock.Now(), "诉求")
	if code, body := e.post(q, forged); code != http.StatusForbidden {
		t.Fatalf("replayed query with another body: %d %s, want 403", code, body)
	}
	if s, err := e.app.Store.Session(context.Background(), "o_victim"); err != nil || s != nil {
		t.Fatalf("the forged message started a flow: %+v %v", s, err)
	}
}

// Two messages of one user that wait together (another replica is handling the
// user's previous message) are handled in the order the user sent them, even when
// they arrive the other way round.
func TestOneUsersMessagesInOrder(t *testing.T) {
	e := newEnv(t)
	if got := e.say("o_res", "我的资料"); !strings.Contains(got, "称呼") {
		t.Fatalf("start: %q", got)
	}
	ctx := context.Background()
	now := e.clock.Now()
	busy := bot.Update{ID: "m:busy", From: "o_res", Time: now}
	held, err := e.app.Store.Begin(ctx, busy, time.Now().Add(time.Hour)) // the previous message, still in hand
	if err != nil || !held.Owner {
		t.Fatal(held, err)
	}
	first, second := e.msgID.Add(1), e.msgID.Add(1)
	var nameReply, phoneReply string
	var wg sync.WaitGroup
	wg.Go(func() { phoneReply = e.sayAt("o_res", second, now.Add(time.Second), "13800138000") })
	time.Sleep(50 * time.Millisecond) // the phone number arrives first
	wg.Go(func() { nameReply = e.sayAt("o_res", first, now, "王阿姨") })
	time.Sleep(50 * time.Millisecond)
	if err := e.app.Store.Abort(ctx, held); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !strings.Contains(nameReply, "手机号") || !strings.Contains(phoneReply, "社区") {
		t.Fatalf("out of order:\nname  -> %q\nphone -> %q", nameReply, phoneReply)
	}
	if got := e.say("o_res", "1"); !strings.Contains(got, "138****8000") || !strings.Contains(got, "王阿姨") {
		t.Fatalf("summary: %q", got)
	}
}

// Messages from one user in quick succession, in flight together, each answer one
// form step: none is lost to another's session write.
func TestConcurrentMessagesOfOneUserAreSerialised(t *testing.T) {
	e := newEnv(t)
	e.say("o_res", "我的资料")
	var wg sync.WaitGroup
	replies := make([]string, 3)
	now := e.clock.Now()
	for i, text := range []string{"李先生", "13900139000", "2"} {
		id := e.msgID.Add(1)
		wg.Go(func() { replies[i] = e.sayAt("o_res", id, now.Add(time.Duration(i)*time.Second), text) })
		time.Sleep(3 * time.Millisecond) // sent in this order, handled while the others are in flight
	}
	wg.Wait()
	if got := e.say("o_res", "确认"); !strings.Contains(got, "资料已保存") {
		t.Fatalf("replies %q, then %q", replies, got)
	}
	p, err := e.app.Store.Profile(context.Background(), "o_res")
	if err != nil || p.Name != "李先生" || p.Phone != "13900139000" || p.Community != "HX" {
		t.Fatalf("profile %+v %v", p, err)
	}
}

func TestInviteCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.app.Store
	inv, err := st.CreateInvite(ctx, bot.RoleStaff, "QY", "王芳", e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.say("o_resident", "值班"); !strings.Contains(got, "没有使用这项功能的权限") {
		t.Fatalf("a resident's staff command: %q", got)
	}
	if got := e.say("o_wang", "绑定 "+strings.ToLower(inv.Code)); !strings.Contains(got, "七一路社区的社区工作人员") {
		t.Fatalf("bind: %q", got)
	}
	if got := e.say("o_wang", "值班"); !strings.Contains(got, "已开始值班：七一路社区") {
		t.Fatalf("staff command after bind: %q", got)
	}
	if got := e.say("o_other", "绑定 "+inv.Code); !strings.Contains(got, "已经使用过") {
		t.Fatalf("second use: %q", got)
	}
	old, err := st.CreateInvite(ctx, bot.RoleParty, "HX", "李强", e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if got := e.say("o_li", "绑定 "+old.Code); !strings.Contains(got, "已过期") {
		t.Fatalf("expired: %q", got)
	}
	fresh, err := st.CreateInvite(ctx, bot.RoleParty, "HX", "李强", e.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if got := e.say("o_guess", fmt.Sprintf("绑定 ZZZZZZZ%d", i+2)); !strings.Contains(got, "不正确") {
			t.Fatalf("guess %d: %q", i, got)
		}
	}
	if got := e.say("o_guess", "绑定 ZZZZZZZZ"); !strings.Contains(got, "不正确") {
		t.Fatalf("fifth guess: %q", got)
	}
	if got := e.say("o_guess", "绑定 "+fresh.Code); !strings.Contains(got, "尝试次数过多") {
		t.Fatalf("a right code after five wrong ones: %q", got)
	}
	if gs, _ := st.Grants(ctx, "o_guess"); len(gs) != 0 {
		t.Fatalf("rate-limited sender got %v", gs)
	}
}

// When Redis cannot be reached the user gets a short "busy" answer, not an error page
// and not silence; the platform does not retry a 200.
func TestRedisDownAnswersBusy(t *testing.T) {
	e := newEnv(t)
	rdb := srv.Client(t)
	cfg := configs.Default()
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token = appID, "secret", token
	cfg.Communities = []configs.Community{{Code: "QY", Name: "七一路社区"}}
	cfg.Redis.Prefix = e.prefix
	a, err := app.New(context.Background(), cfg, app.Options{Redis: rdb, Clock: e.clock, Log: quietLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	rdb.Close() // Redis is gone
	resp, err := http.Post(hs.URL+"/wechat?"+e.query().Encode(), "text/xml",
		strings.NewReader(textXML("o_res", e.msgID.Add(1), e.clock.Now(), "我的资料")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(replyText(t, string(b)), "系统繁忙") {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	r, err := http.Get(hs.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d", r.StatusCode)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		r, err := http.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
}

// A resident who comes back after the time-out is told the unfinished form was dropped.
func TestFormTimeOutThroughTheWebhook(t *testing.T) {
	e := newEnv(t)
	e.say("o_res", "我的资料")
	e.say("o_res", "王阿姨")
	e.clock.Advance(31 * time.Minute)
	got := e.say("o_res", "13800138000")
	if !strings.Contains(got, "「我的资料」因长时间未回复已自动取消") {
		t.Fatalf("got %q", got)
	}
}

// A follow through a community's QR code remembers the community.
func TestSubscribeWithCommunityScene(t *testing.T) {
	e := newEnv(t)
	ev := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_new]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>`+
		`<EventKey><![CDATA[qrscene_HX]]></EventKey></xml>`, e.clock.Now().Unix())
	code, body := e.post(e.query(), ev)
	if code != 200 || !strings.Contains(replyText(t, body), "和谐社区") {
		t.Fatalf("%d %q", code, body)
	}
	p, _ := e.app.Store.Profile(context.Background(), "o_new")
	if p.Community != "HX" {
		t.Fatalf("profile %+v", p)
	}
}

// With redis.require_persistence, Minyuan refuses to start on a Redis that would lose
// what it is given (the test server runs without appendonly); without it, it warns.
func TestRequirePersistenceRefusesAnEphemeralRedis(t *testing.T) {
	cfg := configs.Default()
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token = appID, "secret", token
	cfg.Communities = []configs.Community{{Code: "QY", Name: "七一路社区"}}
	cfg.Redis.Prefix = redistest.Prefix(t)
	cfg.Redis.RequirePersistence = true
	_, err := app.New(context.Background(), cfg, app.Options{Redis: srv.Client(t), Log: quietLog(t)})
	if err == nil || !strings.Contains(err.Error(), "appendonly") || !strings.Contains(err.Error(), "require_persistence") {
		t.Fatalf("got %v", err)
	}
	cfg.Redis.RequirePersistence = false
	a, err := app.New(context.Background(), cfg, app.Options{Redis: srv.Client(t), Log: quietLog(t)})
	if err != nil {
		t.Fatalf("without the requirement it starts (and warns): %v", err)
	}
	a.Close()
}
