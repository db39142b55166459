package store_test

import (
	"context"
	"testing"

	"minyuan/bot"
	"minyuan/store"
)

func TestProfilePhoneIndexFollowsThePhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	p, err := e.st.Profile(ctx, "o1")
	if err != nil || p.OpenID != "o1" || p.Phone != "" {
		t.Fatalf("empty profile: %+v %v", p, err)
	}
	p.Phone, p.Community = "13800138000", "QY"
	if err := e.st.SaveProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if id, ok, _ := e.st.ByPhone(ctx, "13800138000"); !ok || id != "o1" {
		t.Fatalf("by phone: %q %v", id, ok)
	}
	p.Phone = "13900139000"
	if err := e.st.SaveProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.st.ByPhone(ctx, "13800138000"); ok {
		t.Fatal("the old phone must no longer point at o1")
	}
	// Another resident takes the old number over; o1 changing again must not unlink them.
	if err := e.st.SaveProfile(ctx, bot.Profile{OpenID: "o2", Phone: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	p.Phone = ""
	if err := e.st.SaveProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if id, ok, _ := e.st.ByPhone(ctx, "13800138000"); !ok || id != "o2" {
		t.Fatalf("o2's phone: %q %v", id, ok)
	}
	if _, ok, _ := e.st.ByPhone(ctx, "13900139000"); ok {
		t.Fatal("a cleared phone must be unindexed")
	}
	got, _ := e.st.Profile(ctx, "o1")
	if got.Community != "QY" {
		t.Fatalf("round trip: %+v", got)
	}
}
