package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// WeChatCache is the WeChat SDK's cache in Redis, so that every replica shares one
// access token instead of each fetching its own and invalidating the others'. It
// replaces the SDK's cache.Memory, whose map is read without its lock.
type WeChatCache struct {
	rdb redis.UniversalClient
	k   keys
}

var (
	_ cache.Cache        = (*WeChatCache)(nil)
	_ cache.ContextCache = (*WeChatCache)(nil)
)

// wechatCallTimeout bounds the SDK's context-free calls, which would otherwise wait
// for as long as Redis does.
const wechatCallTimeout = 3 * time.Second

// WeChatCache returns the SDK cache over the Store's client and prefix.
func (s *Store) WeChatCache() *WeChatCache { return &WeChatCache{rdb: s.rdb, k: s.k} }

// Get returns the cached string, or nil when missing. Redis errors also read as a
// miss: the interface has no error, and a miss makes the SDK fetch a fresh value.
func (c *WeChatCache) Get(key string) any {
	ctx, cancel := context.WithTimeout(context.Background(), wechatCallTimeout)
	defer cancel()
	return c.GetContext(ctx, key)
}

// GetContext is Get under ctx.
func (c *WeChatCache) GetContext(ctx context.Context, key string) any {
	v, err := c.rdb.Get(ctx, c.k.wechat(key)).Result()
	if err != nil {
		return nil
	}
	// A string, always: the SDK asserts val.(string).
	return v
}

// Set stores a string (or []byte) for timeout. Other types are refused rather than
// stored in a form Get would hand back as a different type.
func (c *WeChatCache) Set(key string, val any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), wechatCallTimeout)
	defer cancel()
	return c.SetContext(ctx, key, val, timeout)
}

// SetContext is Set under ctx.
func (c *WeChatCache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("store: wechat cache %s: want a string, got %T", key, val)
	}
	if timeout <= 0 {
		// The SDK computes lifetimes as expires_in minus a margin, which can come out
		// non-positive; the value is then already stale (as in cache.Memory), and
		// Redis would refuse a zero expiry.
		if err := c.rdb.Del(ctx, c.k.wechat(key)).Err(); err != nil {
			return fmt.Errorf("store: wechat cache %s: %w", key, err)
		}
		return nil
	}
	if err := c.rdb.Set(ctx, c.k.wechat(key), s, timeout).Err(); err != nil {
		return fmt.Errorf("store: wechat cache %s: %w", key, err)
	}
	return nil
}

// IsExist reports whether key is cached; false also when Redis cannot say.
func (c *WeChatCache) IsExist(key string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), wechatCallTimeout)
	defer cancel()
	return c.IsExistContext(ctx, key)
}

// IsExistContext is IsExist under ctx.
func (c *WeChatCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, c.k.wechat(key)).Result()
	return err == nil && n > 0
}

// Delete removes key; deleting a missing key is not an error.
func (c *WeChatCache) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), wechatCallTimeout)
	defer cancel()
	return c.DeleteContext(ctx, key)
}

// DeleteContext is Delete under ctx.
func (c *WeChatCache) DeleteContext(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.k.wechat(key)).Err(); err != nil {
		return fmt.Errorf("store: wechat cache %s: %w", key, err)
	}
	return nil
}
