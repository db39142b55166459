package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// commitFault makes the engine's commit (the one script that writes a session) fail
// once armed, as a reset connection: what a crash or a Redis failure between the
// ticket and the reply does. It fails before the commit reaches Redis (failCommit),
// or after Redis ran it (loseCommitAnswer: only the answer is lost). The commit's
// KEYS are inbox, session, lock, contact.
type commitFault struct {
	armed *atomic.Bool
	lost  bool
}

func failCommit(armed *atomic.Bool) commitFault       { return commitFault{armed: armed} }
func loseCommitAnswer(armed *atomic.Bool) commitFault { return commitFault{armed: armed, lost: true} }

func (f commitFault) hit(cmd redis.Cmder) bool {
	args := cmd.Args()
	if name := cmd.Name(); (name == "evalsha" || name == "eval") && len(args) > 4 && f.armed.Load() {
		if s, ok := args[4].(string); ok && strings.Contains(s, ":session:") && fmt.Sprint(args[2]) == "4" {
			return f.armed.CompareAndSwap(true, false)
		}
	}
	return false
}

var errReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func (f commitFault) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f commitFault) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !f.hit(cmd) {
			return next(ctx, cmd)
		}
		if f.lost {
			if err := next(ctx, cmd); err != nil {
				return err
			}
		}
		cmd.SetErr(errReset)
		return errReset
	}
}
func (f commitFault) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var hit redis.Cmder
		send := cmds[:0:0]
		for _, c := range cmds {
			if hit == nil && f.hit(c) {
				hit = c
				if !f.lost {
					continue
				}
			}
			send = append(send, c)
		}
		var err error
		if len(send) > 0 {
			err = next(ctx, send)
		}
		if hit != nil {
			hit.SetErr(errReset)
		}
		return err
	}
}

// downPusher fails one push as an outage once armed.
type downPusher struct {
	bot.Pusher
	armed *atomic.Bool
}

func (p *downPusher) Push(ctx context.Context, m bot.Push) error {
	if p.armed.CompareAndSwap(true, false) {
		return bot.Errorf(bot.EUnavailable, "outbox: connection reset")
	}
	return p.Pusher.Push(ctx, m)
}

// What was seen (issue 13, point 1): a 确认 made ticket 1123, the process died before
// replying, the session stayed at the confirm step, and the resident's next 确认 made
// ticket 1197; 1123 never alerted anyone. Now the form's run is the creation key: a
// 确认 typed again after any failure answers the first ticket's number, and the
// desk's alert, lost with the first try, is sent then, once.
//
// When the commit itself went through and only its answer was lost, the form is
// over: the 确认 typed again is answered from the finished form, in the words the
// first one would have had, for a few minutes (bot.DefaultRepeatWindow).
func TestConfirmTypedAgainAfterAFailureFindsTheTicket(t *testing.T) {
	for _, how := range []string{"the alert failed", "the commit failed", "the commit's answer was lost"} {
		t.Run(how, func(t *testing.T) {
			rdb := srv.Client(t)
			e := newEnvOn(t, rdb, quietLog(t))
			e.clock.Set(wed)
			e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
			var armed atomic.Bool
			if how == "the alert failed" {
				e.srv.Close()
				flaky := &downPusher{Pusher: e.app.Tickets.Pusher, armed: &armed}
				e.app.Tickets.Pusher = flaky
				e.srv = httptest.NewServer(e.app.Handler())
			} else if how == "the commit failed" {
				// The hook goes inside the store's own, as a failing Redis would.
				rdb.AddHook(failCommit(&armed))
			} else {
				rdb.AddHook(loseCommitAnswer(&armed))
			}
			e.knownResident("o_res", "QY", "13800138000")
			e.conversation("o_res", [2]string{"诉求", "类别"}, [2]string{"5", "请描述"}, [2]string{"小区门口有人打架", "请核对"})
			armed.Store(true)
			first := e.say("o_res", "确认")
			if strings.Contains(first, "编号") || !strings.Contains(first, "系统繁忙") {
				t.Fatalf("the first 确认 should have failed with the busy answer: %q", first)
			}
			if strings.Contains(first, "没有被记录") {
				t.Fatalf("the resident was told nothing was recorded, but the ticket exists: %q", first)
			}
			if n := e.lastTicketNo(); n != 1001 {
				t.Fatalf("the ticket should be stored before the failure: last %d", n)
			}
			// A new message, not the platform's retry: the resident types 确认 again.
			again := e.say("o_res", "确认")
			if !strings.Contains(again, "已收到您的诉求，编号 1001") || !strings.Contains(again, "前受理") {
				t.Fatalf("确认 typed again: %q", again)
			}
			if n := e.lastTicketNo(); n != 1001 {
				t.Fatalf("确认 typed again made another ticket: last %d", n)
			}
			e.told("o_staff", 1, "【新诉求 1001】")
			if list := e.say("o_res", "我的诉求"); strings.Count(list, "100") != 1 {
				t.Fatalf("the resident's list: %q", list)
			}
			// The form is over: a third 确认 is told the same again and makes nothing.
			if third := e.say("o_res", "确认"); third != again {
				t.Fatalf("a third 确认: %q, want the same words %q", third, again)
			}
			if n := e.lastTicketNo(); n != 1001 {
				t.Fatalf("a third 确认 made another ticket: last %d", n)
			}
			// Past the window, 确认 is what it is with no form: words for the open case.
			e.clock.Advance(bot.DefaultRepeatWindow + time.Minute)
			if later := e.say("o_res", "确认"); strings.Contains(later, "已收到您的诉求") {
				t.Fatalf("确认 long after the form: %q", later)
			}
			if n := e.lastTicketNo(); n != 1001 {
				t.Fatalf("a late 确认 made another ticket: last %d", n)
			}
			e.told("o_staff", 2, "1001")
		})
	}
}

// An addition (补充 with a number, or words after a reply) whose answer was lost is
// sent again by the resident: it is on the timeline once and reaches the staff
// once, and the resident is told it was added. The same words later than the
// window, or other words, are added again.
func TestAdditionSentAgainIsAddedOnce(t *testing.T) {
	rdb := srv.Client(t)
	e := newEnvOn(t, rdb, quietLog(t))
	e.clock.Set(wed)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	var armed atomic.Bool
	rdb.AddHook(loseCommitAnswer(&armed))
	e.knownResident("o_res", "QY", "13800138000")
	e.conversation("o_res", [2]string{"诉求", "类别"}, [2]string{"4", "请描述"}, [2]string{"三楼楼道灯坏了", "请核对"}, [2]string{"确认", "编号 1001"})
	alerts := len(e.pushesTo("o_staff"))
	added := func() int {
		n := 0
		for _, ev := range e.timeline("1001") {
			if ev.Kind == bot.EventAdded {
				n++
			}
		}
		return n
	}

	armed.Store(true)
	if first := e.say("o_res", "补充 1001 晚上完全看不见"); !strings.Contains(first, "系统繁忙") {
		t.Fatalf("the first 补充 should have lost its answer: %q", first)
	}
	again := e.say("o_res", "补充 1001 晚上完全看不见")
	if strings.Contains(again, "系统繁忙") || !strings.Contains(again, "1001") {
		t.Fatalf("补充 sent again: %q", again)
	}
	if n := added(); n != 1 {
		t.Fatalf("the addition is on the timeline %d times, want once", n)
	}
	e.told("o_staff", alerts+1, "晚上完全看不见")

	// Other words are another addition; the same words after the window too.
	e.say("o_res", "补充 1001 二楼也不亮")
	e.clock.Advance(bot.DefaultRepeatWindow + time.Minute)
	e.say("o_res", "补充 1001 晚上完全看不见")
	if n := added(); n != 3 {
		t.Fatalf("additions on the timeline: %d, want 3", n)
	}
	e.told("o_staff", alerts+3, "晚上完全看不见")

	// Words about the case without a command (a follow-up) likewise.
	armed.Store(true)
	if first := e.say("o_res", "师傅什么时候来？"); !strings.Contains(first, "系统繁忙") {
		t.Fatalf("the first follow-up should have lost its answer: %q", first)
	}
	if again := e.say("o_res", "师傅什么时候来？"); strings.Contains(again, "系统繁忙") {
		t.Fatalf("the follow-up sent again: %q", again)
	}
	if n := added(); n != 4 {
		t.Fatalf("additions on the timeline after the follow-up: %d, want 4", n)
	}
	e.told("o_staff", alerts+4, "师傅什么时候来")
}
