package handlers

import (
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/configs"
)

func TestParseRating(t *testing.T) {
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in     string
		rating bot.Rating
		reason string
		ok     bool
	}{
		{"1", bot.RatingSatisfied, "", true},
		{"２ 还行", bot.RatingBasic, "还行", true},
		{"3 灯还是不亮", bot.RatingUnsatisfied, "灯还是不亮", true},
		{"不满意，太慢了", bot.RatingUnsatisfied, "太慢了", true},
		{"基本满意", bot.RatingBasic, "", true},
		{"满意", bot.RatingSatisfied, "", true},
		{"很好", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		r, reason, ok := parseRating(cat, c.in)
		if r != c.rating || reason != c.reason || ok != c.ok {
			t.Errorf("parseRating(%q) = %q, %q, %v", c.in, r, reason, ok)
		}
	}
}

func TestLatestReply(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tk := &bot.Ticket{No: "1001", OpenID: "o_res"}
	ev := func(min int, actor string, kind bot.EventKind, text string, private bool) bot.Event {
		return bot.Event{At: at.Add(time.Duration(min) * time.Minute), Actor: actor, Kind: kind, Text: text, Private: private}
	}
	cases := []struct {
		name string
		evs  []bot.Event
		want string // "" for none
	}{
		{"none", []bot.Event{ev(0, "o_res", "created", "", false)}, ""},
		{"a reply", []bot.Event{ev(0, "o_res", "created", "", false), ev(1, "o_staff", "reply", "明天修", false)}, "明天修"},
		{"the newest of reply and relay", []bot.Event{ev(1, "o_staff", "reply", "明天修", false), ev(2, "o_staff", "relay", "师傅到了吗", false)}, "师傅到了吗"},
		{"not a private note", []bot.Event{ev(1, "o_staff", "reply", "明天修", false), ev(2, "o_staff", "note", "内部", true)}, "明天修"},
		{"not a private reply either", []bot.Event{ev(1, "o_staff", "reply", "明天修", false), ev(2, "o_staff", "reply", "内部", true)}, "明天修"},
		{"not the resident's own words", []bot.Event{ev(1, "o_staff", "relay", "在家吗", false), ev(2, "o_res", "relay", "在", false)}, "在家吗"},
		{"not what the resident added", []bot.Event{ev(1, "o_res", "added", "补充", false)}, ""},
	}
	for _, c := range cases {
		got, ok := latestReply(tk, c.evs)
		if (c.want == "") == ok || got.Text != c.want {
			t.Errorf("%s: got %q %v, want %q", c.name, got.Text, ok, c.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	if got := excerpt("楼道灯坏了\n 三楼  也是", 20); got != "楼道灯坏了 三楼 也是" {
		t.Errorf("spaces: %q", got)
	}
	if got := excerpt("一二三四五六", 4); got != "一二三四…" {
		t.Errorf("cut: %q", got)
	}
}
