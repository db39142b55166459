package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"minyuan/bot"
	"minyuan/store"
	"minyuan/store/redistest"
)

func TestActivityCommands(t *testing.T) {
	prefix := redistest.Prefix(t)
	t.Setenv("MINYUAN_REDIS_URL", srv.URL())
	t.Setenv("MINYUAN_REDIS_PREFIX", prefix)
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")

	out, err := run(t, "activity", "add", "--community", "QY", "--title", "周六义务巡逻", "--start", day+" 09:00",
		"--end", day+" 11:00", "--place", "七一路", "--capacity", "2", "--weekly", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var added struct {
		No  string   `json:"no"`
		Nos []string `json:"nos"`
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.No == "" || len(added.Nos) != 3 || added.Nos[0] != added.No {
		t.Fatalf("add: %q %v", out, err)
	}

	// Three people sign up for the first occurrence: two places, one waitlisted.
	st := store.New(srv.Client(t), store.Options{Prefix: prefix})
	ctx := context.Background()
	a, err := st.Activity(ctx, added.No)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"o_1", "o_2", "o_3"} {
		if _, err := st.SaveVolunteer(ctx, bot.Volunteer{OpenID: id, Name: "志愿者" + id, Phone: "13800138000", Community: "QY"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SignUp(ctx, a, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	out, err = run(t, "activity", "show", added.No, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Capacity   int      `json:"capacity"`
		Confirmed  []string `json:"confirmed"`
		Waitlisted []string `json:"waitlisted"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Capacity != 2 ||
		!slices.Equal(shown.Confirmed, []string{"o_1", "o_2"}) || !slices.Equal(shown.Waitlisted, []string{"o_3"}) {
		t.Fatalf("show: %q %v", out, err)
	}
	// Each weekly occurrence has its own list, a week apart.
	b, _ := st.Activity(ctx, added.Nos[2])
	if b.Start.Sub(a.Start) != 14*24*time.Hour {
		t.Fatalf("third occurrence starts %v after the first", b.Start.Sub(a.Start))
	}
	if out, _ := run(t, "activity", "show", added.Nos[1], "--json"); !strings.Contains(out, `"confirmed":[]`) {
		t.Fatalf("second occurrence: %q", out)
	}

	// Bad input: refused with the catalogue's answer, nothing published.
	if _, err := run(t, "activity", "add", "--community", "QY", "--title", "x", "--start", "2020-01-01 09:00",
		"--end", "2020-01-01 10:00", "--place", "p", "--capacity", "3"); err == nil || !strings.Contains(err.Error(), "晚于现在") {
		t.Fatalf("past activity: %v", err)
	}
	if _, err := run(t, "activity", "add", "--community", "QY", "--title", "x", "--start", day+" 09:00",
		"--end", day+" 08:00", "--place", "p", "--capacity", "3"); err == nil {
		t.Fatal("end before start must be refused")
	}

	// Import: a second run of the same file publishes nothing new.
	file := filepath.Join(t.TempDir(), "acts.yaml")
	os.WriteFile(file, []byte("activities:\n  - {community: HX, title: 爱心超市值守, start: \""+day+" 14:00\", end: \""+day+" 16:00\", place: 和谐社区, capacity: 5}\n"), 0o600)
	out1, err := run(t, "activity", "import", file, "--json")
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := run(t, "activity", "import", file, "--json")
	if out1 != out2 || !strings.Contains(out1, `"nos":["`) {
		t.Fatalf("imports: %q then %q", out1, out2)
	}
	out, err = run(t, "activity", "list", "--community", "HX", "--json")
	if err != nil || strings.Count(out, `"title"`) != 1 {
		t.Fatalf("list: %q %v", out, err)
	}

	// Cancel: gone from the list of open activities' status.
	if out, err := run(t, "activity", "cancel", added.Nos[2], "--reason", "天气"); err != nil || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: %q %v", out, err)
	}
	if _, err := run(t, "activity", "cancel", added.Nos[2]); err == nil {
		t.Fatal("cancelling twice must be refused")
	}

	// Hours export: o_1 credited by 补签 for 1.5 h; a workbook with the summary and
	// an attendance sheet per activity.
	if _, err := st.Adjust(ctx, a, "o_1", 90, "o_staff", a.End, 10); err != nil {
		t.Fatal(err)
	}
	xlsx := filepath.Join(t.TempDir(), "hours.xlsx")
	out, err = run(t, "volunteers", "hours", "--from", day, "--to", day, "--community", "QY", "--xlsx", xlsx)
	if err != nil || !strings.Contains(out, "138****8000") || !strings.Contains(out, "1.5") {
		t.Fatalf("hours: %q %v", out, err)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 2 || sheets[0] != "志愿时长" || !strings.HasPrefix(sheets[1], added.No+" ") {
		t.Fatalf("sheets %v", sheets)
	}
	rows, _ := f.GetRows(sheets[1])
	if len(rows) != 6 || rows[3][8] != "补签" || rows[5][4] != "候补" {
		t.Fatalf("attendance sheet %q", rows)
	}
}
