package wechat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/wechat"
)

func webhookInMode(t *testing.T, f *fakeHandler, mode string) http.Handler {
	t.Helper()
	h, err := wechat.NewWebhook(wechat.Config{Token: token, AppID: appID, EncodingAESKey: aesKey, Mode: mode,
		Clock: bot.NewManualClock(now)}, f.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// What was seen (issue 13, point 4): plaintext was accepted although an AES key was
// configured. wechat.mode says which messages come; the others are refused.
func TestModeRefusesTheOtherModes(t *testing.T) {
	plain := readTestdata(t, "text.xml")
	sealed := seal(t, plain, appID)
	cases := []struct {
		mode              string
		plainOK, cipherOK bool
	}{
		{"", false, true}, // an AES key is set: safe by default
		{wechat.ModeSafe, false, true},
		{wechat.ModeCompatible, true, true},
		{wechat.ModePlain, true, false},
	}
	for _, c := range cases {
		f := &fakeHandler{reply: bot.Text("收到")}
		h := webhookInMode(t, f, c.mode)
		w := post(h, signedQuery(now), plain)
		if got := w.Code == http.StatusOK; got != c.plainOK {
			t.Errorf("mode %q, plaintext: %d", c.mode, w.Code)
		}
		w = post(h, safeQuery(now.Add(time.Second), sealed), encryptedBody(sealed, ""))
		if got := w.Code == http.StatusOK; got != c.cipherOK {
			t.Errorf("mode %q, encrypted: %d", c.mode, w.Code)
		}
		want := 0
		for _, ok := range []bool{c.plainOK, c.cipherOK} {
			if ok {
				want++
			}
		}
		if f.calls() != want {
			t.Errorf("mode %q: %d updates reached the handler, want %d", c.mode, f.calls(), want)
		}
	}
	for _, bad := range []wechat.Config{
		{Token: token, Mode: wechat.ModeSafe},
		{Token: token, Mode: wechat.ModeCompatible},
		{Token: token, Mode: "aes"},
	} {
		if _, err := wechat.NewWebhook(bad, (&fakeHandler{}).handle, nil); err == nil {
			t.Errorf("mode %q without a key accepted", bad.Mode)
		}
	}
}

// What was seen (issue 13, point 4): a signed plaintext query could be replayed within
// the window with any body, since the signature does not cover the body. A query
// seen once is refused with another body; the platform's own retry (same query,
// same body) still goes through, to be answered once by the inbox. The webhook names
// the query and digests the body; the inbox (here the fake handler, in store the
// claim script: TestBeginRefusesAReplayedQuery) remembers them.
func TestPlaintextQueryReplayedWithAnotherBodyIsRefused(t *testing.T) {
	f := &fakeHandler{reply: bot.Text("收到")}
	h := webhookInMode(t, f, wechat.ModePlain)
	q := signedQuery(now)
	body := readTestdata(t, "text.xml")
	if w := post(h, q, body); w.Code != http.StatusOK {
		t.Fatalf("first: %d", w.Code)
	}
	if w := post(h, q, body); w.Code != http.StatusOK {
		t.Fatalf("the platform's retry: %d", w.Code)
	}
	forged := []byte(strings.Replace(string(body), "楼道灯坏了", "我要转账", 1))
	if w := post(h, q, forged); w.Code != http.StatusForbidden {
		t.Fatalf("replayed query with another body: %d, want 403", w.Code)
	}
	if f.calls() != 2 {
		t.Fatalf("%d updates reached the handler, want 2", f.calls())
	}
	for _, u := range f.got {
		if strings.Contains(u.Text, "转账") {
			t.Fatal("the forged body reached the handler")
		}
	}
}
