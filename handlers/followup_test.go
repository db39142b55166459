package handlers

import (
	"testing"

	"minyuan/bot"
	"minyuan/configs"
)

// Which messages the request keywords take, and what they fill in as the
// description.
func TestAsksForRequest(t *testing.T) {
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &FollowUpFlow{Keywords: configs.DefaultRequestKeywords()}
	r := &bot.Request{Catalog: cat}
	for _, tc := range []struct {
		in   string
		ok   bool
		desc string
	}{
		{"投诉", true, ""},
		{"我要投诉", true, ""},
		{"我要投诉。", true, ""},
		{"你好，我想报修！", true, ""},
		{"您好 求助", true, ""},
		{"报修：厨房水管漏水", true, "报修：厨房水管漏水"},
		{"投诉 楼上半夜装修", true, "投诉 楼上半夜装修"},
		{"我要投诉物业乱收费", true, "我要投诉物业乱收费"},
		{"报修的师傅什么时候来？", false, ""},
		{"我上次投诉的还没人管", false, ""},
		{"要是灯还不亮怎么办", false, ""},
		{"谢谢", false, ""},
		{"", false, ""},
	} {
		desc, ok := f.asksForRequest(r, tc.in)
		if ok != tc.ok || desc != tc.desc {
			t.Errorf("asksForRequest(%q) = %q, %v; want %q, %v", tc.in, desc, ok, tc.desc, tc.ok)
		}
	}
}
