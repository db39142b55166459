package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot/wechat"
)

const secretToken = "ACCESS-TOKEN-abc123_XYZ"

// The shapes below are what github.com/silenceper/wechat/v2 v2.1.10 returns.
func TestParseError(t *testing.T) {
	tokenURL := "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=" + secretToken
	cases := []struct {
		name   string
		err    error
		code   int
		status int
		msg    string
	}{
		{"custom send", errors.New("customer msg send error : errcode=45015 , errmsg=response out of time limit or subscription is canceled rid: 1-2"),
			45015, 0, "response out of time limit or subscription is canceled rid: 1-2"},
		{"template send", fmt.Errorf("template msg send error : errcode=%v , errmsg=%v", 43004, "require subscribe"), 43004, 0, "require subscribe"},
		{"token fetch", errors.New("get stable access_token error : errcode=40125 , errormsg=invalid appsecret"), 40125, 0, "invalid appsecret"},
		{"system busy", errors.New("customer msg send error : errcode=-1 , errmsg=system error"), -1, 0, "system error"},
		{"menu", util.NewCommonError("SetMenu", 40016, "invalid button size"), 40016, 0, "invalid button size"},
		{"wrapped common", fmt.Errorf("menu: %w", util.NewCommonError("GetMenu", 46003, "menu no exist")), 46003, 0, "menu no exist"},
		{"status", fmt.Errorf("http get error : uri=%v , statusCode=%v", tokenURL, 500), 0, 500, ""},
		{"errcode 0 is no errcode", errors.New("weird: errcode=0"), 0, 0, "weird: errcode=0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := wechat.ParseError(wechat.OpCustom, tc.err)
			var ae *wechat.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%T", err)
			}
			if ae.Code != tc.code || ae.Status != tc.status || ae.Msg != tc.msg || ae.Op != wechat.OpCustom {
				t.Fatalf("got %+v", ae)
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Fatalf("token in %q", err)
			}
		})
	}
	if wechat.ParseError("x", nil) != nil {
		t.Fatal("nil became an error")
	}
	first := wechat.ParseError(wechat.OpTemplate, errors.New("errcode=40037"))
	if again := wechat.ParseError(wechat.OpCustom, first); again != first {
		t.Fatal("an APIError was parsed again")
	}
}

// Network errors quote the URL, token and all; the redacted one still says what
// kind of failure it was.
func TestParseErrorNetworkRedacted(t *testing.T) {
	uerr := &url.Error{
		Op:  "Post",
		URL: "https://api.weixin.qq.com/cgi-bin/message/template/send?access_token=" + secretToken,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
	}
	err := wechat.ParseError(wechat.OpTemplate, uerr)
	if strings.Contains(err.Error(), secretToken) || !strings.Contains(err.Error(), "access_token=REDACTED") {
		t.Fatalf("%q", err)
	}
	if !wechat.IsTransient(err) {
		t.Fatal("a refused connection is transient")
	}
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Fatal("net.Error lost")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), secretToken) {
			t.Fatalf("token in a wrapped error: %q", e)
		}
	}

	timeout := &url.Error{Op: "Post", URL: "https://x/?access_token=" + secretToken, Err: context.DeadlineExceeded}
	if err := wechat.ParseError(wechat.OpCustom, timeout); !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), secretToken) {
		t.Fatalf("%v", err)
	}
	plain := fmt.Errorf("something about secret=%s&access_token=%s", "hunter2", secretToken)
	if err := wechat.ParseError(wechat.OpToken, plain); strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), secretToken) {
		t.Fatalf("%q", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"uri=https://h/p?access_token=abc&openid=o1 , statusCode=500":         "uri=https://h/p?access_token=REDACTED&openid=o1 , statusCode=500",
		"GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3": "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=REDACTED",
		`{"appid":"wx1","secret":"s3","force_refresh":false}`:                 `{"appid":"wx1","secret":"REDACTED","force_refresh":false}`,
		"nothing to hide": "nothing to hide",
	} {
		if got := wechat.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	code := func(c int) error { return &wechat.APIError{Op: "x", Code: c} }
	status := func(s int) error { return &wechat.APIError{Op: "x", Status: s} }
	cases := []struct {
		err                                          error
		token, window, quota, unreachable, transient bool
	}{
		{code(40001), true, false, false, false, false},
		{code(40014), true, false, false, false, false},
		{code(42001), true, false, false, false, false},
		{code(45015), false, true, false, false, false},
		{code(45047), false, false, true, false, false},
		{code(43004), false, false, false, true, false},
		{code(40003), false, false, false, true, false},
		{code(-1), false, false, false, false, true},
		{code(45009), false, false, false, false, true},
		{code(47001), false, false, false, false, false},
		{status(500), false, false, false, false, true},
		{status(503), false, false, false, false, true},
		{status(429), false, false, false, false, true},
		{status(404), false, false, false, false, false},
		{&wechat.APIError{Op: "x", Msg: "unexpected EOF", Err: errors.New("unexpected EOF")}, false, false, false, false, true},
		{fmt.Errorf("wrapped: %w", code(40001)), true, false, false, false, false},
		{context.DeadlineExceeded, false, false, false, false, true},
		{errors.New("not ours"), false, false, false, false, false},
		{nil, false, false, false, false, false},
	}
	for _, tc := range cases {
		got := [5]bool{wechat.IsTokenError(tc.err), wechat.IsWindowClosed(tc.err), wechat.IsQuota(tc.err), wechat.IsUnreachable(tc.err), wechat.IsTransient(tc.err)}
		want := [5]bool{tc.token, tc.window, tc.quota, tc.unreachable, tc.transient}
		if got != want {
			t.Errorf("%v: token, window, quota, unreachable, transient = %v, want %v", tc.err, got, want)
		}
	}
}
