package handlers

import (
	"context"
	"slices"
	"strings"
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
	wordsNudge           = bot.Words("words.nudge")
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

	msgNudged       = bot.Msg("nudge.done")
	msgNudgeUsage   = bot.Msg("nudge.usage")
	msgNudgeNone    = bot.Msg("nudge.none")
	msgQueryUsage   = bot.Msg("query.usage")
	msgAddUsage     = bot.Msg("add.usage")
	msgRateNone     = bot.Msg("rate.none")
	msgRateUsage    = bot.Msg("rate.usage")
	msgRateThanks   = bot.Msg("rate.thanks")
	msgRateReopened = bot.Msg("rate.reopened")
	msgRateFlagged  = bot.Msg("rate.flagged")
)

const (
	maxDescription = bot.MaxTicketText // runes: a long message, not an essay
	myTicketsShown = 10
	// rateLookback is how many of a resident's newest tickets 满意 looks through for
	// the one waiting to be rated.
	rateLookback = 20
)

// RequestFlow is the resident's side of a request.
type RequestFlow struct {
	Tickets     *bot.TicketService
	Profiles    bot.Profiles
	Categories  []bot.Category
	Communities Communities
}

func (f *RequestFlow) register(m *bot.Mux) {
	form := f.requestForm()
	m.Command(wordsRequest, bot.RoleResident, form)
	m.Menu("REQUEST", bot.RoleResident, form)
	m.Command(wordsMyTickets, bot.RoleResident, bot.ReadOnly(bot.HandlerFunc(f.myTickets)))
	m.Menu("MY_TICKETS", bot.RoleResident, bot.HandlerFunc(f.myTickets))
	m.Command(wordsQuery, bot.RoleResident, bot.ReadOnly(bot.HandlerFunc(f.queryTicket)))
	m.Command(wordsSupplement, bot.RoleResident, supplement{f.supplementForm(), f})
	m.Command(wordsRateSatisfied, bot.RoleResident, f.rateWith(bot.RatingSatisfied))
	m.Command(wordsRateBasic, bot.RoleResident, f.rateWith(bot.RatingBasic))
	m.Command(wordsRateUnsatisfied, bot.RoleResident, f.rateWith(bot.RatingUnsatisfied))
	m.Command(wordsRate, bot.RoleResident, bot.HandlerFunc(f.rateByNumber))
	m.Command(wordsNudge, bot.RoleResident, bot.HandlerFunc(f.nudge))
}

// onlyOpen is the sender's one open ticket: with exactly one, 查询, 补充 and 催办 need
// no number. n is how many are open (among the newest myTicketsShown).
func (f *RequestFlow) onlyOpen(ctx context.Context, r *bot.Request) (no string, n int, err error) {
	cs, err := f.openTicketChoices(ctx, r, nil)
	if err != nil || len(cs) != 1 {
		return "", len(cs), err
	}
	return cs[0].Value, 1, nil
}

// nudge: 催办 [no] (also 催一下, 怎么还没人来). The rule is the ticket service's
// (TicketService.Nudge: once an hour, handler or else the desk); here the resident
// is told whom it reached.
func (f *RequestFlow) nudge(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, _ := splitTicketNo(r.Args)
	if no == "" {
		one, n, err := f.onlyOpen(ctx, r)
		switch {
		case err != nil:
			return bot.Reply{}, err
		case n == 0:
			return r.Say(msgNudgeNone, nil), nil
		case n > 1:
			return r.Say(msgNudgeUsage, nil), nil
		}
		no = one
	}
	res, err := f.Tickets.Nudge(ctx, resident(r), r.Now, no)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgNudged, f.Tickets.View(res.Ticket)), nil
}

// requestForm: 诉求. Category, description (words, voice recognition text, photos),
// community and phone (both asked only the first time), then a summary to confirm.
func (f *RequestFlow) requestForm() *bot.Form {
	return &bot.Form{
		ID:      "request",
		Heading: msgRequestTitle,
		Fields: []bot.Field{
			{Key: "category", Prompt: msgRequestCategory, Choices: f.categoryChoices},
			{Key: "description", Prompt: msgRequestDesc, Photos: true, Validate: validDescription, FromArgs: true,
				PromptData: f.descriptionData},
			{Key: "community", Prompt: msgRequestCommunity, Choices: f.Communities.choices, Skip: rememberedCommunity(f.Profiles, f.Communities)},
			{Key: "phone", Prompt: msgRequestPhone, Validate: validPhone, Skip: rememberedPhone(f.Profiles)},
		},
		Confirm: msgRequestSummary,
		View: func(_ *bot.Request, a bot.Answers) any {
			cat, _ := f.Tickets.Category(a["category"])
			com, _ := f.Tickets.Community(a["community"])
			return map[string]any{
				"Category": cat.Name, "Description": a["description"], "Photos": len(a.Photos("description")),
				"Community": com.Name, "Phone": maskPhone(a["phone"]), "Private": cat.Private,
			}
		},
		Submit: f.submitRequest,
	}
}

// descriptionData: the answers so far, and whether the category is one where
// someone may be in danger (the prompt then gives the emergency numbers first).
func (f *RequestFlow) descriptionData(_ *bot.Request, a bot.Answers) any {
	d := make(map[string]any, len(a)+1)
	for k, v := range a {
		d[k] = v
	}
	cat, _ := f.Tickets.Category(a["category"])
	d["Urgent"] = cat.Urgency == bot.UrgencyHigh
	return d
}

func (f *RequestFlow) categoryChoices(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
	out := make([]bot.Choice, len(f.Categories))
	for i, c := range f.Categories {
		out[i] = bot.Choice{Value: c.Code, Label: c.Name, Aliases: c.Aliases, Hint: c.Hint}
	}
	return out, nil
}

func validDescription(_ *bot.Request, in string) (string, error) {
	in = strings.TrimSpace(in)
	if utf8.RuneCountInString(in) > maxDescription {
		return "", bot.UserError(bot.EInvalid, msgBadDescription, map[string]int{"Max": maxDescription})
	}
	return in, nil
}

// submitRequest files the ticket. The form's run (r.OnceKey) is the creation key, so
// a confirm that is handled again (a platform retry after a crash, a 确认 typed again
// after a busy answer, or after a later step failed) finds the same ticket, answers
// its number and completes what was left: the desk's alert and the deadlines.
func (f *RequestFlow) submitRequest(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
	p, err := f.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	t, err := f.Tickets.Intake(ctx, resident(r), r.Now, bot.NewTicket{
		Community: a["community"], Category: a["category"],
		Description: a["description"], Photos: a.Photos("description"),
		Source: "wechat", Name: p.Name, Phone: a["phone"],
	}, r.OnceKey())
	if err != nil {
		return bot.Reply{}, err
	}
	if p.Community != t.Community || p.Phone != t.Phone {
		p.OpenID, p.Community, p.Phone, p.Updated = r.Update.From, t.Community, t.Phone, r.Now
		if err := f.Profiles.SaveProfile(ctx, p); err != nil {
			return bot.Reply{}, err
		}
	}
	return r.Say(msgRequestDone, f.Tickets.View(t)), nil
}

// care: an illness or a death in the family, where nobody asks for a rating.
func (f *RequestFlow) care(t *bot.Ticket) bool {
	cat, _ := f.Tickets.Category(t.Category)
	return cat.Care
}

// myTickets: 我的诉求, newest first.
func (f *RequestFlow) myTickets(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	ts, err := f.Tickets.Mine(ctx, resident(r), myTicketsShown)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(ts) == 0 {
		return r.Say(msgMyNone, nil), nil
	}
	items := make([]map[string]any, len(ts))
	for i, t := range ts {
		v := f.Tickets.ResidentViewAt(t, r.Now)
		v["Summary"] = excerpt(t.Description, 16)
		v["ToRate"] = t.Status == bot.StatusClosed && t.Rating == "" && !f.care(t)
		items[i] = v
	}
	return r.Say(msgMyList, map[string]any{"Items": items}), nil
}

// queryTicket: 查询 <no>. Status, who has it, by when, the latest word to the resident,
// and the result once closed.
func (f *RequestFlow) queryTicket(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, _, _ := splitTicketNo(r.Args)
	if no == "" {
		one, _, err := f.onlyOpen(ctx, r)
		if err != nil {
			return bot.Reply{}, err
		}
		if one == "" {
			return r.Say(msgQueryUsage, nil), nil
		}
		no = one
	}
	t, evs, err := f.Tickets.Timeline(ctx, resident(r), no)
	if err != nil {
		return bot.Reply{}, err
	}
	v := f.Tickets.ResidentViewAt(t, r.Now) // its state now: 逾期 and what happens next
	v["Open"], v["IsNew"], v["Reopened"] = t.Open(), t.Open() && t.Claimed.IsZero(), t.Reopened > 0
	// Every field the text may show is given, empty when there is nothing to say.
	v["Reply"], v["ReplyAt"], v["ReplyBy"], v["ClosedAt"], v["ToRate"], v["Rating"] = "", "", "", "", false, ""
	if ev, ok := latestReply(t, evs); ok {
		v["Reply"], v["ReplyAt"], v["ReplyBy"] = ev.Text, when(r, ev.At), ev.Name
	}
	if !t.Open() {
		v["ClosedAt"] = when(r, t.Closed)
		v["ToRate"] = t.Rating == "" && !f.care(t)
	}
	if t.Rating != "" {
		v["Rating"] = r.T(bot.RatingName(t.Rating), nil)
	}
	return r.Say(msgQuery, v), nil
}

// latestReply is the newest word of staff to the resident: replies and relayed
// messages, never private notes, never the resident's own relayed words.
func latestReply(t *bot.Ticket, evs []bot.Event) (bot.Event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if (ev.Kind == bot.EventReply || ev.Kind == bot.EventRelay) && !ev.Private && ev.Actor != t.OpenID {
			return ev, true
		}
	}
	return bot.Event{}, false
}

// ownTicket loads a ticket of the sender. Someone else's ticket is "not found", in
// the same words as a number never given: a resident learns nothing of others.
func (f *RequestFlow) ownTicket(ctx context.Context, r *bot.Request, no string) (*bot.Ticket, error) {
	return f.Tickets.Get(ctx, resident(r), no)
}

// supplement: 补充 <no> <text> adds at once; 补充 <no> (or 补充 alone, which first
// asks which ticket) opens a one-question form that takes words or photos.
type supplement struct {
	*bot.Form
	f *RequestFlow
}

func (f *RequestFlow) supplementForm() *bot.Form {
	return &bot.Form{
		ID:      "request.add",
		Heading: msgAddTitle,
		Fields: []bot.Field{
			{Key: "no", Prompt: msgAddWhich, Choices: f.openTicketChoices, Skip: f.numberOrOnlyOpen},
			{Key: "text", Prompt: msgAddText, Photos: true, Validate: validDescription},
		},
		Submit: func(ctx context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			return f.addToTicket(ctx, r, a["no"], a["text"], a.Photos("text"))
		},
	}
}

func (h supplement) Serve(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, text, _ := splitTicketNo(r.Args)
	if no == "" && r.Args != "" {
		// 补充 楼上也漏水: with exactly one open ticket the text is for it.
		one, _, err := h.f.onlyOpen(ctx, r)
		if err != nil {
			return bot.Reply{}, err
		}
		if one == "" {
			return r.Say(msgAddUsage, nil), nil
		}
		no, text = one, r.Args
	}
	switch {
	case no == "":
		cs, err := h.f.openTicketChoices(ctx, r, nil)
		if err != nil {
			return bot.Reply{}, err
		}
		if len(cs) == 0 {
			return r.Say(msgAddNone, nil), nil
		}
		return h.Form.Serve(ctx, r)
	}
	t, err := h.f.ownTicket(ctx, r, no)
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
		return h.f.addToTicket(ctx, r, no, text, nil)
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

// numberOrOnlyOpen takes the number typed after 补充, or the sender's only open
// ticket: nobody is asked to pick from a list of one.
func (f *RequestFlow) numberOrOnlyOpen(ctx context.Context, r *bot.Request, a bot.Answers) (bool, error) {
	if ok, err := numberFromArgs(ctx, r, a); ok || err != nil {
		return ok, err
	}
	one, _, err := f.onlyOpen(ctx, r)
	if err != nil || one == "" {
		return false, err
	}
	a["no"] = one
	return true, nil
}

// openTicketChoices are the sender's open tickets; the number itself is accepted too.
func (f *RequestFlow) openTicketChoices(ctx context.Context, r *bot.Request, _ bot.Answers) ([]bot.Choice, error) {
	ts, err := f.Tickets.Mine(ctx, resident(r), myTicketsShown)
	if err != nil {
		return nil, err
	}
	var out []bot.Choice
	for _, t := range ts {
		if t.Open() {
			cat, _ := f.Tickets.Category(t.Category)
			out = append(out, bot.Choice{Value: t.No, Label: t.No + " " + cat.Name + " " + excerpt(t.Description, 12)})
		}
	}
	return out, nil
}

// addToTicket puts what the resident added on the ticket; whoever has it is told.
func (f *RequestFlow) addToTicket(ctx context.Context, r *bot.Request, no, text string, photos []string) (bot.Reply, error) {
	t, err := f.Tickets.AddInfo(ctx, resident(r), r.Now, no, text, photos)
	if err != nil {
		return bot.Reply{}, err
	}
	return r.Say(msgAdded, f.Tickets.View(t)), nil
}

// rateWith answers 满意, 基本满意 and 不满意 [理由]: the rating goes to the resident's
// most recently closed ticket that waits for one, or to the ticket whose number
// starts the text.
func (f *RequestFlow) rateWith(rating bot.Rating) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		ts, err := f.Tickets.Mine(ctx, resident(r), rateLookback)
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
		// 「不满意，怎么还没人来」 is about waiting, not a rating: on an open ticket
		// (the one named, or the resident's open one) it is a 催办.
		if rating == bot.RatingUnsatisfied && f.asksToHurry(r, reason) {
			if target != nil && target.Open() {
				r.Args = target.No
				return f.nudge(ctx, r)
			}
			if target == nil && slices.ContainsFunc(ts, (*bot.Ticket).Open) {
				r.Args = ""
				return f.nudge(ctx, r)
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
		return f.rate(ctx, r, target.No, rating, reason)
	})
}

// asksToHurry reports whether text holds a 催办 word (怎么还没人来, 催一下, 催办).
func (f *RequestFlow) asksToHurry(r *bot.Request, text string) bool {
	words := append(slices.Clone(r.Catalog.Words(wordsNudge)), r.Catalog.Words(wordsVisitNudge)...)
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(text, w) })
}

// rateByNumber: 评价 <no> <1|2|3 or the word> [理由].
func (f *RequestFlow) rateByNumber(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	no, rest, _ := splitTicketNo(r.Args)
	rating, reason, ok := parseRating(r.Catalog, rest)
	if no == "" || !ok {
		return r.Say(msgRateUsage, nil), nil
	}
	if _, err := f.ownTicket(ctx, r, no); err != nil {
		return bot.Reply{}, err
	}
	return f.rate(ctx, r, no, rating, reason)
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

// rate gives the sender's rating to ticket no: thanks, or (不满意) the news that it
// was reopened or flagged for the secretary.
func (f *RequestFlow) rate(ctx context.Context, r *bot.Request, no string, rating bot.Rating, reason string) (bot.Reply, error) {
	res, err := f.Tickets.Rate(ctx, resident(r), r.Now, no, rating, reason)
	if err != nil {
		return bot.Reply{}, err
	}
	if rating != bot.RatingUnsatisfied {
		return r.Say(msgRateThanks, map[string]string{"No": no, "Rating": r.T(bot.RatingName(rating), nil)}), nil
	}
	// The resident is told who heard of it: the secretary only when one was told.
	v := f.Tickets.View(res.Ticket)
	v["Secretaries"] = res.Secretaries
	if res.Reopened {
		return r.Say(msgRateReopened, v), nil
	}
	return r.Say(msgRateFlagged, v), nil
}

// trimLead drops the spaces and punctuation people put after a number or a word
// ("1001：", "不满意，").
func trimLead(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
}
