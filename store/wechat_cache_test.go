package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"

	"minyuan/store"
)

func TestWeChatCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	c := e.st.WeChatCache()
	ctx := context.Background()

	if v := c.Get("missing"); v != nil {
		t.Fatalf("Get(missing) = %#v, want untyped nil", v)
	}
	if err := c.Set("token", "abc", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get("token").(string); !ok || v != "abc" {
		t.Fatalf("Get = %#v, want the string", c.Get("token"))
	}
	if !c.IsExist("token") || c.IsExist("missing") {
		t.Fatal("IsExist wrong")
	}
	checkTTL(t, e, "wechat:token", time.Hour)

	// The SDK's context helpers must find the context methods.
	if err := cache.SetContext(ctx, c, "ticket", []byte("t1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v := cache.GetContext(ctx, c, "ticket"); v != "t1" {
		t.Fatalf("GetContext = %#v", v)
	}
	if err := cache.DeleteContext(ctx, c, "ticket"); err != nil || cache.IsExistContext(ctx, c, "ticket") {
		t.Fatalf("DeleteContext: %v", err)
	}
	if err := c.Delete("never-there"); err != nil {
		t.Fatal(err)
	}

	if err := c.Set("odd", 42, time.Minute); err == nil {
		t.Fatal("Set of a non-string succeeded")
	}
	// A lifetime computed as "expires_in minus margin" can be non-positive: stale.
	if err := c.Set("token", "stale", 0); err != nil || c.Get("token") != nil {
		t.Fatalf("Set with no lifetime: err %v, Get %#v; want it gone", err, c.Get("token"))
	}
	if err := c.Set("short", "x", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	if v := c.Get("short"); v != nil {
		t.Fatalf("Get after expiry = %#v", v)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 0 {
		t.Fatalf("keys left: %q", keys)
	}
}

// The SDK's token handle reads the token another replica put in the cache, without
// asking WeChat.
func TestWeChatCacheSharesToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	c := e.st.WeChatCache()
	if err := c.Set(credential.CacheKeyOfficialAccountPrefix+"_access_token_wxapp", "shared-token", time.Hour); err != nil {
		t.Fatal(err)
	}
	other := e.another(t, store.Options{}).WeChatCache()
	tok, err := credential.NewDefaultAccessToken("wxapp", "secret", credential.CacheKeyOfficialAccountPrefix, other).GetAccessToken()
	if err != nil || tok != "shared-token" {
		t.Fatalf("GetAccessToken = %q, %v", tok, err)
	}
}
