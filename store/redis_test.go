package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"minyuan/store"
	"minyuan/store/redistest"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	rdb, err := store.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := store.New(rdb, store.Options{}).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{
		"redis://:s3cret@host:notaport/0",
		"http://:s3cret@host:6379",
		"redis-sentinel://:s3cret@h1:26379,h2:26379/0",           // no master
		"redis-sentinel://:s3cret@h1:26379/0?master=m&dbx=1",     // unknown parameter
		"redis-sentinel://:s3cret@h1/0?master=m",                 // no port
		"redis-sentinel://:s3cret@h1:26379/zero?master=mymaster", // bad db
	} {
		_, err := store.Connect(bad)
		if err == nil {
			t.Errorf("Connect(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Connect(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestCheckPersistence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(srv.Client(t), store.Options{})
	p, err := st.CheckPersistence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.Owned() {
		// An external server is not ours to reconfigure; all that can be checked is
		// that the answer is consistent.
		if p.OK != (len(p.Problems) == 0 && !p.Unknown) {
			t.Fatalf("inconsistent: %+v", p)
		}
		return
	}
	// The test server runs with --appendonly no.
	if p.OK || p.Unknown || p.AppendOnly != "no" || !strings.Contains(p.String(), "appendonly") {
		t.Fatalf("test server: %+v (%s); want not OK because of appendonly", p, p)
	}

	t.Run("configured for production", func(t *testing.T) {
		// A server of its own: reconfiguring the shared one would disturb other tests.
		own, err := redistest.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer own.Close()
		rdb := own.Client(t)
		set := func(kv ...string) {
			for i := 0; i < len(kv); i += 2 {
				if err := rdb.ConfigSet(ctx, kv[i], kv[i+1]).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		st := store.New(rdb, store.Options{})
		set("appendonly", "yes", "appendfsync", "everysec", "maxmemory-policy", "noeviction")
		if p, err := st.CheckPersistence(ctx); err != nil || !p.OK {
			t.Fatalf("= %+v, %v; want OK", p, err)
		}
		set("appendfsync", "no", "maxmemory-policy", "allkeys-lru")
		p, err := st.CheckPersistence(ctx)
		if err != nil || p.OK || p.Unknown || len(p.Problems) != 2 {
			t.Fatalf("= %+v, %v; want two problems", p, err)
		}
	})

	t.Run("CONFIG refused", func(t *testing.T) {
		// What managed Redis does: an ACL user without CONFIG.
		admin := srv.Client(t)
		user := strings.TrimSuffix(redistest.Prefix(t), ":") + "-noconfig"
		if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "+@all", "-config").Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
		opt, _ := redis.ParseURL(srv.URL())
		opt.Username, opt.Password = user, "pw"
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		p, err := store.New(rdb, store.Options{}).CheckPersistence(ctx)
		if err != nil || p.OK || !p.Unknown {
			t.Fatalf("= %+v, %v; want Unknown", p, err)
		}
		t.Log(p)
	})

	t.Run("Redis down", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		defer rdb.Close()
		if _, err := store.New(rdb, store.Options{}).CheckPersistence(ctx); err == nil {
			t.Fatal("no error from an unreachable server")
		}
	})
}

// What earlier versions kept and nothing reads any more (the hash of every user's
// last message) is dropped; the rest stays.
func TestDropRetired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	e.rdb.HSet(ctx, e.prefix+"seen", "oResident", 1732500000000)
	e.rdb.Set(ctx, e.prefix+"session:oResident", "{}", 0)
	if err := e.st.DropRetired(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, e.prefix); len(keys) != 1 || keys[0] != e.prefix+"session:oResident" {
		t.Fatalf("keys after: %q", keys)
	}
}
