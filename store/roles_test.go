package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

// clock is the injected time the tests move.
var t0 = time.Date(2025, 5, 6, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func TestCreateInvite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	inv, err := e.st.CreateInvite(ctx, bot.RoleStaff, "c1", "王芳", t0, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Code) != 8 || strings.Trim(inv.Code, "23456789ABCDEFGHJKMNPQRSTUVWXYZ") != "" {
		t.Fatalf("code %q: want 8 characters without look-alikes", inv.Code)
	}
	if inv.Role != bot.RoleStaff || inv.Community != "c1" || inv.Name != "王芳" || !inv.Created.Equal(t0) || !inv.Expires.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("invite = %+v", inv)
	}
	// Kept a week past expiry, to tell "expired" from "wrong".
	checkTTL(t, e, "invite:"+inv.Code, 72*time.Hour+7*24*time.Hour)

	codes := map[string]bool{inv.Code: true}
	for range 50 {
		inv, err := e.st.CreateInvite(ctx, bot.RoleParty, "c1", "", t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if codes[inv.Code] {
			t.Fatalf("code %s issued twice", inv.Code)
		}
		codes[inv.Code] = true
	}

	for _, tc := range []struct {
		name      string
		role      bot.Role
		community string
		ttl       time.Duration
	}{
		{"resident is not granted", bot.RoleResident, "c1", time.Hour},
		{"unknown role", "mayor", "c1", time.Hour},
		{"staff without community", bot.RoleStaff, "", time.Hour},
		{"community with separator", bot.RoleStaff, "a|b", time.Hour},
		{"no ttl", bot.RoleStaff, "c1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.st.CreateInvite(ctx, tc.role, tc.community, "x", t0, tc.ttl)
			if bot.ErrorCode(err) != bot.EInvalid {
				t.Fatalf("err = %v, want EInvalid", err)
			}
		})
	}
	if _, err := e.st.CreateInvite(ctx, bot.RoleAdmin, "", "区管理员", t0, time.Hour); err != nil {
		t.Fatalf("admin without community: %v", err)
	}
}

func TestRedeem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("bind once", func(t *testing.T) {
		e := newEnv(t, store.Options{})
		inv := mustInvite(t, e, bot.RoleStaff, "c1", "王芳", 72*time.Hour)
		now := t0.Add(time.Hour)
		g, err := e.st.Redeem(ctx, inv.Code, "o1", now)
		if err != nil {
			t.Fatal(err)
		}
		want := bot.Grant{OpenID: "o1", Role: bot.RoleStaff, Community: "c1", Name: "王芳", Granted: now}
		if !sameGrant(g, want) {
			t.Fatalf("grant = %+v, want %+v", g, want)
		}
		gs, err := e.st.Grants(ctx, "o1")
		if err != nil || len(gs) != 1 || !sameGrant(gs[0], want) {
			t.Fatalf("Grants = %+v, %v; want [%+v]", gs, err, want)
		}
		for _, who := range []string{"o1", "o2"} {
			if _, err := e.st.Redeem(ctx, inv.Code, who, now); bot.ErrorCode(err) != bot.EConflict {
				t.Fatalf("second use by %s: %v, want EConflict", who, err)
			}
		}
		if gs, _ := e.st.Grants(ctx, "o2"); len(gs) != 0 {
			t.Fatalf("o2 got %+v from a used code", gs)
		}
	})

	t.Run("case and spacing do not matter", func(t *testing.T) {
		e := newEnv(t, store.Options{})
		for i, typed := range []func(string) string{
			strings.ToLower,
			func(c string) string { return " " + strings.ToLower(c[:4]) + " " + c[4:] + " " },
			func(c string) string { return c[:4] + "-" + c[4:] },
		} {
			inv := mustInvite(t, e, bot.RoleParty, "c2", "", time.Hour)
			if _, err := e.st.Redeem(ctx, typed(inv.Code), fmt.Sprint("o", i), t0); err != nil {
				t.Errorf("%q for %q: %v", typed(inv.Code), inv.Code, err)
			}
		}
	})

	t.Run("expiry is judged by the clock passed in", func(t *testing.T) {
		e := newEnv(t, store.Options{})
		inv := mustInvite(t, e, bot.RoleStaff, "c1", "", 24*time.Hour)
		if _, err := e.st.Redeem(ctx, inv.Code, "late", inv.Expires); bot.ErrorCode(err) != bot.EExpired {
			t.Fatalf("at expiry: %v, want EExpired", err)
		}
		if _, err := e.st.Redeem(ctx, inv.Code, "early", inv.Expires.Add(-time.Millisecond)); err != nil {
			t.Fatalf("just before expiry: %v", err)
		}
	})

	t.Run("guessing is limited", func(t *testing.T) {
		e := newEnv(t, store.Options{BindFailWindow: 10 * time.Minute})
		inv := mustInvite(t, e, bot.RoleStaff, "c1", "", time.Hour)
		expired := mustInvite(t, e, bot.RoleStaff, "c1", "", time.Minute)
		for i, guess := range []string{"ABCDEFGH", "23456789", "not a code", "", expired.Code} {
			now := t0
			wantCode := bot.ENotFound
			if guess == expired.Code {
				now, wantCode = t0.Add(time.Hour), bot.EExpired
			}
			if _, err := e.st.Redeem(ctx, guess, "o1", now); bot.ErrorCode(err) != wantCode {
				t.Fatalf("guess %d %q: %v, want %s", i, guess, err, wantCode)
			}
		}
		checkTTL(t, e, "bindfails:o1", 10*time.Minute)
		before := srv.Keys(t, e.prefix)
		if _, err := e.st.Redeem(ctx, inv.Code, "o1", t0); bot.ErrorCode(err) != bot.ERateLimited {
			t.Fatalf("right code after 5 failures: %v, want ERateLimited", err)
		}
		if after := srv.Keys(t, e.prefix); !slices.Equal(before, after) {
			t.Fatalf("a refused redeem changed keys: %q -> %q", before, after)
		}
		// The refusal did not spend the code, and other users are not limited.
		if _, err := e.st.Redeem(ctx, inv.Code, "o2", t0); err != nil {
			t.Fatalf("another user with the same code: %v", err)
		}
	})

	t.Run("a success clears the failures", func(t *testing.T) {
		e := newEnv(t, store.Options{BindFailLimit: 2})
		inv := mustInvite(t, e, bot.RoleStaff, "c1", "", time.Hour)
		inv2 := mustInvite(t, e, bot.RoleParty, "c1", "", time.Hour)
		if _, err := e.st.Redeem(ctx, "WRONGXYZ", "o1", t0); bot.ErrorCode(err) != bot.ENotFound {
			t.Fatal(err)
		}
		if _, err := e.st.Redeem(ctx, inv.Code, "o1", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Redeem(ctx, "WRONGXYZ", "o1", t0); bot.ErrorCode(err) != bot.ENotFound {
			t.Fatal(err)
		}
		if _, err := e.st.Redeem(ctx, inv2.Code, "o1", t0); err != nil {
			t.Fatalf("limited although the count was cleared: %v", err)
		}
	})
}

func TestRevokeAndList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	for _, b := range []struct {
		openid    string
		role      bot.Role
		community string
		name      string
	}{
		{"o1", bot.RoleStaff, "c2", "乙"},
		{"o1", bot.RoleParty, "c2", "乙"},
		{"o2", bot.RoleStaff, "c1", "甲"},
		{"o3", bot.RoleStaff, "c2", "丙"},
		{"o4", bot.RoleAdmin, "", "区"},
	} {
		inv := mustInvite(t, e, b.role, b.community, b.name, time.Hour)
		if _, err := e.st.Redeem(ctx, inv.Code, b.openid, t0); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		t.Helper()
		gs, err := e.st.ListGrants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, fmt.Sprintf("%s/%s/%s/%s", g.Community, g.Role, g.Name, g.OpenID))
		}
		return out
	}
	want := []string{"/admin/区/o4", "c1/staff/甲/o2", "c2/party/乙/o1", "c2/staff/丙/o3", "c2/staff/乙/o1"}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("ListGrants = %q, want %q", got, want)
	}

	if err := e.st.Revoke(ctx, "o1", bot.RoleStaff, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Revoke(ctx, "o1", bot.RoleStaff, "c2"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("revoke twice: %v, want ENotFound", err)
	}
	if err := e.st.Revoke(ctx, "o2", bot.RoleStaff, "c9"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("revoke in another community: %v, want ENotFound", err)
	}
	gs, err := e.st.Grants(ctx, "o1")
	if err != nil || len(gs) != 1 || gs[0].Role != bot.RoleParty {
		t.Fatalf("Grants(o1) = %+v, %v; want the party grant only", gs, err)
	}
	if err := e.st.Revoke(ctx, "o1", bot.RoleParty, "c2"); err != nil {
		t.Fatal(err)
	}
	if gs, err := e.st.Grants(ctx, "o1"); len(gs) != 0 || err != nil {
		t.Fatalf("Grants(o1) = %+v, %v; want none", gs, err)
	}
	members, err := e.rdb.SMembers(ctx, e.prefix+"grantees").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(members)
	if !slices.Equal(members, []string{"o2", "o3", "o4"}) {
		t.Fatalf("index = %q: o1 should have left it with its last grant", members)
	}
	if got := list(); !slices.Equal(got, []string{"/admin/区/o4", "c1/staff/甲/o2", "c2/staff/丙/o3"}) {
		t.Fatalf("ListGrants after revoke = %q", got)
	}
}

func mustInvite(t *testing.T, e env, role bot.Role, community, name string, ttl time.Duration) bot.Invite {
	t.Helper()
	inv, err := e.st.CreateInvite(context.Background(), role, community, name, t0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func sameGrant(a, b bot.Grant) bool {
	return a.OpenID == b.OpenID && a.Role == b.Role && a.Community == b.Community && a.Name == b.Name && a.Granted.Equal(b.Granted)
}
