package wechat

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Nonces remembers signed queries. Fresh reports whether key (timestamp, nonce and
// signature) is new, or was seen with exactly this body: a platform retry resends
// the same query and body and must get through to the inbox, which answers it once;
// the same query with another body is a replay of a captured signature.
type Nonces interface {
	Fresh(ctx context.Context, key string, body []byte, ttl time.Duration) (bool, error)
}

// NonceCache is an in-process Nonces, for one replica. Several replicas behind one
// URL should share theirs through Redis (store.Store.Fresh), or a replay sent to
// another replica gets through.
type NonceCache struct {
	mu   sync.Mutex
	seen map[string]nonceEntry
	next time.Time // next sweep of expired entries
}

type nonceEntry struct {
	sum     [sha256.Size]byte
	expires time.Time
}

// NewNonceCache makes an empty NonceCache.
func NewNonceCache() *NonceCache { return &NonceCache{seen: map[string]nonceEntry{}} }

// Fresh implements Nonces.
func (c *NonceCache) Fresh(_ context.Context, key string, body []byte, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256(body)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.next) {
		for k, e := range c.seen {
			if now.After(e.expires) {
				delete(c.seen, k)
			}
		}
		c.next = now.Add(ttl / 4)
	}
	if e, ok := c.seen[key]; ok && now.Before(e.expires) {
		return e.sum == sum, nil
	}
	c.seen[key] = nonceEntry{sum: sum, expires: now.Add(ttl)}
	return true, nil
}
