package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Private is a redis-server of one test's own, for fault tests: it can be paused,
// killed and restarted on the same port with the same files. It always runs locally,
// whatever EnvURL says, on loopback only.
type Private struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// PrivateOptions shape a Private server.
type PrivateOptions struct {
	// AOF turns on the append-only file, synced every second, as production runs.
	AOF bool
	// Args are extra redis-server arguments ("--replicaof", "127.0.0.1", "6380").
	Args []string
	// Port, when not 0, is the port to use (for a replica to name it in advance).
	Port int
}

// StartPrivate starts a private redis-server; the test fails when it cannot.
func StartPrivate(tb testing.TB, opt PrivateOptions) *Private {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redistest: redis-server is not in PATH: %v", err)
	}
	port := opt.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			tb.Fatal(err)
		}
	}
	p := &Private{tb: tb, bin: bin, dir: tb.TempDir(), port: port}
	p.args = []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--dir", p.dir, "--logfile", filepath.Join(p.dir, "redis.log"), "--daemonize", "no"}
	if opt.AOF {
		p.args = append(p.args, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		p.args = append(p.args, "--appendonly", "no")
	}
	p.args = append(p.args, opt.Args...)
	p.Start()
	tb.Cleanup(p.stop)
	return p
}

// Port is the server's port.
func (p *Private) Port() int { return p.port }

// Addr is host:port.
func (p *Private) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// URL is the server's redis:// URL.
func (p *Private) URL() string { return "redis://" + p.Addr() + "/0" }

// Dir holds the server's files.
func (p *Private) Dir() string { return p.dir }

// Start (re)starts the server with its files and waits until it answers.
func (p *Private) Start() {
	p.tb.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatalf("redistest: start: %v", err)
	}
	done := make(chan struct{})
	cmd := p.cmd
	go func() { cmd.Wait(); close(done) }()
	p.done = done
	rdb := newClient(&redis.Options{Addr: p.Addr(), DialerRetries: 1, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(p.dir, "redis.log"))
			p.tb.Fatalf("redistest: redis-server exited: %s", tail(log))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("redistest: redis-server did not answer within 10s: %v", err)
		}
	}
}

// Pause stops the process (SIGSTOP): connections stay open, nothing is answered.
func (p *Private) Pause() { p.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (p *Private) Resume() { p.signal(syscall.SIGCONT) }

// Kill kills the server with SIGKILL and waits for it to be gone.
func (p *Private) Kill() {
	p.tb.Helper()
	p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *Private) signal(sig syscall.Signal) {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Client is a client for the server, closed when the test ends.
func (p *Private) Client() redis.UniversalClient {
	rdb := newClient(&redis.Options{Addr: p.Addr(), Protocol: 2, ContextTimeoutEnabled: true})
	p.tb.Cleanup(func() { rdb.Close() })
	return rdb
}

func (p *Private) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Private) String() string { return fmt.Sprintf("redis-server :%d", p.port) }
