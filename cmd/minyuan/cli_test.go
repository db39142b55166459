package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"minyuan/bot"
	"minyuan/store/redistest"
)

var srv *redistest.Server

// TestMain runs the tests, or, with MINYUAN_TEST_MAIN=1, is the minyuan command
// itself: the fault tests start `minyuan serve` as this binary (crash_test.go).
func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	redistest.Main(m, &srv)
}

// run parses args as the command line does and runs the command, with the sample
// config and the test's Redis given through the environment.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, kong.Name("minyuan"), kong.Exit(func(int) { t.Fatal("exit") }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(append([]string{"--config", "../../configs/minyuan.sample.yaml"}, args...))
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = kctx.Run(&Globals{Ctx: context.Background(), ConfigPath: cli.Config, Out: &out})
	return out.String(), err
}

func TestAdminCommandsShareConfigAndEnvironment(t *testing.T) {
	t.Setenv("MINYUAN_REDIS_URL", srv.URL())
	t.Setenv("MINYUAN_REDIS_PREFIX", redistest.Prefix(t))

	out, err := run(t, "invite", "--role", "staff", "--community", "QY", "--name", "王芳", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var inv bot.Invite
	if err := json.Unmarshal([]byte(out), &inv); err != nil || len(inv.Code) != 8 || inv.Role != bot.RoleStaff {
		t.Fatalf("invite: %q %v", out, err)
	}
	if _, err := run(t, "invite", "--role", "staff", "--community", "NOPE", "--name", "x"); err == nil ||
		!strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("unknown community: %v", err)
	}
	if _, err := run(t, "invite", "--role", "mayor", "--community", "QY", "--name", "x"); err == nil {
		t.Fatal("an unknown role must be refused")
	}
	// Nobody has bound yet.
	if out, err := run(t, "roles", "list", "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("roles list: %q %v", out, err)
	}
	for _, args := range [][]string{
		{"outbox", "dead", "--json"},
		{"outbox", "stats"},
		{"callbacks", "list", "--community", "QY", "--json"},
		{"tickets", "list", "--json"},
	} {
		if _, err := run(t, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, err := run(t, "outbox", "replay"); err == nil {
		t.Error("replay needs an ID or --all")
	}
}
