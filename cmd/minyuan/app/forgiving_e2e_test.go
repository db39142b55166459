package app_test

import (
	"strings"
	"testing"

	"minyuan/configs"
)

// A resident types as people do: a category by a word of their own (物业), a
// community by its short name, a phone inside a sentence. When two communities fit,
// they are asked which one, among those two only.
func TestFormsTakeWhatPeopleType(t *testing.T) {
	e := newEnvWith(t, func(c *configs.Config) {
		c.Communities = append(c.Communities, configs.Community{Code: "QB", Name: "七一路北社区"})
	})
	e.clock.Set(wed)
	e.say("o_res", "诉求")
	if got := e.say("o_res", "物业"); !strings.Contains(got, "请描述") {
		t.Fatalf("物业 as a category: %q", got)
	}
	e.say("o_res", "楼道灯坏了")
	got := e.say("o_res", "七一路")
	if !containsAll(got, "「七一路」对应不止一个选项|1. 七一路社区|2. 七一路北社区") || strings.Contains(got, "和谐") {
		t.Fatalf("七一路 among two: %q", got)
	}
	if got := e.say("o_res", "1"); !strings.Contains(got, "手机号") {
		t.Fatalf("after picking: %q", got)
	}
	got = e.say("o_res", "电话是138 1234 5678")
	if !containsAll(got, "类别：物业维修|社区：七一路社区|电话：138****5678") {
		t.Fatalf("summary: %q", got)
	}
	no := ticketNo(t, e.say("o_res", "确认"))
	if tk := e.ticket(no); tk.Category != "repair" || tk.Community != "QY" || tk.Phone != "13812345678" {
		t.Fatalf("ticket %+v", tk)
	}

	// The short name alone, where it is the only one that fits.
	e.say("o_res2", "诉求")
	e.say("o_res2", "维修")
	e.say("o_res2", "水管漏水")
	if got := e.say("o_res2", "和谐"); !strings.Contains(got, "手机号") {
		t.Fatalf("和谐 for 和谐社区: %q", got)
	}
}
