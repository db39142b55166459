package bot

import (
	"strconv"
	"strings"
	"unicode"
)

// trailingMarks are what voice recognition and quick typing add at the end of a
// message, ASCII and full-width: 「帮助。」「确认！」「1，」.
const trailingMarks = "。！？!?.，,、；;～~…·"

// Spoken is s as a word to match: trailing punctuation and spaces trimmed. A message
// that is nothing but punctuation (「？」 is a help word) is kept as sent.
func Spoken(s string) string {
	t := strings.TrimSpace(s)
	out := strings.TrimRightFunc(t, func(c rune) bool {
		return unicode.IsSpace(c) || strings.ContainsRune(trailingMarks, c)
	})
	if out == "" {
		return t
	}
	return out
}

// ChoiceNumber reads a numbered choice as people type or say it: 「2」「２」「二」
// 「第二个」「第2项」「十一」. It reports false for anything else.
func ChoiceNumber(s string) (int, bool) {
	s = Spoken(s)
	if rest, ok := strings.CutPrefix(s, "第"); ok {
		s = strings.TrimRight(rest, "个项条号")
	}
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(toASCIIDigits(s)); err == nil {
		return n, n > 0
	}
	return chineseNumber(s)
}

// toASCIIDigits turns full-width digits into ASCII ones.
func toASCIIDigits(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= '０' && c <= '９' {
			return '0' + c - '０'
		}
		return c
	}, s)
}

var chineseDigits = map[rune]int{'一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

// chineseNumber reads 一 to 九十九: 三, 十, 十二, 二十, 二十三.
func chineseNumber(s string) (int, bool) {
	rs := []rune(s)
	digit := func(c rune) (int, bool) { d, ok := chineseDigits[c]; return d, ok }
	switch len(rs) {
	case 1:
		if rs[0] == '十' {
			return 10, true
		}
		return digit(rs[0])
	case 2:
		if rs[0] == '十' {
			d, ok := digit(rs[1])
			return 10 + d, ok
		}
		if rs[1] == '十' {
			d, ok := digit(rs[0])
			return d * 10, ok
		}
	case 3:
		if rs[1] == '十' {
			a, ok1 := digit(rs[0])
			b, ok2 := digit(rs[2])
			return a*10 + b, ok1 && ok2
		}
	}
	return 0, false
}
