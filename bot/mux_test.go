package bot_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"minyuan/bot"
)

// here is file:line of its caller, as the Mux names a registration; next is the
// line after it.
func here() string { return at(0) }
func next() string { return at(1) }

func at(lines int) string {
	_, file, line, _ := runtime.Caller(2)
	parts := strings.Split(file, "/")
	return fmt.Sprintf("%s/%s:%d", parts[len(parts)-2], parts[len(parts)-1], line+lines)
}

// refused runs register and returns its panic message ("" if it did not panic).
func refused(register func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	register()
	return ""
}

func say(text string) bot.Handler {
	return bot.HandlerFunc(func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Text(text), nil })
}

// Registering a word, menu key, event, keyword or flow twice stops start-up with a
// message naming both registrations: what they registered and where.
func TestMuxRefusesDuplicatesAtStartUp(t *testing.T) {
	cat, err := bot.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	form := func(id string) *bot.Form {
		return &bot.Form{ID: id, Fields: []bot.Field{{Key: "name", Prompt: "t.name"}}}
	}
	cases := []struct {
		name string
		// first registers on the mux and returns where; second does the clashing
		// registration and returns where.
		first, second func(m *bot.Mux) string
		want          []string
	}{
		{"a command word",
			func(m *bot.Mux) string { at := here(); m.Command(wordsDesk, bot.RoleStaff, say("a")); return at },
			func(m *bot.Mux) string { at := here(); m.Command(wordsDesk, bot.RoleResident, say("b")); return at },
			[]string{`word "工作台"`, "command t.words.desk"}},
		{"a global word taken by a command",
			func(m *bot.Mux) string { at := here(); m.Command(wordsHelp, bot.RoleResident, say("a")); return at },
			func(m *bot.Mux) string { at := here(); m.Global(wordsHelp, bot.RoleResident, say("b")); return at },
			[]string{`word "帮助"`, "command t.words.help", "global t.words.help"}},
		{"a menu key",
			func(m *bot.Mux) string { at := here(); m.Menu("REGISTER", bot.RoleResident, say("a")); return at },
			func(m *bot.Mux) string { at := here(); m.Menu("REGISTER", bot.RoleResident, say("b")); return at },
			[]string{`menu key "REGISTER"`, "menu REGISTER"}},
		{"an event",
			func(m *bot.Mux) string { at := here(); m.Event(bot.EventSubscribe, say("a")); return at },
			func(m *bot.Mux) string { at := here(); m.Event(bot.EventSubscribe, say("b")); return at },
			[]string{`event "subscribe"`}},
		{"a keyword",
			func(m *bot.Mux) string { at := here(); m.Keyword("漏水", bot.RoleResident, say("a")); return at },
			func(m *bot.Mux) string { at := here(); m.Keyword("漏水", bot.RoleResident, say("b")); return at },
			[]string{`keyword "漏水"`}},
		{"two flows of one name",
			func(m *bot.Mux) string {
				at := next()
				m.Command(wordsRegister, bot.RoleResident, form("f"))
				return at
			},
			func(m *bot.Mux) string { at := here(); m.Menu("OTHER", bot.RoleResident, form("f")); return at },
			[]string{`flow "f"`, "command t.words.register", "menu OTHER"}},
		{"one flow under two roles",
			func(m *bot.Mux) string {
				f := form("g")
				at := next()
				m.Command(wordsRegister, bot.RoleResident, f)
				m.Menu("STAFF_G", bot.RoleStaff, f)
				return at
			},
			func(*bot.Mux) string { return "" }, // the second registration is in first
			[]string{`flow "g"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := bot.NewMux(cat, say("fallback"))
			var firstAt, secondAt string
			msg := refused(func() {
				firstAt = c.first(m)
				secondAt = c.second(m)
			})
			if msg == "" {
				t.Fatal("registered twice without a panic")
			}
			want := append([]string{"registered twice", firstAt}, c.want...)
			if secondAt != "" {
				want = append(want, secondAt)
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q does not name %q", msg, w)
				}
			}
		})
	}

	// One flow may be started by a command and a menu key; it is not a duplicate.
	m := bot.NewMux(cat, say("fallback"))
	f := form("h")
	if msg := refused(func() {
		m.Command(wordsRegister, bot.RoleResident, f)
		m.Menu("REGISTER", bot.RoleResident, f)
	}); msg != "" {
		t.Fatalf("one flow by command and menu: %s", msg)
	}
}

// A global word that is also a flow word would take a flow's answer (取消 inside a
// form): refused at start-up.
func TestMuxRefusesGlobalFlowWord(t *testing.T) {
	cat, err := bot.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	m := bot.NewMux(cat, say("fallback"))
	msg := refused(func() { m.Global(wordsSignOff, bot.RoleResident, say("a")) })
	for _, w := range []string{`"取消"`, "t.words.sign_off", "words.cancel", "mux_test.go:"} {
		if !strings.Contains(msg, w) {
			t.Errorf("panic %q does not name %q", msg, w)
		}
	}
}

// The catalogue refuses a word in two command lists, or in two flow-word lists,
// naming the word and both lists; a word in a flow list and a command list is
// allowed, since the current flow decides first.
func TestCatalogRefusesOverlappingWords(t *testing.T) {
	cases := []struct {
		name, from, to string
		want           []string // "" means accepted
	}{
		{"two command lists", "t.words.note: [速记]", "t.words.note: [速记, 工作台]",
			[]string{`"工作台"`, "t.words.desk", "t.words.note", "command words"}},
		{"two flow lists", "words.done: [完成,", "words.done: [跳过, 完成,",
			[]string{`"跳过"`, "words.done", "words.skip", "flow words"}},
		{"a command and a flow list", "t.words.note: [速记]", "t.words.note: [速记, 确认]", nil},
	}
	for _, c := range cases {
		if !strings.Contains(testCatalog, c.from) {
			t.Fatalf("%s: the test catalogue has no %q", c.name, c.from)
		}
		_, err := bot.ParseCatalog([]byte(strings.Replace(testCatalog, c.from, c.to, 1)))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: refused: %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", c.name, err, w)
			}
		}
	}
}

// 取消 and 完成 are flow words and, here, a command's words too: inside a flow the
// flow answers them, outside any flow the command takes them.
func TestFlowWordsDecideBeforeCommands(t *testing.T) {
	h := newHarness(t)
	h.eng.Mux.Command(wordsSignOff, bot.RoleResident, bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		return bot.Text("注销:" + r.Args), nil
	}))
	steps := []struct{ send, want string }{
		{"取消", "注销:"}, // no flow: the command
		{"完成", "注销:"},
		{"取消 3", "注销:3"},
		{"登记", "您的姓名？"},
		{"完成", "颜色？"}, // a text field: 完成 is the answer
		{"取消", "已取消登记"},
		{"取消", "注销:"},
		{"返回", "无事可做"}, // nobody claims 返回 outside a flow
	}
	for i, s := range steps {
		if got := h.say("u1", s.send); !strings.Contains(got, s.want) {
			t.Fatalf("step %d %q: got %q, want %q", i, s.send, got, s.want)
		}
	}
}

// Middleware wraps every handler the Mux serves, outermost first, and reads what was
// chosen from Request.Route; a route the sender may not run never reaches it.
func TestMuxMiddleware(t *testing.T) {
	h := newHarness(t)
	var seen []string
	trace := func(name string) bot.Middleware {
		return func(next bot.Handler) bot.Handler {
			return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
				seen = append(seen, fmt.Sprintf("%s>%s:%s:%s", name, r.Route.Kind, r.Route.Pattern, r.Route.Role))
				rep, err := next.Serve(ctx, r)
				seen = append(seen, name+"<")
				return rep, err
			})
		}
	}
	h.eng.Mux.Use(trace("a"), trace("b"))
	for _, text := range []string{"登记", "张三", "返回", "你好"} {
		h.say("u1", text)
	}
	h.say("u2", "工作台") // a resident: refused before any middleware
	h.say("u1", "取消")  // the engine's own answer
	want := []string{
		"a>command:t.words.register:resident", "b>command:t.words.register:resident", "b<", "a<",
		"a>flow:test.register:resident", "b>flow:test.register:resident", "b<", "a<",
		"a>back:test.register:resident", "b>back:test.register:resident", "b<", "a<",
		"a>flow:test.register:resident", "b>flow:test.register:resident", "b<", "a<", // 你好 answers the name again
	}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("middleware saw\n%s\nwant\n%s", strings.Join(seen, " "), strings.Join(want, " "))
	}
	seen = nil
	h.say("u3", "随便说说")
	if len(seen) != 4 || seen[0] != "a>fallback::" {
		t.Fatalf("fallback: %q", seen)
	}
}
