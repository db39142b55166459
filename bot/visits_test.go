package bot_test

import (
	"context"

	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/store"
	"minyuan/store/redistest"
)

// pushLog records pushes, as the outbox would queue them (one per ID).
type pushLog struct {
	mu  sync.Mutex
	ids map[string]bool
	all []bot.Push
}

func (p *pushLog) Push(_ context.Context, x bot.Push) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	if !p.ids[x.ID] {
		p.ids[x.ID] = true
		p.all = append(p.all, x)
	}
	return nil
}

func (p *pushLog) to(openid string) []bot.Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []bot.Push
	for _, x := range p.all {
		if x.To == openid {
			out = append(out, x)
		}
	}
	return out
}

type visitEnv struct {
	svc    *bot.VisitService
	st     *store.Store
	pushes *pushLog
	grants map[string]bot.Grant
}

var cst = calendar.Location()

// newVisitEnv is a branch QY with a secretary, three party members and an
// admin, and a branch HX with its own secretary and member.
func newVisitEnv(t *testing.T, cfg bot.VisitConfig) *visitEnv {
	t.Helper()
	ctx := context.Background()
	st := store.New(srv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	cat, err := bot.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	e := &visitEnv{st: st, pushes: &pushLog{}, grants: map[string]bot.Grant{}}
	now := time.Now()
	for _, p := range []struct {
		id, name, community string
		role                bot.Role
	}{
		{"sec", "刘书记", "QY", bot.RoleSecretary},
		{"m1", "李建国", "QY", bot.RoleParty},
		{"m2", "王红", "QY", bot.RoleParty},
		{"m3", "张强", "QY", bot.RoleParty},
		{"ins", "陈处长", "QY", bot.RoleInstructor},
		{"secHX", "黄书记", "HX", bot.RoleSecretary},
		{"mHX", "周平", "HX", bot.RoleParty},
		{"admin", "区管理员", "", bot.RoleAdmin},
	} {
		inv, err := st.CreateInvite(ctx, p.role, p.community, p.name, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		g, err := st.Redeem(ctx, inv.Code, p.id, now)
		if err != nil {
			t.Fatal(err)
		}
		e.grants[p.id] = g
	}
	if cfg.Deadlines == nil {
		cfg.Deadlines = map[string]int{"hardship": 3, "transfer_in": 5, "illness": 2, "pairing": 10}
	}
	cfg.HardshipCategories = []string{"hardship"}
	e.svc = &bot.VisitService{Visits: st, Holders: st, Calendar: calendar.New(calendar.Overrides{}), Reminders: st,
		Pusher: e.pushes, Catalog: cat, Config: cfg}
	return e
}

func (e *visitEnv) actor(id string) bot.Actor {
	g := e.grants[id]
	return bot.Actor{Kind: "staff", ID: id, Name: g.Name, Grants: []bot.Grant{g}}
}

func (e *visitEnv) hardshipTicket(no string) *bot.Ticket {
	return &bot.Ticket{No: no, Community: "QY", Category: "hardship", Name: "张大妈", Phone: "13800138000",
		Description: "老伴去世后独居，低保停发，家里断粮"}
}

// A hardship ticket makes one task however often its trigger arrives, given at
// once to the member with the fewest open tasks; the push names the task and the
// deadline and never the hardship.
func TestHardshipTicketMakesOneTaskForTheLeastBusyMember(t *testing.T) {
	e := newVisitEnv(t, bot.VisitConfig{})
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, cst) // a Friday
	// Two members get a task each; the third has none.
	busy := map[string]bool{}
	for _, name := range []string{"赵一", "钱二"} {
		v, _, err := e.svc.TransferIn(ctx, e.actor("sec"), at, "QY", name, "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Assignee == "" || busy[v.Assignee] {
			t.Fatalf("0s auto-assign gave %s to %q, busy %v", v.No, v.Assignee, busy)
		}
		busy[v.Assignee] = true
	}
	var first *bot.Visit
	for range 2 {
		v, err := e.svc.TicketVisit(ctx, at, e.hardshipTicket("1001"))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = v
		} else if v.No != first.No {
			t.Fatalf("the same ticket made tasks %s and %s", first.No, v.No)
		}
	}
	// Staff flagging the same ticket is the same event.
	flagged, created, err := e.svc.FlagTicket(ctx, e.actor("sec"), at, e.hardshipTicket("1001"), bot.VisitHardship)
	if err != nil || created || flagged.No != first.No {
		t.Fatalf("标记困难 on the same ticket: %v %v %v", flagged.No, created, err)
	}
	all, _ := e.st.BranchVisits(ctx, "QY")
	if len(all) != 3 {
		t.Fatalf("branch has %d tasks, want 3", len(all))
	}
	if first.Assignee == "" || busy[first.Assignee] {
		t.Fatalf("assigned to %q, busy %v: want the member without an open task", first.Assignee, busy)
	}
	// Deadline: 3 working days after a Friday is Wednesday 17:30.
	if want := time.Date(2026, 12, 2, 17, 30, 0, 0, cst); !first.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", first.Deadline, want)
	}
	got := e.pushes.to(first.Assignee)
	if len(got) != 1 || !strings.Contains(got[0].Text, first.No) || got[0].Kind != bot.PushVisitTask {
		t.Fatalf("the assignee got %+v", got)
	}
	for _, p := range e.pushes.all {
		for _, secret := range []string{"断粮", "低保", "13800138000", "张大妈"} {
			if strings.Contains(p.Text, secret) || strings.Contains(strings.Join(mapValues(p.Fields), " "), secret) {
				t.Fatalf("a push carries %q: %+v", secret, p)
			}
		}
	}
	// The reminders: the day before at 09:00, the day at 09:00, then the secretary
	// and the district on the next working days.
	for lvl, want := range map[string]time.Time{
		"before":    time.Date(2026, 12, 1, 9, 0, 0, 0, cst),
		"on_day":    time.Date(2026, 12, 2, 9, 0, 0, 0, cst),
		"secretary": time.Date(2026, 12, 3, 9, 0, 0, 0, cst),
		"district":  time.Date(2026, 12, 4, 9, 0, 0, 0, cst),
	} {
		r, ok, err := e.st.Reminder(ctx, bot.VisitReminderID(first.No, lvl))
		if err != nil || !ok || !r.Due.Equal(want) {
			t.Errorf("%s reminder: %v %v %v, want %v", lvl, r.Due, ok, err, want)
		}
	}
	// The assignee sees the details in chat.
	v, err := e.svc.Get(ctx, e.actor(first.Assignee), first.No)
	if err != nil || !strings.Contains(v.Reason, "断粮") {
		t.Fatalf("assignee view: %+v %v", v, err)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// A member cannot see, complete, reschedule or hand back another member's task; a
// secretary sees only their branch.
func TestVisitIsolation(t *testing.T) {
	e := newVisitEnv(t, bot.VisitConfig{AutoAssignAfter: time.Hour})
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, cst)
	v, _, err := e.svc.TransferIn(ctx, e.actor("sec"), at, "QY", "王建军", "幸福里3栋")
	if err != nil || v.Assignee != "" {
		t.Fatalf("with a delay the task waits: %+v %v", v, err)
	}
	if _, err := e.svc.Assign(ctx, e.actor("m1"), at, v.No, "m1"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("a member assigned: %v", err)
	}
	if _, err := e.svc.Assign(ctx, e.actor("secHX"), at, v.No, "周平"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("another branch's secretary assigned: %v", err)
	}
	if _, err := e.svc.Assign(ctx, e.actor("sec"), at, v.No, "周平"); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("assigned to another branch's member: %v", err)
	}
	v, err = e.svc.Assign(ctx, e.actor("sec"), at, v.No, "李建国")
	if err != nil || v.Assignee != "m1" {
		t.Fatalf("指派 by name: %+v %v", v, err)
	}
	for _, who := range []string{"m2", "mHX", "secHX"} {
		if _, err := e.svc.Get(ctx, e.actor(who), v.No); bot.ErrorCode(err) != bot.ENotFound {
			t.Errorf("%s sees the task: %v", who, err)
		}
	}
	if _, _, err := e.svc.Complete(ctx, e.actor("m2"), at, v.No, "看过了", nil); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("m2 completed m1's task: %v", err)
	}
	if _, _, err := e.svc.AskReschedule(ctx, e.actor("m2"), at, v.No, at.AddDate(0, 0, 7), "忙"); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("m2 rescheduled m1's task: %v", err)
	}
	if _, _, err := e.svc.Return(ctx, e.actor("m2"), at, v.No); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("m2 handed back m1's task: %v", err)
	}
	if mine, _ := e.svc.Mine(ctx, e.actor("m2")); len(mine) != 0 {
		t.Fatalf("m2 lists %d tasks", len(mine))
	}
	if _, err := e.svc.Branch(ctx, e.actor("secHX"), at, "QY"); bot.ErrorCode(err) != bot.EForbidden {
		t.Fatalf("another secretary read the branch: %v", err)
	}
	if sum, err := e.svc.Branch(ctx, e.actor("secHX"), at, "HX"); err != nil || len(sum.Open) != 0 {
		t.Fatalf("HX branch: %+v %v", sum, err)
	}
	sum, err := e.svc.Branch(ctx, e.actor("sec"), at, "QY")
	if err != nil || len(sum.Open) != 1 || sum.Members != 3 || sum.WithTasks != 1 {
		t.Fatalf("QY branch: %+v %v", sum, err)
	}
	if _, err := e.svc.Get(ctx, e.actor("admin"), v.No); err != nil {
		t.Fatalf("the district admin: %v", err)
	}
	// The assignee completes; the task is closed for everyone.
	done, _, err := e.svc.Complete(ctx, e.actor("m1"), at.Add(time.Hour), v.No, "已上门看望，介绍支部情况", []string{"http://img/1.jpg"})
	if err != nil || done.Status != bot.VisitDone || len(done.Photos) != 1 {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if _, _, err := e.svc.Complete(ctx, e.actor("m1"), at, v.No, "再报", nil); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("completed twice: %v", err)
	}
	if _, ok, _ := e.st.Reminder(ctx, bot.VisitReminderID(v.No, "on_day")); ok {
		t.Fatal("a done task keeps its reminders")
	}
	stats, _ := e.st.Stats(ctx, "QY", bot.Period(at))
	if stats["visit.done:transfer_in"] != 1 || stats["visit.done_in_time:transfer_in"] != 1 {
		t.Fatalf("stats %v", stats)
	}
}

// 改期: the secretary approves (the deadline and reminders move) or refuses (they
// stay); a date in the past or on a day off is refused at once.
func TestReschedule(t *testing.T) {
	e := newVisitEnv(t, bot.VisitConfig{})
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, cst)
	v, _, _ := e.svc.TransferIn(ctx, e.actor("sec"), at, "QY", "王建军", "")
	m := e.actor(v.Assignee)
	if _, _, err := e.svc.AskReschedule(ctx, m, at, v.No, time.Date(2026, 12, 5, 0, 0, 0, 0, cst), "出差"); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("a Saturday: %v", err)
	}
	if _, _, err := e.svc.AskReschedule(ctx, m, at, v.No, time.Date(2026, 11, 20, 0, 0, 0, 0, cst), "出差"); bot.ErrorCode(err) != bot.EInvalid {
		t.Fatalf("the past: %v", err)
	}
	if _, err := e.svc.DecideReschedule(ctx, e.actor("sec"), at, v.No, true); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("approving nothing: %v", err)
	}
	newDay := time.Date(2026, 12, 10, 0, 0, 0, 0, cst)
	if _, _, err := e.svc.AskReschedule(ctx, m, at, v.No, newDay, "出差"); err != nil {
		t.Fatal(err)
	}
	if got := e.pushes.to("sec"); len(got) == 0 || !strings.Contains(got[len(got)-1].Text, "同意 "+v.No) {
		t.Fatalf("secretary was not asked: %+v", got)
	}
	if _, err := e.svc.DecideReschedule(ctx, e.actor("secHX"), at, v.No, true); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("another branch decided: %v", err)
	}
	refused, err := e.svc.DecideReschedule(ctx, e.actor("sec"), at, v.No, false)
	if err != nil || !refused.Deadline.Equal(v.Deadline) {
		t.Fatalf("refused: %+v %v", refused, err)
	}
	e.svc.AskReschedule(ctx, m, at, v.No, newDay, "出差")
	ok, err := e.svc.DecideReschedule(ctx, e.actor("sec"), at, v.No, true)
	want := time.Date(2026, 12, 10, 17, 30, 0, 0, cst)
	if err != nil || !ok.Deadline.Equal(want) {
		t.Fatalf("approved: %v %v", ok.Deadline, err)
	}
	if r, _, _ := e.st.Reminder(ctx, bot.VisitReminderID(v.No, "on_day")); !r.Due.Equal(time.Date(2026, 12, 10, 9, 0, 0, 0, cst)) {
		t.Fatalf("the reminder did not move: %v", r.Due)
	}
	got := e.pushes.to(m.ID)
	if len(got) < 3 || !strings.Contains(got[len(got)-2].Text, "未同意") || !strings.Contains(got[len(got)-1].Text, "已同意") {
		t.Fatalf("assignee told: %+v", got)
	}
}

// A pairing makes a task each month on its member until it ends; a month not
// visited stays open and is flagged overdue.
func TestPairingMonthlyTasks(t *testing.T) {
	e := newVisitEnv(t, bot.VisitConfig{})
	ctx := context.Background()
	at := time.Date(2026, 9, 15, 10, 0, 0, 0, cst)
	if _, _, err := e.svc.Pair(ctx, e.actor("m1"), at, "QY", "m1", bot.PairElderly, bot.Person{Name: "赵奶奶"}); bot.ErrorCode(err) != bot.EForbidden {
		t.Fatalf("a member paired: %v", err)
	}
	p, v, err := e.svc.Pair(ctx, e.actor("sec"), at, "QY", "王红", bot.PairElderly, bot.Person{Name: "赵奶奶", Address: "幸福里5栋"})
	if err != nil || v.Assignee != "m2" || v.Period != "2026-09" {
		t.Fatalf("pair: %+v %+v %v", p, v, err)
	}
	r, ok, _ := e.st.Reminder(ctx, "pairing:"+p.ID)
	// October 2026 starts with the National Day holiday (1st to 7th): its first
	// working day is Thursday the 8th.
	if !ok || !r.Due.Equal(time.Date(2026, 10, 8, 9, 0, 0, 0, cst)) {
		t.Fatalf("next month's row: %v %v", r.Due, ok)
	}
	if err := e.svc.FirePairing(ctx, r.Due, r); err != nil {
		t.Fatal(err)
	}
	// Fired twice (a replica died mid-way): still one task for October.
	if err := e.svc.FirePairing(ctx, r.Due, r); err != nil {
		t.Fatal(err)
	}
	tasks, _ := e.svc.Mine(ctx, e.actor("m2"))
	if len(tasks) != 2 {
		t.Fatalf("m2 has %d tasks, want September and October", len(tasks))
	}
	if _, err := e.svc.EndPairing(ctx, e.actor("sec"), r.Due, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.st.Reminder(ctx, "pairing:"+p.ID); ok {
		t.Fatal("an ended pairing keeps its row")
	}
	next, _, _ := e.st.Reminder(ctx, "pairing:"+p.ID)
	_ = next
}

// volunteerHours stands in for the volunteers' store: minutes by person and year.
type volunteerHours map[string]map[int]int

func (h volunteerHours) Totals(_ context.Context, openid string) (bot.VolunteerTotals, error) {
	return bot.VolunteerTotals{YearMinutes: h[openid]}, nil
}

func TestFourOne(t *testing.T) {
	e := newVisitEnv(t, bot.VisitConfig{})
	// mHX served three hours as a volunteer in 2026 (and some in 2025, which do not
	// count): that is the year's voluntary labour.
	e.svc.Hours = volunteerHours{"mHX": {2025: 600, 2026: 180}}
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, cst)
	if _, _, err := e.svc.ReportFourOne(ctx, e.actor("sec"), at, "u1", bot.FourGoodDeed, "x"); bot.ErrorCode(err) != bot.EForbidden {
		t.Fatalf("a secretary who is not a member reported: %v", err)
	}
	for _, it := range []bot.FourOneItem{bot.FourGoodDeed, bot.FourInfo, bot.FourProposal, bot.FourLabour} {
		if _, _, err := e.svc.ReportFourOne(ctx, e.actor("m1"), at, "m1-"+string(it), it, "内容"); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.ReportFourOne(ctx, e.actor("m2"), at, "m2-1", bot.FourGoodDeed, "扶老人过马路")
	e.svc.ReportFourOne(ctx, e.actor("ins"), at, "ins-1", bot.FourProposal, "加装电梯")
	table, err := e.svc.BranchFourOne(ctx, e.actor("sec"), at, "QY")
	if err != nil || len(table) != 4 {
		t.Fatalf("table %d rows %v", len(table), err)
	}
	rem := bot.Reminder{ID: "fourone:november", Kind: bot.ReminderFourOneNov, Due: time.Date(2026, 11, 2, 9, 0, 0, 0, cst), Payload: []byte(`{"year":2026}`)}
	if err := e.svc.FireNovember(ctx, rem.Due, rem); err != nil {
		t.Fatal(err)
	}
	if got := e.pushes.to("m1"); len(got) != 0 {
		t.Fatalf("m1 has every item and was reminded: %+v", got)
	}
	m2 := e.pushes.to("m2")
	if len(m2) != 1 || !strings.Contains(m2[0].Text, "参加一次义务劳动") || strings.Contains(m2[0].Text, "做一件好事") {
		t.Fatalf("m2: %+v", m2)
	}
	ins := e.pushes.to("ins")
	if len(ins) != 1 || !strings.Contains(ins[0].Text, "参加一次社区公益活动") {
		t.Fatalf("instructor: %+v", ins)
	}
	hx := e.pushes.to("mHX")
	if len(hx) != 1 || strings.Contains(hx[0].Text, "义务劳动") || !strings.Contains(hx[0].Text, "做一件好事") {
		t.Fatalf("HX's member, with volunteer hours only: %+v", hx)
	}
	p, err := e.svc.FourOneOf(ctx, e.grants["mHX"], time.Date(2025, 6, 1, 0, 0, 0, 0, cst))
	if err != nil || !p.Has(bot.FourLabour) || p.Has(bot.FourGoodDeed) {
		t.Fatalf("2025: %+v %v", p, err)
	}
}
