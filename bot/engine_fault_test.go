package bot_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"minyuan/bot"
)

// hangingInbox stands for a Redis that stopped answering and a client that does not
// give up with the context.
type hangingInbox struct {
	memStore *memStore
	begin    error         // returned by Begin at once, when set
	hang     chan struct{} // Begin waits on it, ignoring ctx, when set
}

func (h *hangingInbox) Begin(ctx context.Context, u bot.Update, d time.Time) (*bot.Claim, error) {
	if h.hang != nil {
		<-h.hang
	}
	if h.begin != nil {
		return nil, h.begin
	}
	return h.memStore.Begin(ctx, u, d)
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
	hang := &hangingInbox{memStore: h.store, hang: make(chan struct{})}
	defer close(hang.hang)
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
		h.eng.Inbox = &hangingInbox{memStore: h.store, begin: c.err}
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
