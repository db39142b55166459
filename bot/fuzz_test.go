package bot_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"minyuan/bot"
)

// SplitCommand is the first parser every typed message meets.
func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"接单 1001", "  接单　12 ", "回复1001 好的", "", "\u3000", "满意，谢谢", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		word, args := bot.SplitCommand(in)
		if strings.ContainsAny(word, " \t\n\u3000") {
			t.Fatalf("%q: word %q holds a space", in, word)
		}
		if utf8.ValidString(in) && (!utf8.ValidString(word) || !utf8.ValidString(args)) {
			t.Fatalf("%q: split into invalid UTF-8 %q %q", in, word, args)
		}
		if len(word)+len(args) > len(in) {
			t.Fatalf("%q: split grew to %q %q", in, word, args)
		}
	})
}

// Whatever a resident types at any step of a form, the engine answers and the form
// stays consistent.
func FuzzFormAnswers(f *testing.F) {
	for _, s := range []string{"张三", "2", "红", "跳过", "返回", "取消", "确认", "", "欧阳娜娜娜", "\x00", "登记"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := newHarness(t)
		h.say("u1", "登记")
		for _, in := range []string{a, b, "确认"} {
			if got := h.say("u1", in); got == "" || got == "出错" || got == "忙" {
				t.Fatalf("answer %q: reply %q", in, got)
			}
		}
		if len(h.submits) > 1 {
			t.Fatalf("%d submits", len(h.submits))
		}
	})
}
