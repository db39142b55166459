package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"minyuan/bot"
)

// hangingInbox stands for a Redis that stopped answering and a client that does not
// give up with the context.
// Its failures are switched while calls are under way (the hung one stays hung).
type hangingInbox struct {
	memStore *memStore
	begin    atomic.Pointer[error]         // returned by Begin at once, when set
	hang     atomic.Pointer[chan struct{}] // Begin waits on it, ignoring ctx, when set
}

func (h *hangingInbox) Begin(ctx context.Context, u bot.Update, d time.Time) (*bot.Claim, error) {
	if hang := h.hang.Load(); hang != nil {
		<-*hang
	}
	if err := h.begin.Load(); err != nil {
		return nil, *err
	}
	return h.memStore.Begin(ctx, u, d)
}
func (h *hangingInbox) Peek(ctx context.Context, u bot.Update, seen time.Time) (*bot.Peeked, error) {
	if hang := h.hang.Load(); hang != nil {
		<-*hang
	}
	if err := h.begin.Load(); err != nil {
		return nil, *err
	}
	return h.memStore.Peek(ctx, u, seen)
}
func (h *hangingInbox) Renew(ctx context.Context, c *bot.Claim) (bool, error) {
	return h.memStore.Renew(ctx, c)
}
func (h *hangingInbox) Abort(ctx context.Context, c *bot.Claim) error {
	return h.memStore.Abort(ctx, c)
}
func (h *hangingInbox) Commit(ctx context.Context, c *bot.Claim, o bot.Commit) error {
	return h.memStore.Commit(ctx, c, o)
}

// Every answer leaves within Budget + Grace, whatever Redis does, and a first delivery
// that could not be claimed is told the system is busy, never 「正在处理」: that is
// kept for a retry that found its first delivery still running.
func TestEngineAnswersInTimeAndOnlyRetriesHearInProgress(t *testing.T) {
	h := newHarness(t)
	hang := &hangingInbox{memStore: h.store}
	hung := make(chan struct{})
	defer close(hung)
	hang.hang.Store(&hung)
	h.eng.Inbox = hang
	h.eng.Budget, h.eng.Grace = 100*time.Millisecond, 50*time.Millisecond
	start := time.Now()
	got := h.say("u1", "登记")
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Fatalf("answered after %v with a hanging inbox", took)
	}
	if got != "忙" {
		t.Fatalf("hanging inbox: %q, want the busy answer", got)
	}

	for _, c := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "忙"},
		{bot.Errorf(bot.EUnavailable, "dial tcp: connection refused"), "忙"},
		{bot.ErrInFlight, "稍候"},
	} {
		hang.hang.Store(nil)
		hang.begin.Store(&c.err)
		if got := h.say("u1", "登记"); got != c.want {
			t.Errorf("Begin failing with %v: %q, want %q", c.err, got, c.want)
		}
	}
}

// A handler that fails because Redis failed answers busy, and says it may not be
// done; a bug answers the internal-error text.
func TestHandlerOutageIsBusyNotABug(t *testing.T) {
	h := newHarness(t)
	fail := errors.New("boom")
	h.eng.Mux.Command(wordsNote, bot.RoleResident, bot.HandlerFunc(func(context.Context, *bot.Request) (bot.Reply, error) {
		return bot.Reply{}, fail
	}))
	fail = &bot.Error{Code: bot.EUnavailable, Err: errors.New("read tcp: connection reset")}
	if got := h.say("u1", "速记"); got != "忙，可能未完成" {
		t.Fatalf("outage in a handler: %q", got)
	}
	fail = errors.New("nil map")
	if got := h.say("u1", "速记"); got != "出错" {
		t.Fatalf("bug in a handler: %q", got)
	}
}

// losingInbox commits, once armed, and then loses the commit's answer: Redis wrote
// everything and died before saying so; or, with late set, said so only after the
// engine had answered without it.
type losingInbox struct {
	*memStore
	armed atomic.Bool
	late  time.Duration
}

func (l *losingInbox) Commit(ctx context.Context, c *bot.Claim, o bot.Commit) error {
	if err := l.memStore.Commit(ctx, c, o); err != nil || !l.armed.CompareAndSwap(true, false) {
		return err
	}
	if l.late > 0 {
		time.Sleep(l.late)
		return nil
	}
	return bot.Errorf(bot.EUnavailable, "read tcp: connection reset")
}

// Issue 13: 「A 确认 retyped after any failure finds the ticket already made,
// answers its number.」 When the commit that finished a form went through and only
// its answer was lost, the person is told it may not be done and to send the same
// again; the form is over by then. The same final answer (or another confirm word),
// within the repeat window, is told what the first would have been, and nothing is
// made again; outside it, or with no form finished, 确认 is what it always was.
func TestLostAnswerOfAFinishedFormIsToldAgain(t *testing.T) {
	h := newHarness(t)
	lose := &losingInbox{memStore: h.store}
	h.eng.Inbox = lose
	if got := h.say("u1", "确认"); got != "不懂" {
		t.Fatalf("确认 with no form: %q", got)
	}
	for _, s := range []string{"登记", "张三", "红", "跳过"} {
		h.say("u1", s)
	}
	lose.armed.Store(true)
	if got := h.say("u1", "确认"); got != "忙，可能未完成" {
		t.Fatalf("the lost answer: %q", got)
	}
	for _, again := range []string{"确认", "确认。", "好"} {
		if got := h.say("u1", again); got != "已登记张三" {
			t.Fatalf("%q after the lost answer: %q", again, got)
		}
	}
	if got := h.say("u2", "确认"); got != "不懂" {
		t.Fatalf("someone else's 确认: %q", got)
	}
	// Other words are handled as ever, and the record stays for its window.
	if got := h.say("u1", "二楼"); got != "不懂" {
		t.Fatalf("other words after a finished form: %q", got)
	}
	h.clock.Advance(bot.DefaultRepeatWindow - time.Second)
	if got := h.say("u1", "确认"); got != "已登记张三" {
		t.Fatalf("确认 inside the window: %q", got)
	}
	h.clock.Advance(2 * time.Second)
	if got := h.say("u1", "确认"); got != "不懂" {
		t.Fatalf("确认 after the window: %q", got)
	}
	if len(h.submits) != 1 {
		t.Fatalf("submits = %d, want 1", len(h.submits))
	}
	if s := h.store.sessions["u1"]; s != nil {
		t.Fatalf("a session is kept after the window: %+v", s)
	}

	// A new form forgets the finished one: its 确认 is its own.
	h.say("u1", "登记")
	h.say("u1", "李四")
	if got := h.say("u1", "确认"); !strings.Contains(got, "颜色？") {
		t.Fatalf("确认 inside a new form: %q", got)
	}
	if got := h.say("u1", "取消"); got != "已取消登记" {
		t.Fatalf("取消 of the new form: %q", got)
	}
	if got := h.say("u1", "确认"); got != "不懂" {
		t.Fatalf("确认 after a new form was cancelled: %q", got)
	}
}

// A finished form's 确认 sent again inside a live relay is conversation: the relay
// (the Mux's Through) comes first, as for any word that is no command.
func TestRepeatedConfirmInARelayIsConversation(t *testing.T) {
	h := newHarness(t)
	relaying := false
	h.eng.Mux.Through(func(_ context.Context, r *bot.Request) (bot.Reply, bool, error) {
		if !relaying {
			return bot.Reply{}, false, nil
		}
		return bot.Text("已转达"), true, nil
	})
	for _, s := range []string{"登记", "张三", "红", "跳过", "确认"} {
		h.say("u1", s)
	}
	relaying = true
	if got := h.say("u1", "好"); got != "已转达" {
		t.Fatalf("好 in a relay: %q", got)
	}
	relaying = false
	if got := h.say("u1", "好"); got != "已登记张三" {
		t.Fatalf("好 after the relay ended: %q", got)
	}
}

// The same when the commit went through but its answer came after the engine's
// budget: the person was told 「可能未完成」, and their 确认 again is told the number.
func TestLateAnswerOfAFinishedFormIsToldAgain(t *testing.T) {
	h := newHarness(t)
	lose := &losingInbox{memStore: h.store, late: 300 * time.Millisecond}
	h.eng.Inbox = lose
	h.eng.Budget, h.eng.Grace = 100*time.Millisecond, 50*time.Millisecond
	for _, s := range []string{"登记", "张三", "红", "跳过"} {
		h.say("u1", s)
	}
	lose.armed.Store(true)
	if got := h.say("u1", "确认"); got != "忙，可能未完成" {
		t.Fatalf("the late answer: %q", got)
	}
	time.Sleep(lose.late)
	if got := h.say("u1", "确认"); got != "已登记张三" {
		t.Fatalf("确认 after the late answer: %q", got)
	}
	if len(h.submits) != 1 {
		t.Fatalf("submits = %d, want 1", len(h.submits))
	}
}
