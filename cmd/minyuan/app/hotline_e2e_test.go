package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"minyuan/bot"
	"minyuan/configs"
)

// The hotline bridge end to end: the real API and CTI endpoint, the real webhook,
// real Redis; what staff and residents receive is read from the outbox.

const (
	hlToken  = "callcentre-token-0123456789"
	hlCTI    = "pbx-token-0123456789abcdef"
	hlCaller = "13800138000"
)

func newHotlineDesk(t *testing.T) *desk {
	t.Helper()
	e := newEnvWith(t, func(c *configs.Config) {
		c.Hotline.Tokens = []configs.HotlineToken{{Name: "callcentre", Token: hlToken}}
		c.Hotline.CTIToken = hlCTI
	})
	return deskOn(e)
}

func (d *desk) cti(fields url.Values) {
	d.t.Helper()
	resp, err := http.PostForm(d.srv.URL+"/api/v1/cti/"+hlCTI, fields)
	if err != nil || resp.StatusCode != 200 {
		d.t.Fatalf("cti %v: %v %v", fields, resp.StatusCode, err)
	}
	resp.Body.Close()
}

func (d *desk) logCall(id, caller, summary string) string {
	d.t.Helper()
	body, _ := json.Marshal(map[string]any{"call_id": id, "caller": caller, "started_at": d.clock.Now().Format("2006-01-02T15:04:05Z07:00"),
		"category": "sanitation", "summary": summary, "community": "QY", "operator": "小张"})
	req, _ := http.NewRequest("POST", d.srv.URL+"/api/v1/hotline/calls", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+hlToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Ticket string }
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 201 || out.Ticket == "" {
		d.t.Fatalf("log call: %d", resp.StatusCode)
	}
	return out.Ticket
}

var callbackNo = regexp.MustCompile(`回电任务 (\d+)`)

func TestMissedCallBecomesACallbackStaffClose(t *testing.T) {
	d := newHotlineDesk(t)
	d.bind("o_sec", bot.RoleSecretary, "QY", "刘书记")
	d.say(wang, "值班")
	d.cti(url.Values{"event": {"newCall"}, "from": {"02787654321"}, "to": {"12345"}, "direction": {"in"}, "callId": {"m1"}})
	d.cti(url.Values{"event": {"hangup"}, "from": {"02787654321"}, "to": {"12345"}, "direction": {"in"}, "callId": {"m1"}, "cause": {"cancel"}})
	d.cti(url.Values{"event": {"hangup"}, "from": {"02787654321"}, "to": {"12345"}, "direction": {"in"}, "callId": {"m1"}, "cause": {"cancel"}})
	p := d.lastPush(wang, "回电任务", "02787654321", "未接来电")
	no := callbackNo.FindStringSubmatch(p.Text)[1]
	if n := len(d.pushesTo(li)); n != 0 {
		t.Fatalf("staff off duty got %d pushes while a colleague is on duty", n)
	}
	d.expect(wang, "待办", "待回电 1 项", "02787654321")
	// The reminder comes through the due set when the task is due.
	cbs, _ := d.app.Store.OpenCallbacks(d.ctx, "QY")
	if len(cbs) != 1 {
		t.Fatalf("one missed call, two hangups: %d tasks", len(cbs))
	}
	if err := d.app.Callbacks.Due(d.ctx, bot.Reminder{ID: bot.CallbackDueID(no, 0), Kind: bot.CallbackDueKind,
		Payload: []byte(fmt.Sprintf(`{"no":%q,"try":0}`, no))}); err != nil {
		t.Fatal(err)
	}
	d.lastPush(wang, "回电提醒 "+no)
	for i := 1; i <= 3; i++ {
		d.expect(wang, "回电 "+no+" 未接通", fmt.Sprintf("第 %d 次", i))
	}
	d.lastPush("o_sec", "回电三次未接通 "+no)
	d.expect(wang, "回电 "+no+" 已接通 已告知", "完成")
	d.expect(wang, "回电 "+no+" 已接通", "已经完成")
	d.expect(zhao, "回电 "+no+" 已接通", "没有编号为 "+no)
}

// Three calls that do not get through are told to the community's secretary, and
// the staff member is told so; with no secretary bound, the community's staff are
// told instead, and every word says that (the answer, the push, the 回电 list).
func TestCallbackThreeFailuresTellWhoWasToldTruly(t *testing.T) {
	for _, secretary := range []bool{true, false} {
		t.Run(fmt.Sprint("secretary=", secretary), func(t *testing.T) {
			d := newHotlineDesk(t)
			if secretary {
				d.bind("o_sec", bot.RoleSecretary, "QY", "刘书记")
			}
			d.cti(url.Values{"event": {"newCall"}, "from": {"02787654321"}, "to": {"12345"}, "direction": {"in"}, "callId": {"m1"}})
			d.cti(url.Values{"event": {"hangup"}, "from": {"02787654321"}, "to": {"12345"}, "direction": {"in"}, "callId": {"m1"}, "cause": {"cancel"}})
			no := callbackNo.FindStringSubmatch(d.lastPush(wang, "回电任务").Text)[1]
			for i := 1; i <= 2; i++ {
				if got := d.expect(wang, "回电 "+no+" 未接通", fmt.Sprintf("第 %d 次", i)); strings.Contains(got, "三次") {
					t.Fatalf("try %d: %q", i, got)
				}
			}
			third := d.say(wang, "回电 "+no+" 未接通")
			list := d.say(wang, "回电")
			if secretary {
				if !strings.Contains(third, "已连续三次未接通，已报社区书记") || strings.Contains(third, "尚未绑定") {
					t.Fatalf("third try with a secretary: %q", third)
				}
				d.lastPush("o_sec", "回电三次未接通 "+no, "请社区书记关注")
				if !strings.Contains(list, "已报书记") {
					t.Fatalf("回电 list: %q", list)
				}
				for _, p := range d.pushesTo(li) {
					if strings.Contains(p.Text, "回电三次未接通") {
						t.Fatalf("staff told with a secretary bound: %q", p.Text)
					}
				}
				return
			}
			if !containsAll(third, "已连续三次未接通|本社区尚未绑定社区书记，已告知本社区工作人员") || strings.Contains(third, "已报社区书记") {
				t.Fatalf("third try with no secretary: %q", third)
			}
			for _, who := range []string{wang, li} {
				p := d.lastPush(who, "回电三次未接通 "+no, "本社区尚未绑定社区书记，此提醒发给社区工作人员")
				if strings.Contains(p.Text, "请社区书记关注") {
					t.Fatalf("push to %s: %q", who, p.Text)
				}
			}
			if !strings.Contains(list, "已告知社区工作人员（未绑定社区书记）") || strings.Contains(list, "已报书记") {
				t.Fatalf("回电 list: %q", list)
			}
		})
	}
}

func TestVoiceCodeLinksCallsAndReceiptsReachWeChat(t *testing.T) {
	d := newHotlineDesk(t)
	first := d.logCall("c1", hlCaller, "楼道灯坏了")
	// A stranger typing the number sees nothing of the calls.
	d.expect("o_stranger", "关联来电 "+hlCaller, "验证码")
	d.expect("o_stranger", "我的诉求", "还没有")
	d.expect(res, "关联来电 "+hlCaller, "6位验证码")
	var code string
	for _, p := range d.pushesTo(wang) {
		if m := regexp.MustCompile(`验证码：(\d{6})`).FindStringSubmatch(p.Text); m != nil && strings.Contains(p.Text, hlCaller) {
			code = m[1] // the latest task: the resident's own
		}
	}
	if code == "" {
		t.Fatal("the desk got no code to read")
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	d.expect(res, "验证码 "+wrong, "不对", "4 次")
	d.expect(res, "验证码 "+code, "关联成功", first)
	d.expect(res, "我的诉求", first)
	// The next call from that number reaches the resident in WeChat, and so does
	// the staff reply.
	second := d.logCall("c2", "+86 138-0013-8000", "灯还是不亮")
	d.lastPush(res, "来电已登记", second)
	d.expect(wang, "回复 "+second+" 明天上午电工上门", "已回复")
	d.lastPush(res, "明天上午电工上门")
}
