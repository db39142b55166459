package handlers

import (
	"context"
	"strings"
	"time"
	"unicode"

	"minyuan/bot"
)

// What a resident writes that no command, flow or live relay took is never
// dropped: it goes to their open case (the handler, or the desk, hears of it), or,
// with no case open, it is offered as a new request with the description filled
// in. Staff and the engine's own routes are not touched: this is the fallback.

var (
	msgFollowUpReceipt    = bot.Msg("followup.receipt")
	msgFollowUpOffer      = bot.Msg("followup.offer")
	msgFollowUpOfferPhoto = bot.Msg("followup.offer_photo")
	msgFollowUpUnheard    = bot.Msg("followup.voice_unheard")
	msgGreeting           = bot.Msg("greeting")

	wordsGreeting    = bot.Words("words.greeting")
	wordsRequestLead = bot.Words("words.request_lead")
)

// FollowUpFlow is the resident's fallback.
type FollowUpFlow struct {
	Tickets *bot.TicketService
	// Within is how long after it was closed a ticket still takes a resident's
	// free message (desk.followup_window).
	Within time.Duration
	// Requests starts the request form for a message with no case to go to.
	Requests *RequestFlow
	// Keywords start the request form whatever case is open (desk.request_keywords).
	Keywords []string
}

// fallback serves what nothing else took.
func (f *FollowUpFlow) fallback(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	// A greeting alone (你好, 在吗, 您好。) is not a case to file or a follow-up: it
	// gets a short welcome that says what to do. (In a live relay it never comes
	// here: it is conversation.)
	if greeting(r) {
		return r.Say(msgGreeting, nil), nil
	}
	if f.Tickets == nil || r.User.Can(bot.RoleStaff) {
		return fallback(ctx, r)
	}
	u := r.Update
	var m bot.Said
	switch {
	case u.Kind == bot.KindText || u.Kind == bot.KindVoice:
		m.Text = strings.TrimSpace(u.Text)
		if m.Text == "" && u.Kind == bot.KindVoice && u.MediaID != "" {
			m.Voice = u.MediaID
		}
	case u.Kind == bot.KindImage && u.PicURL != "":
		m.Photo, m.PhotoMedia = u.PicURL, u.MediaID
	}
	if m == (bot.Said{}) {
		return fallback(ctx, r)
	}
	if desc, ok := f.asksForRequest(r, m.Text); ok && f.Requests != nil {
		r.Args = desc
		return f.Requests.requestForm().Serve(ctx, r)
	}
	t, ok, err := f.Tickets.OpenCase(ctx, resident(r), r.Now, f.Within)
	if err != nil {
		return bot.Reply{}, err
	}
	if ok {
		t, err = f.Tickets.FollowUp(ctx, resident(r), r.Now, t.No, m)
		if err != nil {
			return bot.Reply{}, err
		}
		return r.Say(msgFollowUpReceipt, f.Tickets.View(t)), nil
	}
	if f.Requests == nil {
		return fallback(ctx, r)
	}
	// No case: the request form, with what they sent as its description (the photo
	// among its photos).
	offer := msgFollowUpOffer
	switch {
	case m.Photo != "":
		offer = msgFollowUpOfferPhoto
	case m.Text == "":
		// A voice message with no words: nothing to fill the form with.
		return r.Say(msgFollowUpUnheard, nil), nil
	}
	r.Args = m.Text
	rep, err := f.Requests.requestForm().Serve(ctx, r)
	if err != nil {
		return bot.Reply{}, err
	}
	rep.Text = r.T(offer, nil) + "\n" + rep.Text
	return rep, nil
}

// asksForRequest reports whether text asks for a new request with one of the
// keywords: 「投诉」「我要投诉」「你好，我想报修」, or the keyword set apart from what
// follows (「报修：厨房水管漏水」「投诉 楼上噪音」). Then desc is the description to
// fill in: the whole message when it says more than the keyword, else "". A sentence
// that only runs on from the keyword (「报修的师傅几点来？」) is not a request: it goes
// to the resident's open case.
func (f *FollowUpFlow) asksForRequest(r *bot.Request, text string) (desc string, ok bool) {
	s := bot.Spoken(text)
	if rest, ok := cutWord(s, r.Catalog.Words(wordsGreeting)); ok {
		s = strings.TrimLeftFunc(rest, isSeparator)
	}
	rest, lead := cutWord(s, r.Catalog.Words(wordsRequestLead))
	if !lead {
		rest = s
	}
	for _, k := range f.Keywords {
		after, found := strings.CutPrefix(rest, k)
		if !found {
			continue
		}
		said := strings.TrimLeftFunc(after, isSeparator)
		switch {
		case said == "":
			return "", true
		case lead || said != after:
			return strings.TrimSpace(text), true
		}
	}
	return "", false
}

// greeting reports whether the text is only a greeting word (words.greeting), with
// what people put round it: 「你好。」「在吗？」「您好！」.
func greeting(r *bot.Request) bool {
	if r.Update.Kind != bot.KindText && r.Update.Kind != bot.KindVoice {
		return false
	}
	s := strings.TrimFunc(bot.Spoken(r.Update.Text), isSeparator)
	for _, w := range r.Catalog.Words(wordsGreeting) {
		if s == w {
			return true
		}
	}
	return false
}

// cutWord cuts the longest of words off the start of s.
func cutWord(s string, words []string) (string, bool) {
	best := ""
	for _, w := range words {
		if strings.HasPrefix(s, w) && len(w) > len(best) {
			best = w
		}
	}
	if best == "" {
		return s, false
	}
	return s[len(best):], true
}

// isSeparator: what sets a word apart from what follows it (spaces, 「，」「：」...).
func isSeparator(c rune) bool { return unicode.IsSpace(c) || unicode.IsPunct(c) }
