package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CallIntake files a ticket for a call: *TicketService, whose Intake is given
// channel hotline. The same key never files two.
type CallIntake interface {
	Intake(ctx context.Context, a Actor, at time.Time, n NewTicket, key string) (*Ticket, error)
}

// TicketReader reads tickets.
type TicketReader interface {
	Ticket(ctx context.Context, no string) (*Ticket, error)
	Timeline(ctx context.Context, no string) ([]Event, error)
	ByResident(ctx context.Context, openid string, limit int) ([]*Ticket, error)
}

// HotlineNotifier tells people about calls; the chat flows implement it.
type HotlineNotifier interface {
	// CallFiled: a call from a number a resident has proved became ticket t; the
	// resident gets the receipt in WeChat.
	CallFiled(ctx context.Context, t *Ticket) error
}

// Limits of what a call log may carry.
const (
	MaxCallIDLen  = 250 // the generic CTI API's own limit
	MaxSummary    = 2000
	MaxOperator   = 64
	maxFuture     = 5 * time.Minute
	callerLogSize = 20
)

// HotlineService holds the rules of the hotline bridge: the caller log, calls
// becoming tickets, missed calls becoming call-back tasks, and what an operator sees
// about a number.
type HotlineService struct {
	Calls       CallStore
	Intake      CallIntake
	Tickets     TicketReader
	Callbacks   *CallbackService
	Profiles    Profiles
	Hasher      PhoneHasher
	Notify      HotlineNotifier
	Proofs      ProofStore // for the voice code waiting for a number
	Categories  []Category
	Communities []Community
	// Community is the desk of calls that name none (the first community by default).
	Community string
}

// invalid is a refusal of one field of the input.
func invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Data: map[string]string{"field": field}, Err: fmt.Errorf(field+": "+format, args...)}
}

// ErrorField is the input field an EInvalid error is about, if it says.
func ErrorField(err error) string {
	if e, ok := err.(*Error); ok {
		if m, ok := e.Data.(map[string]string); ok {
			return m["field"]
		}
	}
	return ""
}

func (s *HotlineService) category(v string) (Category, bool) {
	for _, c := range s.Categories {
		if strings.EqualFold(c.Code, v) || c.Name == v {
			return c, true
		}
	}
	return Category{}, false
}

func (s *HotlineService) community(v string) (Community, bool) {
	for _, c := range s.Communities {
		if strings.EqualFold(c.Code, v) || c.Name == v {
			return c, true
		}
	}
	return Community{}, false
}

func (s *HotlineService) defaultCommunity() string {
	if s.Community != "" {
		return s.Community
	}
	if len(s.Communities) > 0 {
		return s.Communities[0].Code
	}
	return ""
}

// validCallID: what a phone system sends, printable and bounded.
func validCallID(id string) bool {
	if id == "" || len(id) > MaxCallIDLen {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// check validates a call log and normalises it.
func (s *HotlineService) check(actor Actor, at time.Time, in *CallLog) error {
	if !validCallID(in.CallID) {
		return invalid("call_id", "required, 1 to %d printable ASCII characters", MaxCallIDLen)
	}
	caller, ok := NormalizePhone(in.Caller)
	if !ok || strings.TrimSpace(in.Caller) == "" {
		return invalid("caller", "a phone number, or \"anonymous\"")
	}
	in.Caller = caller
	if in.StartedAt.IsZero() {
		return invalid("started_at", "required (RFC 3339)")
	}
	if in.StartedAt.After(at.Add(maxFuture)) {
		return invalid("started_at", "in the future")
	}
	if in.DurationS < 0 || in.DurationS > 24*3600 {
		return invalid("duration_s", "0 to 86400 seconds")
	}
	if utf8.RuneCountInString(in.Operator) > MaxOperator {
		return invalid("operator", "at most %d characters", MaxOperator)
	}
	cat, ok := s.category(strings.TrimSpace(in.Category))
	if !ok {
		return invalid("category", "unknown category %q", in.Category)
	}
	in.Category = cat.Code
	in.Summary = strings.TrimSpace(in.Summary)
	if in.Summary == "" || utf8.RuneCountInString(in.Summary) > MaxSummary {
		return invalid("summary", "required, at most %d characters", MaxSummary)
	}
	com, ok := s.community(strings.TrimSpace(in.Community))
	if !ok {
		return invalid("community", "unknown community %q", in.Community)
	}
	in.Community = com.Code
	if in.RecordingURL != "" {
		u, err := url.Parse(in.RecordingURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("recording_url", "an http(s) URL")
		}
	}
	if actor.Kind != ActorAPI && !actor.CanIn(RoleHotline, in.Community) && !actor.CanIn(RoleStaff, in.Community) {
		return Errorf(EForbidden, "hotline: %s may not log calls in %s", actor.ID, in.Community)
	}
	return nil
}

// digest fingerprints a call log: the same log sent again has the same digest.
func (in CallLog) digest() string {
	h := sha256.New()
	for _, f := range []string{in.CallID, in.Caller, in.StartedAt.UTC().Format(time.RFC3339), strconv.Itoa(in.DurationS),
		in.Operator, in.Category, in.Summary, in.Community, in.RecordingURL, strconv.FormatBool(in.Confidential)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// LogCall logs a call from call-centre software or the chat form and files its
// ticket. It is idempotent on the call ID: the same log again returns the same call
// and ticket (created false); a different log under a used call ID is refused with
// EConflict and changes nothing.
func (s *HotlineService) LogCall(ctx context.Context, actor Actor, at time.Time, in CallLog) (*Call, *Ticket, bool, error) {
	if err := s.check(actor, at, &in); err != nil {
		return nil, nil, false, err
	}
	if in.Operator == "" {
		in.Operator = actor.Name
	}
	digest := in.digest()
	prev, ok, err := s.Calls.Call(ctx, in.CallID)
	if err != nil {
		return nil, nil, false, err
	}
	if ok && prev.Ticket != "" {
		if prev.Digest != digest {
			return nil, nil, false, Errorf(EConflict, "hotline: call %s was logged with other details", in.CallID)
		}
		t, err := s.Tickets.Ticket(ctx, prev.Ticket)
		return prev, t, false, err
	}
	hash := s.Hasher.Hash(in.Caller)
	openid := ""
	if hash != "" {
		if openid, _, err = s.Calls.ProvedBy(ctx, hash); err != nil {
			return nil, nil, false, err
		}
	}
	cat, _ := s.category(in.Category)
	t, err := s.Intake.Intake(ctx, actor, at, NewTicket{
		Community: in.Community, Category: cat.Code, Description: in.Summary,
		Source: SourceHotline, OpenID: openid, Phone: in.Caller, Confidential: in.Confidential,
	}, "call:"+in.CallID)
	if err != nil {
		return nil, nil, false, err
	}
	created := false
	c, err := s.Calls.UpdateCall(ctx, in.CallID, hash, func(c *Call) (*Call, map[Counter]int64, error) {
		if c != nil && c.Ticket != "" {
			return nil, nil, nil // a concurrent log of the same call won
		}
		counts := map[Counter]int64{}
		if c == nil {
			c = &Call{ID: in.CallID, Caller: in.Caller, Direction: "in", Started: in.StartedAt, State: CallEnded}
			counts[CounterCallReceived] = 1
		}
		created = true
		c.Via, c.Community = in.Via, in.Community
		if c.Caller == "" {
			c.Caller = in.Caller
		}
		if c.DurationS == 0 {
			c.DurationS = in.DurationS
		}
		if c.AnsweredBy == "" {
			c.AnsweredBy = in.Operator
		}
		c.Operator, c.Category, c.Summary, c.RecordingURL = in.Operator, in.Category, in.Summary, in.RecordingURL
		c.Confidential, c.Ticket, c.Digest, c.Updated = in.Confidential, t.No, digest, at
		if in.Confidential {
			counts[CounterCallConfidential] = 1
		}
		return c, counts, nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	if c.Ticket != t.No {
		t, err = s.Tickets.Ticket(ctx, c.Ticket)
		return c, t, false, err
	}
	if created && t.OpenID != "" && s.Notify != nil {
		if err := s.Notify.CallFiled(ctx, t); err != nil {
			return c, t, true, err
		}
	}
	return c, t, created, nil
}

// CTI takes one event of a phone system. Events are idempotent: a repeated newCall
// or hangup changes nothing, and a missed call makes one call-back task however
// often its hangup comes.
func (s *HotlineService) CTI(ctx context.Context, at time.Time, ev CTIEvent) (*Call, error) {
	switch ev.Event {
	case CTINewCall, CTIAnswer, CTIHangup:
	default:
		return nil, invalid("event", "newCall, answer or hangup")
	}
	if !validCallID(ev.CallID) {
		return nil, invalid("callId", "required, 1 to %d printable ASCII characters", MaxCallIDLen)
	}
	dir := ev.Direction
	if dir == "" {
		dir = "in"
	}
	if dir != "in" && dir != "out" {
		return nil, invalid("direction", "in or out")
	}
	number := ev.From
	if dir == "out" {
		number = ev.To
	}
	caller, ok := NormalizePhone(number)
	if !ok {
		return nil, invalid(map[bool]string{true: "from", false: "to"}[dir == "in"], "a phone number or anonymous")
	}
	if ev.Event == CTIHangup && ev.Cause == "" {
		return nil, invalid("cause", "required for hangup")
	}
	hash := s.Hasher.Hash(caller)
	openid := ""
	if hash != "" {
		var err error
		if openid, _, err = s.Calls.ProvedBy(ctx, hash); err != nil {
			return nil, err
		}
	}
	community, err := s.ctiCommunity(ctx, ev.Queue, openid)
	if err != nil {
		return nil, err
	}
	c, err := s.Calls.UpdateCall(ctx, ev.CallID, hash, func(c *Call) (*Call, map[Counter]int64, error) {
		counts := map[Counter]int64{}
		if c == nil {
			c = &Call{ID: ev.CallID, Caller: caller, To: ev.To, Direction: dir, Via: CallViaCTI, Community: community,
				Queue: ev.Queue, State: CallRinging, Started: at}
			if dir == "out" {
				c.To = ev.From
			}
			counts[CounterCallReceived] = 1
		} else if c.State == CallEnded || (ev.Event == CTINewCall) || (ev.Event == CTIAnswer && c.State == CallAnswered) {
			return nil, nil, nil // a repeat, or an event after the end
		}
		if len(ev.Users) > 0 {
			c.Users = ev.Users
		}
		switch ev.Event {
		case CTIAnswer:
			c.State, c.Answered = CallAnswered, at
			if ev.AnsweringNumber != "" {
				c.AnsweredBy = ev.AnsweringNumber
			}
		case CTIHangup:
			c.State, c.Ended, c.Cause = CallEnded, at, ev.Cause
			if ev.AnsweringNumber != "" {
				c.AnsweredBy = ev.AnsweringNumber
			}
			if !c.Answered.IsZero() {
				c.DurationS = int(at.Sub(c.Answered).Seconds())
			}
			if c.Direction == "in" && c.Answered.IsZero() && MissedCause(ev.Cause) {
				c.Missed = true
				counts[CounterCallMissed] = 1
			}
		}
		c.Updated = at
		return c, counts, nil
	})
	if err != nil {
		return nil, err
	}
	if !c.Missed || c.Callback != "" || c.Caller == "" || s.Callbacks == nil {
		// An anonymous caller cannot be called back; the missed call is counted.
		return c, nil
	}
	cb, _, err := s.Callbacks.Create(ctx, at, Callback{
		ID: "call:" + c.ID, Phone: c.Caller, OpenID: openid, Community: c.Community, Reason: CallbackMissedCall, CallID: c.ID,
	})
	if err != nil {
		return c, err
	}
	return s.Calls.UpdateCall(ctx, c.ID, hash, func(c *Call) (*Call, map[Counter]int64, error) {
		if c == nil || c.Callback != "" {
			return nil, nil, nil
		}
		c.Callback = cb.No
		return c, nil, nil
	})
}

// ctiCommunity: the queue when it names a community, else the community of the
// resident who proved the number, else the hotline's desk.
func (s *HotlineService) ctiCommunity(ctx context.Context, queue, openid string) (string, error) {
	if c, ok := s.community(queue); ok && queue != "" {
		return c.Code, nil
	}
	if openid != "" && s.Profiles != nil {
		p, err := s.Profiles.Profile(ctx, openid)
		if err != nil {
			return "", err
		}
		if _, ok := s.community(p.Community); ok && p.Community != "" {
			return p.Community, nil
		}
	}
	return s.defaultCommunity(), nil
}

// Caller is what an operator sees when number rings: its open tickets (those filed
// from its calls, and the open tickets of the resident who proved it), its recent
// calls, and a voice code to read if a resident waits to link the number.
func (s *HotlineService) Caller(ctx context.Context, actor Actor, at time.Time, number string) (CallerInfo, error) {
	n, ok := NormalizePhone(number)
	if !ok || n == "" {
		return CallerInfo{}, invalid("number", "a phone number")
	}
	info := CallerInfo{Number: n}
	hash := s.Hasher.Hash(n)
	calls, err := s.Calls.CallsOf(ctx, hash, callerLogSize)
	if err != nil {
		return info, err
	}
	info.Calls = calls
	seen := map[string]bool{}
	for _, c := range calls {
		if c.Ticket == "" || seen[c.Ticket] {
			continue
		}
		seen[c.Ticket] = true
		t, err := s.Tickets.Ticket(ctx, c.Ticket)
		if ErrorCode(err) == ENotFound {
			continue
		}
		if err != nil {
			return info, err
		}
		if t.Open() {
			info.Open = append(info.Open, t)
		}
	}
	openid, linked, err := s.Calls.ProvedBy(ctx, hash)
	if err != nil {
		return info, err
	}
	info.Linked = linked
	if linked {
		ts, err := s.Tickets.ByResident(ctx, openid, 50)
		if err != nil {
			return info, err
		}
		for _, t := range ts {
			if t.Open() && !seen[t.No] {
				seen[t.No] = true
				info.Open = append(info.Open, t)
			}
		}
	}
	slices.SortFunc(info.Open, func(a, b *Ticket) int { return a.Created.Compare(b.Created) })
	if s.Proofs != nil {
		if info.VoiceCode, err = s.pendingCode(ctx, hash, at); err != nil {
			return info, err
		}
	}
	return info, nil
}

// PublicTicket is a ticket and its timeline as the hotline's software may show it:
// without private notes, and a confidential ticket without its contents.
func (s *HotlineService) PublicTicket(ctx context.Context, actor Actor, no string) (*Ticket, []Event, error) {
	t, err := s.Tickets.Ticket(ctx, no)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.Tickets.Timeline(ctx, no)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		if ev.Private {
			continue
		}
		if t.Confidential {
			ev.Text = ""
		}
		out = append(out, ev)
	}
	if t.Confidential {
		cp := *t
		cp.Description, cp.Photos, cp.Result = "", nil, ""
		t = &cp
	}
	return t, out, nil
}
