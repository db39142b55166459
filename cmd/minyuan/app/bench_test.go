package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"minyuan/bot/wechat"
)

// BenchmarkWebhook compares the whole webhook path of Minyuan (signature, replay
// window, parse, inbox dedupe, the user's lock, roles, session, router, commit, reply;
// against the real Redis) with a bare handler on the same library that only echoes.
// Run: go test ./cmd/minyuan/app -run '^$' -bench Webhook -benchtime 2000x
func BenchmarkWebhook(b *testing.B) {
	// Both sides see the same signed requests, stamped with the time Minyuan's clock
	// says (the env's clock stands still on a working day).
	var now time.Time
	// A fresh nonce each time: a signed query seen with another body is a replay.
	sign := func(i int) string {
		ts, nonce := strconv.FormatInt(now.Unix(), 10), "n"+strconv.Itoa(i)
		return "timestamp=" + ts + "&nonce=" + nonce + "&signature=" + wechat.Sign(token, ts, nonce)
	}
	body := func(i int) string {
		return textXML(fmt.Sprintf("o_bench_%d", i%64), int64(1_000_000+i), now, "帮助")
	}

	b.Run("minyuan", func(b *testing.B) {
		e := newEnv(b)
		now = e.clock.Now()
		h := e.app.Handler()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat?"+sign(i), strings.NewReader(body(i))))
			if w.Code != 200 || !strings.Contains(w.Body.String(), "居民") {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})

	b.Run("bare-library-echo", func(b *testing.B) {
		now = time.Now() // the library checks no timestamp
		wechat.Silence()
		oa := officialaccount.NewOfficialAccount(&offConfig.Config{AppID: appID, AppSecret: "s", Token: token, Cache: cache.NewMemory()})
		wechat.Silence()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w := httptest.NewRecorder()
			srv := oa.GetServer(httptest.NewRequest(http.MethodPost, "/wechat?"+sign(i), strings.NewReader(body(i))), w)
			srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
				return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(m.Content)}
			})
			if err := srv.Serve(); err != nil {
				b.Fatal(err)
			}
			if err := srv.Send(); err != nil {
				b.Fatal(err)
			}
			if w.Code != 200 || !strings.Contains(w.Body.String(), "帮助") {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}
