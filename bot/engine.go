package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"
	"unicode"
)

// Catalogue keys the engine itself uses.
var (
	msgBusy        = Msg("engine.busy")       // a dependency is down
	msgInternal    = Msg("engine.internal")   // a bug; the user should try again
	msgForbidden   = Msg("engine.forbidden")  // the route needs a role the user lacks
	msgCancelled   = Msg("engine.cancelled")  // 取消 inside a flow
	msgNothingToDo = Msg("engine.nothing")    // 取消 or 返回 outside a flow
	msgDropped     = Msg("engine.dropped")    // the flow timed out while the user was away
	msgFlowGone    = Msg("engine.flow_gone")  // a session names a flow that no longer exists
	msgStillBusy   = Msg("engine.still_busy") // a retry while the first delivery still runs
)

// Words the engine answers itself, in any flow.
var (
	wordsCancel = FlowWords("words.cancel")
	wordsBack   = FlowWords("words.back")
)

// Engine turns an Update into a Reply exactly once per Update, one Update per user at a
// time, with the user's session and roles loaded and saved around the routed handler.
type Engine struct {
	Mux      *Mux
	Catalog  *Catalog
	Clock    Clock
	Inbox    Inbox
	Locker   Locker
	Sessions Sessions
	Log      *slog.Logger
	// SessionTimeout drops a flow the user has not answered for this long.
	SessionTimeout time.Duration
	// Budget bounds the handling of one Update, inside the platform's reply limit.
	Budget time.Duration
}

// Handle answers u. It always returns a Reply fit to send: failures become a short
// "busy" or "error" text and leave nothing half-done.
func (e *Engine) Handle(ctx context.Context, u Update) Reply {
	ctx, cancel := context.WithTimeout(ctx, e.Budget)
	defer cancel()
	log := e.Log.With("update", u.ID, "kind", u.Kind)

	prev, owner, err := e.Inbox.Begin(ctx, u.ID)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// A retry that came while the first delivery is still being handled: the
			// platform will try again and then get the stored reply.
			log.Info("retry while first delivery runs")
			return e.text(msgStillBusy)
		}
		log.Warn("inbox unavailable", "err", err)
		return e.text(msgBusy)
	}
	if !owner {
		log.Info("duplicate delivery answered from inbox")
		return prev
	}

	reply, err := e.handleOwned(ctx, u, log)
	if err != nil {
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if aerr := e.Inbox.Abort(abortCtx, u.ID); aerr != nil {
			log.Warn("inbox abort failed", "err", aerr)
		}
		if ErrorCode(err) == EInternal {
			log.Error("handling failed", "err", err)
			return e.text(msgInternal)
		}
		log.Warn("handling failed", "err", err)
		return e.text(msgBusy)
	}
	return reply
}

// handleOwned handles an Update this process owns, under the user's lock; the commit
// happens before the lock is released, so the user's next message sees this one's
// session.
func (e *Engine) handleOwned(ctx context.Context, u Update, log *slog.Logger) (Reply, error) {
	lease, err := e.Locker.Lock(ctx, u)
	if err != nil {
		return Reply{}, &Error{Code: EUnavailable, Err: err}
	}
	committed := false
	defer func() {
		if !committed {
			lease.Release()
		}
	}()
	reply, c, err := e.decide(ctx, u, log)
	if err != nil {
		return Reply{}, err
	}
	c.LockToken = lease.Token
	if err := e.Inbox.Commit(ctx, c); err != nil {
		return Reply{}, &Error{Code: EUnavailable, Err: fmt.Errorf("commit: %w", err)}
	}
	committed = true // the commit released the lock
	return reply, nil
}

// decide loads the user and their session, routes the Update, and says what to commit.
func (e *Engine) decide(ctx context.Context, u Update, log *slog.Logger) (Reply, Commit, error) {

	now := e.Clock.Now()
	grants, sess, err := e.Sessions.Load(ctx, u.From)
	if err != nil {
		return Reply{}, Commit{}, &Error{Code: EUnavailable, Err: err}
	}
	if sess != nil && sess.Data == nil {
		sess.Data = map[string]string{}
	}
	r := &Request{Update: u, User: &User{OpenID: u.From, Grants: grants}, Session: sess, Now: now, Catalog: e.Catalog}

	var notes []string
	if sess != nil && now.Sub(sess.Updated) > e.SessionTimeout {
		notes = append(notes, e.Catalog.T(msgDropped, e.flowTitle(sess.Flow)))
		r.Session = nil
	}
	reply, err := e.safeRoute(ctx, r)
	if err != nil {
		var ue *Error
		if !errors.As(err, &ue) || ue.Msg == "" {
			return Reply{}, Commit{}, err
		}
		log.Info("refused", "code", ue.Code)
		reply = r.Say(ue.Msg, ue.Data)
	}
	if len(notes) > 0 {
		reply.Text = strings.Join(append(notes, reply.Text), "\n\n")
	}
	if r.Session != nil {
		r.Session.User = u.From
		r.Session.Updated = now
	}
	return reply, Commit{UpdateID: u.ID, User: u.From, Reply: reply, Session: r.Session, Seen: now, Action: ActionOf(u)}, nil
}

// route picks the handler: global commands, the engine's own words, menu clicks and
// events, the current flow, command words, keywords, the fallback.
func (e *Engine) route(ctx context.Context, r *Request) (Reply, error) {
	m := e.Mux
	u := r.Update
	word, args := SplitCommand(u.Text)
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
			return r.Say(msgForbidden, nil), nil
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
	return e.run(ctx, r, route{Route{Kind: RouteFallback}, m.fallback})
}

// through offers the Update to the Mux's PassFunc, if it has one.
func (e *Engine) through(ctx context.Context, r *Request) (Reply, bool, error) {
	if e.Mux.through == nil {
		return Reply{}, false, nil
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
		return r.Say(msgForbidden, nil), nil
	}
	return e.run(ctx, r, rt)
}

// run serves a chosen route through the Mux's middleware.
func (e *Engine) run(ctx context.Context, r *Request, rt route) (Reply, error) {
	r.Route = rt.Route
	return e.Mux.wrap(rt.h).Serve(ctx, r)
}

// hasCommand reports whether a command route takes word.
func (m *Mux) hasCommand(word string) bool {
	_, ok := m.commands[word]
	return ok
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
