package bot_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
)

// memStore is a small in-memory stand-in for store/, enough to drive the engine.
type memStore struct {
	mu       sync.Mutex
	replies  map[string]*bot.Reply // nil value: claimed, not committed
	sessions map[string]*bot.Session
	grants   map[string][]bot.Grant
	locks    map[string]*sync.Mutex
	held     map[string]*sync.Mutex // by claim token
	commits  int
	peeks    int // Updates answered unclaimed
}

func newMemStore() *memStore {
	return &memStore{replies: map[string]*bot.Reply{}, sessions: map[string]*bot.Session{},
		grants: map[string][]bot.Grant{}, locks: map[string]*sync.Mutex{}, held: map[string]*sync.Mutex{}}
}

func (m *memStore) Begin(ctx context.Context, u bot.Update, deadline time.Time) (*bot.Claim, error) {
	id := u.From + "/" + u.ID
	m.mu.Lock()
	r, ok := m.replies[id]
	if ok {
		m.mu.Unlock()
		if r == nil {
			return nil, bot.ErrInFlight
		}
		return &bot.Claim{Reply: *r}, nil
	}
	m.replies[id] = nil
	l := m.locks[u.From]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[u.From] = l
	}
	m.mu.Unlock()
	l.Lock()
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &bot.Claim{Owner: true, Token: fmt.Sprint(len(m.held) + 1), Deadline: deadline, Update: u, Grants: m.grants[u.From]}
	m.held[c.Token] = l
	if s := m.sessions[u.From]; s != nil {
		cp := *s
		cp.Data = maps.Clone(s.Data)
		c.Session = &cp
	}
	return c, nil
}

// Peek is store.Peek: the grants and session, when the sender has no claim of u and
// no lock.
func (m *memStore) Peek(_ context.Context, u bot.Update, _ time.Time) (*bot.Peeked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.replies[u.From+"/"+u.ID]; ok {
		if r == nil {
			return nil, nil
		}
		return &bot.Peeked{Reply: r}, nil
	}
	if l := m.locks[u.From]; l != nil {
		if !l.TryLock() {
			return nil, nil
		}
		l.Unlock()
	}
	p := &bot.Peeked{Grants: m.grants[u.From]}
	if s := m.sessions[u.From]; s != nil {
		cp := *s
		cp.Data = maps.Clone(s.Data)
		p.Session = &cp
	}
	m.peeks++
	return p, nil
}

func (m *memStore) Renew(context.Context, *bot.Claim) (bool, error) { return true, nil }

func (m *memStore) Abort(_ context.Context, c *bot.Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.replies, c.Update.From+"/"+c.Update.ID)
	if l := m.held[c.Token]; l != nil {
		delete(m.held, c.Token)
		l.Unlock()
	}
	return nil
}

func (m *memStore) Commit(_ context.Context, c *bot.Claim, out bot.Commit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := out.Reply
	m.replies[out.User+"/"+out.UpdateID] = &r
	if out.Session == nil {
		delete(m.sessions, out.User)
	} else {
		s := *out.Session
		m.sessions[out.User] = &s
	}
	m.commits++
	if l := m.held[c.Token]; l != nil {
		delete(m.held, c.Token)
		l.Unlock()
	}
	return nil
}

// The test flows' command words, declared like the real ones.
var (
	wordsRegister = bot.Words("t.words.register")
	wordsDesk     = bot.Words("t.words.desk")
	wordsPhoto    = bot.Words("t.words.photo")
	wordsNote     = bot.Words("t.words.note")
	wordsSignOff  = bot.Words("t.words.sign_off") // shares 取消 and 完成 with flow words
	wordsHelp     = bot.Words("t.words.help")
)

// testCatalog is engineCatalog with a stand-in text for every other key the bot
// package declares (the ticket service's: their real texts are configs' and its
// tests use those).
var testCatalog = engineCatalog + stubTexts(engineCatalog)

func stubTexts(have string) string {
	var b strings.Builder
	for _, k := range bot.DeclaredKeys() {
		if !strings.Contains(have, "\n"+string(k)+":") {
			fmt.Fprintf(&b, "%s: %q\n", k, string(k))
		}
	}
	return b.String()
}

const engineCatalog = `
t.words.register: [登记]
t.words.desk: [工作台]
t.words.photo: [拍照]
t.words.note: [速记]
t.words.sign_off: [取消, 完成, 注销]
t.words.help: [帮助]
words.cancel: [取消, 退出]
words.back: [返回, 上一步]
words.skip: [跳过, 无, 没有]
words.confirm: [确认, 确定, 是, 好, "1", 提交]
words.done: [完成, 好了, 没有了, 就这些]
engine.busy: "忙"
engine.busy_unsure: "忙，可能未完成"
engine.still_busy: "稍候"
engine.internal: "出错"
engine.forbidden: "无权限"
engine.cancelled: "已取消{{.Title}}"
engine.nothing: "无事可做"
engine.dropped: "{{.Title}}已超时取消"
engine.flow_gone: "流程已失效"
form.choice: "{{.N}}.{{.Label}}"
form.bad_choice: "无此选项"
form.skip_hint: "可跳过"
form.first_field: "已是第一步"
form.confirm_ask: "请确认"
form.empty: "请用文字"
form.photo: "已收到{{.N}}张照片"
form.photo_limit: "最多{{.Max}}张"
t.desc: "请描述"
t.desc_summary: '描述{{.desc}} 照片{{index . "desc.photos"}}'
t.title: "登记"
t.name: "您的姓名？"
t.color: "颜色？"
t.note: "备注？"
t.name_bad: "姓名太长"
t.summary: "姓名{{.name}} 颜色{{.color}} 备注{{.note}}"
t.done: "已登记{{.name}}"
t.staff: "工作台"
t.fallback: "不懂"
` + visitsTestCatalog + volunteersTestCatalog

type harness struct {
	t       *testing.T
	eng     *bot.Engine
	store   *memStore
	clock   *bot.ManualClock
	submits []bot.Answers
	n       int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cat, err := bot.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: newMemStore(), clock: bot.NewManualClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))}
	form := &bot.Form{
		ID:      "test.register",
		Heading: "t.title",
		Fields: []bot.Field{
			{Key: "name", Prompt: "t.name", Validate: func(r *bot.Request, in string) (string, error) {
				if len([]rune(in)) > 4 {
					return "", bot.UserError(bot.EInvalid, "t.name_bad", nil)
				}
				return in, nil
			}},
			{Key: "color", Prompt: "t.color", Choices: func(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
				return []bot.Choice{{Value: "red", Label: "红"}, {Value: "blue", Label: "蓝"}}, nil
			}},
			{Key: "note", Prompt: "t.note", Optional: true},
		},
		Confirm: "t.summary",
		Submit: func(_ context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			h.submits = append(h.submits, a)
			return r.Say("t.done", a), nil
		},
	}
	mux := bot.NewMux(cat, bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		return r.Say("t.fallback", nil), nil
	}))
	mux.Command(wordsRegister, bot.RoleResident, form)
	mux.Menu("REGISTER", bot.RoleResident, form)
	mux.Command(wordsDesk, bot.RoleStaff, bot.HandlerFunc(func(_ context.Context, r *bot.Request) (bot.Reply, error) {
		return r.Say("t.staff", nil), nil
	}))
	h.eng = &bot.Engine{Mux: mux, Catalog: cat, Clock: h.clock, Inbox: h.store,
		SessionTimeout: 30 * time.Minute, Budget: 4 * time.Second,
		Log: discardLogger()}
	return h
}

// say sends a text from user u and returns the reply text.
func (h *harness) say(u, text string) string {
	h.n++
	up := bot.Update{ID: "m:" + u + string(rune('a'+h.n%26)) + strings.Repeat("x", h.n), From: u, Kind: bot.KindText, Text: text, Time: h.clock.Now()}
	return h.eng.Handle(context.Background(), up).Text
}

func TestFormConversation(t *testing.T) {
	type step struct {
		send string
		want string // substring of the reply
	}
	cases := []struct {
		name    string
		steps   []step
		submits int
	}{
		{"answer and confirm", []step{
			{"登记", "您的姓名？"},
			{"张三", "颜色？\n1.红\n2.蓝"},
			{"2", "备注？\n可跳过"},
			{"跳过", "姓名张三 颜色blue 备注\n请确认"},
			{"确认", "已登记张三"},
			{"确认", "已登记张三"}, // the form is over: told again, nothing made
			{"张三", "不懂"},
		}, 1},
		{"validation and bad choice ask again", []step{
			{"登记", "您的姓名？"},
			{"欧阳娜娜娜", "姓名太长\n您的姓名？"},
			{"李四", "颜色？"},
			{"紫", "无此选项\n颜色？"},
			{"红", "备注？"},
		}, 0},
		{"back steps to the previous question", []step{
			{"登记", "您的姓名？"},
			{"返回", "已是第一步\n您的姓名？"},
			{"王五", "颜色？"},
			{"返回", "您的姓名？"},
			{"赵六", "颜色？"},
			{"1", "备注？"},
			{"二楼", "姓名赵六 颜色red 备注二楼"},
			{"返回", "备注？"},
			{"三楼", "备注三楼"},
			{"确认", "已登记赵六"},
		}, 1},
		{"cancel ends the form", []step{
			{"登记", "您的姓名？"},
			{"钱七", "颜色？"},
			{"取消", "已取消登记"},
			{"1", "不懂"},
			{"取消", "无事可做"},
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for i, s := range tc.steps {
				if got := h.say("u1", s.send); !strings.Contains(got, s.want) {
					t.Fatalf("step %d %q: got %q, want it to contain %q", i, s.send, got, s.want)
				}
			}
			if len(h.submits) != tc.submits {
				t.Fatalf("submits = %d, want %d", len(h.submits), tc.submits)
			}
		})
	}
}

func TestFormTimesOutWhenTheClockMoves(t *testing.T) {
	h := newHarness(t)
	h.say("u1", "登记")
	h.say("u1", "孙八")
	h.clock.Advance(29 * time.Minute)
	if got := h.say("u1", "1"); !strings.Contains(got, "备注？") {
		t.Fatalf("inside the time-out the form goes on, got %q", got)
	}
	h.clock.Advance(31 * time.Minute)
	got := h.say("u1", "二楼")
	if !strings.Contains(got, "登记已超时取消") || !strings.Contains(got, "不懂") {
		t.Fatalf("after the time-out the user is told and the message handled afresh, got %q", got)
	}
	if len(h.submits) != 0 {
		t.Fatal("a timed-out form must not submit")
	}
}

func TestMenuClickStartsForm(t *testing.T) {
	h := newHarness(t)
	got := h.eng.Handle(context.Background(), bot.Update{ID: "e:u1:1:CLICK:REGISTER", From: "u1",
		Kind: bot.KindEvent, Event: bot.EventClick, EventKey: "REGISTER"}).Text
	if !strings.Contains(got, "您的姓名？") {
		t.Fatalf("got %q", got)
	}
}

func TestRoleCheckedBeforeRoute(t *testing.T) {
	h := newHarness(t)
	if got := h.say("resident", "工作台"); got != "无权限" {
		t.Fatalf("resident got %q", got)
	}
	h.store.grants["staff"] = []bot.Grant{{OpenID: "staff", Role: bot.RoleStaff, Community: "A"}}
	if got := h.say("staff", "工作台"); got != "工作台" {
		t.Fatalf("staff got %q", got)
	}
	h.store.grants["admin"] = []bot.Grant{{OpenID: "admin", Role: bot.RoleAdmin}}
	if got := h.say("admin", "工作台"); got != "工作台" {
		t.Fatalf("admin got %q", got)
	}
}

func TestSameUpdateTwiceHasOneEffect(t *testing.T) {
	h := newHarness(t)
	h.say("u1", "登记")
	up := bot.Update{ID: "m:42", From: "u1", Kind: bot.KindText, Text: "周九"}
	first := h.eng.Handle(context.Background(), up)
	second := h.eng.Handle(context.Background(), up)
	if first != second {
		t.Fatalf("retry got %q, first %q", second.Text, first.Text)
	}
	if got := h.say("u1", "1"); !strings.Contains(got, "备注？") {
		t.Fatalf("the duplicate must not have answered the colour question: %q", got)
	}
}

func TestCommandWithoutSpace(t *testing.T) {
	word, args := bot.SplitCommand("  接单　12 ")
	if word != "接单" || args != "12" {
		t.Fatalf("full-width space: %q %q", word, args)
	}
}

// A Photos field keeps the images sent while it is asked, takes words or 完成 as its
// answer, and hands the pictures to Submit; 返回 asks for them afresh.
func TestFormPhotos(t *testing.T) {
	h := newHarness(t)
	var got []bot.Answers
	form := &bot.Form{
		ID: "test.photos", Heading: "t.title",
		Fields:  []bot.Field{{Key: "desc", Prompt: "t.desc", Photos: true}},
		Confirm: "t.desc_summary",
		Submit: func(_ context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			got = append(got, a)
			return r.Say("t.done", map[string]string{"name": a["desc"]}), nil
		},
	}
	h.eng.Mux.Command(wordsPhoto, bot.RoleResident, form)
	image := func(url string) string {
		h.n++
		return h.eng.Handle(context.Background(), bot.Update{ID: fmt.Sprintf("m:img%d", h.n), From: "u1",
			Kind: bot.KindImage, PicURL: url, Time: h.clock.Now()}).Text
	}
	steps := []struct {
		send, image, want string
	}{
		{send: "拍照", want: "请描述"},
		{send: "完成", want: "请用文字\n请描述"}, // nothing sent yet
		{image: "http://p/1", want: "已收到1张照片"},
		{image: "http://p/2", want: "已收到2张照片"},
		{send: "楼道灯坏了", want: "描述楼道灯坏了 照片http://p/1\nhttp://p/2"},
		{send: "返回", want: "请描述"},
		{send: "完成", want: "请用文字"}, // 返回 dropped the photos with the answer
		{image: "http://p/3", want: "已收到1张照片"},
		{send: "完成", want: "描述 照片http://p/3"},
		{send: "确认", want: "已登记"},
	}
	for i, s := range steps {
		var reply string
		if s.image != "" {
			reply = image(s.image)
		} else {
			reply = h.say("u1", s.send)
		}
		if !strings.Contains(reply, s.want) {
			t.Fatalf("step %d (%q%q): got %q, want %q", i, s.send, s.image, reply, s.want)
		}
	}
	if len(got) != 1 || got[0]["desc"] != "" || !slices.Equal(got[0].Photos("desc"), []string{"http://p/3"}) {
		t.Fatalf("submitted %v", got)
	}

	// Past MaxPhotos an image is refused, and said so; an image outside a Photos
	// field is no answer.
	h.say("u2", "拍照")
	for i := range bot.MaxPhotos + 1 {
		h.n++
		reply := h.eng.Handle(context.Background(), bot.Update{ID: fmt.Sprintf("m:u2img%d", i), From: "u2",
			Kind: bot.KindImage, PicURL: fmt.Sprint("http://q/", i), Time: h.clock.Now()}).Text
		if want := fmt.Sprintf("已收到%d张照片", i+1); i == bot.MaxPhotos {
			want = "最多9张"
			if reply != want {
				t.Fatalf("photo %d: %q", i, reply)
			}
		} else if reply != want {
			t.Fatalf("photo %d: %q, want %q", i, reply, want)
		}
	}
	h.say("u3", "登记")
	if reply := h.eng.Handle(context.Background(), bot.Update{ID: "m:u3img", From: "u3", Kind: bot.KindImage,
		PicURL: "http://r/1", Time: h.clock.Now()}).Text; !strings.Contains(reply, "请用文字\n您的姓名？") {
		t.Fatalf("image in a text field: %q", reply)
	}
}

// A form without a summary that is refused at submit ends with the reason: there is
// no confirm step to stay on.
func TestFormWithoutConfirmRefusedAtSubmit(t *testing.T) {
	h := newHarness(t)
	h.eng.Mux.Command(wordsNote, bot.RoleResident, &bot.Form{
		ID: "test.quick", Heading: "t.title",
		Fields: []bot.Field{{Key: "name", Prompt: "t.name"}},
		Submit: func(context.Context, *bot.Request, bot.Answers) (bot.Reply, error) {
			return bot.Reply{}, bot.UserError(bot.EConflict, "t.name_bad", nil)
		},
	})
	h.say("u1", "速记")
	if got := h.say("u1", "张三"); got != "姓名太长" {
		t.Fatalf("refused: %q", got)
	}
	if got := h.say("u1", "李四"); got != "不懂" {
		t.Fatalf("the form should have ended: %q", got)
	}
}

// A command word run into a number or punctuation is still the command; run into
// other text it is a sentence. What the sender may not run, or what nothing routes,
// is offered to the pass-through (a live relay) before it is refused or falls back.
func TestCommandWordsAndPassThrough(t *testing.T) {
	h := newHarness(t)
	h.store.grants["staff"] = []bot.Grant{{OpenID: "staff", Role: bot.RoleStaff, Community: "A"}}
	var passed []string
	h.eng.Mux.Through(func(_ context.Context, r *bot.Request) (bot.Reply, bool, error) {
		if r.Update.From != "relaying" {
			return bot.Reply{}, false, nil
		}
		passed = append(passed, r.Update.Text)
		return bot.Text("已转达"), true, nil
	})
	cases := []struct {
		from, text, want string
	}{
		{"staff", "工作台12", "工作台"},
		{"staff", "工作台，好", "工作台"},
		{"staff", "工作台一下", "不懂"},
		{"resident", "工作台", "无权限"},
		{"relaying", "工作台", "已转达"},
		{"relaying", "你好", "已转达"},
		{"relaying", "登记", "您的姓名？"}, // a command the sender may run still runs
	}
	for _, c := range cases {
		if got := h.say(c.from, c.text); !strings.Contains(got, c.want) {
			t.Errorf("%s says %q: got %q, want %q", c.from, c.text, got, c.want)
		}
	}
	if strings.Join(passed, "|") != "工作台|你好" {
		t.Fatalf("passed through: %v", passed)
	}
}

// The choices offered with a question are the ones the answer is matched against:
// a list that changes between question and answer (a ticket closed, another opened)
// still gives the person what they picked, by number or by label. A session saved
// before lists were kept gets the list made afresh.
func TestFormChoicesFixedWhenAsked(t *testing.T) {
	h := newHarness(t)
	// Each time the list is made, a newer entry comes first and the last goes.
	lists := [][]bot.Choice{
		{{Value: "A", Label: "甲"}, {Value: "B", Label: "乙"}},
		{{Value: "C", Label: "丙"}, {Value: "A", Label: "甲"}},
		{{Value: "D", Label: "丁"}, {Value: "C", Label: "丙"}},
	}
	made := 0
	var got []bot.Answers
	h.eng.Mux.Command(wordsNote, bot.RoleResident, &bot.Form{
		ID: "test.pick", Heading: "t.title",
		Fields: []bot.Field{{Key: "color", Prompt: "t.color", Choices: func(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
			cs := lists[min(made, len(lists)-1)]
			made++
			return cs, nil
		}}},
		Submit: func(_ context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			got = append(got, a)
			return r.Say("t.done", map[string]string{"name": a["color"]}), nil
		},
	})
	steps := []struct{ user, send, want string }{
		{"u1", "速记", "颜色？\n1.甲\n2.乙"},
		{"u1", "2", "已登记B"}, // now the list would be 丙, 甲: 2 was 乙 when asked
		{"u2", "速记", "1.丙\n2.甲"},
		{"u2", "乙", "无此选项\n颜色？\n1.丁\n2.丙"}, // not offered; asked again with today's list
		{"u2", "丁", "已登记D"},
	}
	for i, s := range steps {
		if reply := h.say(s.user, s.send); !strings.Contains(reply, s.want) {
			t.Fatalf("step %d %s %q: got %q, want %q", i, s.user, s.send, reply, s.want)
		}
	}
	if len(got) != 2 || got[0]["color"] != "B" || got[1]["color"] != "D" {
		t.Fatalf("submitted %v", got)
	}
	for _, a := range got {
		for k := range a {
			if strings.HasPrefix(k, "_") {
				t.Fatalf("the kept list reached Submit: %v", a)
			}
		}
	}

	// A session from before lists were kept: the answer is matched against the list
	// made now (丁, 丙).
	h.store.sessions["u3"] = &bot.Session{User: "u3", Flow: "test.pick", Step: 0, Data: map[string]string{}, Updated: h.clock.Now()}
	if reply := h.say("u3", "2"); !strings.Contains(reply, "已登记C") {
		t.Fatalf("old session: %q", reply)
	}
}

// A choice is found the way people name it: a prefix (和谐 for 和谐社区), an alias,
// the name inside a sentence; when two fit, the question is asked again with only
// those two, numbered afresh, and the number answers among them.
func TestFormChoicesForgiving(t *testing.T) {
	h := newHarness(t)
	var got []string
	h.eng.Mux.Command(wordsNote, bot.RoleResident, &bot.Form{
		ID: "test.community", Heading: "t.title",
		Fields: []bot.Field{{Key: "color", Prompt: "t.color", Choices: func(context.Context, *bot.Request, bot.Answers) ([]bot.Choice, error) {
			return []bot.Choice{{Value: "QY", Label: "七一路社区"}, {Value: "QYB", Label: "七一路北社区"},
				{Value: "HX", Label: "和谐社区", Aliases: []string{"人和"}}, {Value: "D", Label: "1001 楼道灯"}}, nil
		}}},
		Submit: func(_ context.Context, r *bot.Request, a bot.Answers) (bot.Reply, error) {
			got = append(got, a["color"])
			return r.Say("t.done", map[string]string{"name": a["color"]}), nil
		},
	})
	for i, c := range []struct {
		steps []string
		want  string
	}{
		{[]string{"和谐"}, "已登记HX"},
		{[]string{"人和"}, "已登记HX"},
		{[]string{"我住在和谐社区。"}, "已登记HX"},
		{[]string{"七一路北"}, "已登记QYB"},
		{[]string{"七一路", "2"}, "已登记QYB"},
		{[]string{"七一路", "七一路社区"}, "已登记QY"},
		{[]string{"10"}, "无此选项"}, // a number is never a prefix
		{[]string{"幸福"}, "无此选项"},
	} {
		u := fmt.Sprintf("u%d", i)
		h.say(u, "速记")
		var reply string
		for j, s := range c.steps {
			reply = h.say(u, s)
			if j == 0 && c.steps[0] == "七一路" {
				if !strings.Contains(reply, "1.七一路社区\n2.七一路北社区") || strings.Contains(reply, "和谐") {
					t.Fatalf("ambiguous %q: %q", s, reply)
				}
			}
		}
		if !strings.Contains(reply, c.want) {
			t.Errorf("%v: got %q, want %q", c.steps, reply, c.want)
		}
	}
}
