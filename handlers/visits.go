package handlers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// Party members' tasks in chat (三必访, 五包, 四个一): members list, read, complete,
// reschedule and hand back their visit tasks; the branch secretary sees the branch,
// assigns, nudges, decides reschedules, registers transfers in and pairs members;
// staff flag a ticket's resident for a visit. Each command reads the message, calls
// the visit service as the sender, and says what it did; the service decides who
// may do what.

var (
	wordsVisitMine       = bot.Words("words.visit_mine")
	wordsVisitShow       = bot.Words("words.visit_show")
	wordsVisitDone       = bot.Words("words.visit_done")
	wordsVisitReschedule = bot.Words("words.visit_reschedule")
	wordsVisitReturn     = bot.Words("words.visit_return")
	wordsVisitBranch     = bot.Words("words.visit_branch")
	wordsVisitAssign     = bot.Words("words.visit_assign")
	wordsVisitNudge      = bot.Words("words.visit_nudge")
	wordsVisitApprove    = bot.Words("words.visit_approve")
	wordsVisitRefuse     = bot.Words("words.visit_refuse")
	wordsVisitTransferIn = bot.Words("words.visit_transfer_in")
	wordsVisitHardship   = bot.Words("words.visit_flag_hardship")
	wordsVisitIllness    = bot.Words("words.visit_illness")
	wordsVisitBereaved   = bot.Words("words.visit_bereavement")
	wordsPair            = bot.Words("words.pair")
	wordsPairEnd         = bot.Words("words.pair_end")
	wordsFourOne         = bot.Words("words.fourone")
	wordsFourOneMine     = bot.Words("words.fourone_mine")
	wordsFourOneBranch   = bot.Words("words.fourone_branch")
)

var (
	msgVisitMineHead   = bot.Msg("visit.mine.head")
	msgVisitMineLine   = bot.Msg("visit.mine.line")
	msgVisitMineEmpty  = bot.Msg("visit.mine.empty")
	msgVisitDetail     = bot.Msg("visit.detail")
	msgVisitDoneOK     = bot.Msg("visit.done_ok")
	msgVisitErased     = bot.Msg("ticket.erased")
	msgVisitAskedOK    = bot.Msg("visit.asked_ok")
	msgVisitReturnedOK = bot.Msg("visit.returned_ok")
	msgVisitAssignedOK = bot.Msg("visit.assigned_ok")
	msgVisitNudgedOK   = bot.Msg("visit.nudged_ok")
	msgVisitDecidedOK  = bot.Msg("visit.decided_ok")
	msgVisitCreatedOK  = bot.Msg("visit.created_ok")
	msgVisitExists     = bot.Msg("visit.exists")
	msgVisitBranchHead = bot.Msg("visit.branch.head")
	msgVisitBranchLine = bot.Msg("visit.branch.line")
	msgVisitBranchNone = bot.Msg("visit.branch.none")
	msgVisitReportAsk  = bot.Msg("visit.form.report")
	msgVisitFormTitle  = bot.Msg("visit.form.title")
	msgPairOK          = bot.Msg("pair.ok")
	msgPairList        = bot.Msg("pair.list")
	msgPairLine        = bot.Msg("pair.line")
	msgPairEnded       = bot.Msg("pair.ended")
	msgFourOneOK       = bot.Msg("fourone.ok")
	msgFourOneTicket   = bot.Msg("fourone.ok_ticket")
	msgFourOneMine     = bot.Msg("fourone.mine")
	msgFourOneLine     = bot.Msg("fourone.line")
	msgFourOneBranch   = bot.Msg("fourone.branch")
	msgFourOneRow      = bot.Msg("fourone.row")
	msgVisitUsage      = map[bot.WordsKey]bot.MsgKey{
		wordsVisitShow:       bot.Msg("visit.usage.show"),
		wordsVisitDone:       bot.Msg("visit.usage.done"),
		wordsVisitReschedule: bot.Msg("visit.usage.reschedule"),
		wordsVisitReturn:     bot.Msg("visit.usage.return"),
		wordsVisitAssign:     bot.Msg("visit.usage.assign"),
		wordsVisitNudge:      bot.Msg("visit.usage.nudge"),
		wordsVisitApprove:    bot.Msg("visit.usage.decide"),
		wordsVisitTransferIn: bot.Msg("visit.usage.transfer_in"),
		wordsVisitHardship:   bot.Msg("visit.usage.flag"),
		wordsPair:            bot.Msg("visit.usage.pair"),
		wordsPairEnd:         bot.Msg("visit.usage.pair_end"),
	}
	visitStatusNames = map[bot.VisitStatus]bot.MsgKey{
		bot.VisitNew: "visit.status.new", bot.VisitAssigned: "visit.status.assigned",
		bot.VisitDone: "visit.status.done", bot.VisitEnded: "visit.status.ended",
	}
)

// visitListLimit keeps a list inside one chat message.
const visitListLimit = 10

// VisitFlow is party members' tasks in chat.
type VisitFlow struct {
	Visits      *bot.VisitService
	Tickets     *bot.TicketService // 标记困难 / 病访 / 逝访 on a ticket
	Communities Communities
}

func (f *VisitFlow) register(m *bot.Mux) {
	if f.Visits == nil {
		return
	}
	complete := completeFlow{Form: f.completeForm(), f: f}
	m.Command(wordsVisitMine, bot.RoleParty, bot.HandlerFunc(f.visitMine))
	m.Menu("VISIT_MINE", bot.RoleParty, bot.HandlerFunc(f.visitMine))
	// Members and secretaries both read tasks; the service shows each only theirs.
	m.Command(wordsVisitShow, bot.RoleResident, bot.HandlerFunc(f.visitShow))
	m.Command(wordsVisitDone, bot.RoleParty, complete)
	m.Command(wordsVisitReschedule, bot.RoleParty, bot.HandlerFunc(f.visitReschedule))
	// 转交 is registered in NewMux: the word is staff's too.
	m.Command(wordsVisitBranch, bot.RoleSecretary, bot.HandlerFunc(f.visitBranch))
	m.Command(wordsVisitAssign, bot.RoleSecretary, bot.HandlerFunc(f.visitAssign))
	// 催办 is registered in NewMux: the word is the resident's too.
	m.Command(wordsVisitApprove, bot.RoleSecretary, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		return f.visitDecide(ctx, r, true)
	}))
	m.Command(wordsVisitRefuse, bot.RoleSecretary, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		return f.visitDecide(ctx, r, false)
	}))
	m.Command(wordsVisitTransferIn, bot.RoleSecretary, bot.HandlerFunc(f.visitTransferIn))
	m.Command(wordsPair, bot.RoleSecretary, bot.HandlerFunc(f.visitPair))
	m.Command(wordsPairEnd, bot.RoleSecretary, bot.HandlerFunc(f.visitPairEnd))
	m.Command(wordsVisitHardship, bot.RoleStaff, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		return f.visitFlag(ctx, r, bot.VisitHardship, wordsVisitHardship)
	}))
	m.Command(wordsVisitIllness, bot.RoleStaff, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		return f.visitFlag(ctx, r, bot.VisitIllness, wordsVisitHardship)
	}))
	m.Command(wordsVisitBereaved, bot.RoleStaff, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		return f.visitFlag(ctx, r, bot.VisitBereavement, wordsVisitHardship)
	}))
	// Instructors are not party members of the branch: the service checks both.
	m.Command(wordsFourOne, bot.RoleResident, bot.HandlerFunc(f.fourOneReport))
	m.Command(wordsFourOneMine, bot.RoleResident, bot.HandlerFunc(f.fourOneMine))
	m.Command(wordsFourOneBranch, bot.RoleSecretary, bot.HandlerFunc(f.fourOneBranch))
}

// member is the sender acting as a party member (or secretary), named by their grant.
func member(r *bot.Request) bot.Actor {
	a := bot.ChatActor(r.User, bot.ActorStaff)
	for _, role := range []bot.Role{bot.RoleParty, bot.RoleInstructor, bot.RoleSecretary, bot.RoleStaff, bot.RoleAdmin} {
		for _, g := range r.User.Grants {
			if g.Role == role && g.Name != "" {
				a.Name = g.Name
				return a
			}
		}
	}
	return a
}

// branchOf is the community the sender is secretary of (the first, if several).
func (f *VisitFlow) branchOf(r *bot.Request) string {
	cs, all := r.User.Communities(bot.RoleSecretary)
	if len(cs) > 0 {
		return cs[0]
	}
	if all && len(f.Communities) > 0 {
		return f.Communities[0].Code
	}
	return ""
}

func (f *VisitFlow) usage(r *bot.Request, key bot.WordsKey) (bot.Reply, error) {
	return r.Say(msgVisitUsage[key], nil), nil
}

// visitView is a task as chat templates show it. Details (the person, the reason)
// are there for who may see the task, which the service checked.
func (f *VisitFlow) visitView(r *bot.Request, v *bot.Visit) map[string]any {
	view := map[string]any{
		"No": v.No, "Kind": f.Visits.KindLabel(v.Kind), "Status": r.T(visitStatusNames[v.Status], nil),
		"Person": v.Person.Name, "Address": v.Person.Address, "Phone": v.Person.Phone, "Reason": v.Reason,
		"Ticket": v.Ticket, "Assignee": v.AssigneeName, "Deadline": when(r, v.Deadline),
		"Overdue": v.Open() && r.Now.After(v.Deadline), "Report": v.Report, "Photos": len(v.Photos),
		"Open": v.Open(), "Proposed": "", "ProposedReason": v.ProposedReason,
	}
	if !v.Erased.IsZero() {
		// The retention blanked who was visited and what was said: say so.
		view["Person"], view["Report"] = r.T(msgVisitErased, nil), r.T(msgVisitErased, nil)
	}
	if !v.Proposed.IsZero() {
		view["Proposed"] = when(r, v.Proposed)
	}
	if !v.Done.IsZero() {
		view["Done"] = when(r, v.Done)
	}
	return view
}

// 我的任务: open tasks first by deadline, then the latest done.
func (f *VisitFlow) visitMine(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	vs, err := f.Visits.Mine(ctx, member(r))
	if err != nil {
		return bot.Reply{}, err
	}
	if len(vs) == 0 {
		return r.Say(msgVisitMineEmpty, nil), nil
	}
	open := 0
	for _, v := range vs {
		if v.Open() {
			open++
		}
	}
	lines := []string{r.T(msgVisitMineHead, map[string]int{"Open": open, "All": len(vs)})}
	for _, v := range vs[:min(len(vs), visitListLimit)] {
		lines = append(lines, r.T(msgVisitMineLine, f.visitView(r, v)))
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

// 任务 <n>: the task's details, for its assignee or the branch secretary.
func (f *VisitFlow) visitShow(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitShow)
	}
	v, err := f.Visits.Get(ctx, member(r), no)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVisitDetail, f.visitView(r, v)), nil
}

// completeFlow is 完成: done at once with a report, or a form asking for it.
type completeFlow struct {
	*bot.Form
	f *VisitFlow
}

func (c completeFlow) Serve(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	return c.f.visitDone(ctx, r, c.Form)
}

// completeForm asks for the report when 完成 <n> came without one; photos sent
// while it asks are kept with the report.
func (f *VisitFlow) completeForm() *bot.Form {
	return &bot.Form{
		ID: "visit.complete", Heading: msgVisitFormTitle,
		Fields: []bot.Field{{Key: "report", Prompt: msgVisitReportAsk, Photos: true}},
		Submit: func(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			report := a["report"]
			if report == "" && len(a.Photos("report")) > 0 {
				report = r.T(msgVisitPhotoOnly, nil)
			}
			return f.complete(ctx, r, a["no"], report, a.Photos("report"))
		},
	}
}

var msgVisitPhotoOnly = bot.Msg("visit.photo_only")

// 完成 <n> <report>: the task is done. Without a report, the form asks for it (and
// takes photos).
func (f *VisitFlow) visitDone(ctx context.Context, r *bot.Request, form *bot.Form) (bot.Reply, error) {
	no, report, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitDone)
	}
	if report != "" {
		return f.complete(ctx, r, no, report, nil)
	}
	// Only the assignee gets the form; anyone else is told the task is not theirs.
	v, err := f.Visits.Get(ctx, member(r), no)
	if err != nil {
		return bot.Reply{}, err
	}
	if v.Assignee != r.Update.From {
		return bot.Reply{}, bot.UserError(bot.ENotFound, bot.MsgVisitNotFound, map[string]string{"No": no})
	}
	if !v.Open() {
		return bot.Reply{}, bot.UserError(bot.EConflict, bot.MsgVisitNotOpen, map[string]string{"No": no})
	}
	rep, err := form.Serve(ctx, r)
	if r.Session != nil {
		if r.Session.Data == nil {
			r.Session.Data = map[string]string{}
		}
		r.Session.Data["no"] = no
	}
	return rep, err
}

func (f *VisitFlow) complete(ctx context.Context, r *bot.Request, no, report string, photos []string) (bot.Reply, error) {
	v, told, err := f.Visits.Complete(ctx, member(r), r.Now, no, report, photos)
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.visitView(r, v)
	view["ToStaff"] = told == bot.RoleStaff
	return r.Say(msgVisitDoneOK, view), nil
}

// 改期 <n> <date> <reason>: asks the secretary to move the deadline.
func (f *VisitFlow) visitReschedule(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, rest, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitReschedule)
	}
	dateText, reason, _ := strings.Cut(rest, " ")
	date, ok := parseDate(dateText, r.Now)
	if !ok || strings.TrimSpace(reason) == "" {
		return f.usage(r, wordsVisitReschedule)
	}
	v, told, err := f.Visits.AskReschedule(ctx, member(r), r.Now, no, date, reason)
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.visitView(r, v)
	view["ToStaff"] = told == bot.RoleStaff
	return r.Say(msgVisitAskedOK, view), nil
}

var (
	dateCN  = regexp.MustCompile(`^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?$`)
	dateISO = regexp.MustCompile(`^(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})$`)
)

// parseDate reads a date as people type it: 12月8日, 12-08, 2026-12-08, 12/8. A
// date without a year is the next such date from now.
func parseDate(s string, now time.Time) (time.Time, bool) {
	s = strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' {
			return r - '０' + '0'
		}
		return r
	}, strings.TrimSpace(s))
	m := dateCN.FindStringSubmatch(s)
	if m == nil {
		m = dateISO.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, false
	}
	loc := calendar.Location()
	now = now.In(loc)
	year := now.Year()
	if m[1] != "" {
		year, _ = strconv.Atoi(m[1])
	}
	month, _ := strconv.Atoi(m[2])
	day, _ := strconv.Atoi(m[3])
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 2月30日
	}
	if m[1] == "" && t.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)) {
		t = t.AddDate(1, 0, 0)
	}
	return t, true
}

// 转交 <n>: hands the task back to the secretary.
func (f *VisitFlow) visitReturn(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitReturn)
	}
	v, told, err := f.Visits.Return(ctx, member(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.visitView(r, v)
	view["ToStaff"] = told == bot.RoleStaff
	return r.Say(msgVisitReturnedOK, view), nil
}

// 支部任务: the branch's open and overdue tasks and this month's coverage.
func (f *VisitFlow) visitBranch(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	sum, err := f.Visits.Branch(ctx, member(r), r.Now, f.branchOf(r))
	if err != nil {
		return bot.Reply{}, err
	}
	name := sum.Community
	if c, ok := f.Communities.byCode(sum.Community); ok {
		name = c.Name
	}
	lines := []string{r.T(msgVisitBranchHead, map[string]any{"Branch": name, "Open": len(sum.Open), "Overdue": sum.Overdue,
		"Members": sum.Members, "WithTasks": sum.WithTasks, "DoneMonth": sum.DoneMonth, "DoneInTime": sum.DoneInTime})}
	if len(sum.Open) == 0 {
		lines = append(lines, r.T(msgVisitBranchNone, nil))
	}
	for _, v := range sum.Open[:min(len(sum.Open), visitListLimit)] {
		lines = append(lines, r.T(msgVisitBranchLine, f.visitView(r, v)))
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

// 指派 <n> <member>: the secretary gives the task to a branch member.
func (f *VisitFlow) visitAssign(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, who, ok := splitTicketNo(r.Args)
	if !ok || who == "" {
		return f.usage(r, wordsVisitAssign)
	}
	v, err := f.Visits.Assign(ctx, member(r), r.Now, no, who)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVisitAssignedOK, f.visitView(r, v)), nil
}

// 催办 <n>: a nudge to the assignee.
func (f *VisitFlow) visitNudge(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitNudge)
	}
	v, err := f.Visits.Nudge(ctx, member(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVisitNudgedOK, f.visitView(r, v)), nil
}

// 同意 / 不同意 <n>: the secretary decides a reschedule.
func (f *VisitFlow) visitDecide(ctx context.Context, r *bot.Request, approve bool) (bot.Reply, error) {
	no, _, ok := splitTicketNo(r.Args)
	if !ok {
		return f.usage(r, wordsVisitApprove)
	}
	v, err := f.Visits.DecideReschedule(ctx, member(r), r.Now, no, approve)
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.visitView(r, v)
	view["Approved"] = approve
	return r.Say(msgVisitDecidedOK, view), nil
}

// 转入 <name> [address]: a party member newly transferred into the branch.
func (f *VisitFlow) visitTransferIn(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	name, address, _ := strings.Cut(strings.TrimSpace(r.Args), " ")
	if name == "" {
		return f.usage(r, wordsVisitTransferIn)
	}
	v, created, err := f.Visits.TransferIn(ctx, member(r), r.Now, f.branchOf(r), name, strings.TrimSpace(address))
	if err != nil {
		return bot.Reply{}, err
	}
	return f.sayCreated(r, v, created), nil
}

func (f *VisitFlow) sayCreated(r *bot.Request, v *bot.Visit, created bool) bot.Reply {
	if !created {
		return r.Say(msgVisitExists, f.visitView(r, v))
	}
	view := f.visitView(r, v)
	// 指派 is the secretary's: staff who flag a hardship are told who assigns it.
	view["CanAssign"] = r.User.CanIn(bot.RoleSecretary, v.Community)
	return r.Say(msgVisitCreatedOK, view)
}

// 标记困难 / 病访 / 逝访 <ticket n> on a ticket's resident, or 病访 / 逝访 <name>
// [address] for someone without a ticket.
func (f *VisitFlow) visitFlag(ctx context.Context, r *bot.Request, kind bot.VisitKind, usage bot.WordsKey) (bot.Reply, error) {
	a := member(r)
	if no, _, ok := splitTicketNo(r.Args); ok {
		t, err := f.Tickets.Get(ctx, staff(r), no)
		if err != nil {
			return bot.Reply{}, err
		}
		v, created, err := f.Visits.FlagTicket(ctx, a, r.Now, t, kind)
		if err != nil {
			return bot.Reply{}, err
		}
		return f.sayCreated(r, v, created), nil
	}
	name, address, _ := strings.Cut(strings.TrimSpace(r.Args), " ")
	if name == "" || kind == bot.VisitHardship {
		return f.usage(r, usage)
	}
	cs, _ := r.User.Communities(bot.RoleStaff)
	if len(cs) == 0 {
		return f.usage(r, usage)
	}
	v, created, err := f.Visits.FlagPerson(ctx, a, r.Now, cs[0], kind, bot.Person{Name: name, Address: strings.TrimSpace(address)}, "")
	if err != nil {
		return bot.Reply{}, err
	}
	return f.sayCreated(r, v, created), nil
}

// 结对 <member> <kind> <person> [address]: a 五包 pairing; 结对 alone lists them.
func (f *VisitFlow) visitPair(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	branch := f.branchOf(r)
	args := strings.Fields(r.Args)
	if len(args) == 0 {
		ps, err := f.Visits.PairingsOf(ctx, member(r), branch)
		if err != nil {
			return bot.Reply{}, err
		}
		lines := []string{r.T(msgPairList, map[string]int{"Count": len(ps)})}
		for _, p := range ps {
			lines = append(lines, r.T(msgPairLine, map[string]any{"ID": p.ID, "Member": p.MemberName,
				"Kind": f.Visits.KindLabel(p.Kind), "Person": p.Person.Name, "Active": p.Active()}))
		}
		return bot.Text(strings.Join(lines, "\n")), nil
	}
	if len(args) < 3 {
		return f.usage(r, wordsPair)
	}
	kind, ok := bot.PairKinds[args[1]]
	if !ok {
		return bot.Reply{}, bot.UserError(bot.EInvalid, bot.MsgPairBadKind, nil)
	}
	p, v, err := f.Visits.Pair(ctx, member(r), r.Now, branch, args[0], kind, bot.Person{Name: args[2], Address: strings.Join(args[3:], " ")})
	if err != nil {
		return bot.Reply{}, err
	}
	view := f.visitView(r, v)
	view["ID"], view["Member"] = p.ID, p.MemberName
	return r.Say(msgPairOK, view), nil
}

// 结束结对 <id>: no more tasks from the pairing.
func (f *VisitFlow) visitPairEnd(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	id := strings.ToUpper(strings.TrimSpace(r.Args))
	if id == "" {
		return f.usage(r, wordsPairEnd)
	}
	if !strings.HasPrefix(id, "P") {
		id = "P" + id
	}
	p, err := f.Visits.EndPairing(ctx, member(r), r.Now, id)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgPairEnded, map[string]string{"ID": p.ID, "Person": p.Person.Name, "Member": p.MemberName}), nil
}

// 四个一 <item> <text>: one item of the year (an 信息 or 建议 also becomes a ticket).
func (f *VisitFlow) fourOneReport(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	word, text, _ := strings.Cut(strings.TrimSpace(r.Args), " ")
	item, ok := fourOneItem(r, word)
	if !ok || strings.TrimSpace(text) == "" {
		return bot.Reply{}, bot.UserError(bot.EInvalid, bot.MsgFourOneBadItem, nil)
	}
	e, _, err := f.Visits.ReportFourOne(ctx, member(r), r.Now, r.OnceKey(), item, text)
	if err != nil {
		return bot.Reply{}, err
	}
	p, err := f.Visits.MyFourOne(ctx, member(r), r.Now)
	if err != nil {
		return bot.Reply{}, err
	}
	view := map[string]any{"Item": f.Visits.FourOneLabel(item, p.Instructor), "Ticket": e.Ticket, "Missing": f.missing(p)}
	if e.Ticket != "" {
		return r.Say(msgFourOneTicket, view), nil
	}
	return r.Say(msgFourOneOK, view), nil
}

func fourOneItem(r *bot.Request, word string) (bot.FourOneItem, bool) {
	for _, it := range bot.FourOneItems {
		if slices.Contains(r.Catalog.Words(bot.WordsKey("words.fourone."+string(it))), word) {
			return it, true
		}
	}
	return "", false
}

func (f *VisitFlow) missing(p *bot.FourOneProgress) string {
	var out []string
	for _, it := range p.Missing() {
		out = append(out, f.Visits.FourOneLabel(it, p.Instructor))
	}
	return strings.Join(out, "、")
}

// 我的四个一: the year's items.
func (f *VisitFlow) fourOneMine(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	p, err := f.Visits.MyFourOne(ctx, member(r), r.Now)
	if err != nil {
		return bot.Reply{}, err
	}
	lines := []string{r.T(msgFourOneMine, map[string]any{"Year": bot.Year(r.Now), "Missing": f.missing(p)})}
	for _, it := range bot.FourOneItems {
		view := map[string]any{"Item": f.Visits.FourOneLabel(it, p.Instructor), "Done": p.Has(it), "Count": len(p.Entries[it]),
			"Volunteer": false, "Hours": ""}
		if it == bot.FourLabour {
			view["Hours"] = fmt.Sprintf("%.1f", float64(p.VolunteerMinutes)/60)
			view["Volunteer"] = p.VolunteerMinutes > 0
		}
		lines = append(lines, r.T(msgFourOneLine, view))
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

// 支部四个一: the branch's table, one line a member.
func (f *VisitFlow) fourOneBranch(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	rows, err := f.Visits.BranchFourOne(ctx, member(r), r.Now, f.branchOf(r))
	if err != nil {
		return bot.Reply{}, err
	}
	done := 0
	lines := []string{""}
	for _, p := range rows {
		marks := make([]bool, len(bot.FourOneItems))
		for i, it := range bot.FourOneItems {
			marks[i] = p.Has(it)
		}
		if len(p.Missing()) == 0 {
			done++
		}
		lines = append(lines, r.T(msgFourOneRow, map[string]any{"Name": p.Name, "Instructor": p.Instructor, "Marks": marks}))
	}
	lines[0] = r.T(msgFourOneBranch, map[string]any{"Year": bot.Year(r.Now), "People": len(rows), "Done": done})
	return bot.Text(strings.Join(lines, "\n")), nil
}
