package main

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// The compose file parses, runs Redis with persistence (appendonly, fsync every
// second, no eviction) and Minyuan with the commands this binary has.
func TestComposeFileParses(t *testing.T) {
	raw, err := os.ReadFile("../../configs/deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Environment map[string]string
			User        string
			Volumes     []string
		}
		Volumes map[string]any
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	redis, app := c.Services["redis"], c.Services["minyuan"]
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if len(redis.Volumes) == 0 || !strings.HasSuffix(redis.Volumes[0], ":/data") {
		t.Errorf("redis data is not on a volume: %v", redis.Volumes)
	}
	if len(app.Command) == 0 || app.Command[0] != "serve" || app.Environment["MINYUAN_REDIS_REQUIRE_PERSISTENCE"] != "true" ||
		app.Environment["MINYUAN_METRICS_ADDR"] == "" || app.User == "" || strings.HasPrefix(app.User, "0") {
		t.Errorf("minyuan service: %+v", app)
	}
	if _, err := parseCLI(app.Command); err != nil {
		t.Errorf("compose runs %v: %v", app.Command, err)
	}
}

// The systemd unit has its three sections, runs as a user of its own, and starts a
// command this binary has.
func TestSystemdUnitParses(t *testing.T) {
	f, err := os.Open("../../configs/deploy/minyuan.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string]map[string]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = line[1 : len(line)-1]
			sections[cur] = map[string]string{}
		case cur != "" && strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			sections[cur][k] = v
		default:
			t.Fatalf("line %d: not a section, key=value or comment: %q", n, line)
		}
	}
	for _, s := range []string{"Unit", "Service", "Install"} {
		if sections[s] == nil {
			t.Fatalf("no [%s] section", s)
		}
	}
	svc := sections["Service"]
	if svc["User"] == "" || svc["User"] == "root" || svc["Restart"] == "" {
		t.Errorf("service: %v", svc)
	}
	args := strings.Fields(svc["ExecStart"])
	if len(args) < 2 || !strings.HasSuffix(args[0], "/minyuan") {
		t.Fatalf("ExecStart %q", svc["ExecStart"])
	}
	if _, err := parseCLI(args[1:]); err != nil {
		t.Errorf("ExecStart %q: %v", svc["ExecStart"], err)
	}
}

// The Dockerfile builds in one stage and runs in a small one as a numeric non-root user.
func TestDockerfileRunsAsNonRoot(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms int
	var user string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms++
		case "USER":
			user = f[1]
		}
	}
	if froms != 2 || user == "" || strings.HasPrefix(user, "0") || user == "root" {
		t.Errorf("Dockerfile: %d stages, user %q", froms, user)
	}
}

// parseCLI parses args as minyuan's command line, without running anything.
func parseCLI(args []string) (string, error) {
	var cli CLI
	parser, err := kong.New(&cli, kong.Name("minyuan"), kong.Exit(func(int) {}))
	if err != nil {
		return "", err
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return "", err
	}
	return kctx.Command(), nil
}
