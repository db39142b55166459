package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

// The party commands make tasks once per event, and tasks list/show print them with
// the fields scripts rely on.
func TestPartyAndTasksCommands(t *testing.T) {
	prefix := redistest.Prefix(t)
	t.Setenv("MINYUAN_REDIS_URL", srv.URL())
	t.Setenv("MINYUAN_REDIS_PREFIX", prefix)
	t.Setenv("MINYUAN_WECHAT_TOKEN", "tok")
	t.Setenv("MINYUAN_WECHAT_APP_ID", "wxtest")
	t.Setenv("MINYUAN_WECHAT_APP_SECRET", "secret")
	t.Setenv("MINYUAN_VISITS_AUTO_ASSIGN_AFTER", "0s")
	ctx := context.Background()
	st := store.New(srv.Client(t), store.Options{Prefix: prefix})
	for id, name := range map[string]string{"m1": "李建国", "m2": "王红"} {
		inv, err := st.CreateInvite(ctx, bot.RoleParty, "QY", name, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Redeem(ctx, inv.Code, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	first, err := run(t, "party", "transfer-in", "--community", "QY", "--name", "王建军", "--address", "幸福里3栋")
	if err != nil || !strings.Contains(first, "created") {
		t.Fatalf("transfer-in: %q %v", first, err)
	}
	again, err := run(t, "party", "transfer-in", "--community", "QY", "--name", "王建军")
	if err != nil || !strings.Contains(again, "already exists") {
		t.Fatalf("the same transfer twice: %q %v", again, err)
	}
	if _, err := run(t, "party", "transfer-in", "--community", "NOPE", "--name", "x"); err == nil {
		t.Fatal("an unknown community was accepted")
	}
	out, err := run(t, "party", "pair", "--member", "李建国", "--kind", "孤寡老人", "--person", "赵奶奶", "--address", "幸福里5栋")
	if err != nil || !strings.Contains(out, "P1") {
		t.Fatalf("pair: %q %v", out, err)
	}
	if _, err := run(t, "party", "pair", "--member", "李建国", "--kind", "村长", "--person", "x"); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	if _, err := run(t, "party", "pair", "--member", "无名氏", "--kind", "残疾人", "--person", "x"); err == nil {
		t.Fatal("an unknown member was accepted")
	}
	out, err = run(t, "tasks", "list", "--community", "QY", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("list: %q %v", out, err)
	}
	for _, f := range []string{"number", "kind", "trigger", "assignee", "deadline", "status"} {
		if _, ok := rows[0][f]; !ok {
			t.Fatalf("list row lacks %q: %v", f, rows[0])
		}
	}
	if rows[0]["trigger"] != "transfer_in" || rows[1]["trigger"] != "pairing" || rows[1]["assignee"] != "m1" || rows[1]["kind"] != "elderly_alone" {
		t.Fatalf("rows %v", rows)
	}
	out, _ = run(t, "tasks", "list", "--member", "m1", "--status", "assigned", "--json")
	var mine []map[string]any
	json.Unmarshal([]byte(out), &mine)
	for _, r := range mine {
		if r["assignee"] != "m1" {
			t.Fatalf("--member m1 listed %v", r)
		}
	}
	if out, _ := run(t, "tasks", "list", "--status", "done", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("done: %q", out)
	}
	if _, err := run(t, "tasks", "list", "--status", "later"); err == nil {
		t.Fatal("a bad status was accepted")
	}
	out, err = run(t, "tasks", "show", rows[0]["number"].(string))
	if err != nil || !strings.Contains(out, "王建军") || !strings.Contains(out, "created") {
		t.Fatalf("show: %q %v", out, err)
	}
	if _, err := run(t, "tasks", "show", "99999"); err == nil {
		t.Fatal("a missing task was shown")
	}
	if out, err := run(t, "party", "unpair", "P1"); err != nil || !strings.Contains(out, "ended") {
		t.Fatalf("unpair: %q %v", out, err)
	}
}
