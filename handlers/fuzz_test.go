package handlers

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"minyuan/bot"
	"minyuan/configs"
)

// Fuzz targets for what people type: every command's argument parser and the form
// answers' validators. Seeds are below and in testdata/fuzz; `go test` runs them as
// tests, `go test -fuzz=FuzzX ./handlers/` searches further.

func FuzzSplitTicketNo(f *testing.F) {
	for _, s := range []string{"1001 路灯已修好", "＃１００１，谢谢", "#1001", "", "abc", "99999999999999", "1001\x00", " 1002 \n 已处理"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		no, rest, ok := splitTicketNo(in)
		if !ok {
			if no != "" || rest != "" {
				t.Fatalf("refused %q but returned %q %q", in, no, rest)
			}
			return
		}
		if no == "" || len(no) > 12 || strings.Trim(no, "0123456789") != "" {
			t.Fatalf("%q: number %q", in, no)
		}
		if utf8.ValidString(in) && !utf8.ValidString(rest) {
			t.Fatalf("%q: rest %q is not valid UTF-8", in, rest)
		}
	})
}

func FuzzValidPhone(f *testing.F) {
	for _, s := range []string{"13800138000", "138 0013 8000", "+86 138-0013-8000", "０２７－８２８８８８８８", "12345", "", "1380013800０"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := validPhone(nil, in)
		if err != nil {
			if bot.ErrorCode(err) != bot.EInvalid {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		if p == "" || strings.Trim(p, "0123456789") != "" || len(p) > 12 {
			t.Fatalf("%q accepted as %q", in, p)
		}
		if again, err := validPhone(nil, p); err != nil || again != p {
			t.Fatalf("%q: the cleaned %q is not accepted as itself: %q %v", in, p, again, err)
		}
	})
}

func FuzzValidNameAndDescription(f *testing.F) {
	for _, s := range []string{"王阿姨", "", " ", strings.Repeat("长", 21), "楼道灯坏了", strings.Repeat("字", maxDescription+1), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if n, err := validName(nil, in); err == nil {
			if c := utf8.RuneCountInString(n); c == 0 || c > 20 {
				t.Fatalf("name %q accepted as %q", in, n)
			}
		} else if bot.ErrorCode(err) != bot.EInvalid {
			t.Fatal(err)
		}
		if d, err := validDescription(nil, in); err == nil {
			if utf8.RuneCountInString(d) > maxDescription {
				t.Fatalf("description of %d runes accepted", utf8.RuneCountInString(d))
			}
		} else if bot.ErrorCode(err) != bot.EInvalid {
			t.Fatal(err)
		}
	})
}

func FuzzParseRating(f *testing.F) {
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"满意", "基本满意", "不满意 态度差", "1", "３ 太慢", "", "满"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, _, ok := parseRating(cat, in)
		if ok != (r != "") {
			t.Fatalf("%q: rating %q ok %v", in, r, ok)
		}
		switch r {
		case "", bot.RatingSatisfied, bot.RatingBasic, bot.RatingUnsatisfied:
		default:
			t.Fatalf("%q: unknown rating %q", in, r)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"12月8日", "12-08", "2026-12-08", "12/8", "２月３０日", "13月1日", "", "2026年1月1号"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, ok := parseDate(in, now)
		if ok && (d.Year() < 1 || d.Year() > 9999) {
			t.Fatalf("%q: %v", in, d)
		}
	})
}
