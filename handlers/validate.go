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
	phoneStrip = strings.NewReplacer(" ", "", "-", "", "　", "", "—", "", "(", "", ")", "", "（", "", "）", "", "+86", "")
)

// validPhone accepts a mainland mobile number or a landline with its area code, as
// people type them (spaces, dashes, +86), and returns the digits.
func validPhone(_ *bot.Request, in string) (string, error) {
	p := phoneStrip.Replace(toHalfWidth(in))
	if mobileRe.MatchString(p) || landlineRe.MatchString(p) {
		return p, nil
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
