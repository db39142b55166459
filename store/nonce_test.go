package store_test

import (
	"context"
	"testing"
	"time"

	"minyuan/store"
)

// A signed query seen by one replica is refused by another with a different body,
// and let through with the same body (the platform's retry).
func TestFreshIsSharedByReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	other := e.another(t, store.Options{})
	ctx := context.Background()
	key := "1732500060:1357924680:abc"
	for _, c := range []struct {
		st   *store.Store
		body string
		want bool
	}{
		{e.st, "<xml>a</xml>", true},
		{other, "<xml>a</xml>", true},
		{other, "<xml>b</xml>", false},
		{e.st, "<xml>b</xml>", false},
	} {
		got, err := c.st.Fresh(ctx, key, []byte(c.body), time.Minute)
		if err != nil || got != c.want {
			t.Fatalf("Fresh(%s) = %v, %v; want %v", c.body, got, err, c.want)
		}
	}
	if fresh, _ := e.st.Fresh(ctx, "another:query:sig", []byte("<xml>b</xml>"), time.Minute); !fresh {
		t.Fatal("another query was refused")
	}
	checkTTL(t, e, "nonce:"+key, time.Minute)
}
