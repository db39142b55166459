package wechat_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot/sim"
	"minyuan/bot/wechat"
)

// Two replicas with a cold cache, many callers each: one fetch, one token.
func TestTokenColdCacheFetchedOnce(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	replicas := []*wechat.Token{p.token(t, p.st), p.token(t, p.replica(t))}
	// Slow the platform so that every caller arrives while the fetch is under way.
	slowTokens(t, 100*time.Millisecond)
	ctx := t.Context()

	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for i := range 20 {
		tok := replicas[i%2]
		wg.Go(func() {
			v, err := tok.GetAccessTokenContext(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[v]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := p.api.TokenFetches(); n != 1 || len(got) != 1 {
		t.Fatalf("TokenFetches = %d, tokens %v; want one fetch and one token", n, got)
	}
	for _, c := range p.api.Calls() {
		if c.Kind != sim.KindStableToken {
			t.Fatalf("fetched with %s, want the stable-token API", c.Kind)
		}
	}
	// The context-free form the library's own calls use reads the same cache.
	if v, err := replicas[1].GetAccessToken(); err != nil || got[v] == 0 {
		t.Fatalf("GetAccessToken = %q, %v", v, err)
	}
	// Cached for the platform's lifetime minus the margin.
	ttl := p.rdb.PTTL(ctx, p.prefix+"token:"+appID).Val()
	if ttl > 7200*time.Second-5*time.Minute || ttl < 7200*time.Second-6*time.Minute {
		t.Fatalf("token TTL %v", ttl)
	}
}

// Two replicas both saw the token refused: only the first invalidation counts, and
// the token is fetched once.
func TestTokenInvalidateOnce(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	a, b := p.token(t, p.st), p.token(t, p.replica(t))
	ctx := t.Context()
	old, err := a.GetAccessTokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The platform retires it (as after an injected 40001).
	p.api.FailNext(1, sim.Fault{ErrCode: sim.ErrInvalidToken})
	if err := sendCustom(old, "o-nobody"); err == nil {
		t.Fatal("want the injected 40001")
	}
	p.api.Reset()

	for _, tok := range []*wechat.Token{a, b} {
		if err := tok.Invalidate(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	na, err := a.GetAccessTokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// b comes late with the same refusal: it must not drop a's new token.
	if err := b.Invalidate(ctx, old); err != nil {
		t.Fatal(err)
	}
	nb, err := b.GetAccessTokenContext(ctx)
	if err != nil || nb != na || na == old {
		t.Fatalf("tokens old %q, a %q, b %q (%v)", old, na, nb, err)
	}
	if n := p.api.TokenFetches(); n != 1 {
		t.Fatalf("TokenFetches = %d, want 1", n)
	}
	for _, c := range p.api.Calls() {
		if c.Kind == sim.KindStableToken && string(c.Body) != "" && strings.Contains(string(c.Body), `"force_refresh":true`) {
			t.Fatalf("forced a refresh the platform did not need: %s", c.Body)
		}
	}
}

// When the platform refuses a token and yet its stable-token API hands the same one
// back, only force_refresh gets a usable one; and it is rate-limited.
func TestTokenForceRefreshWhenHandedBackTheRefusedOne(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	a := p.token(t, p.st)
	ctx := t.Context()
	first, err := a.GetAccessTokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.api.Reset()
	// Refused without the platform retiring it: the normal mode returns it again.
	if err := a.Invalidate(ctx, first); err != nil {
		t.Fatal(err)
	}
	second, err := a.GetAccessTokenContext(ctx)
	if err != nil || second == first {
		t.Fatalf("after refusal: %q (first %q), %v", second, first, err)
	}
	calls := p.api.Calls()
	if len(calls) != 2 || strings.Contains(string(calls[0].Body), `"force_refresh":true`) || !strings.Contains(string(calls[1].Body), `"force_refresh":true`) {
		t.Fatalf("calls %+v; want a normal fetch then a forced one", calls)
	}
	if strings.Contains(string(calls[1].Body), appSecret) {
		t.Fatal("secret in the recorded call")
	}

	// Refused again within the gap: no second force; the refused token stays in use
	// for now (the caller retries later).
	p.api.Reset()
	if err := a.Invalidate(ctx, second); err != nil {
		t.Fatal(err)
	}
	third, err := a.GetAccessTokenContext(ctx)
	if err != nil || third != second || p.api.TokenFetches() != 1 {
		t.Fatalf("within the gap: %q (second %q), fetches %d, %v", third, second, p.api.TokenFetches(), err)
	}
}

// A waiting replica gives up when its context ends, and a lock left by a replica
// that died lapses.
func TestTokenWaitsForTheLockHolder(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	// A replica took the lock and died.
	if _, ok, err := p.st.LockAccessToken(t.Context(), appID, 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	tok, err := wechat.NewToken(appID, appSecret, p.replica(t), wechat.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := tok.GetAccessTokenContext(ctx); err == nil || !wechat.IsTransient(err) {
		t.Fatalf("while locked: %v; want a transient error", err)
	}
	start := time.Now()
	if v, err := tok.GetAccessTokenContext(t.Context()); err != nil || v == "" {
		t.Fatalf("after the lock lapsed: %q, %v", v, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if n := p.api.TokenFetches(); n != 1 {
		t.Fatalf("TokenFetches = %d", n)
	}
}

func TestTokenFetchErrors(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	bad, err := wechat.NewToken(appID, "wrong", p.st, wechat.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetAccessTokenContext(t.Context())
	if wechat.ErrorCode(err) != sim.ErrInvalidSecret || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong secret: %v", err)
	}
	// The lock is released: the next try fetches again rather than wait.
	if _, ok, _ := p.st.LockAccessToken(t.Context(), appID, time.Second); !ok {
		t.Fatal("lock left behind after a failed fetch")
	}
	if _, err := wechat.NewToken("", "", p.st, wechat.TokenOptions{}); err == nil {
		t.Fatal("token without credentials")
	}
}

// slowTokens delays every token fetch by d.
func slowTokens(t *testing.T, d time.Duration) {
	c := util.DefaultHTTPClient
	util.DefaultHTTPClient = &http.Client{Timeout: c.Timeout, Transport: delayTokens{next: c.Transport, d: d}}
	t.Cleanup(func() { util.DefaultHTTPClient = c })
}

type delayTokens struct {
	next http.RoundTripper
	d    time.Duration
}

func (t delayTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "_token") {
		time.Sleep(t.d)
	}
	return t.next.RoundTrip(r)
}

type pinned string

func (p pinned) GetAccessToken() (string, error) { return string(p), nil }

// sendCustom sends a customer-service message with the given token.
func sendCustom(token, to string) error {
	m := message.NewMessageManager(&oacontext.Context{Config: &config.Config{AppID: appID}, AccessTokenHandle: pinned(token)})
	return m.Send(message.NewCustomerTextMessage(to, "你好"))
}
