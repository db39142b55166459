package store

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// The per-user lock itself is taken with the inbox claim, in one script (inbox.go).

// unlockTimeout bounds a release on its own clock: the caller's context is often
// already done when it unlocks, and the release must still happen.
const unlockTimeout = 2 * time.Second

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1].
var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)
