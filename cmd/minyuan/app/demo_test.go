package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/bot/outbox"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/handlers"
	"minyuan/store/redistest"
)

// startDemo runs the demo as `minyuan demo` does, on a free port, until the test ends.
func startDemo(t *testing.T, opt app.DemoOptions) *app.Demo {
	t.Helper()
	cfg := configs.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Redis.URL = "redis://127.0.0.1:1/0" // ignored: the demo has its own
	if opt.Redis != nil {
		cfg.Redis.Prefix = redistest.Prefix(t)
	}
	if opt.Log == nil {
		opt.Log = quietLog(t)
	}
	d, err := app.NewDemo(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the demo did not shut down")
		}
	})
	return d
}

func catalog(t *testing.T) *bot.Catalog {
	t.Helper()
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// pageSend does what the page does when someone types in a pane.
func pageSend(t *testing.T, d *app.Demo, body string) string {
	t.Helper()
	resp, err := http.Post(d.URL+"demo/api/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Reply string `json:"reply"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("send %s: %d %+v %v", body, resp.StatusCode, a, err)
	}
	return a.Reply
}

// apiCall calls the simulated WeChat API as the bot would, and returns the errcode.
func apiCall(t *testing.T, d *app.Demo, path, body string) int {
	t.Helper()
	base := d.Config.WeChat.APIBaseURL
	resp, err := http.Get(base + "/cgi-bin/token?grant_type=client_credential&appid=" + d.Config.WeChat.AppID + "&secret=" + d.Config.WeChat.AppSecret)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	resp, err = http.Post(base+path+"?access_token="+tok.AccessToken, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	return ans.ErrCode
}

// TestDemoConversation starts the demo and talks to it through the simulator: signed,
// encrypted XML to the real webhook, the replies back, the pushes on the page.
func TestDemoConversation(t *testing.T) {
	for name, opt := range map[string]func(*testing.T) app.DemoOptions{
		"in-process redis": func(*testing.T) app.DemoOptions { return app.DemoOptions{} },
		// The harness of the end-to-end tests: the demo against the real server.
		"real redis": func(t *testing.T) app.DemoOptions { return app.DemoOptions{Redis: srv.Client(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			d := startDemo(t, opt(t))
			cat := catalog(t)
			ctx := context.Background()
			c := d.Client

			reply, err := c.Subscribe(ctx, app.DemoResident, "")
			if err != nil || reply != cat.T("welcome", nil) {
				t.Fatalf("subscribe: %q, %v; want the welcome", reply, err)
			}
			reply, err = c.Text(ctx, app.DemoResident, "帮助")
			if err != nil || !strings.Contains(reply, cat.T("help.resident", nil)) {
				t.Fatalf("帮助: %q, %v; want the residents' help", reply, err)
			}
			if strings.Contains(reply, cat.T("help.staff", nil)) {
				t.Fatalf("a resident was shown the staff's help: %q", reply)
			}
			reply, err = c.Text(ctx, app.DemoResident, "绑定 WRNG2345")
			if err != nil || reply != cat.T("bind.unknown", nil) {
				t.Fatalf("绑定 with a wrong code: %q, %v", reply, err)
			}
			// The seeded staff member is bound already.
			reply, err = c.Text(ctx, app.DemoStaff, "帮助")
			if err != nil || !strings.Contains(reply, cat.T("help.staff", nil)) {
				t.Fatalf("staff 帮助: %q, %v; want the staff's help", reply, err)
			}
			// A retry of one message (same MsgId) gets the same answer.
			m := sim.Message{From: app.DemoResident, Type: "text", Content: "帮助", MsgID: 42_000_001}
			first, err1 := c.Send(ctx, m)
			again, err2 := c.Send(ctx, m)
			if err1 != nil || err2 != nil || first.Text != again.Text || first.Text == "" {
				t.Fatalf("retry: %q %v / %q %v", first.Text, err1, again.Text, err2)
			}

			// The page: the spare invite binds the resident.
			var st struct {
				Invites []sim.DemoInvite `json:"invites"`
			}
			resp, err := http.Get(d.URL + "demo/api/state")
			if err != nil {
				t.Fatal(err)
			}
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if len(st.Invites) != 1 {
				t.Fatalf("invites %+v", st.Invites)
			}
			inv := st.Invites[0]
			reply = pageSend(t, d, `{"pane":"resident","text":"绑定 `+inv.Code+`"}`)
			wantBind := cat.T("bind.ok", map[string]string{"Name": inv.Name, "Community": inv.Community, "Role": cat.T("role."+bot.MsgKey(inv.Role), nil)})
			if reply != wantBind {
				t.Fatalf("绑定 the spare code: %q, want %q", reply, wantBind)
			}
			entries := d.Sim.Entries("resident")
			if last := entries[len(entries)-1]; last.Who != sim.WhoBot || last.Text != wantBind {
				t.Fatalf("the page's last resident entry %+v", last)
			}

			// Everything so far was answered passively: the bot called no send API for
			// the people on the page. (The seeded volunteers signed up for tomorrow's
			// patrol get its evening reminder when the demo starts after 18:00 China
			// time.)
			onPage := map[string]bool{app.DemoResident: true, app.DemoStaff: true, app.DemoParty: true, app.DemoAdmin: true}
			for _, call := range d.API.Calls() {
				if (call.Kind == sim.KindCustom || call.Kind == sim.KindTemplate) && onPage[call.OpenID] {
					t.Fatalf("unexpected push %+v", call)
				}
			}
			// A push through the API shows in the recipient's pane.
			if code := apiCall(t, d, "/cgi-bin/message/custom/send", `{"touser":"`+app.DemoParty+`","msgtype":"text","text":{"content":"走访提醒"}}`); code != 0 {
				t.Fatalf("custom send to the party member: errcode %d", code)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(d.Sim.Entries("party")) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := d.Sim.Entries("party"); len(got) != 1 || got[0].Kind != sim.KindCustom || got[0].Text != "走访提醒" {
				t.Fatalf("party pane %+v", got)
			}
			if sent := d.API.Sent(app.DemoParty); len(sent) != 1 {
				t.Fatalf("recorded sends to the party member: %+v", sent)
			}
		})
	}
}

// TestDemoClockMovesRedis: moving the demo clock fires the reminders due by the new
// time and expires, in the in-process Redis, what would have expired by then.
func TestDemoClockMovesRedis(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	// A push held until an hour from now (as quiet hours would hold it).
	payload, _ := json.Marshal(bot.Push{ID: "demo-clock", To: app.DemoParty, Kind: handlers.PushKinds[0], Text: "明早的走访提醒", Urgent: true})
	if err := d.App.Store.Schedule(context.Background(), bot.Reminder{ID: "push:demo-clock", Kind: outbox.DeferredKind,
		Due: d.Clock.Now().Add(time.Hour), Payload: payload}); err != nil {
		t.Fatal(err)
	}

	rdb := redis.NewClient(&redis.Options{Addr: d.Redis.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "demo-test:short", "1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "demo-test:long", "1", 3*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(d.URL+"demo/api/clock", "application/json", strings.NewReader(`{"advance":"2h"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clock: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(d.API.Sent(app.DemoParty)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sent := d.API.Sent(app.DemoParty); len(sent) != 1 || !strings.Contains(string(sent[0].Body), "明早的走访提醒") {
		t.Fatalf("the reminder due in 1 h did not go out after moving 2 h: %+v", sent)
	}
	if n := rdb.Exists(ctx, "demo-test:short", "demo-test:long").Val(); n != 1 {
		t.Fatalf("%d keys left after 2 h, want only the 3-h one", n)
	}
	if ttl := rdb.TTL(ctx, "demo-test:long").Val(); ttl > time.Hour+time.Minute || ttl < 59*time.Minute {
		t.Fatalf("TTL %v after 2 h of 3", ttl)
	}

	// The bot lives at the new time too: a message signed now is not a replay.
	if _, err := d.Client.Text(ctx, app.DemoResident, "帮助"); err != nil {
		t.Fatalf("after the move: %v", err)
	}
}

// TestDemoAddress: a host-less address stays on this machine.
func TestDemoAddress(t *testing.T) {
	cfg := configs.Default()
	cfg.HTTP.Addr = ":0"
	d, err := app.NewDemo(context.Background(), cfg, app.DemoOptions{Log: quietLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.HasPrefix(d.Config.HTTP.Addr, "127.0.0.1:") || !strings.HasPrefix(d.URL, "http://127.0.0.1:") {
		t.Fatalf("listening on %s (%s)", d.Config.HTTP.Addr, d.URL)
	}
	if len(d.Config.Communities) != 3 || d.Config.WeChat.EncodingAESKey == "" {
		t.Fatalf("sample communities and demo credentials not filled in: %+v", d.Config.WeChat)
	}
}

// The demo sets the bot's custom menus through the simulated API: residents see the
// default menu, staff and party members the personalised menu of their role (by the
// user tag Minyuan gives them); a click on a menu key is answered by the flow it names.
func TestDemoSetsTheMenu(t *testing.T) {
	d := startDemo(t, app.DemoOptions{})
	keys := func(openid string) string { return string(d.API.MenuFor(openid)) }
	for _, key := range []string{"REQUEST", "MY_TICKETS", "PROFILE", "HELP"} {
		if m := keys(app.DemoResident); !strings.Contains(m, key) {
			t.Fatalf("the resident's menu %s lacks %s", m, key)
		}
	}
	if m := keys(app.DemoResident); strings.Contains(m, "DESK_TODO") || strings.Contains(m, "VISIT_MINE") {
		t.Fatalf("the resident's menu %s shows staff or party items", m)
	}
	if m := keys(app.DemoStaff); !strings.Contains(m, "DESK_TODO") {
		t.Fatalf("the staff member's menu %s lacks 待办", m)
	}
	if m := keys(app.DemoParty); !strings.Contains(m, "VISIT_MINE") || strings.Contains(m, "DESK_TODO") {
		t.Fatalf("the party member's menu %s", m)
	}
	if got, err := d.Client.Click(context.Background(), app.DemoParty, "VISIT_MINE"); err != nil || strings.Contains(got, "权限") {
		t.Fatalf("我的任务 from the party menu: %q %v", got, err)
	}

	// A resident who binds as staff gets the staff menu once the retag has run.
	ctx := context.Background()
	const newcomer = "oMY_demo_newcomer"
	inv, err := d.App.Store.CreateInvite(ctx, bot.RoleStaff, "QY", "刘强", d.Clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Client.Subscribe(ctx, newcomer, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Client.Text(ctx, newcomer, "绑定 "+inv.Code); err != nil || !strings.Contains(got, "刘强") {
		t.Fatalf("绑定: %q %v", got, err)
	}
	if m := keys(newcomer); strings.Contains(m, "DESK_TODO") {
		t.Fatalf("the menu changed before the retag ran: %s", m)
	}
	if _, err := d.Clock.Advance(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.App.Scheduler.PumpOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if m := keys(newcomer); !strings.Contains(m, "DESK_TODO") {
		t.Fatalf("after binding as staff the menu is %s", m)
	}
	got, err := d.Client.Click(context.Background(), app.DemoStaff, "DESK_TODO")
	if err != nil || !strings.Contains(got, "暂无") {
		t.Fatalf("待办 from the menu: %q %v", got, err)
	}
	got, err = d.Client.Click(context.Background(), app.DemoResident, "DESK_TODO")
	if err != nil || !strings.Contains(got, "没有使用这项功能的权限") {
		t.Fatalf("a resident's 待办: %q %v", got, err)
	}
}
