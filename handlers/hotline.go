package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"minyuan/bot"
)

// The hotline bridge in chat: call-back tasks (回电) reach the desk and are closed
// with 回电 <n> <result>; a resident links the number they call from with a code
// read to them by phone (关联来电, then 验证码 <code>); a linked resident gets the
// receipt of each call in WeChat. The rules are the services' (bot/callback.go,
// bot/hotline.go, bot/identity.go); this file words them.

// Words users type for these commands (configs/messages.zh.yaml, words.*).
var (
	wordsCallback        = bot.Words("words.callback")
	wordsCallbackReached = bot.Words("words.callback_reached")
	wordsCallbackNoAns   = bot.Words("words.callback_no_answer")
	wordsCallbackWrong   = bot.Words("words.callback_wrong_number")
	wordsLinkCalls       = bot.Words("words.link_calls")
	wordsVoiceCode       = bot.Words("words.voice_code")
)

var (
	msgCallbackUsage    = bot.Msg("callback.usage")
	msgCallbackNone     = bot.Msg("callback.none")
	msgCallbackHead     = bot.Msg("callback.head")
	msgCallbackLine     = bot.Msg("callback.line")
	msgCallbackNotFound = bot.Msg("callback.not_found")
	msgCallbackClosed   = bot.Msg("callback.closed")
	msgCallbackDone     = bot.Msg("callback.done")
	msgCallbackAgain    = bot.Msg("callback.again")
	msgPushCallbackNew  = bot.Msg("push.callback.new")
	msgPushCallbackDue  = bot.Msg("push.callback.due")
	msgPushCallbackEsc  = bot.Msg("push.callback.escalated")
	msgPushCallFiled    = bot.Msg("push.call.filed")
	msgCallbackReason   = bot.Msg("callback.reason")
	msgLinkNoPhone      = bot.Msg("hotline.link.no_phone")
	msgLinkNoCalls      = bot.Msg("hotline.link.no_calls")
	msgLinkStarted      = bot.Msg("hotline.link.started")
	msgLinkDone         = bot.Msg("hotline.link.done")
	msgVoiceCodeUsage   = bot.Msg("hotline.code.usage")
	msgProofNone        = bot.Msg("hotline.proof.none")
	msgProofExpired     = bot.Msg("hotline.proof.expired")
	msgProofWrong       = bot.Msg("hotline.proof.wrong")
	msgProofTooMany     = bot.Msg("hotline.proof.too_many")
	msgProofAlready     = bot.Msg("hotline.proof.already")
	msgProofBadPhone    = bot.Msg("hotline.proof.bad_phone")
)

// callbackListLimit keeps a list of tasks inside one chat message.
const callbackListLimit = 10

// CallbackPeople finds whom to tell about a community's call-back tasks.
type CallbackPeople interface {
	Holders(ctx context.Context, role bot.Role, community string) ([]bot.Grant, error)
	OnDuty(ctx context.Context, community string) ([]string, error)
}

// HotlineFlow is the hotline's chat side; it is also the services' notifier.
type HotlineFlow struct {
	Callbacks   *bot.CallbackService
	Hotline     *bot.HotlineService
	Tickets     *bot.TicketService
	Profiles    bot.Profiles
	People      CallbackPeople
	Pusher      bot.Pusher
	Catalog     *bot.Catalog
	Clock       bot.Clock
	Communities Communities
	// Categories are offered in the 来电 form (call_log.go).
	Categories []bot.Category
}

func (f *HotlineFlow) register(m *bot.Mux) {
	if f.Callbacks == nil {
		return // not wired (route tests)
	}
	m.Command(wordsCallback, bot.RoleStaff, bot.HandlerFunc(f.callback))
	m.Command(wordsLinkCalls, bot.RoleResident, bot.HandlerFunc(f.linkCalls))
	m.Command(wordsVoiceCode, bot.RoleResident, bot.HandlerFunc(f.voiceCode))
	m.Command(wordsCallLog, bot.RoleHotline, f.callForm())
}

// view is a task as staff read it: the phone in full, since they call it.
func (f *HotlineFlow) view(c *bot.Callback) map[string]any {
	com, _ := f.Communities.byCode(c.Community)
	return map[string]any{
		"No": c.No, "Phone": c.Phone, "Community": com.Name, "Ticket": c.Ref, "Text": excerpt(c.Text, 60),
		"Code": c.Code, "Attempts": len(c.Attempts), "Failed": c.Failed(), "Escalated": c.Escalated,
		"ToStaff": c.EscalatedTo == bot.RoleStaff,
		"Reason":  f.Catalog.T(msgCallbackReason, map[string]string{"Reason": c.Reason}),
		"Due":     bot.When(f.Catalog, c.Due),
	}
}

// desk is whom to tell about a community's task: those on duty, else all its staff.
func (f *HotlineFlow) desk(ctx context.Context, community string) ([]bot.Grant, error) {
	staff, err := f.Tickets.StaffOf(ctx, community)
	if err != nil {
		return nil, err
	}
	duty, err := f.People.OnDuty(ctx, community)
	if err != nil {
		return nil, err
	}
	on := slices.DeleteFunc(slices.Clone(staff), func(g bot.Grant) bool { return !slices.Contains(duty, g.OpenID) })
	if len(on) > 0 {
		return on, nil
	}
	return staff, nil
}

func (f *HotlineFlow) tell(ctx context.Context, c *bot.Callback, to []bot.Grant, event string, key bot.MsgKey) error {
	text := f.Catalog.T(key, f.view(c))
	for _, g := range to {
		err := f.Pusher.Push(ctx, bot.Push{
			ID: fmt.Sprintf("cb:%s:v%d:%s:%s", c.No, c.Version, event, bot.Recipient(g.OpenID)), To: g.OpenID,
			Kind: bot.PushTicketAlert, Text: text, Fields: map[string]string{"no": c.No, "text": text},
			Ref: c.Ref, Community: c.Community,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// CallbackCreated tells the desk of a new task.
func (f *HotlineFlow) CallbackCreated(ctx context.Context, c *bot.Callback) error {
	to, err := f.desk(ctx, c.Community)
	if err != nil {
		return err
	}
	return f.tell(ctx, c, to, "new", msgPushCallbackNew)
}

// CallbackDue reminds the desk of a task still waiting for its call.
func (f *HotlineFlow) CallbackDue(ctx context.Context, c *bot.Callback) error {
	to, err := f.desk(ctx, c.Community)
	if err != nil {
		return err
	}
	return f.tell(ctx, c, to, "due", msgPushCallbackDue)
}

// CallbackEscalated tells whom the service chose (c.EscalatedTo): the community's
// secretaries, or its staff when it has none, that three calls did not get through.
func (f *HotlineFlow) CallbackEscalated(ctx context.Context, c *bot.Callback) error {
	var to []bot.Grant
	if c.EscalatedTo != bot.RoleStaff {
		secs, err := f.People.Holders(ctx, bot.RoleSecretary, c.Community)
		if err != nil {
			return err
		}
		to = slices.DeleteFunc(secs, func(g bot.Grant) bool { return g.Role != bot.RoleSecretary || g.Community != c.Community })
	}
	if len(to) == 0 {
		staff, err := f.Tickets.StaffOf(ctx, c.Community)
		if err != nil {
			return err
		}
		to = staff
	}
	return f.tell(ctx, c, to, "escalated", msgPushCallbackEsc)
}

// CallFiled gives a linked resident the receipt of their call.
func (f *HotlineFlow) CallFiled(ctx context.Context, t *bot.Ticket) error {
	text := f.Catalog.T(msgPushCallFiled, f.Tickets.View(t))
	return f.Pusher.Push(ctx, bot.Push{
		ID: bot.TicketPushID(t.No, 1, "call_filed", t.OpenID), To: t.OpenID, Kind: bot.PushTicketUpdate, Text: text,
		Fields: map[string]string{"no": t.No, "text": text}, Important: true, Ref: t.No, Community: t.Community,
	})
}

// callbackResult reads 已接通 / 未接通 / 空号 (and what follows, a note).
func (f *HotlineFlow) callbackResult(r *bot.Request, s string) (bot.CallbackResult, string, bool) {
	for _, w := range []struct {
		key bot.WordsKey
		res bot.CallbackResult
	}{{wordsCallbackReached, bot.CallbackReached}, {wordsCallbackNoAns, bot.CallbackNoAnswer}, {wordsCallbackWrong, bot.CallbackWrongNumber}} {
		for _, word := range r.Catalog.Words(w.key) {
			if rest, ok := strings.CutPrefix(s, word); ok {
				return w.res, strings.TrimSpace(rest), true
			}
		}
	}
	return "", "", false
}

// 回电: the open tasks of the sender's communities; 回电 <n> <result> [note] records
// a call.
func (f *HotlineFlow) callback(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	a := staff(r)
	if strings.TrimSpace(r.Args) == "" {
		return f.listCallbacks(ctx, r, a)
	}
	no, rest, ok := splitTicketNo(r.Args)
	if !ok {
		return r.Say(msgCallbackUsage, nil), nil
	}
	res, note, ok := f.callbackResult(r, rest)
	if !ok {
		return r.Say(msgCallbackUsage, nil), nil
	}
	c, err := f.Callbacks.Attempt(ctx, a, r.Now, no, res, note)
	switch bot.ErrorCode(err) {
	case "":
	case bot.ENotFound:
		return r.Say(msgCallbackNotFound, map[string]string{"No": no}), nil
	case bot.EConflict:
		return r.Say(msgCallbackClosed, map[string]string{"No": no}), nil
	default:
		return bot.Reply{}, err
	}
	if c.Open() {
		return r.Say(msgCallbackAgain, f.view(c)), nil
	}
	return r.Say(msgCallbackDone, f.view(c)), nil
}

func (f *HotlineFlow) listCallbacks(ctx context.Context, r *bot.Request, a bot.Actor) (bot.Reply, error) {
	codes, all := a.Communities(bot.RoleStaff)
	if all {
		codes = codes[:0]
		for _, c := range f.Communities {
			codes = append(codes, c.Code)
		}
	}
	cbs, err := f.Callbacks.Open(ctx, a, codes)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(cbs) == 0 {
		return r.Say(msgCallbackNone, nil), nil
	}
	lines := []string{r.T(msgCallbackHead, map[string]int{"Count": len(cbs)})}
	for _, c := range cbs[:min(len(cbs), callbackListLimit)] {
		lines = append(lines, r.T(msgCallbackLine, f.view(c)))
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}

// CallbackLines are the open tasks of the sender's communities as 待办 lists them
// (nothing when there are none).
func (f *HotlineFlow) CallbackLines(ctx context.Context, r *bot.Request) ([]string, error) {
	if f.Callbacks == nil {
		return nil, nil
	}
	a := staff(r)
	codes, all := a.Communities(bot.RoleStaff)
	if all {
		codes = codes[:0]
		for _, c := range f.Communities {
			codes = append(codes, c.Code)
		}
	}
	cbs, err := f.Callbacks.Open(ctx, a, codes)
	if err != nil || len(cbs) == 0 {
		return nil, err
	}
	lines := []string{r.T(msgCallbackHead, map[string]int{"Count": len(cbs)})}
	for _, c := range cbs[:min(len(cbs), callbackListLimit)] {
		lines = append(lines, r.T(msgCallbackLine, f.view(c)))
	}
	return lines, nil
}

// TicketCallbackLines are the open tasks about ticket t as 详情 lists them, with
// the number to call (nothing when there are none).
func (f *HotlineFlow) TicketCallbackLines(ctx context.Context, r *bot.Request, t *bot.Ticket) ([]string, error) {
	if f.Callbacks == nil {
		return nil, nil
	}
	cbs, err := f.Callbacks.Open(ctx, staff(r), []string{t.Community})
	if err != nil {
		return nil, err
	}
	cbs = slices.DeleteFunc(cbs, func(c *bot.Callback) bool { return c.Ref != t.No })
	if len(cbs) == 0 {
		return nil, nil
	}
	lines := []string{r.T(msgCallbackHead, map[string]int{"Count": len(cbs)})}
	for _, c := range cbs[:min(len(cbs), callbackListLimit)] {
		lines = append(lines, r.T(msgCallbackLine, f.view(c)))
	}
	return lines, nil
}

// 关联来电: link the number in the resident's profile to their WeChat, by a code
// the desk reads to that phone.
func (f *HotlineFlow) linkCalls(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	p, err := f.Profiles.Profile(ctx, r.Update.From)
	if err != nil {
		return bot.Reply{}, err
	}
	phone := strings.TrimSpace(r.Args)
	if phone == "" {
		phone = p.Phone
	}
	if phone == "" {
		return r.Say(msgLinkNoPhone, nil), nil
	}
	a := resident(r)
	st, err := f.Hotline.PhoneState(ctx, a.ID, phone)
	if err != nil {
		return bot.Reply{}, err
	}
	if st.Calls == 0 && !st.Linked {
		return r.Say(msgLinkNoCalls, map[string]string{"Phone": bot.MaskPhone(phone)}), nil
	}
	pr, err := f.Hotline.StartProof(ctx, a, r.Now, phone)
	if err != nil {
		return f.proofRefused(r, err, phone)
	}
	return r.Say(msgLinkStarted, map[string]any{"Phone": bot.MaskPhone(pr.Phone), "Hours": int(bot.ProofTTL.Hours())}), nil
}

// 验证码 <code>: the code the desk read out.
func (f *HotlineFlow) voiceCode(ctx context.Context, r *bot.Request) (bot.Reply, error) {
	code := strings.Map(func(c rune) rune {
		switch {
		case c >= '0' && c <= '9':
			return c
		case c >= '０' && c <= '９':
			return c - '０' + '0'
		}
		return -1
	}, r.Args)
	if len(code) != 6 {
		return r.Say(msgVoiceCodeUsage, nil), nil
	}
	linked, err := f.Hotline.ConfirmProof(ctx, resident(r), r.Now, code)
	if err != nil {
		return f.proofRefused(r, err, "")
	}
	return r.Say(msgLinkDone, map[string]any{"Tickets": strings.Join(linked, "、"), "Count": len(linked)}), nil
}

func (f *HotlineFlow) proofRefused(r *bot.Request, err error, phone string) (bot.Reply, error) {
	if left, ok := bot.ProofLeft(err); ok {
		return r.Say(msgProofWrong, map[string]int{"Left": left}), nil
	}
	switch bot.ErrorCode(err) {
	case bot.EInvalid:
		return r.Say(msgProofBadPhone, nil), nil
	case bot.EConflict:
		return r.Say(msgProofAlready, map[string]string{"Phone": bot.MaskPhone(phone)}), nil
	case bot.ENotFound:
		return r.Say(msgProofNone, nil), nil
	case bot.EExpired:
		return r.Say(msgProofExpired, nil), nil
	case bot.ERateLimited:
		return r.Say(msgProofTooMany, nil), nil
	}
	return bot.Reply{}, err
}
