package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"minyuan/bot"
)

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsRequest         = bot.Words("words.request")
	wordsMyTickets       = bot.Words("words.my_tickets")
	wordsQuery           = bot.Words("words.query")
	wordsSupplement      = bot.Words("words.supplement")
	wordsRateSatisfied   = bot.Words("words.rate_satisfied")
	wordsRateBasic       = bot.Words("words.rate_basic")
	wordsRateUnsatisfied = bot.Words("words.rate_unsatisfied")
	wordsRate            = bot.Words("words.rate")
)

// The resident's side of a request (民愿): bring one (诉求), see one's own (我的诉求,
// 查询), add to one (补充), and rate it once it is closed (满意 / 基本满意 / 不满意).
// A resident only ever sees their own tickets: someone else's number is answered
// exactly like a number that does not exist.

var (
	msgRequestTitle     = bot.Msg("request.title")
	msgRequestCategory  = bot.Msg("request.category")
	msgRequestDesc      = bot.Msg("request.description")
	msgRequestCommunity = bot.Msg("request.community")
	msgRequestPhone     = bot.Msg("request.phone")
	msgRequestSummary   = bot.Msg("request.summary")
	msgRequestDone      = bot.Msg("request.done")
	msgBadDescription   = bot.Msg("validate.description")

	msgMyNone = bot.Msg("request.mine_none")
	msgMyList = bot.Msg("request.mine")
	msgQuery  = bot.Msg("request.query")

	msgAddTitle  = bot.Msg("request.add_title")
	msgAddWhich  = bot.Msg("request.add_which")
	msgAddText   = bot.Msg("request.add_text")
	msgAddNone   = bot.Msg("request.add_none")
	msgAddClosed = bot.Msg("request.add_closed")
	msgAdded     = bot.Msg("request.added")
	msgAddedPush = bot.Msg("push.ticket_added")

	msgQueryUsage      = bot.Msg("query.usage")
	msgAddUsage        = bot.Msg("add.usage")
	msgRateNone        = bot.Msg("rate.none")
	msgRateUsage       = bot.Msg("rate.usage")
	msgRateNotClosed   = bot.Msg("rate.not_closed")
	msgRateAlready     = bot.Msg("rate.already")
	msgRateThanks      = bot.Msg("rate.thanks")
	msgRateReopened    = bot.Msg("rate.reopened")
	msgRateFlagged     = bot.Msg("rate.flagged")
	msgReopenedPush    = bot.Msg("push.reopened")
	msgUnsatisfiedPush = bot.Msg("push.unsatisfied_again")
	msgRatingSatisfied = bot.Msg("rating.satisfied")
	msgRatingBasic     = bot.Msg("rating.basic")
	msgRatingUnsatis   = bot.Msg("rating.unsatisfied")
	msgRatingEvent     = bot.Msg("rating.event")
)

var ratingNames = map[bot.Rating]bot.MsgKey{
	bot.RatingSatisfied:   msgRatingSatisfied,
	bot.RatingBasic:       msgRatingBasic,
	bot.RatingUnsatisfied: msgRatingUnsatis,
}

const (
	maxDescription = 1000 // runes: a long message, not an essay
	myTicketsShown = 10
	// rateLookback is how many of a resident's newest tickets 满意 looks through for
	// the one waiting to be rated.
	rateLookback = 20
)

func registerResident(m *bot.Mux, d *Deps) {
	f := requestForm(d)
	m.Command(wordsRequest, bot.RoleResident, f)
	m.Menu("REQUEST", bot.RoleResident, f)
	m.Command(wordsMyTickets, bot.RoleResident, bot.HandlerFunc(d.myTickets))
	m.Menu("MY_TICKETS", bot.RoleResident, bot.HandlerFunc(d.myTickets))
	m.Command(wordsQuery, bot.RoleResident, bot.HandlerFunc(d.queryTicket))
	m.Command(wordsSupplement, bot.RoleResident, supplement{supplementForm(d), d})
	m.Command(wordsRateSatisfied, bot.RoleResident, rateWith(d, bot.RatingSatisfied))
	m.Command(wordsRateBasic, bot.RoleResident, rateWith(d, bot.RatingBasic))
	m.Command(wordsRateUnsatisfied, bot.RoleResident, rateWith(d, bot.RatingUnsatisfied))
	m.Command(wordsRate, bot.RoleResident, bot.HandlerFunc(d.rateByNumber))
}

// requestForm: 诉求. Category, description (words, voice recognition text, photos),
// community and phone (both asked only the first time), then a summary to confirm.
func requestForm(d *Deps) *bot.Form {
	return &bot.Form{
		ID:      "request",
		Heading: msgRequestTitle,
		Fields: []bot.Field{
			{Key: "category", Prompt: msgRequestCategory, Choices: d.categoryChoices},
			{Key: "description", Prompt: msgRequestDesc, Photos: true, Validate: validDescription},
			{Key: "community", Prompt: msgRequestCommunity, Choices: d.communityChoices, Skip: d.rememberedCommunity},
			{Key: "phone", Prompt: msgRequestPhone, Validate: validPhone, Skip: d.rememberedPhone},
		},
		Confirm: msgRequestSummary,
		View: func(_ *bot.Request, a bot.Answers) any {
			cat, _ := d.category(a["category"])
			com, _ := d.community(a["community"])
			return map[string]any{
				"Category": cat.Name, "Description": a["description"], "Photos": len(a.Photos("description")),
				"Community": com.Name, "Phone": maskPhone(a["phone"]),
			}
		},
		Submit: d.submitRequest,
	}
}

func (d *Deps) categoryChoices(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	out := make([]bot.Choice, len(d.Categories))
	for i, c := range d.Categories {
		out[i] = bot.Choice{Value: c.Code, Label: c.Name}
	}
	return out, nil
}

// rememberedCommunity skips the question when the profile names a community we serve
// (typed once, or set by following through a community's QR code).
func (d *Deps) rememberedCommunity(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	p, err := d.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return false, err
	}
	if _, ok := d.community(p.Community); !ok {
		return false, nil
	}
	a["community"] = p.Community
	return true, nil
}

func (d *Deps) rememberedPhone(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	p, err := d.Profiles.Profile(ctx, r.Update.From)
	if err != nil || p.Phone == "" {
		return false, err
	}
	a["phone"] = p.Phone
	return true, nil
}

func validDescription(_ *bot.Request, in string) (string, error) {
	in = strings.TrimSpace(in)
	if utf8.RuneCountInString(in) > maxDescription {
		return "", bot.UserError(bot.EInvalid, msgBadDescription, map[string]int{"Max": maxDescription})
	}
	return in, nil
}

// submitRequest files the ticket. The confirming Update's ID is the creation key, so
// a confirm that is handled again (a platform retry after a crash, or after a later
// step failed) finds the same ticket; every step after Create is idempotent too
// (reminders move, pushes have fixed IDs), so the retry completes what was left.
func (d *Deps) submitRequest(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
	cat, ok := d.category(a["category"])
	if !ok {
		return bot.Reply{}, bot.Errorf(bot.EInternal, "request: unknown category %q", a["category"])
	}
	com, ok := d.community(a["community"])
	if !ok {
		return bot.Reply{}, bot.Errorf(bot.EInternal, "request: unknown community %q", a["community"])
	}
	p, err := d.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	now := r.Now
	t := &bot.Ticket{
		Community: com.Code, Category: cat.Code, Urgency: cat.Urgency,
		Description: a["description"], Photos: a.Photos("description"),
		Source: "wechat", OpenID: r.Update.From, Name: p.Name, Phone: a["phone"],
		Status: bot.StatusNew, Created: now,
		SignBy: d.Calendar.AddWorkingDays(now, cat.SignDays),
		DueBy:  d.Calendar.AddWorkingDays(now, cat.ResolveDays),
	}
	t, err = d.Tickets.Create(ctx, t, r.Update.ID, bot.Event{At: now, Actor: r.Update.From, Name: p.Name, Kind: "created"})
	if err != nil {
		return bot.Reply{}, err
	}
	// From the ticket's own creation time, so that a retry schedules the same.
	if err := d.scheduleDeadlines(ctx, t, t.Created); err != nil {
		return bot.Reply{}, err
	}
	if err := d.scheduleAutoAssign(ctx, t, t.Created); err != nil {
		return bot.Reply{}, err
	}
	staff, err := d.onDutyFirst(ctx, t.Community)
	if err != nil {
		return bot.Reply{}, err
	}
	if err := d.tellStaff(ctx, r, t, staff, "t:"+t.No+":new", msgNewTicketPush, nil); err != nil {
		return bot.Reply{}, err
	}
	if p.Community != t.Community || p.Phone != t.Phone {
		p.OpenID, p.Community, p.Phone, p.Updated = r.Update.From, t.Community, t.Phone, now
		if err := d.Profiles.SaveProfile(ctx, p); err != nil {
			return bot.Reply{}, err
		}
	}
	return r.Say(msgRequestDone, d.ticketView(r, t)), nil
}

// myTickets: 我的诉求, newest first.
func (d *Deps) myTickets(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	ts, err := d.Tickets.ByResident(ctx, r.Update.From, myTicketsShown)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(ts) == 0 {
		return r.Say(msgMyNone, nil), nil
	}
	items := make([]map[string]any, len(ts))
	for i, t := range ts {
		v := d.ticketView(r, t)
		v["Summary"] = excerpt(t.Description, 16)
		v["ToRate"] = t.Status == bot.StatusClosed && t.Rating == ""
		items[i] = v
	}
	return r.Say(msgMyList, map[string]any{"Items": items}), nil
}

// queryTicket: 查询 <no>. Status, who has it, by when, the latest word to the resident,
// and the result once closed.
func (d *Deps) queryTicket(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, _ := splitTicketNo(r.Args)
	if no == "" {
		return r.Say(msgQueryUsage, nil), nil
	}
	t, err := d.ownTicket(ctx, r, no)
	if err != nil {
		return bot.Reply{}, err
	}
	evs, err := d.Tickets.Timeline(ctx, no)
	if err != nil {
		return bot.Reply{}, err
	}
	v := d.ticketView(r, t)
	v["Open"], v["IsNew"], v["Reopened"] = t.Open(), t.Status == bot.StatusNew, t.Reopened > 0
	if ev, ok := latestReply(t, evs); ok {
		v["Reply"], v["ReplyAt"], v["ReplyBy"] = ev.Text, when(r, ev.At), ev.Name
	}
	if !t.Open() {
		v["ClosedAt"] = when(r, t.Closed)
		v["ToRate"] = t.Rating == ""
	}
	if t.Rating != "" {
		v["Rating"] = r.T(ratingNames[t.Rating], nil)
	}
	return r.Say(msgQuery, v), nil
}

// latestReply is the newest word of staff to the resident: replies and relayed
// messages, never private notes, never the resident's own relayed words.
func latestReply(t *bot.Ticket, evs []bot.Event) (bot.Event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if (ev.Kind == "reply" || ev.Kind == "relay") && !ev.Private && ev.Actor != t.OpenID {
			return ev, true
		}
	}
	return bot.Event{}, false
}

// ownTicket loads a ticket of the sender. Someone else's ticket is "not found", in
// the same words as a number never given: a resident learns nothing of others.
func (d *Deps) ownTicket(ctx context.Context, r *bot.Request, no string) (*bot.Ticket, error) {
	t, err := d.Tickets.Ticket(ctx, no)
	if bot.ErrorCode(err) == bot.ENotFound || (err == nil && t.OpenID != r.Update.From) {
		return nil, ticketNotFound(no)
	}
	return t, err
}

// supplement: 补充 <no> <text> adds at once; 补充 <no> (or 补充 alone, which first
// asks which ticket) opens a one-question form that takes words or photos.
type supplement struct {
	*bot.Form
	d *Deps
}

func supplementForm(d *Deps) *bot.Form {
	return &bot.Form{
		ID:      "request.add",
		Heading: msgAddTitle,
		Fields: []bot.Field{
			{Key: "no", Prompt: msgAddWhich, Choices: d.openTicketChoices, Skip: numberFromArgs},
			{Key: "text", Prompt: msgAddText, Photos: true, Validate: validDescription},
		},
		Submit: func(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			return d.addToTicket(ctx, r, a["no"], a["text"], a.Photos("text"))
		},
	}
}

func (h supplement) Serve(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, _ := splitTicketNo(r.Args)
	switch {
	case no == "" && r.Args != "":
		return r.Say(msgAddUsage, nil), nil
	case no == "":
		cs, err := h.d.openTicketChoices(ctx, r, nil)
		if err != nil {
			return bot.Reply{}, err
		}
		if len(cs) == 0 {
			return r.Say(msgAddNone, nil), nil
		}
		return h.Form.Serve(ctx, r)
	}
	t, err := h.d.ownTicket(ctx, r, no)
	if err != nil {
		return bot.Reply{}, err
	}
	if !t.Open() {
		return r.Say(msgAddClosed, map[string]string{"No": no}), nil
	}
	if text != "" {
		if _, err := validDescription(r, text); err != nil {
			return bot.Reply{}, err
		}
		return h.d.addToTicket(ctx, r, no, text, nil)
	}
	return h.Form.Serve(ctx, r)
}

// numberFromArgs takes the ticket number typed after 补充 (already checked by Serve).
func numberFromArgs(_ context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	no, _, _ := splitTicketNo(r.Args)
	if no == "" {
		return false, nil
	}
	a["no"] = no
	return true, nil
}

// openTicketChoices are the sender's open tickets; the number itself is accepted too.
func (d *Deps) openTicketChoices(ctx context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
	ts, err := d.Tickets.ByResident(ctx, r.Update.From, myTicketsShown)
	if err != nil {
		return nil, err
	}
	var out []bot.Choice
	for _, t := range ts {
		if t.Open() {
			cat, _ := d.category(t.Category)
			out = append(out, bot.Choice{Value: t.No, Label: t.No + " " + cat.Name + " " + excerpt(t.Description, 12)})
		}
	}
	return out, nil
}

// addToTicket puts what the resident added in the timeline (photos also on the
// ticket) and tells whoever has the ticket, or the desk.
func (d *Deps) addToTicket(ctx context.Context, r *bot.Request, no, text string, photos []string) (bot.Reply, error) {
	t, err := d.Tickets.Update(ctx, no, func(t *bot.Ticket) ([]bot.Event, error) {
		if t.OpenID != r.Update.From {
			return nil, ticketNotFound(no)
		}
		if !t.Open() {
			return nil, bot.UserError(bot.EConflict, msgAddClosed, map[string]string{"No": no})
		}
		t.Photos = append(t.Photos, photos...)
		body := strings.Join(append([]string{text}, photos...), "\n")
		return []bot.Event{{At: r.Now, Actor: r.Update.From, Name: t.Name, Kind: "added", Text: strings.TrimSpace(body)}}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	to, err := d.handlerOrDesk(ctx, t)
	if err != nil {
		return bot.Reply{}, err
	}
	extra := map[string]any{"Added": text, "AddedPhotos": len(photos)}
	if err := d.tellStaff(ctx, r, t, to, "t:"+no+":added:"+r.Update.ID, msgAddedPush, extra); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgAdded, d.ticketView(r, t)), nil
}

// rateWith answers 满意, 基本满意 and 不满意 [理由]: the rating goes to the resident's
// most recently closed ticket that waits for one, or to the ticket whose number
// starts the text.
func rateWith(d *Deps, rating bot.Rating) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		ts, err := d.Tickets.ByResident(ctx, r.Update.From, rateLookback)
		if err != nil {
			return bot.Reply{}, err
		}
		reason := trimLead(r.Args) // "满意，谢谢" has no space after the word
		var target *bot.Ticket
		if no, rest, ok := splitTicketNo(r.Args); ok {
			for _, t := range ts {
				if t.No == no {
					target, reason = t, rest
				}
			}
		}
		if target == nil {
			for _, t := range ts {
				if t.Status == bot.StatusClosed && t.Rating == "" && (target == nil || t.Closed.After(target.Closed)) {
					target = t
				}
			}
		}
		if target == nil {
			return r.Say(msgRateNone, nil), nil
		}
		return d.rate(ctx, r, target.No, rating, reason)
	})
}

// rateByNumber: 评价 <no> <1|2|3 or the word> [理由].
func (d *Deps) rateByNumber(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, rest, _ := splitTicketNo(r.Args)
	rating, reason, ok := parseRating(r.Catalog, rest)
	if no == "" || !ok {
		return r.Say(msgRateUsage, nil), nil
	}
	if _, err := d.ownTicket(ctx, r, no); err != nil {
		return bot.Reply{}, err
	}
	return d.rate(ctx, r, no, rating, reason)
}

// parseRating reads "1|2|3 [理由]" or a rating word of the catalogue and the reason
// after it. Longer words are tried first: 满意 must not take 满意's place in 基本满意.
func parseRating(cat *bot.Catalog, s string) (bot.Rating, string, bool) {
	type word struct {
		w string
		r bot.Rating
	}
	words := []word{{"1", bot.RatingSatisfied}, {"2", bot.RatingBasic}, {"3", bot.RatingUnsatisfied}}
	for key, r := range map[bot.WordsKey]bot.Rating{
		wordsRateSatisfied: bot.RatingSatisfied, wordsRateBasic: bot.RatingBasic, wordsRateUnsatisfied: bot.RatingUnsatisfied,
	} {
		for _, w := range cat.Words(key) {
			words = append(words, word{w, r})
		}
	}
	slices.SortStableFunc(words, func(a, b word) int { return len(b.w) - len(a.w) })
	s = toHalfWidth(strings.TrimSpace(s))
	for _, w := range words {
		if rest, ok := strings.CutPrefix(s, w.w); ok {
			return w.r, trimLead(rest), true
		}
	}
	return "", "", false
}

// rate records a closed ticket's rating. The first 不满意 does not stay a rating: it
// reopens the ticket (same handler, a new resolve deadline, flagged) and the
// resident rates again once it is closed again, so the report counters hold each
// ticket's final rating, and the reopen counts in "reopened". A 不满意 after a reopen
// is final: recorded and flagged for the secretary.
func (d *Deps) rate(ctx context.Context, r *bot.Request, no string, rating bot.Rating, reason string) (bot.Reply, error) {
	var reopened bool
	// The timeline is read by people (详情, the register): the rating in words.
	ratingText := r.T(msgRatingEvent, map[string]string{"Rating": r.T(ratingNames[rating], nil), "Reason": reason})
	t, err := d.Tickets.Update(ctx, no, func(t *bot.Ticket) ([]bot.Event, error) {
		reopened = false
		data := map[string]string{"No": no}
		switch {
		case t.OpenID != r.Update.From:
			return nil, ticketNotFound(no)
		case t.Status != bot.StatusClosed:
			return nil, bot.UserError(bot.EConflict, msgRateNotClosed, data)
		case t.Rating != "":
			return nil, bot.UserError(bot.EConflict, msgRateAlready, data)
		}
		evs := []bot.Event{{At: r.Now, Actor: r.Update.From, Name: t.Name, Kind: "rated", Text: ratingText}}
		if rating != bot.RatingUnsatisfied {
			t.Rating, t.RatingNote = rating, reason
			return evs, nil
		}
		t.Flagged = true
		if t.Reopened > 0 {
			t.Rating, t.RatingNote = rating, reason
			return evs, nil
		}
		cat, _ := d.category(t.Category)
		reopened = true
		t.Reopened++
		t.Status, t.Closed = bot.StatusClaimed, time.Time{}
		if t.Handler == "" {
			t.Status = bot.StatusNew
		}
		t.DueBy = d.Calendar.AddWorkingDays(r.Now, cat.ResolveDays)
		return append(evs, bot.Event{At: r.Now, Actor: r.Update.From, Name: t.Name, Kind: "reopened", Text: reason}), nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if rating != bot.RatingUnsatisfied {
		return r.Say(msgRateThanks, map[string]string{"No": no, "Rating": r.T(ratingNames[rating], nil)}), nil
	}
	to, err := d.secretaryAndHandler(ctx, t)
	if err != nil {
		return bot.Reply{}, err
	}
	extra := map[string]any{"Reason": reason}
	if !reopened {
		if err := d.tellStaff(ctx, r, t, to, "t:"+no+":unsatisfied", msgUnsatisfiedPush, extra); err != nil {
			return bot.Reply{}, err
		}
		return r.Say(msgRateFlagged, d.ticketView(r, t)), nil
	}
	if err := d.scheduleDeadlines(ctx, t, r.Now); err != nil {
		return bot.Reply{}, err
	}
	id := fmt.Sprintf("t:%s:reopen:%d", no, t.Reopened)
	if err := d.tellStaff(ctx, r, t, to, id, msgReopenedPush, extra); err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgRateReopened, d.ticketView(r, t)), nil
}

// secretaryAndHandler are who hear of a resident's dissatisfaction: the community's
// secretaries and the ticket's handler, each once.
func (d *Deps) secretaryAndHandler(ctx context.Context, t *bot.Ticket) ([]bot.Grant, error) {
	to, err := d.withRole(ctx, bot.RoleSecretary, t.Community)
	if err != nil {
		return nil, err
	}
	if t.Handler == "" {
		return to, nil
	}
	for _, g := range to {
		if g.OpenID == t.Handler {
			return to, nil
		}
	}
	return append(to, bot.Grant{OpenID: t.Handler, Name: t.HandlerName, Community: t.Community}), nil
}

// trimLead drops the spaces and punctuation people put after a number or a word
// ("1001：", "不满意，").
func trimLead(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
}
