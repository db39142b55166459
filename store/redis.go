// Package store keeps Minyuan's state in Redis, the system of record: the inbox that
// gives every Update one effect, per-user locks, sessions, roles and invites, and the
// WeChat SDK's token cache. Every key is built in keys.go; multi-key updates are one
// Lua script or MULTI with all keys in KEYS.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// DefaultPrefix is put in front of every key unless Options.Prefix says otherwise.
const DefaultPrefix = "minyuan:"

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// Prefix goes in front of every key (default "minyuan:").
	Prefix string
	// SessionTTL is how long Redis keeps a session key (default 48h). Set it to the
	// engine's SessionTimeout plus a day: the engine drops stale flows itself, and a
	// session that outlives the timeout lets it tell a returning user that their form
	// was dropped instead of silently forgetting it.
	SessionTTL time.Duration
	// InboxTTL is how long a committed reply is kept for platform retries (default 24h).
	InboxTTL time.Duration
	// Lease is how long an Update's claim and its sender's lock stay held without
	// renewal (default DefaultLease): a process that dies, or a primary that fails
	// over, holds a user up for at most this long.
	Lease time.Duration
	// BindFailLimit is how many failed invite redemptions a user may make within
	// BindFailWindow before even a right code is refused (default 5 in 15m).
	BindFailLimit  int
	BindFailWindow time.Duration
	// Clock stamps the pushes queued in the outbox (default the system clock).
	Clock bot.Clock
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 48 * time.Hour
	}
	if o.InboxTTL <= 0 {
		o.InboxTTL = 24 * time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.BindFailLimit <= 0 {
		o.BindFailLimit = 5
	}
	if o.BindFailWindow <= 0 {
		o.BindFailWindow = 15 * time.Minute
	}
	return o
}

// Store implements the engine's Inbox, Locker, Sessions and Roles over Redis.
type Store struct {
	rdb   redis.UniversalClient
	batch *batcher // the message path's scripts, in shared pipelines
	k     keys
	opt   Options
	cats  map[string]bot.Category
	// holdersReady is set once the holders index is known to be built (holders.go).
	holdersReady atomic.Bool
}

// New wraps a client; the caller keeps ownership of rdb and closes it.
func New(rdb redis.UniversalClient, opt Options) *Store {
	opt = opt.withDefaults()
	rdb.AddHook(outageHook{})
	return &Store{rdb: rdb, batch: &batcher{rdb: rdb}, k: keys{prefix: opt.Prefix}, opt: opt}
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Connect makes a client from a URL without dialling:
//
//	redis://[[user]:password@]host:port/DB      (also rediss:// for TLS, unix://)
//	redis-sentinel://[[user]:password@]host1:26379,host2:26379/DB?master=NAME
//
// In the Sentinel form the credentials are those of the master and replicas; a
// sentinel that needs its own password takes sentinel_password=… in the query.
func Connect(rawURL string) (redis.UniversalClient, error) {
	if rest, ok := strings.CutPrefix(rawURL, "redis-sentinel://"); ok {
		opt, err := parseSentinel(rest)
		if err != nil {
			// The URL may hold a password: never echo it.
			return nil, fmt.Errorf("store: sentinel URL: %w", err)
		}
		opt.Protocol, opt.ContextTimeoutEnabled, opt.DisableIdentity = clientProtocol, true, true
		return redis.NewUniversalClient(opt), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: redis URL: %w", redactURLError(err))
	}
	opt.Protocol, opt.ContextTimeoutEnabled, opt.DisableIdentity = clientProtocol, true, true
	return redis.NewClient(opt), nil
}

// clientProtocol is RESP2: Minyuan uses no RESP3 feature (no client-side caching, no
// push messages), and with RESP3 go-redis peeks for pending push notifications
// before every command, a few per cent of the message path's CPU. The context's
// deadline bounds every call (ContextTimeoutEnabled): the engine's budget is the
// whole message's, and a Redis that hangs must not hold an answer past it.
const clientProtocol = 2

// redactURLError drops the URL that net/url errors quote, since it may hold a password.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseSentinel reads the part after "redis-sentinel://" by hand: net/url refuses a
// comma-separated host list.
func parseSentinel(s string) (*redis.UniversalOptions, error) {
	opt := &redis.UniversalOptions{}
	rest, query, _ := strings.Cut(s, "?")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, hasPass := strings.Cut(rest[:at], ":")
		var err error
		if opt.Username, err = url.PathUnescape(user); err != nil {
			return nil, errors.New("bad user name escaping")
		}
		if hasPass {
			if opt.Password, err = url.PathUnescape(pass); err != nil {
				return nil, errors.New("bad password escaping")
			}
		}
		rest = rest[at+1:]
	}
	hosts, db, _ := strings.Cut(rest, "/")
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			continue
		}
		if _, _, err := splitHostPort(h); err != nil {
			return nil, fmt.Errorf("sentinel address %q: %w", h, err)
		}
		opt.Addrs = append(opt.Addrs, h)
	}
	if len(opt.Addrs) == 0 {
		return nil, errors.New("no sentinel address")
	}
	if db = strings.Trim(db, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad database number %q", db)
		}
		opt.DB = n
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("bad query")
	}
	for name := range q {
		switch name {
		case "master", "sentinel_password", "sentinel_username":
		default:
			return nil, fmt.Errorf("unknown parameter %q", name)
		}
	}
	opt.MasterName = q.Get("master")
	if opt.MasterName == "" {
		return nil, errors.New("missing ?master=NAME")
	}
	opt.SentinelUsername = q.Get("sentinel_username")
	opt.SentinelPassword = q.Get("sentinel_password")
	return opt, nil
}

func splitHostPort(h string) (string, int, error) {
	i := strings.LastIndex(h, ":")
	if i <= 0 || i == len(h)-1 {
		return "", 0, errors.New("want host:port")
	}
	port, err := strconv.Atoi(h[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, errors.New("bad port")
	}
	return h[:i], port, nil
}

// Persistence says whether Redis is set up to be a system of record: an append-only
// file synced at least every second, and no eviction.
type Persistence struct {
	// OK is true when every setting is right.
	OK bool
	// Unknown is true when the server refused CONFIG GET (managed Redis often does);
	// the settings then cannot be checked from here.
	Unknown bool
	// Problems says, in English for the operator, what is wrong or why it is unknown.
	Problems []string

	AppendOnly      string
	AppendFsync     string
	MaxmemoryPolicy string
}

func (p Persistence) String() string {
	switch {
	case p.OK:
		return "redis persistence ok"
	case p.Unknown:
		return "redis persistence unknown: " + strings.Join(p.Problems, "; ")
	}
	return "redis persistence not ok: " + strings.Join(p.Problems, "; ")
}

// DropRetired deletes what earlier versions kept and nothing reads any more.
func (s *Store) DropRetired(ctx context.Context) error {
	if err := s.rdb.Unlink(ctx, s.k.retired()...).Err(); err != nil {
		return fmt.Errorf("store: drop retired keys: %w", err)
	}
	return nil
}

// CheckPersistence reads the server's persistence settings. It returns an error only
// when Redis cannot be asked at all; callers decide whether to warn or refuse.
func (s *Store) CheckPersistence(ctx context.Context) (Persistence, error) {
	var p Persistence
	refused := false
	get := func(name string) (string, bool, error) {
		m, err := s.rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			var rerr redis.Error
			if errors.As(err, &rerr) && !errors.Is(err, redis.Nil) {
				// The server answered but would not tell: a renamed or ACL-denied
				// CONFIG ("unknown command", "NOPERM").
				p.Unknown, refused = true, true
				p.Problems = append(p.Problems, fmt.Sprintf("CONFIG GET %s refused: %v", name, err))
				return "", false, nil
			}
			return "", false, fmt.Errorf("store: config get %s: %w", name, err)
		}
		v, ok := m[name]
		if !ok {
			p.Unknown = true
			p.Problems = append(p.Problems, fmt.Sprintf("CONFIG GET %s returned nothing", name))
		}
		return v, ok, nil
	}

	v, ok, err := get("appendonly")
	if err != nil {
		return Persistence{}, err
	}
	p.AppendOnly = v
	if ok && v != "yes" {
		p.Problems = append(p.Problems, fmt.Sprintf("appendonly is %q, want \"yes\": a restart loses what was written since the last snapshot", v))
	}
	if refused {
		// No point asking twice more to be refused twice more.
		return p, nil
	}

	if v, ok, err = get("appendfsync"); err != nil {
		return Persistence{}, err
	}
	p.AppendFsync = v
	if ok && v != "everysec" && v != "always" {
		p.Problems = append(p.Problems, fmt.Sprintf("appendfsync is %q, want \"everysec\" (or \"always\")", v))
	}

	if v, ok, err = get("maxmemory-policy"); err != nil {
		return Persistence{}, err
	}
	p.MaxmemoryPolicy = v
	if ok && v != "noeviction" {
		p.Problems = append(p.Problems, fmt.Sprintf("maxmemory-policy is %q, want \"noeviction\": Redis would drop records when full", v))
	}

	p.OK = !p.Unknown && len(p.Problems) == 0
	return p, nil
}

// Replicated returns once n replicas have every write made so far, or an unavailable
// error after timeout (or the context's deadline, if sooner). WAIT counts the
// writes of its own connection, so a small write goes first on the same one:
// replication is one ordered stream, and a replica that has it has everything
// written before it, by any connection.
func (s *Store) Replicated(ctx context.Context, n int, timeout time.Duration) error {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - 50*time.Millisecond; left < timeout {
			timeout = left
		}
	}
	if timeout < time.Millisecond {
		return bot.Errorf(bot.EUnavailable, "store: no time left to wait for %d replicas", n)
	}
	var wait *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.replicated(), time.Now().UnixMilli(), time.Minute)
		wait = p.Do(ctx, "WAIT", n, timeout.Milliseconds())
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: wait for replicas: %w", err)
	}
	if got, _ := wait.Int64(); got < int64(n) {
		return bot.Errorf(bot.EUnavailable, "store: %d of %d replicas acknowledged within %v", got, n, timeout)
	}
	return nil
}
