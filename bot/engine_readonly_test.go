package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
)

// readOnlyHarness is the engine harness with a ReadOnly global command (帮助) that
// counts its runs, a ReadOnly command for staff only (速记), and a ReadOnly command
// that breaks its word and starts a flow (拍照).
func readOnlyHarness(t *testing.T) (*harness, *int) {
	h := newHarness(t)
	runs := 0
	h.eng.Mux.Global(wordsHelp, bot.RoleResident, bot.ReadOnly(bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		runs++
		return bot.Text("帮助：登记"), nil
	})))
	h.eng.Mux.Command(wordsNote, bot.RoleStaff, bot.ReadOnly(bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		return bot.Text("笔记本"), nil
	})))
	h.eng.Mux.Command(wordsPhoto, bot.RoleResident, bot.ReadOnly(bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		r.Start("test.register")
		return bot.Text("请拍照"), nil
	})))
	return h, &runs
}

// A read-only command outside a flow is answered without a claim: nothing is
// committed, and the answer is the handler's.
func TestReadOnlyCommandIsAnsweredUnclaimed(t *testing.T) {
	h, runs := readOnlyHarness(t)
	if got := h.say("u1", "帮助"); got != "帮助：登记" {
		t.Fatalf("got %q", got)
	}
	if h.store.commits != 0 || h.store.peeks != 1 || *runs != 1 {
		t.Fatalf("commits %d, peeks %d, runs %d: want the answer unclaimed, nothing committed", h.store.commits, h.store.peeks, *runs)
	}
}

// Inside a flow the same command is claimed as always: the flow's session is
// committed with it, and the form goes on after it.
func TestReadOnlyCommandInsideAFlowIsClaimed(t *testing.T) {
	h, _ := readOnlyHarness(t)
	h.say("u1", "登记")
	commits := h.store.commits
	if got := h.say("u1", "帮助"); got != "帮助：登记" {
		t.Fatalf("got %q", got)
	}
	if h.store.commits != commits+1 {
		t.Fatalf("commits %d → %d: inside a flow the command must be claimed", commits, h.store.commits)
	}
	if got := h.say("u1", "张三"); !strings.Contains(got, "颜色？") {
		t.Fatalf("the form goes on after 帮助, got %q", got)
	}
}

// Just after a form, while its answer is kept to be told again, a read-only command
// is answered unclaimed and the finished form is kept: 确认 sent again afterwards is
// still told what it made.
func TestReadOnlyCommandAfterAFormKeepsWhatItMade(t *testing.T) {
	h, _ := readOnlyHarness(t)
	for _, s := range []string{"登记", "张三", "1", "跳过"} {
		h.say("u1", s)
	}
	if got := h.say("u1", "确认"); !strings.Contains(got, "已登记张三") {
		t.Fatalf("got %q", got)
	}
	commits := h.store.commits
	if got := h.say("u1", "帮助"); got != "帮助：登记" {
		t.Fatalf("got %q", got)
	}
	if h.store.commits != commits || h.store.peeks == 0 {
		t.Fatalf("commits %d → %d, peeks %d: want 帮助 unclaimed", commits, h.store.commits, h.store.peeks)
	}
	if got := h.say("u1", "确认"); !strings.Contains(got, "已登记张三") || len(h.submits) != 1 {
		t.Fatalf("确认 again after 帮助: %q, %d submits; want the same answer, one submit", got, len(h.submits))
	}
}

// A read-only command the sender may not take, and one whose handler starts a flow
// after all, go the claiming way: the refusal is answered, and the flow is kept.
func TestReadOnlyCommandThatCannotBeAnsweredUnclaimedIsClaimed(t *testing.T) {
	h, _ := readOnlyHarness(t)
	if got := h.say("u1", "速记"); got != "无权限" {
		t.Fatalf("a resident's 速记: got %q, want the refusal", got)
	}
	if got := h.say("u1", "拍照"); got != "请拍照" {
		t.Fatalf("got %q", got)
	}
	if h.store.commits != 2 || h.store.sessions["u1"] == nil || h.store.sessions["u1"].Flow != "test.register" {
		t.Fatalf("commits %d, session %+v: both must be claimed, the flow kept", h.store.commits, h.store.sessions["u1"])
	}
}

// While another message of the sender is being handled, a read-only command waits
// for it, so that it sees what the first one did.
func TestReadOnlyCommandWaitsForTheSendersMessageInFlight(t *testing.T) {
	h, _ := readOnlyHarness(t)
	started, release := make(chan struct{}), make(chan struct{})
	h.eng.Mux.Command(wordsSignOff, bot.RoleResident, bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		close(started)
		<-release
		return bot.Text("已注销"), nil
	}))
	var wg sync.WaitGroup
	wg.Go(func() {
		h.eng.Handle(context.Background(), bot.Update{ID: "m:first", From: "u1", Kind: bot.KindText, Text: "注销", Time: h.clock.Now()})
	})
	<-started
	answered := make(chan string, 1)
	wg.Go(func() {
		answered <- h.eng.Handle(context.Background(), bot.Update{ID: "m:second", From: "u1", Kind: bot.KindText, Text: "帮助", Time: h.clock.Now()}).Text
	})
	select {
	case got := <-answered:
		t.Fatalf("帮助 was answered (%q) while the sender's first message was still being handled", got)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	if got := <-answered; got != "帮助：登记" {
		t.Fatalf("got %q", got)
	}
	if h.store.commits != 2 || h.store.peeks != 0 {
		t.Fatalf("commits %d, peeks %d: the second must have been claimed after the first", h.store.commits, h.store.peeks)
	}
}

// A retry of a read-only command answered before from the inbox gets that answer.
func TestReadOnlyCommandRetryGetsTheStoredAnswer(t *testing.T) {
	h, runs := readOnlyHarness(t)
	h.say("u1", "登记")
	u := bot.Update{ID: "m:help", From: "u1", Kind: bot.KindText, Text: "帮助", Time: h.clock.Now()}
	first := h.eng.Handle(context.Background(), u).Text
	h.say("u1", "取消")
	if got := h.eng.Handle(context.Background(), u).Text; got != first || *runs != 1 {
		t.Fatalf("retry got %q after %q, %d runs: want the stored answer, the handler run once", got, first, *runs)
	}
}
