package app_test

import (
	"context"
	"strings"
	"testing"

	"minyuan/bot"
	"minyuan/cmd/minyuan/app"
)

// The demo's party member 李建国 taps 更多→待办 and types 待办: he is a party member
// already, so he is shown his own to-do (visit tasks) and told what is there for
// party members, never to bind again.
func TestPartyMemberIsNotToldToBindAgain(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	ctx := context.Background()
	got, err := d.Client.Click(ctx, app.DemoParty, "DESK_TODO")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "绑定") || !strings.Contains(got, "走访任务") {
		t.Fatalf("更多→待办 for a party member: %q", got)
	}
	got, err = d.Client.Text(ctx, app.DemoParty, "待办")
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(got, "供社区工作人员使用|您已绑定为党员|无需再绑定|我的任务") || strings.Contains(got, "绑定 邀请码") {
		t.Fatalf("待办 typed by a party member: %q", got)
	}
	// A resident with no role is still told how roles are given.
	if got, _ := d.Client.Click(ctx, app.DemoResident, "DESK_TODO"); !strings.Contains(got, "绑定 邀请码") {
		t.Fatalf("更多→待办 for a resident: %q", got)
	}
	// Staff get their queue.
	if got, _ := d.Client.Click(ctx, app.DemoStaff, "DESK_TODO"); !strings.Contains(got, "待办") || strings.Contains(got, "绑定") {
		t.Fatalf("更多→待办 for staff: %q", got)
	}
}

// 我的资料 shows what is saved, with 修改; the form then lets the phone be skipped as
// the name can be, and the summary says what will be saved.
func TestProfileShowsBeforeEditing(t *testing.T) {
	e := newResidentEnv(t)
	// Nothing saved: the form starts at once, and the phone step offers 跳过.
	e.say("o_new", "我的资料")
	if got := e.say("o_new", "跳过"); !containsAll(got, "手机号|跳过") {
		t.Fatalf("phone step: %q", got)
	}
	if got := e.say("o_new", "跳过"); !strings.Contains(got, "社区") {
		t.Fatalf("after skipping the phone: %q", got)
	}
	if got := e.say("o_new", "七一路"); !containsAll(got, "电话：（未填）|社区：七一路社区") {
		t.Fatalf("summary: %q", got)
	}
	e.say("o_new", "确认")

	err := e.app.Store.SaveProfile(context.Background(), bot.Profile{OpenID: "o_res", Name: "王阿姨", Phone: "13800138000", Community: "QY", Updated: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	got := e.say("o_res", "我的资料")
	if !containsAll(got, "称呼：王阿姨|电话：138****8000|社区：七一路社区|「修改」") || strings.Contains(got, "怎么称呼") {
		t.Fatalf("我的资料 with a saved profile: %q", got)
	}
	if got := e.say("o_res", "修改"); !strings.Contains(got, "怎么称呼") {
		t.Fatalf("修改: %q", got)
	}
	e.say("o_res", "王阿姨")
	e.say("o_res", "电话是139 8765 4321")
	e.say("o_res", "和谐")
	if got := e.say("o_res", "确认"); !strings.Contains(got, "资料已保存") {
		t.Fatalf("save: %q", got)
	}
	if p, _ := e.app.Store.Profile(context.Background(), "o_res"); p.Phone != "13987654321" || p.Community != "HX" {
		t.Fatalf("saved %+v", p)
	}
}
