package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
)

// keysMentioning scans every key of the test's prefix, names and values of every
// type, for any of needles: the test's own reading of Redis, apart from the store.
func keysMentioning(t *testing.T, rdb redis.UniversalClient, prefix string, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		vals := []string{key}
		switch rdb.Type(ctx, key).Val() {
		case "string":
			vals = append(vals, rdb.Get(ctx, key).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				vals = append(vals, f, v)
			}
		case "list":
			vals = append(vals, rdb.LRange(ctx, key, 0, -1).Val()...)
		case "set":
			vals = append(vals, rdb.SMembers(ctx, key).Val()...)
		case "zset":
			vals = append(vals, rdb.ZRange(ctx, key, 0, -1).Val()...)
		case "stream":
			for _, m := range rdb.XRange(ctx, key, "-", "+").Val() {
				raw, _ := json.Marshal(m.Values)
				vals = append(vals, string(raw))
			}
		}
	found:
		for _, v := range vals {
			for _, n := range needles {
				if strings.Contains(v, n) {
					out = append(out, key+" holds "+n)
					break found
				}
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A resident's request through chat, then 详情 by four kinds of staff (the phone in
// full only for the handler and the secretary, and each read in the audit log),
// then forget: afterwards no key holds their phone, openid or what they wrote, the
// ticket stays (anonymous) and the report's totals are the same.
func TestForgetLeavesNoTraceAndKeepsTheCounts(t *testing.T) {
	rdb := srv.Client(t)
	d := startDemo(t, app.DemoOptions{Redis: rdb})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	l.at(2026, 12, 1, 10, 0)
	l.grant(bot.RoleStaff, "QY", "李明", "o_colleague")
	l.grant(bot.RoleSecretary, "QY", "赵书记", "o_sec")
	l.grant(bot.RoleAdmin, "QY", "区民政局", "o_admin")
	const phone = "13912345678"
	texts := []string{"隔壁装修噪音扰民每晚到十一点", "今晚又开始敲墙声音很大", "还是很吵没有解决"}
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	no := l.file(app.DemoResident, "矛盾纠纷", texts[0], phone)
	l.expect(app.DemoStaff, "接单 "+no, phone) // the handler sees the number to call
	l.expect(app.DemoResident, "补充 "+no+" "+texts[1], no)
	l.say(app.DemoStaff, "回复 "+no+" 已联系物业协调")
	l.say(app.DemoStaff, "办结 "+no+" 已协调装修时间")
	l.say(app.DemoResident, "不满意 "+texts[2])

	for who, full := range map[string]bool{app.DemoStaff: true, "o_sec": true, "o_colleague": false, "o_admin": false} {
		got := l.say(who, "详情 "+no)
		if strings.Contains(got, phone) != full || (!full && !strings.Contains(got, "139****5678")) {
			t.Errorf("详情 for %s (full number: %v): %q", who, full, got)
		}
	}
	var audit bytes.Buffer
	if err := app.WriteAudit(ctx, &audit, d.App.Store, bot.AuditQuery{Ticket: no, Action: bot.AuditDetail}, true); err != nil {
		t.Fatal(err)
	}
	var lines []bot.AuditEntry
	if err := json.Unmarshal(audit.Bytes(), &lines); err != nil {
		t.Fatal(err)
	}
	readers := map[string]bool{}
	for _, e := range lines {
		readers[e.Actor] = true
		if e.At.IsZero() {
			t.Errorf("an audit line without a time: %+v", e)
		}
	}
	if len(lines) != 4 || !readers["o_colleague"] || !readers["o_admin"] || !readers[app.DemoStaff] || !readers["o_sec"] {
		t.Errorf("audit of 详情: %s", audit.String())
	}

	report := func() string {
		r, err := app.BuildReport(ctx, d.Config, catalog(t), d.App.Store, app.ReportRequest{From: "2026-12-01", To: "2026-12-31", Now: d.Clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		r.Generated = time.Time{}
		var b bytes.Buffer
		if err := app.WriteReport(&b, r, catalog(t), "json"); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before := report()
	if !strings.Contains(before, `"received": 1`) {
		t.Fatalf("the report before: %s", before)
	}
	needles := append([]string{app.DemoResident, phone}, texts...)
	prefix := d.Config.Redis.Prefix
	if got := keysMentioning(t, rdb, prefix, needles); len(got) == 0 {
		t.Fatal("the test looks for nothing: the resident's data should be in Redis before forget")
	}

	var out bytes.Buffer
	if err := app.Forget(ctx, &out, d.App.Privacy, app.DemoResident, d.Clock.Now()); err != nil {
		t.Fatalf("forget: %v (%s)", err, out.String())
	}
	if !strings.Contains(out.String(), "1 ticket(s) erased ("+no+")") {
		t.Errorf("forget says %q", out.String())
	}
	if left := keysMentioning(t, rdb, prefix, needles); len(left) > 0 {
		t.Errorf("after forget, keys still hold the resident's data:\n%s", strings.Join(left, "\n"))
	}
	if after := report(); after != before {
		t.Errorf("the report changed:\nbefore %s\nafter %s", before, after)
	}
	tk, err := d.App.Store.Ticket(ctx, no)
	if err != nil || tk.Rating == "" && tk.Status == "" || tk.Erased.IsZero() || tk.Category != "dispute" {
		t.Errorf("the erased ticket: %+v %v", tk, err)
	}
	if got := l.say(app.DemoStaff, "详情 "+no); !strings.Contains(got, "个人信息已按规定删除") {
		t.Errorf("详情 of an erased ticket: %q", got)
	}
	audit.Reset()
	if err := app.WriteAudit(ctx, &audit, d.App.Store, bot.AuditQuery{Action: bot.AuditForget}, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(audit.String(), "forget") || !strings.Contains(audit.String(), no) ||
		!strings.Contains(audit.String(), d.App.Privacy.Names.Of(app.DemoResident)) || strings.Contains(audit.String(), app.DemoResident) {
		t.Errorf("the forget audit line: %s", audit.String())
	}
	// Staff are not residents: forget refuses someone who holds a role.
	if err := app.Forget(ctx, &out, d.App.Privacy, "o_colleague", d.Clock.Now()); bot.ErrorCode(err) != bot.EConflict {
		t.Errorf("forget of a staff member: %v", err)
	}
}

// The retention erases the personal data of tickets closed longer ago, once, with
// an audit line each, and leaves newer ones.
func TestRetentionExpiresOldClosedTickets(t *testing.T) {
	rdb := srv.Client(t)
	d := startDemo(t, app.DemoOptions{Redis: rdb})
	ctx := context.Background()
	now := d.Clock.Now()
	mk := func(closedAgo time.Duration, key, desc string) string {
		created := now.Add(-closedAgo - 48*time.Hour)
		tk, err := d.App.Store.Create(ctx, &bot.Ticket{Community: "QY", Category: "other", Source: "wechat", OpenID: "o_old",
			Description: desc, Phone: "13700000001", Status: bot.StatusNew, Created: created, SignBy: created.Add(24 * time.Hour),
			DueBy: created.Add(240 * time.Hour)}, "ret-"+key, bot.Event{At: created, Actor: "o_old", Kind: bot.EventCreated, Text: desc})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.App.Store.Update(ctx, tk.No, func(x *bot.Ticket) ([]bot.Event, error) {
			x.Status, x.Closed, x.Claimed, x.Result = bot.StatusClosed, now.Add(-closedAgo), created, "已处理"
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return tk.No
	}
	old := mk(731*24*time.Hour, "old", "两年前的旧诉求内容")
	recent := mk(30*24*time.Hour, "recent", "上个月的诉求内容")
	// A call-back task about the old ticket (its reply could not be delivered) holds
	// the number to ring and the words to say: they go with the ticket's.
	if _, _, err := d.App.Store.CreateCallback(ctx, &bot.Callback{ID: "push:ret-old", OpenID: "o_old", Phone: "13700000001",
		Community: "QY", Ref: old, Text: "两年前答复的内容", Reason: "unsubscribed", Created: now.Add(-731 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Visit tasks: one done two years ago, one done last month, one still open.
	visit := func(event string, doneAgo time.Duration, name, report string) string {
		start := now.Add(-doneAgo - 72*time.Hour)
		v, _, err := d.App.Store.CreateVisit(ctx, &bot.Visit{Community: "QY", Trigger: bot.TriggerIllness, Kind: bot.VisitIllness,
			Event: event, Person: bot.Person{Name: name, Address: "幸福里5栋", Phone: "13700000002"}, Reason: name + "住院",
			Status: bot.VisitAssigned, Assignee: "o_member", AssigneeName: "李建国", Created: start, Deadline: start.Add(96 * time.Hour)},
			bot.VisitEvent{At: start, Actor: "system", Kind: "created"})
		if err != nil {
			t.Fatal(err)
		}
		if doneAgo > 0 {
			_, err = d.App.Store.UpdateVisit(ctx, v.No, func(x *bot.Visit) ([]bot.VisitEvent, error) {
				x.Status, x.Done, x.Report = bot.VisitDone, now.Add(-doneAgo), report
				return []bot.VisitEvent{{At: x.Done, Actor: "o_member", Kind: "done", Text: report}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return v.No
	}
	oldVisit := visit("ret-visit-old", 731*24*time.Hour, "钱大爷", "两年前看望钱大爷的记录")
	visit("ret-visit-recent", 30*24*time.Hour, "孙奶奶", "上个月看望孙奶奶的记录")
	visit("ret-visit-open", 0, "周阿姨", "")
	p := d.App.Privacy
	if p.Retention != 730*24*time.Hour {
		t.Fatalf("default retention %v", p.Retention)
	}
	var out bytes.Buffer
	if err := app.Expire(ctx, &out, p, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 closed ticket(s)") || !strings.Contains(out.String(), old) {
		t.Errorf("expire says %q", out.String())
	}
	if got := keysMentioning(t, rdb, d.Config.Redis.Prefix, []string{"两年前的旧诉求内容", "两年前答复的内容"}); len(got) > 0 {
		t.Errorf("the expired ticket's text is still kept: %v", got)
	}
	if cbs, err := d.App.Store.CallbacksOf(ctx, old); err != nil || len(cbs) != 1 || cbs[0].Phone != "" || cbs[0].OpenID != "" {
		t.Errorf("the expired ticket's call-back task: %+v, %v", cbs, err)
	}
	if got := keysMentioning(t, rdb, d.Config.Redis.Prefix, []string{"钱大爷", "13700000002"}); len(got) != 2 {
		// The recent and the open visit keep the phone; nothing keeps the old one's name.
		t.Errorf("after expire, keys mentioning the old visit's person or the phone: %v", got)
	}
	for _, name := range []string{"孙奶奶", "周阿姨"} {
		if got := keysMentioning(t, rdb, d.Config.Redis.Prefix, []string{name}); len(got) == 0 {
			t.Errorf("a visit task within the retention lost %s", name)
		}
	}
	if v, err := d.App.Store.Visit(ctx, oldVisit); err != nil || v.Erased.IsZero() || v.Status != bot.VisitDone || v.AssigneeName != "李建国" {
		t.Errorf("the expired visit task: %+v, %v", v, err)
	}
	if got := keysMentioning(t, rdb, d.Config.Redis.Prefix, []string{"上个月的诉求内容"}); len(got) == 0 {
		t.Error("a recent ticket was erased")
	}
	nos, err := p.Expire(ctx, bot.SystemActor, now)
	if err != nil || len(nos) != 0 {
		t.Errorf("a second run erased %v (%v)", nos, err)
	}
	es, _ := d.App.Store.AuditEntries(ctx, bot.AuditQuery{Action: bot.AuditExpire})
	var ticketLines, visitLines int
	for _, e := range es {
		if e.Ticket == old {
			ticketLines++
		}
		if strings.Contains(e.Detail, "visit task "+oldVisit+" ") {
			visitLines++
		}
	}
	if len(es) != 2 || ticketLines != 1 || visitLines != 1 {
		t.Errorf("expire audit lines: %+v", es)
	}
	if tk, _ := d.App.Store.Ticket(ctx, recent); tk == nil || !tk.Erased.IsZero() || tk.Description == "" {
		t.Errorf("the recent ticket: %+v", tk)
	}
}
