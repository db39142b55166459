package app_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"minyuan/bot"
)

// Every command marked bot.ReadOnly is answered, outside a flow, without a claim and
// changes nothing in Redis but the sender's customer-service record and the replay
// guard's nonce: a resident with a request and a member of staff send each of them
// (alone and with the request's number; the resident just after filing it), each
// the commands their role allows, and Redis is the same afterwards. A command marked ReadOnly that writes anything fails here.
func TestReadOnlyCommandsChangeNothing(t *testing.T) {
	e := newResidentEnv(t)
	e.bindAs("o_staff", bot.RoleStaff, "QY", "王芳")
	e.knownResident("o_res", "QY", "13800000000")
	no := e.fileRequest("o_res", "1", "3号楼2单元楼道灯坏了")
	// Who may take a route of each role (a command someone may not take is refused
	// the claiming way).
	holders := map[bot.Role][]string{bot.RoleResident: {"o_res", "o_staff"}, bot.RoleStaff: {"o_staff"}}
	var words []string
	routes := e.app.Engine.Mux.Words()
	for w, rt := range routes {
		if rt.ReadOnly {
			if len(holders[rt.Role]) == 0 {
				t.Fatalf("ReadOnly word %s needs role %s: add someone who holds it", w, rt.Role)
			}
			words = append(words, w)
		}
	}
	slices.Sort(words)
	for _, w := range []string{"帮助", "社区电话", "我的诉求", "查询", "待办", "统计"} {
		if !slices.Contains(words, w) {
			t.Fatalf("ReadOnly words: %v; want %s among them", words, w)
		}
	}
	before := e.redisState()
	for _, w := range words {
		for _, who := range holders[routes[w].Role] {
			for _, text := range []string{w, w + " " + no} {
				if got := e.say(who, text); got == "" || strings.Contains(got, "系统") {
					t.Fatalf("%s %q: got %q", who, text, got)
				}
			}
		}
	}
	after := e.redisState()
	for k, v := range after {
		if before[k] != v {
			t.Errorf("%s changed by a ReadOnly command", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s deleted by a ReadOnly command", k)
		}
	}
	if got := e.say("o_res", "我的诉求"); !strings.Contains(got, no) {
		t.Fatalf("我的诉求 answered unclaimed: %q, want request %s listed", got, no)
	}
}

// redisState is every key of the test's installation with its serialised value, but
// for the customer-service records and the replay guard's nonces.
func (e *env) redisState() map[string]string {
	e.t.Helper()
	ctx := context.Background()
	rdb := srv.Client(e.t)
	state := map[string]string{}
	iter := rdb.Scan(ctx, 0, e.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		rest := strings.TrimPrefix(k, e.prefix)
		if strings.HasPrefix(rest, "contact:") || strings.HasPrefix(rest, "nonce:") {
			continue
		}
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			e.t.Fatalf("dump %s: %v", k, err)
		}
		state[k] = v
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
	if len(state) == 0 {
		e.t.Fatalf("no keys under %s: %v", e.prefix, slices.Collect(maps.Keys(state)))
	}
	return state
}
