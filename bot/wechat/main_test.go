package wechat_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/bot/wechat"
	"minyuan/store"
	"minyuan/store/redistest"
)

// redisSrv serves the token and delivery tests: the token is shared through Redis,
// and what the ladder reads (last seen) and writes (call-back tasks) lives there.
var redisSrv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &redisSrv) }

// appSecret is the simulator's; appID is shared with the webhook tests.
const appSecret = "s3cret"

// platform is the simulator on a loopback HTTP server with a Redis store under a
// fresh prefix. It points the library's global HTTP client at the simulator, so
// tests that use it must not run in parallel.
type platform struct {
	api    *sim.API
	clock  *bot.ManualClock
	st     *store.Store
	rdb    redis.UniversalClient
	prefix string
}

func newPlatform(t *testing.T, timeout time.Duration) *platform {
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
	prefix := redistest.Prefix(t)
	rdb := redisSrv.Client(t)
	return &platform{api: api, clock: clock, st: store.New(rdb, store.Options{Prefix: prefix}), rdb: rdb, prefix: prefix}
}

// replica is another process on the same Redis.
func (p *platform) replica(t *testing.T) *store.Store {
	return store.New(redisSrv.Client(t), store.Options{Prefix: p.prefix})
}

// wrote records that openid sent the account a message at at, on the platform
// (which opens its window) and in the store (as the webhook's commit would).
func (p *platform) wrote(t *testing.T, openid string, at time.Time) {
	t.Helper()
	p.api.Touch(openid, at)
	err := p.st.Acted(t.Context(), openid, bot.ActionMessage, at)
	if err != nil {
		t.Fatal(err)
	}
}

func (p *platform) token(t *testing.T, st *store.Store) *wechat.Token {
	t.Helper()
	tok, err := wechat.NewToken(appID, appSecret, st, wechat.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
