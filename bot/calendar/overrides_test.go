package calendar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calendar.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOverrides(t *testing.T) {
	o, err := LoadOverrides("")
	if err != nil || len(o.Holidays)+len(o.Workdays) != 0 {
		t.Fatalf("empty path: %+v, %v", o, err)
	}
	o, err = LoadOverrides(writeFile(t, "# nothing yet\n"))
	if err != nil || len(o.Holidays)+len(o.Workdays) != 0 {
		t.Fatalf("empty file: %+v, %v", o, err)
	}
	o, err = LoadOverrides(writeFile(t, "holidays:\n  - 2028-01-03\n  - \"2028-01-04\"\nworkdays: [2028-01-08]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Holidays, ",") != "2028-01-03,2028-01-04" || strings.Join(o.Workdays, ",") != "2028-01-08" {
		t.Fatalf("got %+v", o)
	}
	c := New(o)
	if c.IsWorkday(at(t, "2028-01-03")) || !c.IsWorkday(at(t, "2028-01-08")) {
		t.Error("loaded overrides not applied")
	}

	bad := []struct {
		content, mention string
	}{
		{"holidays: [2028-01-03, 2028-02-30]\n", `holidays[1] "2028-02-30"`},
		{"holidays: [2028-1-3]\n", `holidays[0] "2028-1-3"`},
		{"workdays: [\"08/01/2028\"]\n", `workdays[0] "08/01/2028"`},
		{"holidays: [2028-01-08]\nworkdays: [2028-01-08]\n", `workdays[0] "2028-01-08" is also listed in holidays`},
		{"holiday: [2028-01-03]\n", "holiday"}, // misspelt key
		{"holidays: 2028-01-03\n", "line 1"},   // not a list
	}
	for _, tc := range bad {
		p := writeFile(t, tc.content)
		_, err := LoadOverrides(p)
		if err == nil {
			t.Errorf("%q accepted", tc.content)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: error %q does not mention %q and the path", tc.content, err, tc.mention)
		}
	}
	if _, err := LoadOverrides(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}
