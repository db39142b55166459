package wechat_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"minyuan/bot"
	"minyuan/bot/wechat"
)

const (
	token   = "minyuan-test-token"
	appID   = "wx0123456789abcdef"
	account = "gh_minyuan"
	nonce   = "1357924680"
)

// aesKey is a fixed EncodingAESKey: 32 key bytes in base64 without the final "=".
var (
	aesKeyBytes = []byte("0123456789abcdefghijklmnopqrstuv")
	aesKey      = base64.StdEncoding.EncodeToString(aesKeyBytes)[:43]
)

var now = time.Unix(1732500060, 0)

// fakeHandler records what reaches the domain and answers a fixed reply.
type fakeHandler struct {
	mu    sync.Mutex
	got   []bot.Update
	reply bot.Reply
	seen  map[string]string // replay guards, as the inbox keeps them
}

// handle records u and answers; like the inbox, it refuses an Update whose replay
// guard's query came before with another body.
func (f *fakeHandler) handle(ctx context.Context, u bot.Update) bot.Reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx == nil {
		panic("no context")
	}
	if g := u.Replay; g != nil {
		if f.seen == nil {
			f.seen = map[string]string{}
		}
		if sum, ok := f.seen[g.Key]; ok && sum != g.Sum {
			return bot.Reply{Refused: bot.ErrReplayed.Error()}
		}
		f.seen[g.Key] = g.Sum
	}
	f.got = append(f.got, u)
	return f.reply
}

func (f *fakeHandler) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func newWebhook(t *testing.T, f *fakeHandler, log *slog.Logger) http.Handler {
	t.Helper()
	h, err := wechat.NewWebhook(wechat.Config{
		Token:          token,
		AppID:          appID,
		EncodingAESKey: aesKey,
		Mode:           wechat.ModeCompatible,
		Clock:          bot.NewManualClock(now),
	}, f.handle, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sha1Sorted is the platform's signature, written here apart from wechat.Sign.
func sha1Sorted(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// signedQuery is what the platform appends to the server URL.
func signedQuery(ts time.Time) url.Values {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	return url.Values{
		"signature": {sha1Sorted(token, tsText, nonce)},
		"timestamp": {tsText},
		"nonce":     {nonce},
		"openid":    {"oResident0001"},
	}
}

// seal and open are the platform's AES-256-CBC message crypto, kept independent of
// the library so that a shared bug cannot pass unnoticed:
// random(16) | len(4, big endian) | xml | appid, PKCS#7 to 32 bytes, IV = key[:16].
func seal(t *testing.T, plain []byte, appid string) string {
	t.Helper()
	buf := make([]byte, 0, 20+len(plain)+len(appid)+32)
	buf = append(buf, []byte("RANDOM16BYTES!!!")...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(plain)))
	buf = append(buf, plain...)
	buf = append(buf, appid...)
	pad := 32 - len(buf)%32
	buf = append(buf, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(aesKeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	cipher.NewCBCEncrypter(block, aesKeyBytes[:16]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

func open(t *testing.T, sealed string) (plain []byte, appid string) {
	t.Helper()
	buf, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) == 0 || len(buf)%32 != 0 {
		t.Fatalf("ciphertext length %d is not a multiple of 32", len(buf))
	}
	block, err := aes.NewCipher(aesKeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	cipher.NewCBCDecrypter(block, aesKeyBytes[:16]).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > 32 || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		t.Fatalf("bad PKCS#7 padding %d", pad)
	}
	buf = buf[:len(buf)-pad]
	n := int(binary.BigEndian.Uint32(buf[16:20]))
	if 20+n > len(buf) {
		t.Fatalf("length %d overruns plaintext", n)
	}
	return buf[20 : 20+n], string(buf[20+n:])
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(h http.Handler, q url.Values, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// encryptedBody is a safe-mode request body; extra carries compatible mode's
// plaintext fields.
func encryptedBody(sealed, extra string) []byte {
	return []byte("<xml><ToUserName><![CDATA[" + account + "]]></ToUserName>" + extra +
		"<Encrypt><![CDATA[" + sealed + "]]></Encrypt></xml>")
}

func safeQuery(ts time.Time, sealed string) url.Values {
	q := signedQuery(ts)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", sha1Sorted(token, q.Get("timestamp"), nonce, sealed))
	return q
}

func TestSignMatchesPlatform(t *testing.T) {
	if got, want := wechat.Sign(token, "1732500060", nonce), sha1Sorted(token, "1732500060", nonce); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if got, want := wechat.Sign(token, "1", "2", "enc"), sha1Sorted("enc", "2", "1", token); got != want {
		t.Errorf("Sign with extra = %s, want %s", got, want)
	}
}

func TestNewWebhookValidates(t *testing.T) {
	f := &fakeHandler{}
	for name, cfg := range map[string]wechat.Config{
		"no token":         {AppID: appID},
		"short aes key":    {Token: token, AppID: appID, EncodingAESKey: aesKey[:42]},
		"aes key not b64":  {Token: token, AppID: appID, EncodingAESKey: strings.Repeat("!", 43)},
		"aes key no appid": {Token: token, EncodingAESKey: aesKey},
		"negative body":    {Token: token, MaxBody: -1},
	} {
		if _, err := wechat.NewWebhook(cfg, f.handle, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := wechat.NewWebhook(wechat.Config{Token: token}, nil, nil); err == nil {
		t.Error("nil handler: no error")
	}
	if _, err := wechat.NewWebhook(wechat.Config{Token: token}, f.handle, nil); err != nil {
		t.Errorf("plaintext-only config: %v", err)
	}
}

func TestVerifyURL(t *testing.T) {
	f := &fakeHandler{}
	h := newWebhook(t, f, nil)
	for _, tc := range []struct {
		name   string
		q      func() url.Values
		status int
	}{
		{"good", func() url.Values { return signedQuery(now) }, http.StatusOK},
		{"bad signature", func() url.Values {
			q := signedQuery(now)
			q.Set("signature", sha1Sorted("other-token", q.Get("timestamp"), nonce))
			return q
		}, http.StatusForbidden},
		{"no signature", func() url.Values {
			q := signedQuery(now)
			q.Del("signature")
			return q
		}, http.StatusForbidden},
		{"stale", func() url.Values { return signedQuery(now.Add(-6 * time.Minute)) }, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q()
			q.Set("echostr", "8167216293740123456")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/wechat?"+q.Encode(), nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status == http.StatusOK {
				if got := w.Body.String(); got != "8167216293740123456" {
					t.Errorf("body %q, want the echostr", got)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q", ct)
				}
			} else if strings.Contains(w.Body.String(), "8167216293740123456") {
				t.Error("refused request echoed echostr")
			}
		})
	}
	if f.calls() != 0 {
		t.Errorf("handler called %d times on GET", f.calls())
	}
}

func TestPlaintextUpdates(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bot.Update
	}{
		{"text.xml", bot.Update{
			ID: "m:24602111111111111", Kind: bot.KindText, From: "oResident0001", To: account,
			Time: time.Unix(1732500000, 0), Text: "楼道灯坏了 ",
		}},
		{"image.xml", bot.Update{
			ID: "m:24602111111111112", Kind: bot.KindImage, From: "oResident0001", To: account,
			Time: time.Unix(1732500001, 0), PicURL: "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0", MediaID: "media_img_1",
		}},
		{"voice.xml", bot.Update{
			ID: "m:24602111111111113", Kind: bot.KindVoice, From: "oResident0001", To: account,
			Time: time.Unix(1732500002, 0), MediaID: "media_voice_1", Text: "我要反映噪音问题",
		}},
		{"location.xml", bot.Update{
			ID: "m:24602111111111114", Kind: bot.KindLocation, From: "oResident0001", To: account,
			Time:     time.Unix(1732500003, 0),
			Location: &bot.Location{Lat: 31.2304, Lon: 121.4737, Label: "川汇区民愿接待室"},
		}},
		{"subscribe_qrscene.xml", bot.Update{
			ID: "e:oResident0002:1732500004:subscribe:community_hongye", Kind: bot.KindEvent,
			From: "oResident0002", To: account, Time: time.Unix(1732500004, 0),
			Event: bot.EventSubscribe, EventKey: "community_hongye",
		}},
		{"scan.xml", bot.Update{
			ID: "e:oResident0002:1732500005:SCAN:checkin_42", Kind: bot.KindEvent,
			From: "oResident0002", To: account, Time: time.Unix(1732500005, 0),
			Event: bot.EventScan, EventKey: "checkin_42",
		}},
		{"unsubscribe.xml", bot.Update{
			ID: "e:oResident0002:1732500006:unsubscribe:", Kind: bot.KindEvent,
			From: "oResident0002", To: account, Time: time.Unix(1732500006, 0),
			Event: bot.EventUnsubscribe,
		}},
		{"click.xml", bot.Update{
			ID: "e:oResident0001:1732500007:CLICK:MENU_NEW_REQUEST", Kind: bot.KindEvent,
			From: "oResident0001", To: account, Time: time.Unix(1732500007, 0),
			Event: bot.EventClick, EventKey: "MENU_NEW_REQUEST",
		}},
		{"view.xml", bot.Update{
			ID: "e:oResident0001:1732500008:VIEW:https://minyuan.example.cn/activities", Kind: bot.KindEvent,
			From: "oResident0001", To: account, Time: time.Unix(1732500008, 0),
			Event: bot.EventView, EventKey: "https://minyuan.example.cn/activities",
		}},
		{"link.xml", bot.Update{
			ID: "m:24602111111111115", Kind: bot.KindOther, From: "oResident0001", To: account,
			Time: time.Unix(1732500009, 0),
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := &fakeHandler{}
			w := post(newWebhook(t, f, nil), signedQuery(now), readTestdata(t, tc.file))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if f.calls() != 1 {
				t.Fatalf("handler called %d times", f.calls())
			}
			got := f.got[0]
			if !got.Time.Equal(tc.want.Time) {
				t.Errorf("Time %v, want %v", got.Time, tc.want.Time)
			}
			if got.Replay == nil || got.Replay.Key == "" || len(got.Replay.Sum) != 32 {
				t.Errorf("a plaintext message without its replay guard: %+v", got.Replay)
			}
			got.Time, tc.want.Time, got.Replay = time.Time{}, time.Time{}, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.Location != nil && tc.want.Location != nil && *got.Location != *tc.want.Location {
				t.Errorf("Location %+v, want %+v", *got.Location, *tc.want.Location)
			}
		})
	}
}

// textReply is the platform's passive text reply, read back without the library.
type textReply struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
	Content      string
}

func TestPlaintextReply(t *testing.T) {
	f := &fakeHandler{reply: bot.Text("已收到，编号 A7K2 ]]> <b>")}
	w := post(newWebhook(t, f, nil), signedQuery(now), readTestdata(t, "text.xml"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(w.Body.String(), "<Content><![CDATA[") {
		t.Errorf("Content is not CDATA: %s", w.Body)
	}
	var r textReply
	if err := xml.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("reply %s: %v", w.Body, err)
	}
	want := textReply{XMLName: xml.Name{Local: "xml"}, ToUserName: "oResident0001", FromUserName: account,
		CreateTime: now.Unix(), MsgType: "text", Content: f.reply.Text}
	if r != want {
		t.Errorf("reply %+v, want %+v", r, want)
	}
}

func TestEmptyReplyIsSuccess(t *testing.T) {
	f := &fakeHandler{}
	h := newWebhook(t, f, nil)
	w := post(h, signedQuery(now), readTestdata(t, "click.xml"))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Errorf("plaintext: %d %q, want 200 success", w.Code, w.Body)
	}
	sealed := seal(t, readTestdata(t, "text.xml"), appID)
	w = post(h, safeQuery(now, sealed), encryptedBody(sealed, ""))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Errorf("safe mode: %d %q, want 200 success", w.Code, w.Body)
	}
	if f.calls() != 2 {
		t.Errorf("handler called %d times, want 2", f.calls())
	}
}

// encryptedReply is the platform's safe-mode reply envelope.
type encryptedReply struct {
	Encrypt      string
	MsgSignature string
	TimeStamp    string
	Nonce        string
}

func checkEncryptedReply(t *testing.T, w *httptest.ResponseRecorder, q url.Values, wantText string) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(w.Body.String(), wantText) {
		t.Fatal("reply text travels in the clear")
	}
	var env encryptedReply
	if err := xml.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("reply %s: %v", w.Body, err)
	}
	if env.TimeStamp != q.Get("timestamp") || env.Nonce != q.Get("nonce") {
		t.Errorf("reply timestamp/nonce %s/%s, want the request's %s/%s",
			env.TimeStamp, env.Nonce, q.Get("timestamp"), q.Get("nonce"))
	}
	if want := sha1Sorted(token, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
		t.Errorf("MsgSignature %s, want %s", env.MsgSignature, want)
	}
	plain, gotApp := open(t, env.Encrypt)
	if gotApp != appID {
		t.Errorf("AppID in reply %q, want %q", gotApp, appID)
	}
	var r textReply
	if err := xml.Unmarshal(plain, &r); err != nil {
		t.Fatalf("decrypted reply %s: %v", plain, err)
	}
	want := textReply{XMLName: xml.Name{Local: "xml"}, ToUserName: "oResident0001", FromUserName: account,
		CreateTime: now.Unix(), MsgType: "text", Content: wantText}
	if r != want {
		t.Errorf("decrypted reply %+v, want %+v", r, want)
	}
}

func TestSafeModeRoundTrip(t *testing.T) {
	f := &fakeHandler{reply: bot.Text("您的诉求已登记：A7K2")}
	h := newWebhook(t, f, nil)
	sealed := seal(t, readTestdata(t, "text.xml"), appID)
	q := safeQuery(now.Add(-90*time.Second), sealed)
	w := post(h, q, encryptedBody(sealed, ""))
	checkEncryptedReply(t, w, q, f.reply.Text)
	if f.calls() != 1 || f.got[0].ID != "m:24602111111111111" || f.got[0].Text != "楼道灯坏了 " {
		t.Errorf("handler got %+v", f.got)
	}
}

func TestCompatibleMode(t *testing.T) {
	f := &fakeHandler{reply: bot.Text("收到")}
	h := newWebhook(t, f, nil)
	sealed := seal(t, readTestdata(t, "text.xml"), appID)
	// The plaintext beside Encrypt is not covered by msg_signature: it must lose.
	extra := "<FromUserName><![CDATA[oAttacker]]></FromUserName><CreateTime>1732500000</CreateTime>" +
		"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[forged]]></Content><MsgId>1</MsgId>"
	q := safeQuery(now, sealed)
	w := post(h, q, encryptedBody(sealed, extra))
	checkEncryptedReply(t, w, q, "收到")
	if f.calls() != 1 {
		t.Fatalf("handler called %d times", f.calls())
	}
	if u := f.got[0]; u.From != "oResident0001" || u.Text != "楼道灯坏了 " || u.ID != "m:24602111111111111" {
		t.Errorf("compatible mode took the plaintext fields: %+v", u)
	}
}

func TestRefused(t *testing.T) {
	text := readTestdata(t, "text.xml")
	for _, tc := range []struct {
		name   string
		reason string // in the log, so that each case fails where it should
		method string
		q      func(t *testing.T) url.Values
		body   func(t *testing.T) []byte
		status int
	}{
		{
			name: "bad signature", reason: "bad signature", status: http.StatusForbidden,
			q: func(*testing.T) url.Values {
				q := signedQuery(now)
				q.Set("signature", strings.Repeat("0", 40))
				return q
			},
		},
		{
			name: "signature of another nonce", reason: "bad signature", status: http.StatusForbidden,
			q: func(*testing.T) url.Values {
				q := signedQuery(now)
				q.Set("nonce", "2468")
				return q
			},
		},
		{
			name: "stale timestamp", reason: "timestamp outside window", status: http.StatusForbidden,
			q: func(*testing.T) url.Values { return signedQuery(now.Add(-6 * time.Minute)) },
		},
		{
			name: "future timestamp", reason: "timestamp outside window", status: http.StatusForbidden,
			q: func(*testing.T) url.Values { return signedQuery(now.Add(6 * time.Minute)) },
		},
		{
			name: "timestamp not a number", reason: "bad timestamp", status: http.StatusForbidden,
			q: func(*testing.T) url.Values {
				return url.Values{"signature": {sha1Sorted(token, "soon", nonce)}, "timestamp": {"soon"}, "nonce": {nonce}}
			},
		},
		{
			name: "oversized body", reason: "body too large", status: http.StatusRequestEntityTooLarge,
			body: func(*testing.T) []byte {
				return append(text, bytes.Repeat([]byte(" "), 65<<10+1-len(text))...)
			},
		},
		{
			name: "malformed xml", reason: "malformed message", status: http.StatusBadRequest,
			body: func(t *testing.T) []byte { return readTestdata(t, "malformed.xml") },
		},
		{
			name: "not xml", reason: "malformed message", status: http.StatusBadRequest,
			body: func(*testing.T) []byte { return []byte(`{"MsgType":"text"}`) },
		},
		{
			name: "no FromUserName", reason: "malformed message", status: http.StatusBadRequest,
			body: func(*testing.T) []byte {
				return []byte("<xml><ToUserName>gh</ToUserName><CreateTime>1732500000</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>")
			},
		},
		{
			name: "no MsgType", reason: "malformed message", status: http.StatusBadRequest,
			body: func(*testing.T) []byte {
				return []byte("<xml><FromUserName>o1</FromUserName><CreateTime>1732500000</CreateTime><MsgId>1</MsgId></xml>")
			},
		},
		{
			name: "no CreateTime", reason: "malformed message", status: http.StatusBadRequest,
			body: func(*testing.T) []byte {
				return []byte("<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId></xml>")
			},
		},
		{
			name: "bad msg_signature", reason: "bad msg_signature", status: http.StatusForbidden,
			q: func(t *testing.T) url.Values {
				q := safeQuery(now, seal(t, text, appID))
				q.Set("msg_signature", sha1Sorted(token, q.Get("timestamp"), nonce, "other"))
				return q
			},
			body: func(t *testing.T) []byte { return encryptedBody(seal(t, text, appID), "") },
		},
		{
			name: "no msg_signature", reason: "bad msg_signature", status: http.StatusForbidden,
			q: func(t *testing.T) url.Values {
				q := safeQuery(now, seal(t, text, appID))
				q.Del("msg_signature")
				return q
			},
			body: func(t *testing.T) []byte { return encryptedBody(seal(t, text, appID), "") },
		},
		{
			name: "wrong AppID in ciphertext", reason: "decrypt failed", status: http.StatusBadRequest,
			q:    func(t *testing.T) url.Values { return safeQuery(now, seal(t, text, "wxsomebodyelse00")) },
			body: func(t *testing.T) []byte { return encryptedBody(seal(t, text, "wxsomebodyelse00"), "") },
		},
		{
			name: "ciphertext not base64", reason: "decrypt failed", status: http.StatusBadRequest,
			q:    func(*testing.T) url.Values { return safeQuery(now, "!!!") },
			body: func(*testing.T) []byte { return encryptedBody("!!!", "") },
		},
		{
			name: "encrypted malformed xml", reason: "malformed message", status: http.StatusBadRequest,
			q: func(t *testing.T) url.Values {
				return safeQuery(now, seal(t, readTestdata(t, "malformed.xml"), appID))
			},
			body: func(t *testing.T) []byte { return encryptedBody(seal(t, readTestdata(t, "malformed.xml"), appID), "") },
		},
		{
			name: "unknown encrypt_type", reason: "unknown encrypt_type", status: http.StatusBadRequest,
			q: func(*testing.T) url.Values {
				q := signedQuery(now)
				q.Set("encrypt_type", "sm4")
				return q
			},
		},
		{name: "PUT", reason: "method not allowed", method: http.MethodPut, status: http.StatusMethodNotAllowed},
		{name: "DELETE", reason: "method not allowed", method: http.MethodDelete, status: http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := &fakeHandler{reply: bot.Text("should not be sent")}
			h := newWebhook(t, f, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			q := signedQuery(now)
			if tc.q != nil {
				q = tc.q(t)
			}
			body := text
			if tc.body != nil {
				body = tc.body(t)
			}
			method := http.MethodPost
			if tc.method != "" {
				method = tc.method
			}
			r := httptest.NewRequest(method, "/wechat?"+q.Encode(), bytes.NewReader(body))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d (logs: %s)", w.Code, tc.status, logs.String())
			}
			if !strings.Contains(logs.String(), `reason="`+tc.reason+`"`) {
				t.Errorf("refused for another reason than %q: %s", tc.reason, logs.String())
			}
			if f.calls() != 0 {
				t.Errorf("handler called %d times", f.calls())
			}
			if strings.Contains(w.Body.String(), "should not be sent") {
				t.Error("a refused request got the handler's reply")
			}
			if tc.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestMaxBodyBoundary(t *testing.T) {
	f := &fakeHandler{}
	h := newWebhook(t, f, nil)
	text := readTestdata(t, "text.xml")
	body := append(text, bytes.Repeat([]byte(" "), wechat.DefaultMaxBody-len(text))...)
	if w := post(h, signedQuery(now), body); w.Code != http.StatusOK {
		t.Errorf("body of exactly MaxBody: status %d", w.Code)
	}
}

// TestLogsKeepWordsOut guards residents' words and phone numbers: not even debug
// logs may carry them.
func TestLogsKeepWordsOut(t *testing.T) {
	var logs bytes.Buffer
	f := &fakeHandler{reply: bot.Text("已记下您的电话 13912345678")}
	h := newWebhook(t, f, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	msg := bytes.Replace(readTestdata(t, "text.xml"), []byte("楼道灯坏了 "), []byte("我的电话13800138000 楼道灯坏了"), 1)
	if w := post(h, signedQuery(now), msg); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	sealed := seal(t, msg, appID)
	if w := post(h, safeQuery(now, sealed), encryptedBody(sealed, "")); w.Code != http.StatusOK {
		t.Fatalf("safe mode status %d", w.Code)
	}
	out := logs.String()
	for _, secret := range []string{"13800138000", "13912345678", "楼道灯", "电话"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs carry %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `"id":"m:24602111111111111"`) || !strings.Contains(out, `"status":200`) {
		t.Errorf("logs lack id or status:\n%s", out)
	}
}

// TestHandlerGetsRequestContext lets the engine stop work the platform gave up on.
func TestHandlerGetsRequestContext(t *testing.T) {
	type key struct{}
	var got any
	h, err := wechat.NewWebhook(wechat.Config{Token: token, Clock: bot.NewManualClock(now)},
		func(ctx context.Context, u bot.Update) bot.Reply {
			got = ctx.Value(key{})
			return bot.Reply{}
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/wechat?"+signedQuery(now).Encode(),
		bytes.NewReader(readTestdata(t, "text.xml")))
	r = r.WithContext(context.WithValue(r.Context(), key{}, "req"))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "req" {
		t.Errorf("handler context value %v, want the request's", got)
	}
}

func TestParseRejects(t *testing.T) {
	for name, body := range map[string]string{
		"event without Event":   "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>",
		"message without MsgId": "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>",
		"location NaN":          "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>NaN</Location_X><Location_Y>1</Location_Y><MsgId>1</MsgId></xml>",
		"location off earth":    "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>91</Location_X><Location_Y>1</Location_Y><MsgId>1</MsgId></xml>",
		"root not xml":          "<msg><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></msg>",
		"empty":                 "",
	} {
		if u, err := wechat.Parse([]byte(body)); err == nil {
			t.Errorf("%s: parsed as %+v", name, u)
		}
	}
}

// TestSilence: the library's init() would otherwise print decrypted messages.
func TestSilence(t *testing.T) {
	logrus.SetOutput(os.Stdout)
	logrus.SetLevel(logrus.DebugLevel)
	wechat.Silence()
	wechat.Silence()
	std := logrus.StandardLogger()
	if std.Out != io.Discard || std.IsLevelEnabled(logrus.ErrorLevel) {
		t.Errorf("logrus still writes: out %v, level %v", std.Out, std.GetLevel())
	}
}
