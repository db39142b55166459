package redistest_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"minyuan/store/redistest"
)

func TestStartKeysClose(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.URL() == "redis://127.0.0.1:6379/0" {
		t.Fatal("tests must not use the default Redis")
	}
	rdb := srv.Client(t)
	ctx := context.Background()
	p1, p2 := redistest.Prefix(t), redistest.Prefix(t)
	if p1 == p2 {
		t.Fatalf("Prefix repeated %q", p1)
	}
	for _, k := range []string{p1 + "b", p1 + "a", p2 + "a", "t*x"} {
		if err := rdb.Set(ctx, k, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Keys(t, p1); !slices.Equal(got, []string{p1 + "a", p1 + "b"}) {
		t.Fatalf("Keys(%q) = %q", p1, got)
	}
	if got := srv.Keys(t, "t*"); !slices.Equal(got, []string{"t*x"}) {
		t.Fatalf("Keys(t*) = %q: glob characters must be literal", got)
	}
	if !srv.Owned() {
		return
	}
	srv.Close()
	srv.Close()
	probe := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "redis://"), "/0"), DialerRetries: 1, MaxRetries: -1})
	defer probe.Close()
	if err := probe.Ping(ctx).Err(); err == nil {
		t.Fatal("server still answers after Close")
	}
}

func TestExternalUnreachableFails(t *testing.T) {
	t.Setenv(redistest.EnvURL, "redis://127.0.0.1:1/0")
	srv, err := redistest.Start()
	if err == nil {
		srv.Close()
		t.Fatal("Start succeeded against nothing; tests would run without Redis")
	}
	t.Log(err)
}

func TestMissingBinaryFails(t *testing.T) {
	if os.Getenv(redistest.EnvURL) != "" {
		t.Setenv(redistest.EnvURL, "")
	}
	t.Setenv("PATH", t.TempDir())
	if srv, err := redistest.Start(); err == nil {
		srv.Close()
		t.Fatal("Start succeeded without redis-server in PATH")
	} else {
		t.Log(err)
	}
}
