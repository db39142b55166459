// Package redistest runs a real redis-server for tests. Store tests run against real
// Redis, not a fake, because the guarantees they check (atomic scripts, NX, expiry)
// are Redis's own. When no server can run, Start fails: a test that silently skips
// would pass on a machine that checked nothing.
//
// One server serves a whole test binary; tests keep apart by key prefix:
//
//	var srv *redistest.Server
//
//	func TestMain(m *testing.M) {
//		var err error
//		if srv, err = redistest.Start(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		srv.Close()
//		os.Exit(code)
//	}
//
// MINYUAN_TEST_REDIS_URL=redis://host:port/db points the tests at an existing server
// instead; it is never flushed, only written under fresh prefixes.
package redistest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the variable that points tests at an existing Redis.
const EnvURL = "MINYUAN_TEST_REDIS_URL"

// Server is a running redis-server (or the one EnvURL names).
type Server struct {
	url  string
	rdb  *redis.Client
	cmd  *exec.Cmd // nil for an external server
	done chan struct{}
	dir  string
	once sync.Once
}

// Start starts redis-server on a free 127.0.0.1 port with persistence off and its
// files in a temporary directory, and waits until it answers.
func Start() (*Server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return external(u)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server is not in PATH; install it (Redis 7) or set %s: %w", EnvURL, err)
	}
	dir, err := os.MkdirTemp("", "minyuan-redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	// The free port is found by binding and releasing it, so another process can take
	// it in between; try a few.
	for range 5 {
		s, retry, err := launch(bin, dir)
		if err == nil {
			return s, nil
		}
		if !retry {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	os.RemoveAll(dir)
	return nil, errors.New("redistest: no free port for redis-server after 5 tries")
}

func launch(bin, dir string) (s *Server, retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	logFile := filepath.Join(dir, "redis.log")
	os.Remove(logFile)
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile,
		"--daemonize", "no",
	)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("redistest: start %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()

	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	// One dial per probe: the loop below does the retrying, and the client's own
	// retries would only log "connection refused" while the server starts.
	rdb := newClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DialerRetries: 1, MaxRetries: -1})
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return &Server{url: url, rdb: rdb, cmd: cmd, done: done, dir: dir}, false, nil
		}
		select {
		case <-done:
			rdb.Close()
			log, _ := os.ReadFile(logFile)
			inUse := strings.Contains(string(log), "already in use")
			return nil, inUse, fmt.Errorf("redistest: redis-server exited: %s", tail(log))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			rdb.Close()
			log, _ := os.ReadFile(logFile)
			return nil, false, fmt.Errorf("redistest: redis-server did not answer PING within 10s: %v; log: %s", err, tail(log))
		}
	}
}

func external(u string) (*Server, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("redistest: %s: %w", EnvURL, err)
	}
	rdb := newClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redistest: %s does not answer: %w", EnvURL, err)
	}
	return &Server{url: u, rdb: rdb}, nil
}

// newClient makes a client without the version-dependent handshake extras (client
// identity, maintenance notifications) that older servers refuse noisily.
func newClient(opt *redis.Options) *redis.Client {
	opt.DisableIdentity = true
	return redis.NewClient(opt)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	if s == "" {
		return "(empty log)"
	}
	return s
}

// Owned reports whether Start launched this server, so a test may reconfigure it
// (CONFIG SET, ACL); an external server must be left as it is.
func (s *Server) Owned() bool { return s.cmd != nil }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return s.url }

// Client returns a new client for the server, closed when the test ends.
func (s *Server) Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	opt, err := redis.ParseURL(s.url)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	rdb := newClient(opt)
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// Keys lists the keys under prefix, sorted, so a test can check what it left behind
// (or that a refused operation left Redis unchanged).
func (s *Server) Keys(tb testing.TB, prefix string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	iter := s.rdb.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("redistest: scan %q: %v", prefix, err)
	}
	slices.Sort(keys)
	return keys
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close stops the server and removes its files; for an external server it only
// drops the connection.
func (s *Server) Close() {
	s.once.Do(func() {
		s.rdb.Close()
		if s.cmd == nil {
			return
		}
		s.cmd.Process.Kill()
		<-s.done
		os.RemoveAll(s.dir)
	})
}

var (
	// runID keeps prefixes apart across test binaries that share an external server,
	// and across runs against it.
	runID   = strings.ToLower(rand.Text()[:6])
	counter atomic.Int64
)

// Prefix returns a key prefix no other test (in this or another run) uses, so tests
// can share one server, in parallel too.
func Prefix(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("t%s.%d:", runID, counter.Add(1))
}

// Main is a package's TestMain: it starts the server into *srv, runs the tests and
// stops it, failing the whole package (never skipping it) when Redis cannot start.
//
//	var srv *redistest.Server
//	func TestMain(m *testing.M) { redistest.Main(m, &srv) }
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}
