package sim_test

// These tests drive the simulator through github.com/silenceper/wechat/v2, the library
// Minyuan calls WeChat with, so they pin both what the simulator answers and what the
// library makes of it. util.DefaultHTTPClient is a package global: no test here may
// run in parallel with another.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	"github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/menu"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/bot/wechat"
)

const (
	appID     = "wx0123456789abcdef"
	appSecret = "s3cret"
	alice     = "o-alice"
	bob       = "o-bob"
)

type env struct {
	t     *testing.T
	api   *sim.API
	clock *bot.ManualClock
	srv   *httptest.Server
}

// setup starts a simulator and points the library at it. timeout 0 means none.
func setup(t *testing.T, timeout time.Duration) *env {
	t.Helper()
	clock := bot.NewManualClock(time.Date(2025, 3, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	api := sim.NewAPI(appID, appSecret, clock)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	old := util.DefaultHTTPClient
	if err := wechat.UseAPIBase(srv.URL, timeout); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { util.DefaultHTTPClient = old })
	return &env{t: t, api: api, clock: clock, srv: srv}
}

// account is a fresh client with an empty token cache: a new replica, or the same
// one after it dropped its token to refresh.
func (e *env) account(stable bool) *officialaccount.OfficialAccount {
	return officialaccount.NewOfficialAccount(&config.Config{
		AppID: appID, AppSecret: appSecret, Cache: cache.NewMemory(), UseStableAK: stable,
	})
}

func custom(oa *officialaccount.OfficialAccount, to string) error {
	return oa.GetCustomerMessageManager().Send(message.NewCustomerTextMessage(to, "您的诉求已受理，编号 A7K3"))
}

func template(oa *officialaccount.OfficialAccount, to string) error {
	_, err := oa.GetTemplate().Send(&message.TemplateMessage{
		ToUser:     to,
		TemplateID: "tpl-ticket-update",
		Data:       map[string]*message.TemplateDataItem{"first": {Value: "您的诉求有新进展"}},
	})
	return err
}

var errcodeRE = regexp.MustCompile(`errcode=(-?\d+)`)

// errCode finds the platform's errcode in what the library returned, and whether it
// came as a *util.CommonError rather than as plain text.
func errCode(t *testing.T, err error) (code int, common bool) {
	t.Helper()
	if err == nil {
		return 0, false
	}
	if ce, ok := errors.AsType[*util.CommonError](err); ok {
		return int(ce.ErrCode), true
	}
	m := errcodeRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no errcode in %q", err)
	}
	code, _ = strconv.Atoi(m[1])
	return code, false
}

func wantCode(t *testing.T, err error, want int) {
	t.Helper()
	if got, _ := errCode(t, err); got != want {
		t.Fatalf("errcode %d (%v), want %d", got, err, want)
	}
}

// client is a user's phone talking to a server that answers every message with a
// passive reply, and telling the simulator what the platform learns.
func (e *env) client(t *testing.T) *sim.Client {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(hook.Close)
	return &sim.Client{WebhookURL: hook.URL, Token: "tok", API: e.api, Clock: e.clock}
}

// follower subscribes openid and has them write now, so their window is open.
func (e *env) follower(openid string) {
	e.api.Subscribe(openid)
	e.api.Touch(openid, e.clock.Now())
}

func TestHappyPath(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	oa := e.account(false)

	if err := custom(oa, alice); err != nil {
		t.Fatalf("custom: %v", err)
	}
	msgID, err := oa.GetTemplate().Send(&message.TemplateMessage{ToUser: alice, TemplateID: "tpl"})
	if err != nil || msgID == 0 {
		t.Fatalf("template: msgid %d, %v", msgID, err)
	}
	info, err := oa.GetUser().GetUserInfo(alice)
	if err != nil || info.Subscribe != 1 || info.OpenID != alice {
		t.Fatalf("user info: %+v, %v", info, err)
	}
	buttons := []*menu.Button{new(menu.Button).SetClickButton("我要反映", "REQUEST")}
	if err := oa.GetMenu().SetMenu(buttons); err != nil {
		t.Fatalf("set menu: %v", err)
	}
	got, err := oa.GetMenu().GetMenu()
	if err != nil || len(got.Menu.Button) != 1 || got.Menu.Button[0].Key != "REQUEST" {
		t.Fatalf("get menu: %+v, %v", got, err)
	}
	if !strings.Contains(string(e.api.Menu()), "REQUEST") {
		t.Fatalf("Menu() = %s", e.api.Menu())
	}
	tk, err := oa.GetBasic().GetQRTicket(basic.NewTmpQrRequest(time.Hour, "invite-7"))
	if err != nil || tk.Ticket == "" || tk.ExpireSeconds != 3600 {
		t.Fatalf("qr: %+v, %v", tk, err)
	}
	if scene, ok := e.api.QRScene(tk.Ticket); !ok || scene != "invite-7" {
		t.Fatalf("QRScene = %q, %v", scene, ok)
	}
	e.clock.Advance(time.Hour)
	if _, ok := e.api.QRScene(tk.Ticket); ok {
		t.Fatal("temporary QR code still scannable after it expired")
	}

	if n := e.api.TokenFetches(); n != 1 {
		t.Fatalf("TokenFetches = %d, want 1", n)
	}
	var kinds []string
	for _, c := range e.api.Calls() {
		if !c.OK() {
			t.Errorf("call %+v failed", c)
		}
		kinds = append(kinds, c.Kind)
	}
	want := "token custom template user_info menu_create menu_get qrcode"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("kinds %v, want %s", kinds, want)
	}
	sent := e.api.Sent(alice)
	if len(sent) != 2 || sent[0].Kind != sim.KindCustom || sent[1].Kind != sim.KindTemplate {
		t.Fatalf("Sent = %+v", sent)
	}
	var body message.CustomerMessage
	if err := json.Unmarshal(sent[0].Body, &body); err != nil || body.Text == nil || !strings.Contains(body.Text.Content, "A7K3") {
		t.Fatalf("custom body %s: %v", sent[0].Body, err)
	}
}

// TestInjectedErrCodes pins, for every call Minyuan makes, how the library reports
// each errcode: as a plain error with "errcode=N" in its text, or as *util.CommonError.
func TestInjectedErrCodes(t *testing.T) {
	calls := []struct {
		name   string
		common bool
		do     func(*officialaccount.OfficialAccount) error
	}{
		{"custom", false, func(oa *officialaccount.OfficialAccount) error { return custom(oa, alice) }},
		{"template", false, func(oa *officialaccount.OfficialAccount) error { return template(oa, alice) }},
		{"user_info", false, func(oa *officialaccount.OfficialAccount) error {
			_, err := oa.GetUser().GetUserInfo(alice)
			return err
		}},
		{"menu_create", true, func(oa *officialaccount.OfficialAccount) error {
			return oa.GetMenu().SetMenu([]*menu.Button{new(menu.Button).SetClickButton("我要反映", "REQUEST")})
		}},
		{"menu_get", false, func(oa *officialaccount.OfficialAccount) error {
			_, err := oa.GetMenu().GetMenu()
			return err
		}},
		{"qrcode", false, func(oa *officialaccount.OfficialAccount) error {
			_, err := oa.GetBasic().GetQRTicket(basic.NewLimitQrRequest("invite-7"))
			return err
		}},
	}
	codes := []int{sim.ErrInvalidToken, sim.ErrTokenExpired, sim.ErrNotSubscribed, sim.ErrDailyLimit,
		sim.ErrWindowClosed, sim.ErrCustomQuota, sim.ErrSystem}
	for _, c := range calls {
		for _, code := range codes {
			t.Run(fmt.Sprintf("%s/%d", c.name, code), func(t *testing.T) {
				e := setup(t, 0)
				e.follower(alice)
				oa := e.account(false)
				// Give menu_get a menu to find once the fault is over.
				if err := oa.GetMenu().SetMenu([]*menu.Button{new(menu.Button).SetClickButton("我要反映", "REQUEST")}); err != nil {
					t.Fatal(err)
				}
				e.api.FailNext(1, sim.Fault{ErrCode: code})
				err := c.do(oa)
				got, common := errCode(t, err)
				if got != code || common != c.common {
					t.Fatalf("errcode %d common %v (%v), want %d common %v", got, common, err, code, c.common)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("errcode=%d", code)) {
					t.Fatalf("%q lacks errcode=%d", err, code)
				}
				last := e.api.Calls()[len(e.api.Calls())-1]
				if last.Kind != c.name || last.ErrCode != code || last.Status != http.StatusOK || !last.Injected {
					t.Fatalf("recorded %+v", last)
				}
				// A token error retires the token, so only a fresh one gets through.
				if code == sim.ErrInvalidToken || code == sim.ErrTokenExpired {
					wantCode(t, c.do(oa), code)
					oa = e.account(false)
				}
				if err := c.do(oa); err != nil {
					t.Fatalf("after the fault: %v", err)
				}
			})
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	oa := e.account(false)
	e.api.FailNext(1, sim.Fault{Status: http.StatusInternalServerError})
	err := custom(oa, alice)
	if err == nil || !strings.Contains(err.Error(), "statusCode=500") {
		t.Fatalf("got %v, want statusCode=500", err)
	}
	if errcodeRE.MatchString(err.Error()) {
		t.Fatalf("%q looks like a platform errcode", err)
	}
	if c := e.api.Calls()[1]; c.Status != 500 || !c.Injected {
		t.Fatalf("recorded %+v", c)
	}
	if err := custom(oa, alice); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
}

func TestHangTimesOut(t *testing.T) {
	e := setup(t, 200*time.Millisecond)
	e.follower(alice)
	oa := e.account(false)
	if _, err := oa.GetAccessToken(); err != nil {
		t.Fatal(err)
	}
	e.api.FailNext(1, sim.Fault{Hang: 10 * time.Second})
	start := time.Now()
	err := custom(oa, alice)
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Fatalf("got %v, want a time-out", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the hang outlived the caller")
	}
	// The handler records the abandoned call once it notices the caller left.
	deadline := time.Now().Add(2 * time.Second)
	for len(e.api.Calls()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := e.api.Calls(); len(c) != 2 || c[1].Status != 0 || !c[1].Injected {
		t.Fatalf("recorded %+v", c)
	}
	if len(e.api.Sent(alice)) != 0 {
		t.Fatal("an abandoned call was delivered")
	}

	// A short hang with an errcode answers the errcode late.
	e.api.FailNext(1, sim.Fault{Hang: 20 * time.Millisecond, ErrCode: sim.ErrDailyLimit})
	wantCode(t, custom(oa, alice), sim.ErrDailyLimit)
	// A hang alone is a slow success.
	e.api.FailNext(1, sim.Fault{Hang: 20 * time.Millisecond})
	if err := custom(oa, alice); err != nil {
		t.Fatal(err)
	}
}

func TestWindow(t *testing.T) {
	e := setup(t, 0)
	e.api.Subscribe(alice)
	wantCode(t, custom(e.account(false), alice), sim.ErrWindowClosed) // never wrote

	e.api.Touch(alice, e.clock.Now())
	e.clock.Advance(47 * time.Hour)
	// Tokens live 2 h, so each step after moving the clock needs a fresh one.
	if err := custom(e.account(false), alice); err != nil {
		t.Fatalf("47 h after: %v", err)
	}
	e.clock.Advance(2 * time.Hour)
	oa := e.account(false)
	wantCode(t, custom(oa, alice), sim.ErrWindowClosed)
	if err := template(oa, alice); err != nil {
		t.Fatalf("template with the window closed: %v", err)
	}
	e.api.Touch(alice, e.clock.Now())
	if err := custom(oa, alice); err != nil {
		t.Fatalf("after writing again: %v", err)
	}
}

func TestTemplateNeedsID(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	_, err := e.account(false).GetTemplate().Send(&message.TemplateMessage{ToUser: alice})
	wantCode(t, err, sim.ErrInvalidTemplate)
}

func TestUnsubscribed(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	e.api.Unsubscribe(alice)
	oa := e.account(false)
	wantCode(t, custom(oa, alice), sim.ErrNotSubscribed)
	wantCode(t, template(oa, alice), sim.ErrNotSubscribed)
	info, err := oa.GetUser().GetUserInfo(alice)
	if err != nil || info.Subscribe != 0 || info.OpenID != alice {
		t.Fatalf("user info: %+v, %v", info, err)
	}
	// An openid the account has never met is not a user at all.
	wantCode(t, custom(oa, "o-stranger"), sim.ErrInvalidOpenID)
	_, err = oa.GetUser().GetUserInfo("o-stranger")
	wantCode(t, err, sim.ErrInvalidOpenID)

	e.api.Subscribe(alice)
	if err := custom(oa, alice); err != nil {
		t.Fatalf("after subscribing again: %v", err)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	oa := e.account(false)
	if err := custom(oa, alice); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	wantCode(t, custom(oa, alice), sim.ErrTokenExpired)
	e.api.Touch(alice, e.clock.Now())
	if err := custom(e.account(false), alice); err != nil {
		t.Fatalf("with a fresh token: %v", err)
	}
}

// TestTokenSuperseded is two replicas each fetching their own token: the first one's
// keeps working for 5 minutes, then the platform rejects it.
func TestTokenSuperseded(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	first, second := e.account(false), e.account(false)
	if err := custom(first, alice); err != nil {
		t.Fatal(err)
	}
	if err := custom(second, alice); err != nil {
		t.Fatal(err)
	}
	if n := e.api.TokenFetches(); n != 2 {
		t.Fatalf("TokenFetches = %d, want 2", n)
	}
	e.clock.Advance(5*time.Minute - time.Second)
	if err := custom(first, alice); err != nil {
		t.Fatalf("within the grace period: %v", err)
	}
	e.clock.Advance(time.Second)
	wantCode(t, custom(first, alice), sim.ErrInvalidToken)
	if err := custom(second, alice); err != nil {
		t.Fatalf("the newest token: %v", err)
	}
}

func TestStableToken(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	a, b := e.account(true), e.account(true)
	ta, err := a.GetAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.GetAccessToken()
	if err != nil || ta != tb {
		t.Fatalf("replicas got %q and %q (%v), want one stable token", ta, tb, err)
	}
	// The stable line is isolated from the plain one: a /cgi-bin/token fetch
	// supersedes nothing here.
	if err := custom(e.account(false), alice); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	if err := custom(a, alice); err != nil {
		t.Fatalf("stable token after a plain fetch: %v", err)
	}

	h := credential.NewStableAccessToken(appID, appSecret, "test", cache.NewMemory()).(*credential.StableAccessToken)
	res, err := h.GetAccessTokenDirectly(context.Background(), true)
	if err != nil || res.AccessToken == ta || res.ExpiresIn != 7200 {
		t.Fatalf("force refresh: %+v, %v", res, err)
	}
	if err := custom(a, alice); err != nil {
		t.Fatalf("old stable token within the grace period: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	wantCode(t, custom(a, alice), sim.ErrInvalidToken)
	res2, err := h.GetAccessTokenDirectly(context.Background(), false)
	if err != nil || res2.AccessToken != res.AccessToken || res2.ExpiresIn != 7200-300 {
		t.Fatalf("normal mode after refresh: %+v, %v", res2, err)
	}
	// Once it expires, normal mode hands out a new one.
	e.clock.Advance(2 * time.Hour)
	res3, err := h.GetAccessTokenDirectly(context.Background(), false)
	if err != nil || res3.AccessToken == res.AccessToken {
		t.Fatalf("normal mode after expiry: %+v, %v", res3, err)
	}
	if body := string(e.api.Calls()[0].Body); strings.Contains(body, appSecret) || !strings.Contains(body, `"force_refresh":false`) {
		t.Fatalf("recorded stable_token body %s", body)
	}
}

func TestWrongCredentials(t *testing.T) {
	e := setup(t, 0)
	for _, stable := range []bool{false, true} {
		for _, tc := range []struct {
			id, secret string
			want       int
		}{{"wx-other", appSecret, sim.ErrInvalidAppID}, {appID, "wrong", sim.ErrInvalidSecret}} {
			oa := officialaccount.NewOfficialAccount(&config.Config{
				AppID: tc.id, AppSecret: tc.secret, Cache: cache.NewMemory(), UseStableAK: stable,
			})
			_, err := oa.GetAccessToken()
			if code, common := errCode(t, err); code != tc.want || common {
				t.Fatalf("stable %v: %v, want a plain errcode=%d", stable, err, tc.want)
			}
		}
	}
	if n := e.api.TokenFetches(); n != 4 {
		t.Fatalf("TokenFetches = %d, want 4", n)
	}
}

// sends sends n customer-service messages to openid and returns their errcodes.
func sends(t *testing.T, e *env, openid string, n int) []int {
	t.Helper()
	oa := e.account(false)
	var codes []int
	for range n {
		code, _ := errCode(t, custom(oa, openid))
		codes = append(codes, code)
	}
	return codes
}

func wantCodes(t *testing.T, what string, got []int, want ...int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: errcodes %v, want %v", what, got, want)
	}
}

// A message gives 5 customer-service messages within 48 hours: the sixth is refused
// with 45047; once the 48 hours are over, any is refused with 45015.
func TestAllowanceAfterAMessage(t *testing.T) {
	e := setup(t, 0)
	e.api.Subscribe(alice)
	e.api.Act(alice, bot.ActionMessage, e.clock.Now())
	wantCodes(t, "right after", sends(t, e, alice, 3), 0, 0, 0)
	e.clock.Advance(40 * time.Hour)
	wantCodes(t, "40 h later", sends(t, e, alice, 3), 0, 0, sim.ErrCustomQuota)
	if err := template(e.account(false), alice); err != nil {
		t.Fatalf("a template needs no allowance: %v", err)
	}
	if left, code := e.api.Allowance(alice); left != 0 || code != sim.ErrCustomQuota {
		t.Fatalf("Allowance = %d, %d", left, code)
	}
	e.clock.Advance(8 * time.Hour)
	wantCodes(t, "48 h after the message", sends(t, e, alice, 1), sim.ErrWindowClosed)
	// Writing again renews it.
	e.api.Act(alice, bot.ActionMessage, e.clock.Now())
	wantCodes(t, "after writing again", sends(t, e, alice, 6), 0, 0, 0, 0, 0, sim.ErrCustomQuota)
}

// A click (or scan-push) menu click, a follow or a QR scan gives 3 within a minute.
func TestAllowanceAfterAnEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(e *env, cl *sim.Client) error
	}{
		{"click", func(e *env, cl *sim.Client) error { _, err := cl.Click(t.Context(), alice, "REQUEST"); return err }},
		{"scan-push", func(e *env, cl *sim.Client) error { _, err := cl.ScanPush(t.Context(), alice, "SCAN"); return err }},
		{"follow", func(e *env, cl *sim.Client) error { _, err := cl.Subscribe(t.Context(), alice, ""); return err }},
		{"QR scan", func(e *env, cl *sim.Client) error { _, err := cl.Scan(t.Context(), alice, "QY"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, 0)
			cl := e.client(t)
			e.api.Subscribe(alice)
			if err := tc.act(e, cl); err != nil {
				t.Fatal(err)
			}
			wantCodes(t, "within the minute", sends(t, e, alice, 4), 0, 0, 0, sim.ErrCustomQuota)
			if err := tc.act(e, cl); err != nil {
				t.Fatal(err)
			}
			wantCodes(t, "again", sends(t, e, alice, 2), 0, 0)
			e.clock.Advance(61 * time.Second)
			wantCodes(t, "after the minute", sends(t, e, alice, 1), sim.ErrCustomQuota)
			e.clock.Advance(48 * time.Hour)
			wantCodes(t, "48 h later", sends(t, e, alice, 1), sim.ErrWindowClosed)
		})
	}
}

// A VIEW click or an unsubscribe gives nothing.
func TestAllowanceNotFromView(t *testing.T) {
	e := setup(t, 0)
	cl := e.client(t)
	e.api.Subscribe(alice)
	if _, err := cl.View(t.Context(), alice, "https://example.org"); err != nil {
		t.Fatal(err)
	}
	wantCodes(t, "after a view", sends(t, e, alice, 1), sim.ErrWindowClosed)
}

// Allowances do not add up: each action resets the count to its own limit, and the
// period to the longest still valid.
func TestAllowancesDoNotAddUp(t *testing.T) {
	e := setup(t, 0)
	e.api.Subscribe(alice)
	e.api.Act(alice, bot.ActionMessage, e.clock.Now())
	wantCodes(t, "after the message", sends(t, e, alice, 4), 0, 0, 0, 0)
	// A click: 3, not the 1 left plus 3.
	e.api.Act(alice, bot.ActionEvent, e.clock.Now())
	wantCodes(t, "after the click", sends(t, e, alice, 4), 0, 0, 0, sim.ErrCustomQuota)
	// The click's count, within the message's 48 hours, which outlive its minute.
	e.api.Act(alice, bot.ActionEvent, e.clock.Now())
	e.clock.Advance(time.Hour)
	wantCodes(t, "an hour after the click", sends(t, e, alice, 4), 0, 0, 0, sim.ErrCustomQuota)
	// A message after the click: 5 again, not 3 + 5.
	e.api.Act(alice, bot.ActionMessage, e.clock.Now())
	wantCodes(t, "after a new message", sends(t, e, alice, 6), 0, 0, 0, 0, 0, sim.ErrCustomQuota)
}

// The passive reply uses none of the allowance: a resident who writes six times and
// is answered six times still has all five customer-service messages.
func TestPassiveReplyUsesNoAllowance(t *testing.T) {
	e := setup(t, 0)
	cl := e.client(t)
	e.api.Subscribe(alice)
	for range 6 {
		if _, err := cl.Text(t.Context(), alice, "你好"); err != nil {
			t.Fatal(err)
		}
	}
	wantCodes(t, "after six answered messages", sends(t, e, alice, 6), 0, 0, 0, 0, 0, sim.ErrCustomQuota)
}

// The switch for tests that need the old platform: any action opens 48 hours
// without a count.
func TestAllowanceRulesOff(t *testing.T) {
	e := setup(t, 0)
	e.api.SetAllowanceRules(false)
	e.api.Subscribe(alice)
	e.api.Act(alice, bot.ActionEvent, e.clock.Now())
	e.clock.Advance(time.Hour)
	wantCodes(t, "rules off", sends(t, e, alice, 8), 0, 0, 0, 0, 0, 0, 0, 0)
	e.clock.Advance(48 * time.Hour)
	wantCodes(t, "rules off, 48 h later", sends(t, e, alice, 1), sim.ErrWindowClosed)
}

func TestFailNextCountsDown(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	// Queued before the first token fetch: token calls must not consume it.
	e.api.FailNext(2, sim.Fault{ErrCode: sim.ErrDailyLimit})
	e.api.FailNext(1, sim.Fault{Status: http.StatusBadGateway})
	oa := e.account(false)
	wantCode(t, custom(oa, alice), sim.ErrDailyLimit)
	wantCode(t, template(oa, alice), sim.ErrDailyLimit)
	if err := custom(oa, alice); err == nil || !strings.Contains(err.Error(), "statusCode=502") {
		t.Fatalf("third call: %v, want statusCode=502", err)
	}
	if err := custom(oa, alice); err != nil {
		t.Fatalf("fourth call: %v", err)
	}
}

func TestFailForHeal(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	e.follower(bob)
	oa := e.account(false)
	e.api.FailFor(alice, sim.Fault{ErrCode: sim.ErrSystem})
	for range 3 {
		wantCode(t, custom(oa, alice), sim.ErrSystem)
	}
	wantCode(t, template(oa, alice), sim.ErrSystem)
	if err := custom(oa, bob); err != nil {
		t.Fatalf("another user: %v", err)
	}
	e.api.Heal(alice)
	if err := custom(oa, alice); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	if n := len(e.api.Sent(alice)); n != 1 {
		t.Fatalf("Sent(alice) has %d calls, want 1", n)
	}
}

// TestFailForEachErrCode: each errcode the delivery ladder tells apart, injected for
// one openid, reaches that user's customer-service and template sends with the
// platform's errmsg, and no one else's (a token error aside: it retires the token,
// which then fails for everybody until the caller fetches a new one, as on the
// platform).
func TestFailForEachErrCode(t *testing.T) {
	errmsgs := map[int]string{
		sim.ErrInvalidToken:  "invalid credential",
		sim.ErrTokenExpired:  "access_token expired",
		sim.ErrNotSubscribed: "require subscribe",
		sim.ErrDailyLimit:    "reach max api daily quota limit",
		sim.ErrWindowClosed:  "response out of time limit",
		sim.ErrCustomQuota:   "out of response count limit",
	}
	for code, msg := range errmsgs {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			e := setup(t, 0)
			e.follower(alice)
			e.follower(bob)
			oa := e.account(false)
			if err := custom(oa, bob); err != nil {
				t.Fatal(err)
			}
			e.api.FailFor(alice, sim.Fault{ErrCode: code})
			token := code == sim.ErrInvalidToken || code == sim.ErrTokenExpired
			for _, send := range []func(*officialaccount.OfficialAccount, string) error{custom, template} {
				err := send(oa, alice)
				wantCode(t, err, code)
				if !strings.Contains(err.Error(), msg) {
					t.Fatalf("%q lacks the platform's errmsg %q", err, msg)
				}
				if token {
					// The token alice's send presented is gone for everybody.
					wantCode(t, custom(oa, bob), code)
					oa = e.account(false)
				}
			}
			if err := custom(oa, bob); err != nil {
				t.Fatalf("another user: %v", err)
			}
			var last sim.Call
			for _, c := range e.api.Calls() {
				if c.OpenID == alice {
					last = c
				}
			}
			if last.Kind != sim.KindTemplate || last.ErrCode != code || !last.Injected {
				t.Fatalf("recorded %+v", last)
			}
			e.api.Heal(alice)
			if err := custom(oa, alice); err != nil {
				t.Fatalf("after Heal: %v", err)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	ch, stop := e.api.Watch()
	if err := custom(e.account(false), alice); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{sim.KindToken, sim.KindCustom} {
		select {
		case c := <-ch:
			if c.Kind != want {
				t.Fatalf("watched %+v, want kind %s", c, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no %s call watched", want)
		}
	}
	stop()
	stop()
	if _, open := <-ch; open {
		t.Fatal("channel open after stop")
	}
}

func TestReset(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	oa := e.account(false)
	if err := custom(oa, alice); err != nil {
		t.Fatal(err)
	}
	e.api.FailNext(1, sim.Fault{ErrCode: sim.ErrSystem})
	e.api.FailFor(alice, sim.Fault{ErrCode: sim.ErrSystem})
	e.api.Reset()
	if len(e.api.Calls()) != 0 || e.api.TokenFetches() != 0 {
		t.Fatalf("after Reset: %d calls, %d fetches", len(e.api.Calls()), e.api.TokenFetches())
	}
	if err := custom(oa, alice); err != nil {
		t.Fatalf("after Reset, with the same token: %v", err)
	}
}

// TestWire checks the answers byte-level, as a caller other than the library sees
// them, and that many callers at once are fine.
func TestWire(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	client := e.srv.Client()
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := client.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	status, tok := get("/cgi-bin/token?grant_type=client_credential&appid=" + appID + "&secret=" + appSecret)
	if status != 200 || tok["access_token"] == "" || tok["expires_in"] != 7200.0 || tok["errcode"] != nil {
		t.Fatalf("token answer %d %v", status, tok)
	}
	access := tok["access_token"].(string)
	status, m := get("/cgi-bin/user/info?access_token=nope&openid=" + alice + "&lang=zh_CN")
	if status != 200 || m["errcode"] != 40001.0 || !strings.HasPrefix(m["errmsg"].(string), "invalid credential") {
		t.Fatalf("bad token answer %d %v", status, m)
	}
	status, m = get("/cgi-bin/message/custom/send?access_token=" + access)
	if status != 200 || m["errcode"] != 43002.0 {
		t.Fatalf("GET on a POST API: %d %v", status, m)
	}
	if status, _ = get("/cgi-bin/nothing"); status != http.StatusNotFound {
		t.Fatalf("unknown path: %d", status)
	}

	// Concurrent sends, counted: the allowance would cap them at 5.
	e.api.SetAllowanceRules(false)
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			body := fmt.Sprintf(`{"touser":%q,"msgtype":"text","text":{"content":"第%d条"}}`, alice, i)
			resp, err := client.Post(e.srv.URL+"/cgi-bin/message/custom/send?access_token="+access, "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var r struct {
				ErrCode int    `json:"errcode"`
				ErrMsg  string `json:"errmsg"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ErrCode != 0 || r.ErrMsg != "ok" {
				errs <- fmt.Errorf("answer %+v, %v", r, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(e.api.Sent(alice)); n != workers {
		t.Fatalf("Sent(alice) has %d calls, want %d", n, workers)
	}
}

// The platform sends one template message per openid and client_msg_id within ten
// minutes: a push resent after its sender died between the send and the record of
// it reaches the phone once.
func TestTemplateClientMsgIDSentOnce(t *testing.T) {
	e := setup(t, 0)
	e.follower(alice)
	e.follower(bob)
	oa := e.account(false)
	send := func(to, id string) int64 {
		t.Helper()
		msgID, err := oa.GetTemplate().Send(&message.TemplateMessage{ToUser: to, TemplateID: "tpl-ticket-update",
			ClientMsgID: id, Data: map[string]*message.TemplateDataItem{"first": {Value: "您的诉求有新进展"}}})
		if err != nil {
			t.Fatal(err)
		}
		return msgID
	}
	first := send(alice, "c1")
	if again := send(alice, "c1"); again != first {
		t.Fatalf("a repeated client_msg_id got msgid %d, want the first one's %d", again, first)
	}
	if other := send(bob, "c1"); other == first {
		t.Fatal("another openid's message with the same client_msg_id was taken for a repeat")
	}
	e.clock.Advance(11 * time.Minute)
	if later := send(alice, "c1"); later == first {
		t.Fatal("after ten minutes the same client_msg_id is a new message")
	}
	var dups int
	for _, c := range e.api.Sent(alice) {
		if c.Duplicate {
			dups++
		}
	}
	if dups != 1 {
		t.Fatalf("%d calls marked duplicate, want 1", dups)
	}
}
