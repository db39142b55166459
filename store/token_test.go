package store_test

import (
	"context"
	"testing"
	"time"

	"minyuan/store"
)

func TestAccessTokenStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	other := e.another(t, store.Options{})
	ctx := context.Background()
	const app = "wxapp"

	if tok, err := e.st.AccessToken(ctx, app); err != nil || tok != "" {
		t.Fatalf("cold AccessToken = %q, %v", tok, err)
	}
	unlock, ok, err := e.st.LockAccessToken(ctx, app, time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lock: %v, %v", ok, err)
	}
	if _, ok, _ := other.LockAccessToken(ctx, app, time.Minute); ok {
		t.Fatal("second replica got the lock too")
	}
	if err := e.st.SetAccessToken(ctx, app, "T1", time.Hour); err != nil {
		t.Fatal(err)
	}
	unlock()
	unlock() // idempotent
	if _, ok, _ := other.LockAccessToken(ctx, app, time.Minute); !ok {
		t.Fatal("lock not released")
	}
	checkTTL(t, e, "token:"+app, time.Hour)
	if tok, _ := other.AccessToken(ctx, app); tok != "T1" {
		t.Fatalf("other replica reads %q", tok)
	}

	// Compare-and-delete: a stale refusal leaves a newer token alone.
	if dropped, err := other.InvalidateAccessToken(ctx, app, "T0", time.Minute); err != nil || dropped {
		t.Fatalf("Invalidate(stale) = %v, %v", dropped, err)
	}
	if dropped, err := other.InvalidateAccessToken(ctx, app, "T1", time.Minute); err != nil || !dropped {
		t.Fatalf("Invalidate(current) = %v, %v", dropped, err)
	}
	if dropped, _ := e.st.InvalidateAccessToken(ctx, app, "T1", time.Minute); dropped {
		t.Fatal("second Invalidate dropped again")
	}
	if tok, _ := e.st.AccessToken(ctx, app); tok != "" {
		t.Fatalf("token after invalidate: %q", tok)
	}
	if rej, _ := e.st.RejectedAccessToken(ctx, app); rej != "T1" {
		t.Fatalf("rejected = %q", rej)
	}

	if ok, _ := e.st.AllowForceRefresh(ctx, app, time.Minute); !ok {
		t.Fatal("first force refused")
	}
	if ok, _ := other.AllowForceRefresh(ctx, app, time.Minute); ok {
		t.Fatal("second force within the gap allowed")
	}
	if err := e.st.SetAccessToken(ctx, app, "T", 0); err == nil {
		t.Fatal("token without lifetime stored")
	}
}
