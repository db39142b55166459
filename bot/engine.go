package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Catalogue keys the engine itself uses.
var (
	msgBusy        = Msg("engine.busy")        // a dependency is down; nothing was done
	msgBusyUnsure  = Msg("engine.busy_unsure") // a dependency failed while the message was being handled
	msgInternal    = Msg("engine.internal")    // a bug; the user should try again
	msgForbidden   = Msg("engine.forbidden")   // the route needs a role the user lacks
	msgCancelled   = Msg("engine.cancelled")   // 取消 inside a flow
	msgNothingToDo = Msg("engine.nothing")     // 取消 or 返回 outside a flow
	msgDropped     = Msg("engine.dropped")     // the flow timed out while the user was away
	msgFlowGone    = Msg("engine.flow_gone")   // a session names a flow that no longer exists
	msgStillBusy   = Msg("engine.still_busy")  // a retry while the first delivery still runs
)

// Words the engine answers itself, in any flow.
var (
	wordsCancel = FlowWords("words.cancel")
	wordsBack   = FlowWords("words.back")
)

// Defaults for the Engine's timing.
const (
	// DefaultBudget is how long Redis and the handlers have for one Update. The
	// platform gives up after 5 s; the answer must be on its way well before.
	DefaultBudget = 4 * time.Second
	// DefaultGrace is added to the budget for a late Redis answer to come back:
	// every answer leaves within Budget + Grace, whatever Redis does.
	DefaultGrace = 400 * time.Millisecond
	// DefaultRenewEvery renews the claim and lock leases of a handler that runs this
	// long; the store's lease must be a few times longer.
	DefaultRenewEvery = 500 * time.Millisecond
	// DefaultRepeatWindow is how long a finished form's final answer, sent again, is
	// read as a repetition (Session.Finished). A person told 「系统繁忙…再发一次」
	// sends it again within seconds or a minute or two, or after putting the phone
	// down for a while; much later, 「好」 or 「确认」 is about something else.
	DefaultRepeatWindow = 10 * time.Minute
)

// Engine turns an Update into a Reply exactly once per Update, one Update per user at a
// time, with the user's session and roles loaded and saved around the routed handler.
type Engine struct {
	Mux     *Mux
	Catalog *Catalog
	Clock   Clock
	Inbox   Inbox
	Log     *slog.Logger
	// SessionTimeout drops a flow the user has not answered for this long.
	SessionTimeout time.Duration
	// Budget bounds the whole handling of one Update: claim, lock, load, handler and
	// commit (default DefaultBudget). Nothing is claimed, locked or written after it.
	Budget time.Duration
	// Grace is how long past Budget the answer may wait for Redis's last reply
	// (default DefaultGrace).
	Grace time.Duration
	// RenewEvery is how often a running handler's leases are renewed
	// (default DefaultRenewEvery).
	RenewEvery time.Duration
	// RepeatWindow is how long a finished form's final answer is answered again with
	// the same words (default DefaultRepeatWindow).
	RepeatWindow time.Duration

	workers workers
}

// Phases of one Update, for the answer given when time runs out.
const (
	phaseAdmit  int32 = iota // claiming, locking, loading: nothing done yet
	phaseHandle              // a handler runs: it may have had effects
)

// Handle answers u. It always returns a Reply fit to send, within Budget + Grace:
// failures become a short "busy" or "error" text and leave nothing half-done that a
// retry cannot finish.
func (e *Engine) Handle(ctx context.Context, u Update) Reply {
	grace := cmp.Or(e.Grace, DefaultGrace)
	deadline := time.Now().Add(cmp.Or(e.Budget, DefaultBudget))
	cancel := context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		// The channel started the clock when the request arrived, and its context
		// ends the work then.
		deadline = d
	} else {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	// Made only when something is logged: most Updates log nothing.
	log := sync.OnceValue(func() *slog.Logger { return e.Log.With("update", u.ID, "kind", u.Kind) })

	// The work runs apart from the answer, so that the answer leaves on time even
	// when a Redis call outlives its context; the scripts' deadline checks keep
	// such late work from taking a claim or writing anything.
	var phase atomic.Int32
	done := make(chan Reply, 1)
	e.workers.run(func() {
		defer cancel()
		done <- e.handleUpdate(ctx, u, deadline, &phase, log)
	})
	t := time.NewTimer(time.Until(deadline) + grace)
	defer t.Stop()
	select {
	case r := <-done:
		return r
	case <-t.C:
		if phase.Load() == phaseAdmit {
			log().Warn("unavailable: no answer from redis in time; nothing done")
			return e.text(msgBusy)
		}
		log().Warn("unavailable: no answer from redis in time while handling")
		return e.text(msgBusyUnsure)
	}
}

func (e *Engine) handleUpdate(ctx context.Context, u Update, deadline time.Time, phase *atomic.Int32, log func() *slog.Logger) Reply {
	if rep, ok := e.answerUnclaimed(ctx, u, log); ok {
		return rep
	}
	c, err := e.Inbox.Begin(ctx, u, deadline)
	switch {
	case errors.Is(err, ErrReplayed):
		log().Warn("refused: signed query replayed with another body")
		return Reply{Refused: ErrReplayed.Error()}
	case errors.Is(err, ErrInFlight):
		// Another live owner has it: this is a retry that came while the first
		// delivery runs. The platform will try again and get the stored reply.
		log().Info("retry while first delivery runs")
		return e.text(msgStillBusy)
	case err != nil:
		log().Warn("unavailable: not admitted", "err", err)
		return e.text(msgBusy)
	case !c.Owner:
		log().Info("duplicate delivery answered from inbox")
		return c.Reply
	case ctx.Err() != nil:
		// Admitted only as time ran out: the answer is already "busy", so give it back.
		e.abort(c, log)
		return e.text(msgBusy)
	}
	phase.Store(phaseHandle)
	stop := e.keepAlive(ctx, c, log)
	reply, out, err := e.decide(ctx, c, false, log)
	if err == nil {
		err = e.Inbox.Commit(ctx, c, out)
		if err == nil {
			stop()
			return reply
		}
		var lost *ErrClaimLost
		if errors.As(err, &lost) && lost.Stored != nil {
			stop()
			log().Warn("claim lost; answering with the reply another owner stored", "reason", lost.Reason)
			return *lost.Stored
		}
		err = &Error{Code: EUnavailable, Err: fmt.Errorf("commit: %w", err)}
	}
	stop()
	e.abort(c, log)
	if ErrorCode(err) == EUnavailable {
		log().Warn("unavailable while handling", "err", err)
		return e.text(msgBusyUnsure)
	}
	log().Error("handling failed", "err", err)
	return e.text(msgInternal)
}

// answerUnclaimed answers a ReadOnly command in one round trip, without claiming the
// Update, when the sender is in no flow and nothing else of theirs is in flight: the
// answer changes nothing, so there is nothing to commit, and a retry computes it
// again. ok false sends the Update the claiming way, which also answers every
// failure (a replayed query, an outage) as it always does.
//
// Inside a flow the command is claimed as always: the flow's clock moves with every
// message, so its session is written.
func (e *Engine) answerUnclaimed(ctx context.Context, u Update, log func() *slog.Logger) (Reply, bool) {
	if !e.Mux.readOnly(u) {
		return Reply{}, false
	}
	p, err := e.Inbox.Peek(ctx, u, e.Clock.Now())
	if err != nil || p == nil {
		return Reply{}, false
	}
	if p.Reply != nil {
		log().Info("duplicate delivery answered from inbox")
		return *p.Reply, true
	}
	if p.Session != nil && p.Session.Flow != "" {
		return Reply{}, false
	}
	c := &Claim{Update: u, Grants: p.Grants, Session: p.Session, Relay: p.Relay}
	reply, out, err := e.decide(ctx, c, true, log)
	if err != nil {
		// errClaimNeeded: the route was not ReadOnly after all (the sender may not
		// take it, say). The claiming way runs it, or says why not.
		return Reply{}, false
	}
	if s := out.Session; s != nil && (s.Flow != "" || p.Session == nil || s.Finished != p.Session.Finished) {
		// The handler started a flow or finished a form: that must be committed.
		return Reply{}, false
	}
	return reply, true
}

// errClaimNeeded stops an unclaimed Update at a route that is not ReadOnly.
var errClaimNeeded = errors.New("bot: the route needs a claimed update")

// abort gives the claim and the lock back in the background: the answer must not
// wait for it, and if it fails the leases lapse by themselves.
func (e *Engine) abort(c *Claim, log func() *slog.Logger) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := e.Inbox.Abort(ctx, c); err != nil {
			log().Warn("unavailable: inbox abort failed; the claim will lapse", "err", err)
		}
	}()
}

// keepAlive renews the claim's and lock's leases while a handler runs longer than
// RenewEvery; the returned func stops it.
func (e *Engine) keepAlive(ctx context.Context, c *Claim, log func() *slog.Logger) (stop func()) {
	every := cmp.Or(e.RenewEvery, DefaultRenewEvery)
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	var renew func()
	renew = func() {
		held, err := e.Inbox.Renew(ctx, c)
		mu.Lock()
		defer mu.Unlock()
		if stopped || ctx.Err() != nil {
			return
		}
		if err != nil || !held {
			log().Warn("lease not renewed", "held", held, "err", err)
		}
		t = time.AfterFunc(every, renew)
	}
	t = time.AfterFunc(every, renew)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// decide routes the claimed Update with the sender's grants and session, and says
// what to commit. An unclaimed Update (Inbox.Peek) may take only ReadOnly routes.
func (e *Engine) decide(ctx context.Context, c *Claim, unclaimed bool, log func() *slog.Logger) (Reply, Commit, error) {
	u := c.Update
	now := e.Clock.Now()
	sess := c.Session
	var last *Finished
	if sess != nil && sess.Flow == "" {
		// Only a form finished a moment ago: the user is in no flow.
		last, sess = sess.Finished, nil
	}
	if sess != nil && sess.Data == nil {
		sess.Data = map[string]string{}
	}
	r := &Request{Update: u, User: &User{OpenID: u.From, Grants: c.Grants}, Session: sess, Relay: c.Relay, Now: now, Catalog: e.Catalog, last: last, unclaimed: unclaimed}

	var notes []string
	if sess != nil && now.Sub(sess.Updated) > e.SessionTimeout {
		notes = append(notes, e.Catalog.T(msgDropped, e.flowTitle(sess.Flow)))
		r.Session = nil
	}
	reply, err := e.safeRoute(ctx, r)
	if errors.Is(err, errClaimNeeded) {
		return Reply{}, Commit{}, err
	}
	if err != nil {
		var ue *Error
		if !errors.As(err, &ue) || ue.Msg == "" {
			return Reply{}, Commit{}, err
		}
		log().Info("refused", "code", ue.Code)
		reply = r.Say(ue.Msg, ue.Data)
		r.finished = nil
	}
	if len(notes) > 0 {
		reply.Text = strings.Join(append(notes, reply.Text), "\n\n")
	}
	if r.Session == nil {
		r.Session = e.keepFinished(r, reply)
	}
	if r.Session != nil {
		r.Session.User = u.From
		r.Session.Updated = now
		if r.Session.ID == "" && r.Session.Flow != "" {
			r.Session.ID = rand.Text()
		}
	}
	return reply, Commit{UpdateID: u.ID, User: u.From, Reply: reply, Session: r.Session, Seen: now, Action: ActionOf(u)}, nil
}

// route picks the handler: global commands, the engine's own words, menu clicks and
// events, the current flow, command words, keywords, the fallback.
func (e *Engine) route(ctx context.Context, r *Request) (Reply, error) {
	m := e.Mux
	u := r.Update
	word, args := spokenCommand(u.Text)
	isText := u.Kind == KindText || u.Kind == KindVoice
	if isText {
		if rt, ok := m.global[word]; ok {
			r.Args = args
			return e.serve(ctx, r, rt)
		}
		// 取消 and 返回 belong to the flow the user is in. Outside a flow a command
		// may claim the same word (取消 for a sign-up, say); otherwise there is nothing
		// to cancel.
		flowWord := args == "" && (r.Session != nil || !m.hasCommand(word))
		if flowWord && oneOf(word, e.Catalog.Words(wordsCancel)) {
			return e.cancel(r), nil
		}
		if flowWord && oneOf(word, e.Catalog.Words(wordsBack)) {
			if f, _, ok := e.currentFlow(r); ok {
				return e.run(ctx, r, m.flowRoute(RouteBack, f.Name(), HandlerFunc(f.Back)))
			}
			return r.Say(msgNothingToDo, nil), nil
		}
	}
	if u.Kind == KindEvent {
		if u.Event == EventClick {
			if rt, ok := m.menus[u.EventKey]; ok {
				return e.serve(ctx, r, rt)
			}
		}
		if rt, ok := m.events[u.Event]; ok {
			return e.serve(ctx, r, rt)
		}
		return Reply{}, nil
	}
	if f, role, ok := e.currentFlow(r); ok {
		if !r.User.Can(role) {
			r.End()
			return e.refuse(ctx, r, m.flowRoute(RouteFlow, f.Name(), nil).Route)
		}
		return e.run(ctx, r, m.flowRoute(RouteFlow, f.Name(), HandlerFunc(f.Continue)))
	} else if r.Session != nil {
		// The session names a flow this build does not have.
		r.End()
		return r.Say(msgFlowGone, nil), nil
	}
	if isText {
		if rt, a, ok := m.command(word, args); ok {
			r.Args = a
			return e.serve(ctx, r, rt)
		}
		for _, k := range m.keywords {
			if strings.Contains(u.Text, k.word) {
				return e.serve(ctx, r, k.route)
			}
		}
	}
	if rep, ok, err := e.through(ctx, r); ok || err != nil {
		return rep, err
	}
	if f := r.last; f != nil && e.repeats(r, f) {
		return e.run(ctx, r, m.flowRoute(RouteFlow, f.Flow, HandlerFunc(func(context.Context, *Request) (Reply, error) {
			return Text(f.Reply), nil
		})))
	}
	return e.run(ctx, r, route{Route{Kind: RouteFallback}, m.fallback})
}

// repeats reports whether the Update is the final answer of form f, finished a
// moment ago, sent again: it was told what it had made, or, if that answer was
// lost, to send the same again. It comes after commands and a live relay (there
// 「好」 is conversation), in the place of the fallback.
func (e *Engine) repeats(r *Request, f *Finished) bool {
	if !r.Now.Before(f.Until) || (r.Update.Kind != KindText && r.Update.Kind != KindVoice) {
		return false
	}
	said := Spoken(r.Update.Text)
	return said != "" && (said == f.Said || f.Confirm && oneOf(said, e.Catalog.Words(wordsConfirm)))
}

// keepFinished is the session to keep for a user in no flow after r: the form r
// finished, with its answer, for RepeatWindow; or the one finished before, until
// its window ends; or none.
func (e *Engine) keepFinished(r *Request, reply Reply) *Session {
	f := r.last
	if r.finished != nil {
		f = r.finished
		f.Reply, f.Until = reply.Text, r.Now.Add(cmp.Or(e.RepeatWindow, DefaultRepeatWindow))
	}
	if f == nil || !r.Now.Before(f.Until) {
		return nil
	}
	return &Session{Finished: f}
}

// through offers the Update to the Mux's PassFunc, if it has one.
func (e *Engine) through(ctx context.Context, r *Request) (Reply, bool, error) {
	if e.Mux.through == nil {
		return Reply{}, false, nil
	}
	if r.unclaimed {
		return Reply{}, false, errClaimNeeded
	}
	return e.Mux.through(ctx, r)
}

// safeRoute turns a handler's panic into an internal error: the user is told, the
// update is aborted (a retry may succeed), and the process keeps serving others.
func (e *Engine) safeRoute(ctx context.Context, r *Request) (rep Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Code: EInternal, Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return e.route(ctx, r)
}

// command finds the route for a command word, also when the user typed no space
// between the word and a number or punctuation ("接单12", "满意，谢谢"). A word run
// into other text ("回复一下") is a sentence, not a command.
func (m *Mux) command(word, args string) (route, string, bool) {
	if rt, ok := m.commands[word]; ok {
		return rt, args, true
	}
	best := ""
	for w := range m.commands {
		if strings.HasPrefix(word, w) && len(w) > len(best) && startsArgument(word[len(w):]) {
			best = w
		}
	}
	if best == "" {
		return route{}, "", false
	}
	rest := strings.TrimSpace(strings.TrimPrefix(word, best) + " " + args)
	return m.commands[best], rest, true
}

func (e *Engine) serve(ctx context.Context, r *Request, rt route) (Reply, error) {
	if !r.User.Can(rt.Role) {
		// Not a command for this sender: in a live relay, words like 待办 are just
		// part of what they say.
		if rep, ok, err := e.through(ctx, r); ok || err != nil {
			return rep, err
		}
		return e.refuse(ctx, r, rt.Route)
	}
	return e.run(ctx, r, rt)
}

// refuse answers a route the sender may not take, through the Mux's Refuse handler
// when it has one (it reads Request.Route for the role needed).
func (e *Engine) refuse(ctx context.Context, r *Request, rt Route) (Reply, error) {
	if r.unclaimed {
		return Reply{}, errClaimNeeded
	}
	if e.Mux.refuse == nil {
		return r.Say(msgForbidden, nil), nil
	}
	r.Route = rt
	return e.Mux.refuse.Serve(ctx, r)
}

// run serves a chosen route through the Mux's middleware.
func (e *Engine) run(ctx context.Context, r *Request, rt route) (Reply, error) {
	if r.unclaimed && !rt.ReadOnly {
		return Reply{}, errClaimNeeded
	}
	r.Route = rt.Route
	return e.Mux.wrap(rt.h).Serve(ctx, r)
}

// hasCommand reports whether a command route takes word.
func (m *Mux) hasCommand(word string) bool {
	_, ok := m.commands[word]
	return ok
}

// spokenCommand splits a text into its command word and arguments as people send
// them by voice or in haste: the word loses trailing punctuation (「帮助。」), and so
// does a lone argument (「接单 12。」); longer text after the word is kept as typed.
func spokenCommand(text string) (word, args string) {
	word, args = SplitCommand(Spoken(text))
	if raw := strings.TrimSpace(text); args != "" && strings.ContainsFunc(args, unicode.IsSpace) {
		_, args = SplitCommand(raw)
	}
	return word, args
}

func startsArgument(s string) bool {
	for _, c := range s {
		return unicode.IsDigit(c) || unicode.IsPunct(c)
	}
	return false
}

func (e *Engine) currentFlow(r *Request) (Flow, Role, bool) {
	if r.Session == nil {
		return nil, "", false
	}
	return e.Mux.flow(r.Session.Flow)
}

func (e *Engine) cancel(r *Request) Reply {
	if r.Session == nil {
		return r.Say(msgNothingToDo, nil)
	}
	title := e.flowTitle(r.Session.Flow)
	r.End()
	return r.Say(msgCancelled, title)
}

// flowTitle is the data for notices that name a flow: {{.Title}}.
func (e *Engine) flowTitle(flow string) map[string]string {
	title := flow
	if f, _, ok := e.Mux.flow(flow); ok && f.Title() != "" {
		title = e.Catalog.T(f.Title(), nil)
	}
	return map[string]string{"Title": title}
}

func (e *Engine) text(key MsgKey) Reply { return Text(e.Catalog.T(key, nil)) }

// OnceKey names what this step of a conversation creates, for creation that must
// happen once: the run of the flow (Session.ID) inside one, so that a 确认 typed again
// after any failure finds what the first one made; the sender's Update otherwise.
func (r *Request) OnceKey() string {
	if r.Session != nil && r.Session.ID != "" {
		return "s:" + r.Session.ID
	}
	return "u:" + r.Update.From + ":" + r.Update.ID
}
