package wechat_test

import (
	"net/http"
	"strconv"
	"testing"

	"minyuan/bot"
	"minyuan/bot/wechat"
)

// FuzzWebhookPlaintext posts any body with a valid signature: the webhook answers
// 200 or refuses with 4xx, never fails with 5xx or panics.
func FuzzWebhookPlaintext(f *testing.F) {
	for _, b := range wechat.Samples(f) {
		f.Add(b)
	}
	f.Add([]byte("<xml><Encrypt>x</Encrypt></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := newWebhook(t, &fakeHandler{reply: bot.Text("收到")}, nil)
		w := post(h, signedQuery(now), body)
		if w.Code >= 500 || (w.Code != http.StatusOK && w.Code < 400) {
			t.Fatalf("status %d", w.Code)
		}
	})
}

// FuzzWebhookEncrypted seals any plaintext (or sends any ciphertext) with a valid
// msg_signature: whatever decrypts to, the webhook never fails with 5xx or panics,
// and what reaches the handler is a complete Update.
func FuzzWebhookEncrypted(f *testing.F) {
	for _, b := range wechat.Samples(f) {
		f.Add(b, false)
	}
	f.Add([]byte("not base64 !!"), true)
	f.Add([]byte("AAAA"), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		fh := &fakeHandler{reply: bot.Text("收到")}
		h := newWebhook(t, fh, nil)
		sealed := string(data)
		if !raw {
			sealed = seal(t, data, appID)
		}
		w := post(h, safeQuery(now, sealed), encryptedBody(sealed, ""))
		if w.Code >= 500 || (w.Code != http.StatusOK && w.Code < 400) {
			t.Fatalf("status %d", w.Code)
		}
		for _, u := range fh.got {
			if u.ID == "" || u.From == "" || u.Kind == "" {
				t.Fatalf("incomplete update %+v (status %s)", u, strconv.Itoa(w.Code))
			}
		}
	})
}
