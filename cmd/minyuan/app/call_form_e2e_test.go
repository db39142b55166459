package app_test

import (
	"strings"
	"testing"

	"minyuan/bot"
)

// 来电 in chat: a hotline operator logs a call with the quick form; it becomes a
// ticket with channel hotline through the ticket service (the desk is told), and a
// confidential call's summary is read only by the staff member who handles it.
func TestCallFormFilesAHotlineTicket(t *testing.T) {
	d := newDesk(t)
	const op = "o_op"
	d.bind(op, bot.RoleHotline, "QY", "接线员小刘")
	d.expect(res, "来电", "没有使用这项功能的权限")        // not a resident's command
	d.expect(wang, "来电", "供热线接线员使用", "无需再绑定") // staff are told whose it is, not to bind

	d.expect(op, "来电", "来电号码")
	d.expect(op, "12", "手机号格式不对")
	d.expect(op, "139 0000 1111", "类别")
	d.expect(op, "1", "来电内容")
	d.expect(op, "儿子失业后情绪低落，想找人聊聊", "保密")
	d.expect(op, "2", "13900001111", "困难求助", "七一路社区", "儿子失业后情绪低落", "保密")
	done := d.expect(op, "确认", "已登记为诉求", "保密")
	var tk *bot.Ticket
	for _, w := range strings.Fields(strings.NewReplacer("，", " ", "（", " ", "。", " ").Replace(done)) {
		if x, err := d.app.Store.Ticket(d.ctx, w); err == nil {
			tk = x
		}
	}
	if tk == nil {
		t.Fatalf("no ticket number in %q", done)
	}
	if tk.Source != bot.SourceHotline || !tk.Confidential || tk.Phone != "13900001111" || tk.Community != "QY" ||
		tk.Category != "hardship" || tk.Description != "儿子失业后情绪低落，想找人聊聊" {
		t.Fatalf("ticket %+v", tk)
	}
	// The desk is told, without the contents. (With no secretary bound, the staff
	// also hear of the hardship visit task the call made: not the last push, then.)
	told := false
	for _, p := range d.pushesTo(wang) {
		if strings.Contains(p.Text, "失业") {
			t.Fatalf("a confidential summary in a push: %q", p.Text)
		}
		told = told || strings.Contains(p.Text, tk.No)
	}
	if !told {
		t.Fatalf("the desk was not told of %s", tk.No)
	}
	if got := d.expect(wang, "详情 "+tk.No, "保密来电"); strings.Contains(got, "失业") {
		t.Fatalf("read by staff who do not handle it: %q", got)
	}
	d.expect(li, "接单 "+tk.No, tk.No)
	d.expect(li, "详情 "+tk.No, "儿子失业后情绪低落")
	if got := d.expect(wang, "详情 "+tk.No, "保密来电"); strings.Contains(got, "失业") {
		t.Fatalf("read by a colleague after the claim: %q", got)
	}
	if got := d.expect(wang, "待办 全部", tk.No); strings.Contains(got, "失业") {
		t.Fatalf("in the queue: %q", got)
	}

	// The number typed with the word; an ordinary call.
	d.expect(op, "来电 13900002222", "类别")
	d.expect(op, "6", "来电内容")
	d.expect(op, "问养老保险怎么续交", "保密")
	d.expect(op, "1", "问养老保险怎么续交")
	done = d.expect(op, "确认", "已登记为诉求")
	if strings.Contains(done, "保密") {
		t.Fatalf("an ordinary call said confidential: %q", done)
	}
}
