package bot_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
	"minyuan/configs"
	"minyuan/store"
	"minyuan/store/redistest"
)

// The ticket service's rules, without any chat message: who may do what to a
// ticket, in which state, what each change sets in motion and who is told what.
// Tickets, reminders and pushes live in a real Redis; the words are the real
// catalogue's.

const (
	qy, hx = "QY", "HX"
	res    = "o_res"
	other  = "o_other_res"
	wang   = "o_wang" // staff, QY
	li     = "o_li"   // staff, QY
	zhao   = "o_zhao" // staff, HX
	sec    = "o_sec"  // secretary, QY
	admin  = "o_admin"
	phone  = "o_phone" // hotline operator, QY
)

type svcEnv struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	svc    *bot.TicketService
	at     time.Time
	grants map[string][]bot.Grant
	pushed []bot.Push
	seq    int
}

func newSvc(t *testing.T) *svcEnv {
	t.Helper()
	// The real catalogue, plus the engine tests' own keys (this test binary
	// declares them too).
	raw, err := fs.ReadFile(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, l := range strings.Split(engineCatalog, "\n") {
		if strings.HasPrefix(l, "t.") {
			own = append(own, l)
		}
	}
	cat, err := bot.ParseCatalog(append(raw, "\n"+strings.Join(own, "\n")+"\n"...))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(srv.Client(t), store.Options{Prefix: redistest.Prefix(t)})
	cats := configs.DefaultCategories()
	st.SetCategories(cats)
	e := &svcEnv{t: t, ctx: context.Background(), st: st, grants: map[string][]bot.Grant{},
		// Tuesday 24 November 2026, 10:00 in Beijing: a working day.
		at: time.Date(2026, 11, 24, 10, 0, 0, 0, calendar.Location())}
	e.svc = &bot.TicketService{
		Tickets: st, Reminders: st, Pusher: st, Directory: st,
		Calendar: calendar.New(calendar.Overrides{}), Catalog: cat, Categories: cats,
		Communities:     []bot.Community{{Code: qy, Name: "七一路社区"}, {Code: hx, Name: "和谐社区"}},
		AutoAssignAfter: 2 * time.Hour,
	}
	for _, g := range []struct {
		openid    string
		role      bot.Role
		community string
		name      string
	}{
		{wang, bot.RoleStaff, qy, "王芳"}, {li, bot.RoleStaff, qy, "李明"}, {zhao, bot.RoleStaff, hx, "赵强"},
		{sec, bot.RoleSecretary, qy, "张书记"}, {admin, bot.RoleAdmin, qy, "孙主任"}, {phone, bot.RoleHotline, qy, "话务员小陈"},
	} {
		inv, err := st.CreateInvite(e.ctx, g.role, g.community, g.name, e.at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := st.Redeem(e.ctx, inv.Code, g.openid, e.at)
		if err != nil {
			t.Fatal(err)
		}
		e.grants[g.openid] = append(e.grants[g.openid], gr)
	}
	return e
}

func (e *svcEnv) resident(openid string) bot.Actor {
	return bot.Actor{Kind: bot.ActorResident, ID: openid}
}

func (e *svcEnv) staff(openid string) bot.Actor {
	return bot.Actor{Kind: bot.ActorStaff, ID: openid, Grants: e.grants[openid]}
}

// file is a resident's new request in community.
func (e *svcEnv) file(community, category, desc string) *bot.Ticket {
	e.t.Helper()
	e.seq++
	t, err := e.svc.Intake(e.ctx, e.resident(res), e.at, bot.NewTicket{Community: community, Category: category,
		Description: desc, Name: "王阿姨", Phone: "13800138000"}, fmt.Sprintf("k%d", e.seq))
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// pushesTo is every push queued to openid so far, oldest first.
func (e *svcEnv) pushesTo(openid string) []bot.Push {
	e.t.Helper()
	qs, err := e.st.Queued(e.ctx, openid, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []bot.Push
	for _, q := range qs {
		out = append(out, q.Push)
	}
	return out
}

// told checks that openid has had n pushes so far, the last saying each of want.
func (e *svcEnv) told(openid string, n int, want ...string) {
	e.t.Helper()
	ps := e.pushesTo(openid)
	if len(ps) != n {
		var texts []string
		for _, p := range ps {
			texts = append(texts, p.Text)
		}
		e.t.Fatalf("%s had %d pushes, want %d: %q", openid, len(ps), n, texts)
	}
	for _, w := range want {
		if !strings.Contains(ps[n-1].Text, w) {
			e.t.Fatalf("push to %s %q lacks %q", openid, ps[n-1].Text, w)
		}
	}
}

// refused checks that err is a *bot.Error of code whose text for the actor says want.
func (e *svcEnv) refused(err error, code bot.Code, want string) {
	e.t.Helper()
	if bot.ErrorCode(err) != code {
		e.t.Fatalf("err %v, want code %s", err, code)
	}
	if want == "" {
		return
	}
	be := err.(*bot.Error)
	if got := e.svc.Catalog.T(be.Msg, be.Data); !strings.Contains(got, want) {
		e.t.Fatalf("refusal says %q, want %q", got, want)
	}
}

func (e *svcEnv) load(no string) *bot.Ticket {
	e.t.Helper()
	t, err := e.st.Ticket(e.ctx, no)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *svcEnv) timeline(no string) []bot.Event {
	e.t.Helper()
	evs, err := e.st.Timeline(e.ctx, no)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *svcEnv) reminder(no, slot string) (bot.Reminder, bool) {
	e.t.Helper()
	r, ok, err := e.st.Reminder(e.ctx, bot.TicketReminderID(no, slot))
	if err != nil {
		e.t.Fatal(err)
	}
	return r, ok
}

func TestIntake(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "楼道灯坏了")
	if tk.Status != bot.StatusNew || tk.OpenID != res || tk.Source != "wechat" || tk.Version != 1 ||
		!tk.SignBy.Equal(e.svc.Calendar.AddWorkingDays(e.at, 1)) || !tk.DueBy.Equal(e.svc.Calendar.AddWorkingDays(e.at, 5)) {
		t.Fatalf("ticket %+v", tk)
	}
	// The desk of the community is told (its staff and secretary); nobody else.
	for _, who := range []string{wang, li, sec} {
		e.told(who, 1, "【新诉求 "+tk.No+"】", "楼道灯坏了", "接单 "+tk.No)
	}
	for _, who := range []string{zhao, admin, res} {
		e.told(who, 0)
	}
	for _, slot := range []string{"sign:red", "sign:secretary", "resolve:yellow", "resolve:red", "resolve:secretary", "resolve:district", "assign"} {
		if _, ok := e.reminder(tk.No, slot); !ok {
			t.Errorf("no %s reminder", slot)
		}
	}

	// The same key again (a retry) is the same ticket, told once.
	again, err := e.svc.Intake(e.ctx, e.resident(res), e.at.Add(time.Minute), bot.NewTicket{Community: qy, Category: "sanitation", Description: "楼道灯坏了"}, "k1")
	if err != nil || again.No != tk.No {
		t.Fatalf("retry: %v %+v", err, again)
	}
	e.told(wang, 1)

	// On duty first: only those on duty hear of the next one.
	if err := e.st.SetOnDuty(e.ctx, li, []string{qy}, true); err != nil {
		t.Fatal(err)
	}
	e.file(qy, "sanitation", "垃圾桶满了")
	e.told(li, 2, "垃圾桶满了")
	e.told(wang, 1)

	// A resident files for themselves only; a hotline operator for a caller of
	// their community, who has no WeChat to be told in.
	n := bot.NewTicket{Community: qy, Category: "inquiry", Description: "咨询低保", OpenID: other, Source: "hotline", Phone: "13900139000"}
	byRes, err := e.svc.Intake(e.ctx, e.resident(res), e.at, n, "k-res")
	if err != nil || byRes.OpenID != res {
		t.Fatalf("a resident filed for someone else: %v %+v", err, byRes)
	}
	n.OpenID = ""
	call, err := e.svc.Intake(e.ctx, bot.Actor{Kind: bot.ActorHotline, ID: phone, Grants: e.grants[phone]}, e.at, n, "call-1")
	if err != nil || call.Source != "hotline" || call.OpenID != "" {
		t.Fatalf("hotline intake: %v %+v", err, call)
	}
	if evs := e.timeline(call.No); evs[0].Actor != phone || evs[0].Name != "话务员小陈" {
		t.Fatalf("created by %+v", evs[0])
	}

	// Refused, and nothing filed: an unknown category or community, staff of
	// another community, a description too long.
	last, _ := e.st.LastTicketNo(e.ctx)
	cases := []struct {
		a    bot.Actor
		n    bot.NewTicket
		code bot.Code
	}{
		{e.resident(res), bot.NewTicket{Community: qy, Category: "nope", Description: "x"}, bot.EInvalid},
		{e.resident(res), bot.NewTicket{Community: "ZZ", Category: "inquiry", Description: "x"}, bot.EInvalid},
		{e.staff(zhao), bot.NewTicket{Community: qy, Category: "inquiry", Description: "x"}, bot.EForbidden},
		{e.resident(res), bot.NewTicket{Community: qy, Category: "inquiry", Description: strings.Repeat("长", bot.MaxTicketText+1)}, bot.EInvalid},
	}
	for i, c := range cases {
		_, err := e.svc.Intake(e.ctx, c.a, e.at, c.n, fmt.Sprintf("bad-%d", i))
		e.refused(err, c.code, "")
	}
	if now, _ := e.st.LastTicketNo(e.ctx); now != last {
		t.Fatalf("refused intakes filed %d tickets", now-last)
	}
}

// Who may see and work on a ticket: its resident sees it (and cannot work on it),
// staff of its community work on it, admins everywhere; anyone else is told it does
// not exist, in the same words as a number never given.
func TestWhoMayActOnATicket(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "井盖松动")
	missing := "99999"
	for _, c := range []struct {
		name   string
		a      bot.Actor
		see    bool
		work   bool
		reason string
	}{
		{"its resident", e.resident(res), true, false, ""},
		{"another resident", e.resident(other), false, false, ""},
		{"staff of its community", e.staff(wang), true, true, ""},
		{"its secretary", e.staff(sec), true, true, ""},
		{"staff of another community", e.staff(zhao), false, false, ""},
		{"a district admin", e.staff(admin), true, true, ""},
		{"a staff member acting as a resident", bot.ChatActor(&bot.User{OpenID: wang, Grants: e.grants[wang]}, bot.ActorResident), false, false, ""},
	} {
		_, err := e.svc.Get(e.ctx, c.a, tk.No)
		if (err == nil) != c.see {
			t.Errorf("%s: see: %v", c.name, err)
		}
		if !c.see {
			_, ref := e.svc.Get(e.ctx, c.a, missing)
			e.refused(err, bot.ENotFound, "没有找到编号为 "+tk.No)
			e.refused(ref, bot.ENotFound, "没有找到编号为 "+missing)
		}
		_, err = e.svc.Note(e.ctx, c.a, e.at, tk.No, "看看")
		if (err == nil) != c.work {
			t.Errorf("%s: work: %v", c.name, err)
		}
		if !c.work {
			e.refused(err, bot.ENotFound, "没有找到编号为 "+tk.No)
		}
	}
	// A resident works on nothing of the desk's, their own ticket included.
	r := e.resident(res)
	for name, err := range map[string]error{
		"claim":    func() error { _, err := e.svc.Claim(e.ctx, r, e.at, tk.No); return err }(),
		"reply":    func() error { _, _, err := e.svc.Reply(e.ctx, r, e.at, tk.No, "好"); return err }(),
		"close":    func() error { _, err := e.svc.Close(e.ctx, r, e.at, tk.No, "好了"); return err }(),
		"escalate": func() error { _, _, _, err := e.svc.Escalate(e.ctx, r, e.at, tk.No, "急"); return err }(),
		"move":     func() error { _, err := e.svc.MoveTo(e.ctx, r, e.at, tk.No, hx); return err }(),
	} {
		if bot.ErrorCode(err) != bot.ENotFound {
			t.Errorf("resident %s: %v", name, err)
		}
	}
	if got := e.load(tk.No); got.Status != bot.StatusNew || got.Handler != "" {
		t.Fatalf("changed by those who may not: %+v", got)
	}
}

func TestClaim(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "路灯不亮")
	e.at = e.at.Add(10 * time.Minute)
	got, err := e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No)
	if err != nil || got.Status != bot.StatusClaimed || got.Handler != wang || got.HandlerName != "王芳" || !got.Claimed.Equal(e.at) {
		t.Fatalf("claim: %v %+v", err, got)
	}
	e.told(res, 1, "已受理", "负责的工作人员：王芳")
	_, err = e.svc.Claim(e.ctx, e.staff(li), e.at, tk.No)
	e.refused(err, bot.EConflict, "已由 王芳 承办")
	_, err = e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No)
	e.refused(err, bot.EConflict, "已由您承办")
	e.told(res, 1)
	if s, _ := e.st.Stats(e.ctx, qy, bot.Period(e.at)); s[string(bot.CounterSigned)] != 1 || s[string(bot.CounterSignedInTime)] != 1 {
		t.Fatalf("stats %v", s)
	}
	if _, err := e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, "已修好"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Claim(e.ctx, e.staff(li), e.at, tk.No)
	e.refused(err, bot.EConflict, "已办结")
}

// The live bug this service fixed: a ticket claimed, moved to another community
// and claimed there tells its resident both times.
func TestMovedThenClaimed(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "dispute", "楼上漏水")
	if _, err := e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	e.told(res, 1, "已受理", "王芳")

	_, err := e.svc.MoveTo(e.ctx, e.staff(wang), e.at, tk.No, qy)
	e.refused(err, bot.EConflict, "七一路社区")
	moved, err := e.svc.MoveTo(e.ctx, e.staff(wang), e.at, tk.No, hx)
	if err != nil || moved.Community != hx || moved.Status != bot.StatusNew || moved.Handler != "" || !moved.Claimed.IsZero() {
		t.Fatalf("move: %v %+v", err, moved)
	}
	if !moved.DueBy.Equal(tk.DueBy) {
		t.Fatal("a move restarted the deadline: the resident has been waiting all along")
	}
	e.told(res, 2, "已转交和谐社区")
	e.told(zhao, 1, "【转派 "+tk.No+"】", "七一路社区 王芳", "楼上漏水")
	// The old desk no longer works on it.
	_, err = e.svc.Claim(e.ctx, e.staff(li), e.at, tk.No)
	e.refused(err, bot.ENotFound, "")
	if _, err := e.svc.Claim(e.ctx, e.staff(zhao), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	e.told(res, 3, "已受理", "负责的工作人员：赵强")
	if _, ok := e.reminder(tk.No, "assign"); !ok {
		t.Fatal("the moved ticket has no round-robin armed")
	}
}

func TestReplyNoteEscalate(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "垃圾站臭")
	e.at = e.at.Add(time.Hour)
	got, _, err := e.svc.Reply(e.ctx, e.staff(wang), e.at, tk.No, "明天清运")
	if err != nil || !got.Responded.Equal(e.at) {
		t.Fatalf("reply: %v %+v", err, got)
	}
	p := e.pushesTo(res)
	if len(p) != 1 || !strings.Contains(p[0].Text, "王芳：\n明天清运") || !p[0].Important {
		t.Fatalf("reply pushes %+v", p)
	}
	first := e.at
	e.at = e.at.Add(time.Minute)
	if got, _, err = e.svc.Reply(e.ctx, e.staff(li), e.at, tk.No, "请家里留人"); err != nil || !got.Responded.Equal(first) {
		t.Fatalf("second reply: %v %+v", err, got)
	}
	e.told(res, 2, "李明", "请家里留人")
	_, _, err = e.svc.Reply(e.ctx, e.staff(wang), e.at, tk.No, "  ")
	e.refused(err, bot.EInvalid, "回复")

	if _, err := e.svc.Note(e.ctx, e.staff(li), e.at, tk.No, "电话打不通"); err != nil {
		t.Fatal(err)
	}
	e.told(res, 2)
	_, evs, err := e.svc.Timeline(e.ctx, e.resident(res), tk.No)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == bot.EventNote || strings.Contains(ev.Text, "电话打不通") {
			t.Fatalf("the resident sees a private note: %+v", ev)
		}
	}
	if _, evs, _ := e.svc.Timeline(e.ctx, e.staff(wang), tk.No); evs[len(evs)-1].Kind != bot.EventNote || !evs[len(evs)-1].Private {
		t.Fatalf("staff timeline %+v", evs)
	}

	_, told, _, err := e.svc.Escalate(e.ctx, e.staff(wang), e.at, tk.No, "需区里协调")
	if err != nil || told != 1 || !e.load(tk.No).Escalated {
		t.Fatalf("escalate: %v told %d", err, told)
	}
	e.told(admin, 1, "上报区级 "+tk.No, "需区里协调", "王芳")
	// An admin escalating does not tell themselves.
	if _, told, _, err = e.svc.Escalate(e.ctx, e.staff(admin), e.at, tk.No, "再报"); err != nil || told != 0 {
		t.Fatalf("admin escalate: %v told %d", err, told)
	}
	e.told(admin, 1)
}

func TestAssignTo(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "井盖松动")
	liGrant := e.grants[li][0]
	got, err := e.svc.AssignTo(e.ctx, e.staff(wang), e.at, tk.No, liGrant)
	if err != nil || got.Handler != li || got.Status != bot.StatusClaimed || !got.Claimed.IsZero() {
		t.Fatalf("assign: %v %+v", err, got)
	}
	e.told(li, 2, "王芳 将诉求 "+tk.No, "请回复「接单 "+tk.No+"」")
	_, err = e.svc.AssignTo(e.ctx, e.staff(wang), e.at, tk.No, liGrant)
	e.refused(err, bot.EConflict, "")
	_, err = e.svc.AssignTo(e.ctx, e.staff(wang), e.at, tk.No, e.grants[zhao][0])
	e.refused(err, bot.EConflict, "")
	// The assignee signs for it.
	if got, err = e.svc.Claim(e.ctx, e.staff(li), e.at, tk.No); err != nil || got.Claimed.IsZero() {
		t.Fatalf("claim by the assignee: %v %+v", err, got)
	}
}

func TestCloseRateReopen(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "垃圾站臭")
	if _, err := e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Rate(e.ctx, e.resident(res), e.at, tk.No, bot.RatingSatisfied, "")
	e.refused(err, bot.EConflict, "还在办理中")
	_, err = e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, " ")
	e.refused(err, bot.EInvalid, "办结")

	e.at = e.at.Add(24 * time.Hour)
	closed, err := e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, "已清运")
	if err != nil || closed.Status != bot.StatusClosed || !closed.Closed.Equal(e.at) {
		t.Fatalf("close: %v %+v", err, closed)
	}
	e.told(res, 2, "已办好", "已清运", "满意 / 基本满意 / 不满意")
	for _, slot := range []string{"sign:red", "resolve:red", "resolve:district", "assign"} {
		if _, ok := e.reminder(tk.No, slot); ok {
			t.Errorf("a closed ticket keeps its %s reminder", slot)
		}
	}
	_, err = e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, "再次")
	e.refused(err, bot.EConflict, "已办结")
	_, _, _, err = e.svc.Escalate(e.ctx, e.staff(wang), e.at, tk.No, "再次")
	e.refused(err, bot.EConflict, "已办结")
	_, err = e.svc.AddInfo(e.ctx, e.resident(res), e.at, tk.No, "还有", nil)
	e.refused(err, bot.EConflict, "")
	e.told(res, 2)

	// Only its resident rates it, once; staff cannot rate for them.
	_, err = e.svc.Rate(e.ctx, e.staff(wang), e.at, tk.No, bot.RatingSatisfied, "")
	e.refused(err, bot.ENotFound, "")
	_, err = e.svc.Rate(e.ctx, e.resident(other), e.at, tk.No, bot.RatingSatisfied, "")
	e.refused(err, bot.ENotFound, "")

	// The first 不满意 reopens it, with a new deadline, flagged; the secretary and
	// the handler are told.
	e.at = e.at.Add(24 * time.Hour)
	rr, err := e.svc.Rate(e.ctx, e.resident(res), e.at, tk.No, bot.RatingUnsatisfied, "还是臭")
	if err != nil || !rr.Reopened {
		t.Fatalf("unsatisfied: %v %+v", err, rr)
	}
	re := e.load(tk.No)
	newDue := e.svc.Calendar.AddWorkingDays(e.at, 5)
	if re.Status != bot.StatusClaimed || re.Handler != wang || re.Reopened != 1 || !re.Flagged || re.Rating != "" || !re.DueBy.Equal(newDue) {
		t.Fatalf("reopened %+v", re)
	}
	if r, ok := e.reminder(tk.No, "resolve:red"); !ok || !r.Due.Equal(newDue) {
		t.Fatalf("resolve reminder %+v %v, want %v", r, ok, newDue)
	}
	e.told(sec, 2, "不满意·重新办理 "+tk.No, "还是臭")
	e.told(wang, 2, "不满意·重新办理 "+tk.No)
	if s, _ := e.st.Stats(e.ctx, qy, bot.Period(e.at)); s["closed"] != 0 || s["reopened"] != 1 || s["rated"] != 0 {
		t.Fatalf("stats after reopen %v", s)
	}

	// Closed again, 不满意 again: final, flagged, told again.
	if _, err := e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, "每日清运两次"); err != nil {
		t.Fatal(err)
	}
	rr, err = e.svc.Rate(e.ctx, e.resident(res), e.at, tk.No, bot.RatingUnsatisfied, "还有味")
	if err != nil || rr.Reopened || rr.Ticket.Rating != bot.RatingUnsatisfied || rr.Ticket.Status != bot.StatusClosed {
		t.Fatalf("second unsatisfied: %v %+v", err, rr)
	}
	e.told(sec, 3, "再次不满意 "+tk.No, "还有味")
	_, err = e.svc.Rate(e.ctx, e.resident(res), e.at, tk.No, bot.RatingSatisfied, "")
	e.refused(err, bot.EConflict, "已经评价过了")
	evs := e.timeline(tk.No)
	if last := evs[len(evs)-1]; last.Kind != bot.EventRated || last.Text != "不满意：还有味" || last.Actor != res {
		t.Fatalf("rated event %+v", last)
	}

	// The desk reopens on its own decision; a resident cannot.
	_, err = e.svc.Reopen(e.ctx, e.resident(res), e.at, tk.No, "")
	e.refused(err, bot.ENotFound, "")
	re, err = e.svc.Reopen(e.ctx, e.staff(sec), e.at, tk.No, "书记要求复查")
	if err != nil || re.Status != bot.StatusClaimed || re.Rating != "" || re.Reopened != 2 {
		t.Fatalf("staff reopen: %v %+v", err, re)
	}
	_, err = e.svc.Reopen(e.ctx, e.staff(sec), e.at, tk.No, "")
	e.refused(err, bot.EConflict, "")
}

func TestSatisfiedRating(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "inquiry", "问社保")
	if _, err := e.svc.Close(e.ctx, e.staff(li), e.at, tk.No, "已电话答复"); err != nil {
		t.Fatal(err)
	}
	// Closing an unclaimed ticket signs for it: whoever closed it handled it.
	if got := e.load(tk.No); got.Handler != li || got.Claimed.IsZero() {
		t.Fatalf("closed unclaimed %+v", got)
	}
	rr, err := e.svc.Rate(e.ctx, e.resident(res), e.at, tk.No, bot.RatingBasic, "还行")
	if err != nil || rr.Reopened || rr.Ticket.Rating != bot.RatingBasic || rr.Ticket.RatingNote != "还行" {
		t.Fatalf("rate: %v %+v", err, rr)
	}
	e.told(sec, 1) // only the new-ticket alert: a rating but 不满意 tells nobody
	if s, _ := e.st.Stats(e.ctx, qy, bot.Period(e.at)); s["rating:basic"] != 1 || s["rated"] != 1 {
		t.Fatalf("stats %v", s)
	}
}

func TestAddInfo(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "楼道灯坏了")
	got, err := e.svc.AddInfo(e.ctx, e.resident(res), e.at, tk.No, "三楼也不亮", []string{"http://pic/1"})
	if err != nil || len(got.Photos) != 1 {
		t.Fatalf("add: %v %+v", err, got)
	}
	// Nobody has it yet: the desk hears.
	e.told(wang, 2, "【补充 "+tk.No+"】", "三楼也不亮", "附照片1张")
	if _, err := e.svc.Claim(e.ctx, e.staff(li), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddInfo(e.ctx, e.resident(res), e.at, tk.No, "四楼也是", nil); err != nil {
		t.Fatal(err)
	}
	e.told(li, 3, "四楼也是")
	e.told(wang, 2)
	_, err = e.svc.AddInfo(e.ctx, e.resident(other), e.at, tk.No, "我也来", nil)
	e.refused(err, bot.ENotFound, "")
}

// Deadline reminders: each level tells its people once, a done stage or a
// superseded deadline tells nobody, and only the system warns.
func TestWarn(t *testing.T) {
	e := newSvc(t)
	tk := e.file(qy, "sanitation", "下水道堵")
	sys := bot.SystemActor
	due := func(stage, level string) bot.DeadlineDue {
		return bot.DeadlineDue{No: tk.No, Stage: stage, Level: level, DueBy: tk.DueBy}
	}
	e.refused(e.svc.Warn(e.ctx, e.staff(admin), e.at, due(bot.StageResolve, bot.LevelRed)), bot.EForbidden, "")

	// Unclaimed: the sign-for warning goes to the desk (its secretary too).
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageSign, bot.LevelRed)); err != nil {
		t.Fatal(err)
	}
	e.told(wang, 2, "未接单", "接单 "+tk.No)
	e.told(sec, 2, "未接单")
	if _, err := e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	// Claimed since: the sign-for stage is done.
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageSign, bot.LevelSecretary)); err != nil {
		t.Fatal(err)
	}
	e.told(sec, 2)
	// Yellow, then red: to the handler only.
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageResolve, bot.LevelYellow)); err != nil {
		t.Fatal(err)
	}
	e.told(wang, 3, "临期")
	e.told(li, 2) // the new ticket, the sign-for warning
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageResolve, bot.LevelRed)); err != nil {
		t.Fatal(err)
	}
	e.told(wang, 4, "超期")
	if e.load(tk.No).Flagged {
		t.Fatal("flagged before the secretary's level")
	}
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageResolve, bot.LevelSecretary)); err != nil {
		t.Fatal(err)
	}
	e.told(sec, 3, "督办·社区书记", "承办人：王芳")
	if !e.load(tk.No).Flagged {
		t.Fatal("not flagged at the secretary's level")
	}
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageResolve, bot.LevelDistrict)); err != nil {
		t.Fatal(err)
	}
	e.told(admin, 1, "督办·区级")
	// A reminder made for an earlier deadline does nothing.
	stale := due(bot.StageResolve, bot.LevelRed)
	stale.DueBy = stale.DueBy.Add(-time.Hour)
	if err := e.svc.Warn(e.ctx, sys, e.at, stale); err != nil {
		t.Fatal(err)
	}
	e.told(wang, 4)
	var warned int
	for _, ev := range e.timeline(tk.No) {
		if ev.Kind == bot.EventWarned {
			warned++
			if ev.Actor != "system" {
				t.Errorf("warned by %q", ev.Actor)
			}
		}
	}
	if warned != 5 {
		t.Fatalf("%d warnings in the timeline, want 5", warned)
	}
	// Closed: nothing more.
	if _, err := e.svc.Close(e.ctx, e.staff(wang), e.at, tk.No, "已疏通"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Warn(e.ctx, sys, e.at, due(bot.StageResolve, bot.LevelDistrict)); err != nil {
		t.Fatal(err)
	}
	e.told(admin, 1)
}

func TestAutoAssign(t *testing.T) {
	e := newSvc(t)
	a := e.file(qy, "sanitation", "第一件")
	b := e.file(qy, "sanitation", "第二件")
	e.refused(e.svc.AutoAssign(e.ctx, e.staff(wang), e.at, a.No), bot.EForbidden, "")
	for _, no := range []string{a.No, b.No} {
		if err := e.svc.AutoAssign(e.ctx, bot.SystemActor, e.at, no); err != nil {
			t.Fatal(err)
		}
	}
	ga, gb := e.load(a.No), e.load(b.No)
	if ga.Handler == "" || gb.Handler == "" || ga.Handler == gb.Handler || !ga.Claimed.IsZero() {
		t.Fatalf("round-robin: %+v / %+v", ga, gb)
	}
	e.told(ga.Handler, 3, "【派单 "+a.No+"】")
	// Already assigned: nothing more.
	if err := e.svc.AutoAssign(e.ctx, bot.SystemActor, e.at, a.No); err != nil {
		t.Fatal(err)
	}
	if got := e.load(a.No); got.Handler != ga.Handler || got.Version != ga.Version {
		t.Fatalf("assigned again: %+v", got)
	}
}

// Hooks see every committed change, with the ticket before and after; a refused
// change is not seen.
func TestOnChange(t *testing.T) {
	e := newSvc(t)
	var seen []bot.TicketChange
	e.svc.OnChange(func(_ context.Context, c bot.TicketChange) error {
		seen = append(seen, c)
		return nil
	})
	tk := e.file(hx, "hardship", "独居老人无人照料")
	if _, err := e.svc.Claim(e.ctx, e.staff(zhao), e.at, tk.No); err != nil {
		t.Fatal(err)
	}
	_, _ = e.svc.Claim(e.ctx, e.staff(wang), e.at, tk.No) // refused: not seen
	if _, err := e.svc.Close(e.ctx, e.staff(zhao), e.at, tk.No, "已联系民政"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("%d changes seen: %+v", len(seen), seen)
	}
	if c := seen[0]; c.Before != nil || c.Event != bot.EventCreated || c.After.No != tk.No || c.Actor.ID != res {
		t.Fatalf("created %+v", c)
	}
	if c := seen[1]; c.Event != bot.EventClaimed || c.Before.Status != bot.StatusNew || c.After.Status != bot.StatusClaimed || c.Actor.ID != zhao {
		t.Fatalf("claimed %+v", c)
	}
	if c := seen[2]; c.Event != bot.EventClosed || !c.Before.Open() || c.After.Open() || !c.At.Equal(e.at) {
		t.Fatalf("closed %+v", c)
	}
}
