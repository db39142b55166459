package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

// grantAll redeems one invite per grant.
func grantAll(t testing.TB, st *store.Store, gs []bot.Grant) {
	t.Helper()
	ctx := context.Background()
	for _, g := range gs {
		inv, err := st.CreateInvite(ctx, g.Role, g.Community, g.Name, t0, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Redeem(ctx, inv.Code, g.OpenID, t0); err != nil {
			t.Fatal(err)
		}
	}
}

// holders lists Holders(role, community) as "community/role/name/openid", in the
// order it gives them (by community, role, then name in code-point order: 乙 < 甲).
func holders(t *testing.T, st *store.Store, role bot.Role, community string) []string {
	t.Helper()
	gs, err := st.Holders(context.Background(), role, community)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, g := range gs {
		if !g.Granted.Equal(t0) {
			t.Errorf("grant %+v: granted %v, want %v", g, g.Granted, t0)
		}
		out = append(out, fmt.Sprintf("%s/%s/%s/%s", g.Community, g.Role, g.Name, g.OpenID))
	}
	return out
}

func TestHolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	grantAll(t, e.st, []bot.Grant{
		{OpenID: "o1", Role: bot.RoleStaff, Community: "c1", Name: "甲"},
		{OpenID: "o2", Role: bot.RoleStaff, Community: "c1", Name: "乙"},
		{OpenID: "o2", Role: bot.RoleStaff, Community: "c2", Name: "乙"},
		{OpenID: "o3", Role: bot.RoleSecretary, Community: "c1", Name: "丙"},
		{OpenID: "o4", Role: bot.RoleParty, Community: "c1", Name: "丁"},
		{OpenID: "o5", Role: bot.RoleAdmin, Community: "", Name: "区"},
		{OpenID: "o6", Role: bot.RoleAdmin, Community: "c2", Name: "街道"},
	})
	cases := []struct {
		role      bot.Role
		community string
		want      []string
	}{
		{bot.RoleStaff, "c1", []string{"c1/staff/乙/o2", "c1/staff/甲/o1"}},
		{bot.RoleStaff, "c2", []string{"c2/staff/乙/o2"}},
		{bot.RoleStaff, "c9", []string{}},
		{bot.RoleStaff, "", []string{"c1/staff/乙/o2", "c1/staff/甲/o1", "c2/staff/乙/o2"}},
		{bot.RoleSecretary, "c1", []string{"c1/secretary/丙/o3"}},
		{bot.RoleParty, "c2", []string{}},
		// Admins hold every community, but only as admins.
		{bot.RoleAdmin, "c1", []string{"/admin/区/o5", "c2/admin/街道/o6"}},
		{bot.RoleAdmin, "", []string{"/admin/区/o5", "c2/admin/街道/o6"}},
	}
	check := func(when string) {
		t.Helper()
		for _, c := range cases {
			if got := holders(t, e.st, c.role, c.community); !slices.Equal(got, c.want) {
				t.Errorf("%s: Holders(%s, %q) = %q, want %q", when, c.role, c.community, got, c.want)
			}
		}
	}
	check("after grants")

	// A grant made again (a second invite for the same role) replaces the first.
	grantAll(t, e.st, []bot.Grant{{OpenID: "o1", Role: bot.RoleStaff, Community: "c1", Name: "甲二"}})
	cases[0].want = []string{"c1/staff/乙/o2", "c1/staff/甲二/o1"}
	cases[3].want = []string{"c1/staff/乙/o2", "c1/staff/甲二/o1", "c2/staff/乙/o2"}
	check("after a grant made twice")

	if err := e.st.Revoke(ctx, "o2", bot.RoleStaff, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Revoke(ctx, "o6", bot.RoleAdmin, "c2"); err != nil {
		t.Fatal(err)
	}
	cases[0].want = []string{"c1/staff/甲二/o1"}
	cases[3].want = []string{"c1/staff/甲二/o1", "c2/staff/乙/o2"}
	cases[6].want = []string{"/admin/区/o5"}
	cases[7].want = []string{"/admin/区/o5"}
	check("after revokes")

	// A second replica reads the same index.
	if got := holders(t, e.another(t, store.Options{}), bot.RoleStaff, "c1"); !slices.Equal(got, cases[0].want) {
		t.Errorf("another replica: %q, want %q", got, cases[0].want)
	}
}

// Grants made before the index existed (by an older Minyuan) are indexed on first
// use, and the index then follows grants and revocations.
func TestHoldersBuiltFromOldGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	// What an older Redeem left: the grants hash and the grant index, nothing else.
	for _, g := range []bot.Grant{
		{OpenID: "o1", Role: bot.RoleStaff, Community: "c1", Name: "甲", Granted: t0},
		{OpenID: "o1", Role: bot.RoleParty, Community: "c1", Name: "甲", Granted: t0},
		{OpenID: "o2", Role: bot.RoleStaff, Community: "c1", Name: "乙", Granted: t0},
		{OpenID: "o3", Role: bot.RoleAdmin, Name: "区", Granted: t0},
	} {
		raw, _ := json.Marshal(g)
		if err := e.rdb.HSet(ctx, e.prefix+"grants:"+g.OpenID, string(g.Role)+"|"+g.Community, raw).Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.SAdd(ctx, e.prefix+"grantees", g.OpenID).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := holders(t, e.st, bot.RoleStaff, "c1"), []string{"c1/staff/乙/o2", "c1/staff/甲/o1"}; !slices.Equal(got, want) {
		t.Fatalf("old grants: Holders = %q, want %q", got, want)
	}
	if got, want := holders(t, e.st, bot.RoleAdmin, "c1"), []string{"/admin/区/o3"}; !slices.Equal(got, want) {
		t.Fatalf("old admin: Holders = %q, want %q", got, want)
	}
	if err := e.st.Revoke(ctx, "o1", bot.RoleStaff, "c1"); err != nil {
		t.Fatal(err)
	}
	grantAll(t, e.st, []bot.Grant{{OpenID: "o4", Role: bot.RoleStaff, Community: "c1", Name: "丁"}})
	// A replica started now finds the index built and does not rebuild it over the
	// revocation.
	if got, want := holders(t, e.another(t, store.Options{}), bot.RoleStaff, "c1"), []string{"c1/staff/丁/o4", "c1/staff/乙/o2"}; !slices.Equal(got, want) {
		t.Fatalf("after revoke and grant: Holders = %q, want %q", got, want)
	}
	if got, want := holders(t, e.st, bot.RoleParty, ""), []string{"c1/party/甲/o1"}; !slices.Equal(got, want) {
		t.Fatalf("party: Holders = %q, want %q", got, want)
	}
}

// BenchmarkStaffAlertLookup compares the two ways of finding whom a staff alert goes
// to, side by side in one run: reading every grant and filtering (what the handlers
// did) and reading the holders index. "others" are the party members and volunteers
// granted besides the community's 5 staff; the index's cost should not move with them.
//
//	go test ./store -run '^$' -bench StaffAlertLookup
func BenchmarkStaffAlertLookup(b *testing.B) {
	ctx := context.Background()
	for _, others := range []int{0, 700} {
		e := newEnv(b, store.Options{})
		var gs []bot.Grant
		for i := range 5 {
			gs = append(gs, bot.Grant{OpenID: fmt.Sprintf("staff%d", i), Role: bot.RoleStaff, Community: "c1", Name: "员"})
		}
		for i := range others {
			// 500 party members and 200 volunteers, over 10 communities. Volunteers
			// hold no role of their own yet: a hotline grant stands in for theirs.
			role := bot.RoleParty
			if i >= 500 {
				role = bot.RoleHotline
			}
			gs = append(gs, bot.Grant{OpenID: fmt.Sprintf("p%d", i), Role: role, Community: fmt.Sprintf("c%d", i%10), Name: "员"})
		}
		grantAll(b, e.st, gs)
		if _, err := e.st.Holders(ctx, bot.RoleStaff, "c1"); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("others=%d/all-grants", others), func(b *testing.B) {
			for b.Loop() {
				all, err := e.st.ListGrants(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for _, g := range all {
					if g.Role == bot.RoleStaff && g.Community == "c1" {
						n++
					}
				}
				if n != 5 {
					b.Fatalf("found %d staff", n)
				}
			}
		})
		b.Run(fmt.Sprintf("others=%d/holders", others), func(b *testing.B) {
			for b.Loop() {
				gs, err := e.st.Holders(ctx, bot.RoleStaff, "c1")
				if err != nil {
					b.Fatal(err)
				}
				if len(gs) != 5 {
					b.Fatalf("found %d staff", len(gs))
				}
			}
		})
	}
}

// Desk reads a community's secretaries, staff and who is on duty together, and
// nothing of other communities.
func TestDesk(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.Options{})
	ctx := context.Background()
	grantAll(t, e.st, []bot.Grant{
		{OpenID: "o1", Role: bot.RoleStaff, Community: "c1", Name: "甲"},
		{OpenID: "o2", Role: bot.RoleStaff, Community: "c2", Name: "乙"},
		{OpenID: "o3", Role: bot.RoleSecretary, Community: "c1", Name: "丙"},
		{OpenID: "o4", Role: bot.RoleParty, Community: "c1", Name: "丁"},
	})
	if err := e.st.SetOnDuty(ctx, "o1", []string{"c1"}, true); err != nil {
		t.Fatal(err)
	}
	secs, staff, duty, err := e.st.Desk(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 1 || secs[0].OpenID != "o3" || len(staff) != 1 || staff[0].OpenID != "o1" || !slices.Equal(duty, []string{"o1"}) {
		t.Fatalf("desk of c1: secretaries %+v, staff %+v, on duty %v", secs, staff, duty)
	}
	if secs, staff, duty, err := e.st.Desk(ctx, "c3"); err != nil || len(secs)+len(staff)+len(duty) != 0 {
		t.Fatalf("desk of an empty community: %+v %+v %v %v", secs, staff, duty, err)
	}
}
