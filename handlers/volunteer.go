package handlers

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// Words users type for the volunteer flow (configs/messages.zh.yaml, words.*).
var (
	wordsVolList     = bot.Words("words.vol_list")
	wordsVolSignup   = bot.Words("words.vol_signup")
	wordsVolUnsign   = bot.Words("words.vol_unsign")
	wordsVolMine     = bot.Words("words.vol_mine")
	wordsVolCheckIn  = bot.Words("words.vol_checkin")
	wordsVolCheckOut = bot.Words("words.vol_checkout")
	wordsVolHours    = bot.Words("words.vol_hours")
	wordsVolProfile  = bot.Words("words.vol_profile")
	wordsVolRegister = bot.Words("words.vol_register")
	wordsVolLeave    = bot.Words("words.vol_leave")
	wordsVolPublish  = bot.Words("words.vol_publish")
	wordsVolCode     = bot.Words("words.vol_code")
	wordsVolAdjust   = bot.Words("words.vol_adjust")
	wordsVolRedeem   = bot.Words("words.vol_redeem")
	wordsVolMove     = bot.Words("words.vol_move")
	wordsVolCancel   = bot.Words("words.vol_cancel")
	wordsVolRoster   = bot.Words("words.vol_roster")
)

var (
	msgVolList        = bot.Msg("vol.list")
	msgVolListNone    = bot.Msg("vol.list_none")
	msgVolSignedUp    = bot.Msg("vol.signed_up")
	msgVolWaitlisted  = bot.Msg("vol.waitlisted")
	msgVolUnsigned    = bot.Msg("vol.unsigned")
	msgVolMine        = bot.Msg("vol.mine")
	msgVolMineNone    = bot.Msg("vol.mine_none")
	msgVolCheckedIn   = bot.Msg("vol.checked_in")
	msgVolCheckedOut  = bot.Msg("vol.checked_out")
	msgVolHoursText   = bot.Msg("vol.hours")
	msgVolProfileText = bot.Msg("vol.profile")
	msgVolRegTitle    = bot.Msg("vol.reg.title")
	msgVolRegName     = bot.Msg("vol.reg.name")
	msgVolRegPhone    = bot.Msg("vol.reg.phone")
	msgVolRegComm     = bot.Msg("vol.reg.community")
	msgVolRegSkills   = bot.Msg("vol.reg.skills")
	msgVolRegAvail    = bot.Msg("vol.reg.availability")
	msgVolRegSummary  = bot.Msg("vol.reg.summary")
	msgVolRegDone     = bot.Msg("vol.reg.done")
	msgVolBadSkill    = bot.Msg("vol.reg.bad_skill")
	msgVolLeft        = bot.Msg("vol.left")
	msgVolPubTitle    = bot.Msg("vol.pub.title")
	msgVolPubComm     = bot.Msg("vol.pub.community")
	msgVolPubName     = bot.Msg("vol.pub.name")
	msgVolPubStart    = bot.Msg("vol.pub.start")
	msgVolPubEnd      = bot.Msg("vol.pub.end")
	msgVolPubPlace    = bot.Msg("vol.pub.place")
	msgVolPubCap      = bot.Msg("vol.pub.capacity")
	msgVolPubWeeks    = bot.Msg("vol.pub.weeks")
	msgVolPubAudience = bot.Msg("vol.pub.audience")
	msgVolPubDesc     = bot.Msg("vol.pub.description")
	msgVolPubSummary  = bot.Msg("vol.pub.summary")
	msgVolPubDone     = bot.Msg("vol.pub.done")
	msgVolBadTime     = bot.Msg("vol.pub.bad_time")
	msgVolBadNumber   = bot.Msg("vol.pub.bad_number")
	msgVolAudAll      = bot.Msg("vol.pub.audience_all")
	msgVolAudParty    = bot.Msg("vol.pub.audience_party")
	msgVolCodeText    = bot.Msg("vol.code")
	msgVolAdjusted    = bot.Msg("vol.adjusted")
	msgVolRedeemed    = bot.Msg("vol.redeemed")
	msgVolMoved       = bot.Msg("vol.moved")
	msgVolCancelledOK = bot.Msg("vol.cancelled_ok")
	msgVolRosterText  = bot.Msg("vol.roster")
	msgVolUsage       = bot.Msg("vol.usage")
)

// volListShown bounds 志愿活动: a chat message, not a catalogue.
const volListShown = 8

// VolunteerFlow is volunteering in chat (志愿服务): residents find activities, sign
// up and check in; staff publish, show the check-in code, 补签 and 兑换.
type VolunteerFlow struct {
	Volunteers  *bot.VolunteerService
	Profiles    bot.Profiles
	Communities Communities
	// Media uploads the check-in QR code; Pusher sends it as an image. Without
	// Media the code is given in words only.
	Media  bot.Media
	Pusher bot.Pusher
	// Seen notes that the organiser is writing now, before the image push is queued:
	// the engine records it only after the answer, and the outbox may be quicker.
	// It is the customer-service allowance's record (what the outbox counts from).
	Seen interface {
		Acted(ctx context.Context, openid string, a bot.Action, at time.Time) error
	}
	Log *slog.Logger
}

func (f *VolunteerFlow) register(m *bot.Mux) {
	m.Command(wordsVolList, bot.RoleResident, bot.HandlerFunc(f.list))
	m.Menu("VOL_LIST", bot.RoleResident, bot.HandlerFunc(f.list))
	m.Command(wordsVolSignup, bot.RoleResident, bot.HandlerFunc(f.signup))
	m.Command(wordsVolUnsign, bot.RoleResident, bot.HandlerFunc(f.unsign))
	m.Command(wordsVolMine, bot.RoleResident, bot.HandlerFunc(f.mine))
	m.Menu("VOL_MINE", bot.RoleResident, bot.HandlerFunc(f.mine))
	m.Command(wordsVolCheckIn, bot.RoleResident, bot.HandlerFunc(f.checkIn))
	m.Command(wordsVolCheckOut, bot.RoleResident, bot.HandlerFunc(f.checkOut))
	m.Command(wordsVolHours, bot.RoleResident, bot.HandlerFunc(f.hours))
	m.Menu("VOL_HOURS", bot.RoleResident, bot.HandlerFunc(f.hours))
	m.Command(wordsVolProfile, bot.RoleResident, bot.HandlerFunc(f.profile))
	m.Menu("VOL_PROFILE", bot.RoleResident, bot.HandlerFunc(f.profile))
	reg := f.registerForm()
	m.Command(wordsVolRegister, bot.RoleResident, reg)
	m.Command(wordsVolLeave, bot.RoleResident, bot.HandlerFunc(f.leave))
	m.Command(wordsVolPublish, bot.RoleStaff, f.publishForm())
	m.Command(wordsVolCode, bot.RoleStaff, bot.HandlerFunc(f.code))
	m.Command(wordsVolAdjust, bot.RoleStaff, bot.HandlerFunc(f.adjust))
	m.Command(wordsVolRedeem, bot.RoleStaff, bot.HandlerFunc(f.redeem))
	m.Command(wordsVolMove, bot.RoleStaff, bot.HandlerFunc(f.move))
	m.Command(wordsVolCancel, bot.RoleStaff, bot.HandlerFunc(f.cancel))
	m.Command(wordsVolRoster, bot.RoleStaff, bot.HandlerFunc(f.roster))
}

func volunteer(r *bot.Request) bot.Actor { return bot.ChatActor(r.User, bot.ActorResident) }

func (f *VolunteerFlow) data(r *bot.Request, a *bot.Activity) map[string]any {
	d := bot.ActivityData(r.Catalog, a)
	if c, ok := f.Communities.byCode(a.Community); ok {
		d["Community"] = c.Name
	}
	return d
}

// list: 志愿活动. Upcoming activities, the sender's community first, places left.
func (f *VolunteerFlow) list(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	vs, err := f.Volunteers.Upcoming(ctx, volunteer(r), r.Now, volListShown)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(vs) == 0 {
		return r.Say(msgVolListNone, nil), nil
	}
	items := make([]map[string]any, len(vs))
	for i, v := range vs {
		d := f.data(r, v.Activity)
		d["Left"], d["Waitlisted"], d["Mine"] = v.Left, v.Waitlisted, string(v.Mine)
		items[i] = d
	}
	return r.Say(msgVolList, map[string]any{"Items": items}), nil
}

// firstNumber reads the activity number a command starts with.
func firstNumber(r *bot.Request) (string, string) {
	no, rest, _ := splitTicketNo(r.Args)
	return no, rest
}

// signup: 报名 <no>.
func (f *VolunteerFlow) signup(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _ := firstNumber(r)
	if no == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "signup"}), nil
	}
	a, res, err := f.Volunteers.SignUp(ctx, volunteer(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	d["Position"] = res.Position
	if res.State == bot.SignupWaitlisted {
		return r.Say(msgVolWaitlisted, d), nil
	}
	return r.Say(msgVolSignedUp, d), nil
}

// unsign: 取消报名 <no>.
func (f *VolunteerFlow) unsign(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _ := firstNumber(r)
	if no == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "unsign"}), nil
	}
	c, err := f.Volunteers.CancelSignup(ctx, volunteer(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	a, err := f.Volunteers.Store.Activity(ctx, no)
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	d["Late"], d["Waitlisted"] = c.Late, c.Was == bot.SignupWaitlisted
	return r.Say(msgVolUnsigned, d), nil
}

// mine: 我的报名.
func (f *VolunteerFlow) mine(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	ms, err := f.Volunteers.MySignups(ctx, volunteer(r), r.Now)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(ms) == 0 {
		return r.Say(msgVolMineNone, nil), nil
	}
	items := make([]map[string]any, len(ms))
	for i, m := range ms {
		d := f.data(r, m.Activity)
		d["Waitlisted"], d["Position"] = m.State == bot.SignupWaitlisted, m.Position
		items[i] = d
	}
	return r.Say(msgVolMine, map[string]any{"Items": items}), nil
}

// checkIn: 签到 <code>.
func (f *VolunteerFlow) checkIn(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	code := toHalfWidth(strings.TrimSpace(r.Args))
	if code == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "checkin"}), nil
	}
	a, err := f.Volunteers.CheckIn(ctx, volunteer(r), r.Now, code)
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	d["At"] = bot.ClockTime(r.Catalog, r.Now)
	return r.Say(msgVolCheckedIn, d), nil
}

// checkOut: 签退 <code>. Hours and points are credited at once.
func (f *VolunteerFlow) checkOut(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	code := toHalfWidth(strings.TrimSpace(r.Args))
	if code == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "checkout"}), nil
	}
	a, c, err := f.Volunteers.CheckOut(ctx, volunteer(r), r.Now, code)
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	d["Got"], d["Points"] = bot.Hours(c.Minutes), c.Points
	return r.Say(msgVolCheckedOut, d), nil
}

// hours: 我的时长. This year, in total, and the points balance with its latest lines.
func (f *VolunteerFlow) hours(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	v, t, err := f.Volunteers.Totals(ctx, volunteer(r), r.Now)
	if err != nil {
		return bot.Reply{}, err
	}
	led, err := f.Volunteers.Store.Ledger(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	lines := []map[string]any{}
	for i := len(led) - 1; i >= 0 && len(lines) < 5; i-- {
		l := led[i]
		lines = append(lines, map[string]any{"At": when(r, l.At), "Kind": l.Kind, "Points": l.Points,
			"Balance": l.Balance, "Item": l.Item, "Activity": l.Activity, "Hours": bot.Hours(l.Minutes)})
	}
	return r.Say(msgVolHoursText, map[string]any{
		"No": v.No, "Year": bot.Year(r.Now), "YearHours": bot.Hours(t.YearMinutes[bot.Year(r.Now)]),
		"Hours": bot.Hours(t.Minutes), "Points": t.Points, "Earned": t.Earned, "Lines": lines,
	}), nil
}

// profile: 我的志愿. The profile, with how to change it or leave.
func (f *VolunteerFlow) profile(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	v, err := f.Volunteers.Store.Volunteer(ctx, r.Update.From)
	if err != nil && bot.ErrorCode(err) != bot.ENotFound {
		return bot.Reply{}, err
	}
	d := map[string]any{"Registered": err == nil && !v.Left, "No": v.No, "Name": v.Name, "Phone": maskPhone(v.Phone),
		"Skills": strings.Join(v.Skills, "、"), "Availability": v.Availability}
	if c, ok := f.Communities.byCode(v.Community); ok {
		d["Community"] = c.Name
	}
	return r.Say(msgVolProfileText, d), nil
}

// registerForm: 志愿者登记. Name, phone and community are taken from the profile
// when known; skills from the configured list; availability in words.
func (f *VolunteerFlow) registerForm() *bot.Form {
	return &bot.Form{
		ID:      "volunteer.register",
		Heading: msgVolRegTitle,
		Fields: []bot.Field{
			{Key: "name", Prompt: msgVolRegName, Validate: validName},
			{Key: "phone", Prompt: msgVolRegPhone, Validate: validPhone, Skip: rememberedPhone(f.Profiles)},
			{Key: "community", Prompt: msgVolRegComm, Choices: f.Communities.choices, Skip: rememberedCommunity(f.Profiles, f.Communities)},
			{Key: "skills", Prompt: msgVolRegSkills, Optional: true, Validate: f.validSkills,
				PromptData: func(*bot.Request, bot.Answers) any {
					return map[string]any{"SkillList": strings.Join(f.Volunteers.Config.Skills, "、")}
				}},
			{Key: "availability", Prompt: msgVolRegAvail, Optional: true, Validate: validDescription},
		},
		Confirm: msgVolRegSummary,
		View: func(_ *bot.Request, a bot.Answers) any {
			c, _ := f.Communities.byCode(a["community"])
			return map[string]any{"Name": a["name"], "Phone": maskPhone(a["phone"]), "Community": c.Name,
				"Skills": a["skills"], "Availability": a["availability"], "SkillList": strings.Join(f.Volunteers.Config.Skills, "、")}
		},
		Submit: f.submitRegistration,
	}
}

// validSkills takes skills from the configured list, separated as people type them.
func (f *VolunteerFlow) validSkills(_ *bot.Request, in string) (string, error) {
	var out []string
	for _, s := range strings.FieldsFunc(in, func(c rune) bool { return strings.ContainsRune(" ,，、;；/", c) }) {
		if !slices.Contains(f.Volunteers.Config.Skills, s) {
			return "", bot.UserError(bot.EInvalid, msgVolBadSkill, map[string]any{"Skill": s, "SkillList": strings.Join(f.Volunteers.Config.Skills, "、")})
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, "、"), nil
}

func (f *VolunteerFlow) submitRegistration(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
	var skills []string
	if a["skills"] != "" {
		skills = strings.Split(a["skills"], "、")
	}
	v, err := f.Volunteers.Register(ctx, volunteer(r), r.Now, bot.Volunteer{Name: a["name"], Phone: a["phone"],
		Community: a["community"], Skills: skills, Availability: a["availability"]})
	if err != nil {
		return bot.Reply{}, err
	}
	// The phone and community are remembered for the other forms too.
	p, err := f.Profiles.Profile(ctx, r.Update.From)
	if err == nil && (p.Phone != v.Phone || p.Community != v.Community || p.Name == "") {
		p.OpenID, p.Phone, p.Community, p.Updated = r.Update.From, v.Phone, v.Community, r.Now
		if p.Name == "" {
			p.Name = v.Name
		}
		err = f.Profiles.SaveProfile(ctx, p)
	}
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVolRegDone, map[string]any{"No": v.No, "Name": v.Name}), nil
}

// leave: 退出志愿者.
func (f *VolunteerFlow) leave(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	if err := f.Volunteers.Leave(ctx, volunteer(r), r.Now); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVolLeft, nil), nil
}

// publishForm: 发布活动 (staff). Community (when they serve several), title, start,
// end, place, capacity, weekly repeats, who may join, description; then confirm.
func (f *VolunteerFlow) publishForm() *bot.Form {
	return &bot.Form{
		ID:      "volunteer.publish",
		Heading: msgVolPubTitle,
		Fields: []bot.Field{
			{Key: "community", Prompt: msgVolPubComm, Choices: f.staffCommunities, Skip: f.onlyCommunity},
			{Key: "title", Prompt: msgVolPubName, Validate: validShort},
			{Key: "start", Prompt: msgVolPubStart, Validate: validStart},
			{Key: "end", Prompt: msgVolPubEnd, Validate: validEnd},
			{Key: "place", Prompt: msgVolPubPlace, Validate: validShort},
			{Key: "capacity", Prompt: msgVolPubCap, Validate: validCount(1, 10000)},
			{Key: "weeks", Prompt: msgVolPubWeeks, Optional: true, Validate: validCount(1, 52)},
			{Key: "audience", Prompt: msgVolPubAudience, Choices: f.audiences},
			{Key: "description", Prompt: msgVolPubDesc, Optional: true, Photos: true, Validate: validDescription},
		},
		Confirm: msgVolPubSummary,
		View: func(r *bot.Request, a bot.Answers) any {
			d, _ := f.draft(a)
			v := f.data(r, &d)
			v["Weeks"], v["Audience"] = max(1, atoi(a["weeks"])), f.audienceName(r, a["audience"])
			return v
		},
		Submit: f.submitPublish,
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func (f *VolunteerFlow) staffCommunities(_ context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
	codes, all := r.User.Communities(bot.RoleStaff)
	var out []bot.Choice
	for _, c := range f.Communities {
		if all || slices.Contains(codes, c.Code) {
			out = append(out, bot.Choice{Value: c.Code, Label: c.Name})
		}
	}
	return out, nil
}

func (f *VolunteerFlow) onlyCommunity(_ context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	codes, all := r.User.Communities(bot.RoleStaff)
	if all || len(codes) != 1 {
		return false, nil
	}
	a["community"] = codes[0]
	return true, nil
}

func (f *VolunteerFlow) audiences(_ context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
	out := []bot.Choice{{Value: "all", Label: r.T(msgVolAudAll, nil)}, {Value: bot.AudienceParty, Label: r.T(msgVolAudParty, nil)}}
	for _, s := range f.Volunteers.Config.Skills {
		out = append(out, bot.Choice{Value: s, Label: s})
	}
	return out, nil
}

func (f *VolunteerFlow) audienceName(r *bot.Request, v string) string {
	switch v {
	case "all", "":
		return r.T(msgVolAudAll, nil)
	case bot.AudienceParty:
		return r.T(msgVolAudParty, nil)
	}
	return v
}

// draft makes the activity from the form's answers.
func (f *VolunteerFlow) draft(a bot.Answers) (bot.Activity, int) {
	start, _ := time.ParseInLocation(formTime, a["start"], calendar.Location())
	end, _ := time.ParseInLocation(formTime, a["end"], calendar.Location())
	if end.Year() == 0 || end.Before(start) && a["end"] != "" && len(a["end"]) == 5 {
		end = start
	}
	if len(a["end"]) == 5 { // "HH:MM": the same day as the start
		t, _ := time.Parse("15:04", a["end"])
		end = time.Date(start.Year(), start.Month(), start.Day(), t.Hour(), t.Minute(), 0, 0, calendar.Location())
	}
	aud := a["audience"]
	if aud == "all" {
		aud = bot.AudienceAll
	}
	photo := ""
	if ps := a.Photos("description"); len(ps) > 0 {
		photo = ps[0]
	}
	return bot.Activity{Community: a["community"], Title: a["title"], Place: a["place"], Start: start, End: end,
		Capacity: atoi(a["capacity"]), Audience: aud, Description: a["description"], Photo: photo}, max(1, atoi(a["weeks"]))
}

func (f *VolunteerFlow) submitPublish(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
	d, weeks := f.draft(a)
	as, err := f.Volunteers.Publish(ctx, staff(r), r.Now, d, weeks, r.OnceKey())
	if err != nil {
		return bot.Reply{}, err
	}
	items := make([]map[string]any, len(as))
	for i, x := range as {
		items[i] = f.data(r, x)
	}
	return r.Say(msgVolPubDone, map[string]any{"Items": items}), nil
}

// formTime is how the form keeps a time.
const formTime = "2006-01-02 15:04"

// parseWhen reads a time as staff type it: "2026-12-05 09:00", "12-05 09:00",
// "12月5日 9:00"; a year left out is the next time that date comes.
func parseWhen(now time.Time, in string) (time.Time, bool) {
	in = toHalfWidth(strings.TrimSpace(in))
	in = strings.NewReplacer("月", "-", "日", " ", "号", " ", "/", "-", "：", ":", ".", "-").Replace(in)
	in = strings.Join(strings.Fields(in), " ")
	loc := calendar.Location()
	for _, layout := range []string{"2006-1-2 15:04", "1-2 15:04"} {
		t, err := time.ParseInLocation(layout, in, loc)
		if err != nil {
			continue
		}
		if layout == "1-2 15:04" {
			n := now.In(loc)
			t = time.Date(n.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, loc)
			if t.Before(n.Add(-24 * time.Hour)) {
				t = t.AddDate(1, 0, 0)
			}
		}
		return t, true
	}
	return time.Time{}, false
}

func validStart(r *bot.Request, in string) (string, error) {
	t, ok := parseWhen(r.Now, in)
	if !ok || !t.After(r.Now) {
		return "", bot.UserError(bot.EInvalid, msgVolBadTime, nil)
	}
	return t.Format(formTime), nil
}

// validEnd takes "HH:MM" (the same day) or a full time.
func validEnd(r *bot.Request, in string) (string, error) {
	s := toHalfWidth(strings.TrimSpace(strings.ReplaceAll(in, "：", ":")))
	if t, err := time.Parse("15:04", s); err == nil {
		return t.Format("15:04"), nil
	}
	if t, err := time.Parse("15:4", s); err == nil {
		return t.Format("15:04"), nil
	}
	t, ok := parseWhen(r.Now, in)
	if !ok {
		return "", bot.UserError(bot.EInvalid, msgVolBadTime, nil)
	}
	return t.Format(formTime), nil
}

func validShort(_ *bot.Request, in string) (string, error) {
	in = strings.TrimSpace(in)
	if in == "" || len([]rune(in)) > 40 {
		return "", bot.UserError(bot.EInvalid, msgBadDescription, map[string]int{"Max": 40})
	}
	return in, nil
}

func validCount(lo, hi int) func(*bot.Request, string) (string, error) {
	return func(_ *bot.Request, in string) (string, error) {
		n, err := strconv.Atoi(toHalfWidth(strings.TrimSpace(in)))
		if err != nil || n < lo || n > hi {
			return "", bot.UserError(bot.EInvalid, msgVolBadNumber, map[string]int{"Min": lo, "Max": hi})
		}
		return strconv.Itoa(n), nil
	}
}

// code: 签到码 <no>. The code in words, and as a QR code image pushed after the
// reply (volunteers can scan it with WeChat, which then sends the code).
func (f *VolunteerFlow) code(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _ := firstNumber(r)
	if no == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "code"}), nil
	}
	a, code, opens, err := f.Volunteers.CheckCode(ctx, staff(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	d["Code"], d["Opens"], d["Image"] = code, bot.ClockTime(r.Catalog, opens), false
	if f.Media != nil && f.Pusher != nil {
		if err := f.pushQR(ctx, r, a, code); err != nil {
			// The code in words still works: say so rather than fail the answer.
			f.Log.WarnContext(ctx, "check-in QR code not sent", "activity", a.No, "err", err)
		} else {
			d["Image"] = true
		}
	}
	return r.Say(msgVolCodeText, d), nil
}

func (f *VolunteerFlow) pushQR(ctx context.Context, r *bot.Request, a *bot.Activity, code string) error {
	// What a scan gives the volunteer to send: the check-in command with the code.
	words := r.Catalog.Words(wordsVolCheckIn)
	png, err := qrcode.Encode(words[0]+" "+code, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	id, err := f.Media.UploadImage(ctx, "checkin-"+a.No+".png", png)
	if err != nil {
		return err
	}
	if f.Seen != nil {
		if err := f.Seen.Acted(ctx, r.Update.From, bot.ActionMessage, r.Now); err != nil {
			return err
		}
	}
	return f.Pusher.Push(ctx, bot.Push{ID: bot.CheckCodePushID(a.No, code, r.Update.From), To: r.Update.From,
		Kind: bot.PushVolunteerUpdate, Image: id, Text: code, Ref: a.No, Community: a.Community, Urgent: true})
}

// adjust: 补签 <no> <序号 or 志愿者编号> <hours>.
func (f *VolunteerFlow) adjust(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	fs := strings.Fields(toHalfWidth(r.Args))
	if len(fs) != 3 {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "adjust"}), nil
	}
	a, id, c, err := f.Volunteers.Adjust(ctx, staff(r), r.Now, fs[0], fs[1], fs[2])
	if err != nil {
		return bot.Reply{}, err
	}
	d := f.data(r, a)
	v, _ := f.Volunteers.Store.Volunteer(ctx, id)
	d["Name"], d["Got"], d["Points"] = v.Name, bot.Hours(c.Minutes), c.Points
	return r.Say(msgVolAdjusted, d), nil
}

// redeem: 兑换 <志愿者编号> <points> <item>.
func (f *VolunteerFlow) redeem(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	fs := strings.Fields(toHalfWidth(r.Args))
	if len(fs) < 3 {
		return r.Say(bot.MsgVolBadPoints, nil), nil
	}
	v, l, err := f.Volunteers.Redeem(ctx, staff(r), r.Now, fs[0], fs[1], strings.Join(fs[2:], " "))
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVolRedeemed, map[string]any{"No": v.No, "Name": v.Name, "Points": -l.Points, "Item": l.Item, "Balance": l.Balance}), nil
}

// move: 活动改期 <no> <start> <end> | 活动改期 <no> 地点 <place>.
func (f *VolunteerFlow) move(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, rest := firstNumber(r)
	rest = strings.TrimSpace(rest)
	if no == "" || rest == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "move"}), nil
	}
	var start, end time.Time
	place := ""
	if p, ok := strings.CutPrefix(rest, "地点"); ok {
		place = strings.TrimSpace(p)
		if place == "" {
			return r.Say(msgVolUsage, map[string]any{"Cmd": "move"}), nil
		}
	} else {
		fs := strings.Fields(rest)
		if len(fs) < 3 {
			return r.Say(msgVolUsage, map[string]any{"Cmd": "move"}), nil
		}
		s, ok := parseWhen(r.Now, fs[0]+" "+fs[1])
		e, err := time.Parse("15:04", fs[2])
		if !ok || err != nil {
			return r.Say(msgVolBadTime, nil), nil
		}
		start = s
		end = time.Date(s.Year(), s.Month(), s.Day(), e.Hour(), e.Minute(), 0, 0, calendar.Location())
	}
	a, err := f.Volunteers.Edit(ctx, staff(r), r.Now, no, start, end, place)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVolMoved, f.data(r, a)), nil
}

// cancel: 取消活动 <no> [reason].
func (f *VolunteerFlow) cancel(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, reason := firstNumber(r)
	if no == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "cancel"}), nil
	}
	a, err := f.Volunteers.Cancel(ctx, staff(r), r.Now, no, strings.TrimSpace(reason))
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgVolCancelledOK, f.data(r, a)), nil
}

// roster: 报名名单 <no> (staff): confirmed and waitlisted with names, late cancellations.
func (f *VolunteerFlow) roster(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _ := firstNumber(r)
	if no == "" {
		return r.Say(msgVolUsage, map[string]any{"Cmd": "roster"}), nil
	}
	a, err := f.Volunteers.Store.Activity(ctx, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !r.User.CanIn(bot.RoleStaff, a.Community) {
		return r.Say(bot.MsgVolStaffOnly, nil), nil
	}
	ro, err := f.Volunteers.Store.Roster(ctx, no)
	if err != nil {
		return bot.Reply{}, err
	}
	name := func(i int, id string) map[string]any {
		v, _ := f.Volunteers.Store.Volunteer(ctx, id)
		return map[string]any{"N": i + 1, "Name": v.Name, "No": v.No, "Phone": maskPhone(v.Phone)}
	}
	var in, wait, late []map[string]any
	for i, id := range ro.Confirmed {
		in = append(in, name(i, id))
	}
	for i, id := range ro.Waitlisted {
		wait = append(wait, name(i, id))
	}
	for i, id := range ro.LateCancels {
		late = append(late, name(i, id))
	}
	d := f.data(r, a)
	d["Confirmed"], d["Waitlisted"], d["Late"] = in, wait, late
	return r.Say(msgVolRosterText, d), nil
}
