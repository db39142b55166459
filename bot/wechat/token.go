package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
)

// TokenStore keeps the access token where every replica sees it; *store.Store is one.
type TokenStore interface {
	// AccessToken returns the cached token, "" when there is none.
	AccessToken(ctx context.Context, appID string) (string, error)
	SetAccessToken(ctx context.Context, appID, token string, ttl time.Duration) error
	// LockAccessToken tries once to take the refresh lock, which lapses after ttl.
	LockAccessToken(ctx context.Context, appID string, ttl time.Duration) (unlock func(), ok bool, err error)
	// InvalidateAccessToken drops token only if it is still the cached one, and
	// remembers it as refused for remember.
	InvalidateAccessToken(ctx context.Context, appID, token string, remember time.Duration) (bool, error)
	// RejectedAccessToken returns the token last refused, if recently.
	RejectedAccessToken(ctx context.Context, appID string) (string, error)
	// AllowForceRefresh admits one forced refresh per gap across replicas.
	AllowForceRefresh(ctx context.Context, appID string, gap time.Duration) (bool, error)
}

// TokenOptions tune a Token. Zero values take the defaults.
type TokenOptions struct {
	// Margin is taken off the platform's expires_in, so that a cached token is
	// replaced before the platform stops taking it (default 5m).
	Margin time.Duration
	// LockTTL bounds how long a replica that died while fetching holds up the others
	// (default 15s: longer than one fetch with its HTTP time-out).
	LockTTL time.Duration
	// Timeout bounds a fetch made without a context: the library's own calls (menu,
	// user info, QR codes) ask for the token that way (default 15s).
	Timeout time.Duration
	// ForceGap is the least time between two forced refreshes across replicas: the
	// platform allows 20 a day, and each cuts off every other holder (default 1m).
	ForceGap time.Duration
	Log      *slog.Logger
	// Cache is what the library's token handle is built with (it panics without
	// one, though Token only uses it to fetch): give the Redis adapter, never the
	// library's cache.Memory, whose map is read without a lock. Without one, a
	// cache that keeps nothing is used.
	Cache cache.Cache
}

func (o TokenOptions) withDefaults() TokenOptions {
	if o.Margin <= 0 {
		o.Margin = 5 * time.Minute
	}
	if o.LockTTL <= 0 {
		o.LockTTL = 15 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.ForceGap <= 0 {
		o.ForceGap = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

const (
	tokenPollMin = 10 * time.Millisecond
	tokenPollMax = 200 * time.Millisecond
	// rejectedMemory is how long a refused token is remembered: long enough for the
	// refresh that follows the refusal, short enough that a token the platform hands
	// out again much later is not mistaken for it.
	rejectedMemory = 10 * time.Minute
)

// Token is the account's access token, shared by every replica through Redis. It is
// fetched with the stable-token API (POST /cgi-bin/stable_token), whose normal mode
// hands every caller the same token instead of replacing it, by one replica at a
// time under a Redis lock; the others wait for it to land in the cache. It
// implements the library's credential.AccessTokenContextHandle, so the library's
// other calls share it too.
type Token struct {
	appID  string
	store  TokenStore
	opt    TokenOptions
	stable *credential.StableAccessToken
}

var _ credential.AccessTokenContextHandle = (*Token)(nil)

// NewToken makes the shared token of one account.
func NewToken(appID, appSecret string, st TokenStore, opt TokenOptions) (*Token, error) {
	Silence()
	if appID == "" || appSecret == "" {
		return nil, errors.New("wechat: token needs the app id and secret")
	}
	if st == nil {
		return nil, errors.New("wechat: token needs a store")
	}
	// Only GetAccessTokenDirectly is used, which leaves the cache alone; the library
	// panics without one.
	c := opt.Cache
	if c == nil {
		c = noCache{}
	}
	h := credential.NewStableAccessToken(appID, appSecret, credential.CacheKeyOfficialAccountPrefix, c)
	return &Token{appID: appID, store: st, opt: opt.withDefaults(), stable: h.(*credential.StableAccessToken)}, nil
}

// GetAccessToken is GetAccessTokenContext bounded by TokenOptions.Timeout.
func (t *Token) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.opt.Timeout)
	defer cancel()
	return t.GetAccessTokenContext(ctx)
}

// GetAccessTokenContext returns the cached token, or fetches one: this replica if it
// gets the lock, another one otherwise, which this one waits for until ctx ends.
// Errors are *APIError with Op "token" (or store errors).
func (t *Token) GetAccessTokenContext(ctx context.Context) (string, error) {
	wait := tokenPollMin
	for {
		tok, err := t.store.AccessToken(ctx, t.appID)
		if err != nil {
			return "", err
		}
		if tok != "" {
			return tok, nil
		}
		unlock, ok, err := t.store.LockAccessToken(ctx, t.appID, t.opt.LockTTL)
		if err != nil {
			return "", err
		}
		if ok {
			tok, err := t.refresh(ctx)
			unlock()
			return tok, err
		}
		// Someone else is fetching. When they fail, their lock goes and the next
		// round here takes it and tries itself.
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", &APIError{Op: OpToken, Msg: "waiting for another replica to fetch the token: " + ctx.Err().Error(), Err: ctx.Err()}
		case <-timer.C:
		}
		wait = min(wait*2, tokenPollMax)
	}
}

// refresh fetches a token under the lock and caches it.
//
// The normal mode of the stable-token API returns the token the platform considers
// current. After a refusal that is a new one whenever the platform itself retired
// the old (expiry, or someone else's forced refresh). Only when it hands back the
// very token just refused is force_refresh used: it makes a new token but cuts off
// the old one for every holder, and the platform allows it 20 times a day, so it is
// rate-limited across replicas too.
func (t *Token) refresh(ctx context.Context) (string, error) {
	// Another replica may have finished between our miss and our lock.
	if tok, err := t.store.AccessToken(ctx, t.appID); err != nil || tok != "" {
		return tok, err
	}
	res, err := t.stable.GetAccessTokenDirectly(ctx, false)
	if err != nil {
		return "", ParseError(OpToken, err)
	}
	forced := false
	if rejected, err := t.store.RejectedAccessToken(ctx, t.appID); err == nil && rejected != "" && rejected == res.AccessToken {
		allowed, err := t.store.AllowForceRefresh(ctx, t.appID, t.opt.ForceGap)
		if err != nil {
			return "", err
		}
		if allowed {
			t.opt.Log.WarnContext(ctx, "access token refused but handed out again: forcing a refresh", "app_id", t.appID)
			if res, err = t.stable.GetAccessTokenDirectly(ctx, true); err != nil {
				return "", ParseError(OpToken, err)
			}
			forced = true
		}
	}
	if res.AccessToken == "" {
		return "", &APIError{Op: OpToken, Msg: "the platform answered without a token"}
	}
	ttl := time.Duration(res.ExpiresIn)*time.Second - t.opt.Margin
	// The normal mode reports what is left of the token's life, which can be less
	// than the margin: keep it for half of that rather than not at all.
	ttl = max(ttl, time.Duration(res.ExpiresIn)*time.Second/2, time.Second)
	if err := t.store.SetAccessToken(ctx, t.appID, res.AccessToken, ttl); err != nil {
		return "", fmt.Errorf("wechat: cache the token: %w", err)
	}
	t.opt.Log.InfoContext(ctx, "access token fetched", "app_id", t.appID, "ttl", ttl.String(), "forced", forced)
	return res.AccessToken, nil
}

// Invalidate drops bad, a token the platform just refused (40001, 42001), so that
// the next GetAccessTokenContext fetches another. It compares before deleting: of
// two replicas that both saw bad refused, the second finds a newer token (or the
// first one's refresh under way) and leaves it alone, so the token is fetched once.
func (t *Token) Invalidate(ctx context.Context, bad string) error {
	if bad == "" {
		return nil
	}
	dropped, err := t.store.InvalidateAccessToken(ctx, t.appID, bad, rejectedMemory)
	if err != nil {
		return err
	}
	if dropped {
		t.opt.Log.InfoContext(ctx, "access token refused by the platform: dropped", "app_id", t.appID)
	}
	return nil
}

// noCache remembers nothing: the shared token lives in Redis behind TokenStore.
type noCache struct{}

func (noCache) Get(string) any                       { return nil }
func (noCache) Set(string, any, time.Duration) error { return nil }
func (noCache) IsExist(string) bool                  { return false }
func (noCache) Delete(string) error                  { return nil }
