package wechat_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/bot/wechat"
)

const (
	alice = "o-alice"
	bob   = "o-bob"
)

var testTemplates = wechat.Templates{
	"ticket_reply": {
		ID: "tpl-ticket-reply",
		Fields: map[string]string{
			"first":    "您的诉求有新回复",
			"keyword1": "{ref}",
			"keyword2": "{text}",
			"remark":   "{remark}",
		},
		URL: "https://minyuan.example/t/{ref}?c={community}",
	},
}

func (p *platform) deliverer(t *testing.T) *wechat.Deliverer {
	t.Helper()
	d, err := wechat.NewDeliverer(wechat.DelivererConfig{
		AppID:       appID,
		Token:       p.token(t, p.st),
		Allowance:   p.st,
		Callbacks:   p.st,
		Templates:   testTemplates,
		Clock:       p.clock,
		KeepInTouch: "（回复任意内容可继续收到进展）",
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func reply(id, to string) bot.Push {
	return bot.Push{
		ID: id, To: to, Kind: "ticket_reply", Text: "工作人员回复：明天上午上门维修。",
		Fields: map[string]string{"remark": "如有疑问请回复本消息"}, Important: true, Ref: "Q7K2", Community: "c1",
	}
}

func wantOutcome(t *testing.T, got wechat.Outcome, result wechat.Result, via string) {
	t.Helper()
	if got.Result != result || got.Via != via {
		t.Fatalf("Deliver = %+v (err %v), want %s via %s", got, got.Err, result, via)
	}
}

func TestDeliverCustomInsideWindow(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now().Add(-47*time.Hour))

	wantOutcome(t, d.Deliver(t.Context(), reply("r1", alice)), wechat.Sent, wechat.OpCustom)
	sent := p.api.Sent(alice)
	if len(sent) != 1 || sent[0].Kind != sim.KindCustom || !strings.Contains(string(sent[0].Body), "明天上午上门维修") {
		t.Fatalf("sent %+v", sent)
	}
}

func TestDeliverTemplateAfterWindow(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	p.clock.Advance(48 * time.Hour)

	wantOutcome(t, d.Deliver(t.Context(), reply("r1", alice)), wechat.Sent, wechat.OpTemplate)
	sent := p.api.Sent(alice)
	if len(sent) != 1 || sent[0].Kind != sim.KindTemplate {
		t.Fatalf("sent %+v", sent)
	}
	// No customer-service attempt was made: the store knew the window was shut.
	for _, c := range p.api.Calls() {
		if c.Kind == sim.KindCustom {
			t.Fatalf("tried a customer-service message: %+v", c)
		}
	}
	var body struct {
		TemplateID  string `json:"template_id"`
		URL         string `json:"url"`
		ClientMsgID string `json:"client_msg_id"`
		Data        map[string]struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(sent[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"first": "您的诉求有新回复", "keyword1": "Q7K2", "keyword2": "工作人员回复：明天上午上门维修。", "remark": "如有疑问请回复本消息"}
	for k, v := range want {
		if body.Data[k].Value != v {
			t.Errorf("data %s = %q, want %q", k, body.Data[k].Value, v)
		}
	}
	if body.TemplateID != "tpl-ticket-reply" || body.URL != "https://minyuan.example/t/Q7K2?c=c1" || len(body.ClientMsgID) != 32 {
		t.Fatalf("template message %+v", body)
	}
}

// The store thought the window open, the platform says otherwise (45015), or the
// window's quota is spent (45047): down to a template.
func TestDeliverFallsBackOnWindowCodes(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	for i, code := range []int{sim.ErrWindowClosed, sim.ErrCustomQuota} {
		p.api.FailNext(1, sim.Fault{ErrCode: code})
		wantOutcome(t, d.Deliver(t.Context(), reply("r"+string(rune('1'+i)), alice)), wechat.Sent, wechat.OpTemplate)
	}
}

// The ladder knows the allowance before it sends: five customer-service messages
// after a message, the last one inviting a reply, then templates, and the platform
// never has to refuse one.
func TestDeliverKnowsTheAllowance(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	for i := range 5 {
		wantOutcome(t, d.Deliver(t.Context(), reply(fmt.Sprintf("r%d", i), alice)), wechat.Sent, wechat.OpCustom)
	}
	wantOutcome(t, d.Deliver(t.Context(), reply("r5", alice)), wechat.Sent, wechat.OpTemplate)
	sent := p.api.Sent(alice)
	for i, c := range sent[:4] {
		if strings.Contains(string(c.Body), "回复任意内容") {
			t.Fatalf("message %d invites a reply before the last: %s", i+1, c.Body)
		}
	}
	if !strings.Contains(string(sent[4].Body), "回复任意内容") {
		t.Fatalf("the last customer-service message does not invite a reply: %s", sent[4].Body)
	}
	for _, c := range p.api.Calls() {
		if c.ErrCode == sim.ErrCustomQuota {
			t.Fatalf("the platform refused a send: %+v", c)
		}
	}
	// Replying renews it.
	p.wrote(t, alice, p.clock.Now())
	wantOutcome(t, d.Deliver(t.Context(), reply("r6", alice)), wechat.Sent, wechat.OpCustom)
}

// Several pushes in one customer-service message, in order; a push that is not to
// a resident's case gets no invitation.
func TestDeliverAllMerges(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	a, b := reply("m1", alice), reply("m2", alice)
	a.Text, b.Text = "第一条：已受理。", "第二条：明天上门。"
	outs := d.DeliverAll(t.Context(), []bot.Push{a, b})
	if len(outs) != 2 || outs[0].Result != wechat.Sent || outs[1].Merged != 2 {
		t.Fatalf("DeliverAll = %+v", outs)
	}
	sent := p.api.Sent(alice)
	if len(sent) != 1 {
		t.Fatalf("%d messages, want 1", len(sent))
	}
	var m struct {
		Text struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	_ = json.Unmarshal(sent[0].Body, &m)
	if i, j := strings.Index(m.Text.Content, "第一条"), strings.Index(m.Text.Content, "第二条"); i < 0 || j < i {
		t.Fatalf("merged text out of order: %q", m.Text.Content)
	}
}

func TestDeliverUnsubscribedMakesCallback(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	p.api.Unsubscribe(alice)

	out := d.Deliver(t.Context(), reply("r1", alice))
	if out.Result != wechat.Undeliverable || out.Reason != wechat.ReasonUnsubscribed || !out.Callback || wechat.ErrorCode(out.Err) != sim.ErrNotSubscribed {
		t.Fatalf("Deliver = %+v", out)
	}
	// Delivered again (a retry after a crash): still one task.
	d.Deliver(t.Context(), reply("r1", alice))
	cbs, err := p.st.ListCallbacks(t.Context(), "c1")
	if err != nil || len(cbs) != 1 {
		t.Fatalf("call-backs %+v, %v", cbs, err)
	}
	if c := cbs[0]; c.OpenID != alice || c.Ref != "Q7K2" || c.Reason != wechat.ReasonUnsubscribed || c.Text == "" || !c.Created.Equal(p.clock.Now()) {
		t.Fatalf("call-back %+v", c)
	}

	// A push that does not matter enough makes none.
	unimportant := reply("r2", alice)
	unimportant.Important = false
	if out := d.Deliver(t.Context(), unimportant); out.Result != wechat.Undeliverable || out.Callback {
		t.Fatalf("Deliver(unimportant) = %+v", out)
	}
	if cbs, _ := p.st.ListCallbacks(t.Context(), "c1"); len(cbs) != 1 {
		t.Fatalf("call-backs %+v", cbs)
	}
}

func TestDeliverNoTemplateOrRefused(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.api.Subscribe(bob) // follows, never wrote: window shut

	other := reply("v1", bob)
	other.Kind = "visit_task"
	out := d.Deliver(t.Context(), other)
	if out.Result != wechat.Undeliverable || out.Reason != wechat.ReasonNoTemplate || !out.Callback {
		t.Fatalf("no template: %+v", out)
	}
	if len(p.api.Calls()) != 0 {
		t.Fatalf("called the platform for nothing: %+v", p.api.Calls())
	}

	p.api.FailNext(1, sim.Fault{ErrCode: sim.ErrInvalidTemplate})
	out = d.Deliver(t.Context(), reply("r1", bob))
	if out.Result != wechat.Undeliverable || out.Reason != wechat.ReasonTemplateRefused || !out.Callback {
		t.Fatalf("template refused: %+v", out)
	}
	if cbs, _ := p.st.ListCallbacks(t.Context(), "c1"); len(cbs) != 2 {
		t.Fatalf("call-backs %+v", cbs)
	}
	if len(p.api.Sent(bob)) != 0 {
		t.Fatal("something reached bob")
	}
}

// A refused token is dropped and fetched again once, and the send retried at once.
func TestDeliverRefreshesARefusedTokenOnce(t *testing.T) {
	p := newPlatform(t, 5*time.Second)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	wantOutcome(t, d.Deliver(t.Context(), reply("r0", alice)), wechat.Sent, wechat.OpCustom)

	for _, code := range []int{sim.ErrInvalidToken, sim.ErrTokenExpired} {
		p.api.Reset()
		p.api.FailNext(1, sim.Fault{ErrCode: code})
		wantOutcome(t, d.Deliver(t.Context(), reply("r-"+time.Now().String(), alice)), wechat.Sent, wechat.OpCustom)
		if n := p.api.TokenFetches(); n != 1 {
			t.Fatalf("%d: TokenFetches = %d, want 1", code, n)
		}
		var kinds []string
		for _, c := range p.api.Calls() {
			kinds = append(kinds, c.Kind)
		}
		if got := strings.Join(kinds, " "); got != "custom stable_token custom" {
			t.Fatalf("%d: calls %s", code, got)
		}
	}

	// Refused twice in a row: no loop, a retry later.
	p.api.Reset()
	p.api.FailNext(2, sim.Fault{ErrCode: sim.ErrInvalidToken})
	out := d.Deliver(t.Context(), reply("r9", alice))
	if out.Result != wechat.Retry || !wechat.IsTokenError(out.Err) || p.api.TokenFetches() != 1 {
		t.Fatalf("Deliver = %+v, fetches %d", out, p.api.TokenFetches())
	}
}

func TestDeliverTransientAndPermanent(t *testing.T) {
	p := newPlatform(t, 300*time.Millisecond)
	d := p.deliverer(t)
	p.wrote(t, alice, p.clock.Now())
	tok := p.token(t, p.st)
	current, err := tok.GetAccessTokenContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range []sim.Fault{{Status: 500}, {Status: 502}, {ErrCode: sim.ErrSystem}, {ErrCode: sim.ErrDailyLimit}, {Hang: time.Second}} {
		p.api.FailNext(1, f)
		out := d.Deliver(t.Context(), reply("r1", alice))
		if out.Result != wechat.Retry || !wechat.IsTransient(out.Err) {
			t.Fatalf("%+v: Deliver = %+v (%v)", f, out, out.Err)
		}
		// The library quotes the URL with the token in it; we must not.
		if strings.Contains(out.Err.Error(), current) || strings.Contains(out.Reason, current) {
			t.Fatalf("%+v: token in %q", f, out.Err)
		}
	}
	if len(p.api.Sent(alice)) != 0 {
		t.Fatal("sent despite the faults")
	}

	// A message the platform will never take: dead-letter material.
	p.api.FailNext(1, sim.Fault{ErrCode: 47001})
	out := d.Deliver(t.Context(), reply("r2", alice))
	if out.Result != wechat.Failed || wechat.ErrorCode(out.Err) != 47001 {
		t.Fatalf("Deliver = %+v", out)
	}
	p.api.FailNext(1, sim.Fault{Status: 404})
	if out := d.Deliver(t.Context(), reply("r3", alice)); out.Result != wechat.Failed {
		t.Fatalf("404: %+v", out)
	}
}

func TestTemplatesValidate(t *testing.T) {
	for _, bad := range []wechat.Templates{
		{"k": {}},
		{"k": {ID: "t", Fields: map[string]string{"": "x"}}},
		{"k": {ID: "t", URL: "ftp://x"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v passed", bad)
		}
	}
	if err := testTemplates.Validate(); err != nil {
		t.Fatal(err)
	}
}
