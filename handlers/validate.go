package handlers

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"minyuan/bot"
)

var (
	msgBadPhone = bot.Msg("validate.phone")
	msgBadName  = bot.Msg("validate.name")
)

var (
	mobileRe   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landlineRe = regexp.MustCompile(`^0\d{9,11}$`)
	// phoneRunRe finds what may be a number inside a sentence: digits with the
	// spaces, dashes and brackets people put between them, and a +86 before.
	phoneRunRe = regexp.MustCompile(`(?:\+?86[\s-]*)?[(（]?\d[\d\s\-—()（）]*\d`)
	phoneStrip = strings.NewReplacer(" ", "", "-", "", "　", "", "—", "", "(", "", ")", "", "（", "", "）", "", "\t", "")
)

// validPhone accepts a mainland mobile number or a landline with its area code, as
// people type them: with spaces, dashes or +86, alone or inside a sentence
// (「电话是138 1234 5678」). It returns the digits. A sentence with two numbers
// (「138… 或 139…」) takes the first; one with none is refused.
func validPhone(_ *bot.Request, in string) (string, error) {
	for _, run := range phoneRunRe.FindAllString(toHalfWidth(in), -1) {
		// The run as one number, or, when it holds two, each piece.
		for _, cand := range append([]string{run}, strings.Fields(run)...) {
			p := strings.TrimPrefix(phoneStrip.Replace(cand), "+")
			if len(p) == 13 && strings.HasPrefix(p, "86") {
				p = p[2:]
			}
			if mobileRe.MatchString(p) || landlineRe.MatchString(p) {
				return p, nil
			}
		}
	}
	return "", bot.UserError(bot.EInvalid, msgBadPhone, nil)
}

// validName accepts a short name or form of address (王阿姨, 李先生).
func validName(_ *bot.Request, in string) (string, error) {
	in = strings.TrimSpace(in)
	if n := utf8.RuneCountInString(in); n == 0 || n > 20 {
		return "", bot.UserError(bot.EInvalid, msgBadName, nil)
	}
	return in, nil
}

// maskPhone shows a phone back without exposing it whole: 138****8000.
func maskPhone(p string) string {
	if len(p) < 7 {
		return p
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// toHalfWidth turns full-width digits and letters (typed by Chinese keyboards) into
// ASCII.
func toHalfWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' {
			return r - '！' + '!'
		}
		return r
	}, s)
}
