package store_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"minyuan/store"
	"minyuan/store/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// env is one test's view of Redis: a Store under a fresh prefix, and a raw client to
// look behind it.
type env struct {
	st     *store.Store
	rdb    redis.UniversalClient
	prefix string
}

func newEnv(t testing.TB, opt store.Options) env {
	t.Helper()
	opt.Prefix = redistest.Prefix(t)
	rdb := srv.Client(t)
	return env{st: store.New(rdb, opt), rdb: rdb, prefix: opt.Prefix}
}

// another is a second Store on its own connection under the same prefix: what a
// second replica of Minyuan would be.
func (e env) another(t testing.TB, opt store.Options) *store.Store {
	opt.Prefix = e.prefix
	return store.New(srv.Client(t), opt)
}
