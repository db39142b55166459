package wechat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Operations named in APIError.Op.
const (
	OpCustom   = "custom"   // customer-service message
	OpTemplate = "template" // template message
	OpToken    = "token"    // access token fetch
	OpUserInfo = "user_info"
	OpMenu     = "menu"
	OpQRCode   = "qrcode"
	OpMedia    = "media" // temporary media upload
)

// Platform error codes Minyuan acts on.
const (
	CodeSystemBusy       = -1
	CodeInvalidToken     = 40001
	CodeInvalidOpenID    = 40003
	CodeInvalidTokenForm = 40014
	CodeTemplateSize     = 40036
	CodeInvalidTemplate  = 40037
	CodeTokenExpired     = 42001
	CodeNotSubscribed    = 43004
	CodeTemplateRefused  = 43101 // the user declined messages of this template
	CodeDailyLimit       = 45009
	CodeWindowClosed     = 45015
	CodeCustomQuota      = 45047
	CodeArgumentInvalid  = 47003 // a template field the template does not accept
)

// APIError is every failure of a call to the platform, in one shape: what the
// library returns as a plain "errcode=N" text, as *util.CommonError, as an HTTP
// status text or as a network error. Its text never holds an access token or secret:
// the library puts the token in the URL it quotes, and these errors get logged and
// stored (the dead-letter stream).
type APIError struct {
	Op   string // what was called: one of the Op constants
	Code int    // the platform's errcode; 0 when it gave none
	Msg  string // the platform's errmsg, or what went wrong instead, redacted
	// Status is the HTTP status when the gateway answered other than 200.
	Status int
	// Err is the network failure behind it, with the URL redacted; nil when the
	// platform answered.
	Err error
}

func (e *APIError) Error() string {
	switch {
	case e.Code != 0:
		return fmt.Sprintf("wechat %s: errcode=%d %s", e.Op, e.Code, e.Msg)
	case e.Status != 0:
		return fmt.Sprintf("wechat %s: http status %d", e.Op, e.Status)
	}
	return fmt.Sprintf("wechat %s: %s", e.Op, e.Msg)
}

func (e *APIError) Unwrap() error { return e.Err }

var (
	errcodeRE = regexp.MustCompile(`errcode=(-?\d+)`)
	// The library writes "errmsg=" in most places and "errormsg=" in the token fetch.
	errmsgRE = regexp.MustCompile(`(?:errmsg|errormsg)=(.*)$`)
	statusRE = regexp.MustCompile(`statusCode=(\d+)`)
	// secretRE finds credentials in URLs (query strings) and in JSON bodies.
	secretRE = regexp.MustCompile(`(?i)((?:access_token|secret|appsecret|corpsecret)=)[^&\s"',]*|("(?:access_token|secret)"\s*:\s*")[^"]*`)
)

// Redact blanks access tokens and secrets out of a text that may quote a URL or a
// request body.
func Redact(s string) string {
	return secretRE.ReplaceAllString(s, "${1}${2}REDACTED")
}

// ParseError turns what the library returned from op into an *APIError; nil stays nil.
func ParseError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	e := &APIError{Op: op}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		e.Code, e.Msg = int(ce.ErrCode), Redact(ce.ErrMsg)
		return e
	}
	text := err.Error()
	if m := errcodeRE.FindStringSubmatch(text); m != nil {
		if code, convErr := strconv.Atoi(m[1]); convErr == nil && code != 0 {
			e.Code = code
			if mm := errmsgRE.FindStringSubmatch(text); mm != nil {
				e.Msg = Redact(strings.TrimSpace(mm[1]))
			}
			return e
		}
	}
	// Only the library's own "http ... error : uri=..., statusCode=N" texts: a
	// network error could quote a number of its own.
	var ue *url.Error
	if !errors.As(err, &ue) {
		if m := statusRE.FindStringSubmatch(text); m != nil {
			e.Status, _ = strconv.Atoi(m[1])
			return e
		}
	}
	e.Msg = Redact(text)
	e.Err = redactErr(err)
	return e
}

// redactErr keeps what callers test for (time-outs, context ends, net errors) and
// drops the URL with its token.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err}
	}
	if Redact(err.Error()) == err.Error() {
		return err
	}
	return &redacted{msg: Redact(err.Error()), timeout: isTimeout(err)}
}

type redacted struct {
	msg     string
	timeout bool
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Timeout() bool { return r.timeout }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}

// ErrorCode returns the platform's errcode in err, 0 if none.
func ErrorCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func hasCode(err error, codes ...int) bool {
	c := ErrorCode(err)
	if c == 0 {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsTokenError reports a refused access token: refresh it and call again.
func IsTokenError(err error) bool {
	return hasCode(err, CodeInvalidToken, CodeInvalidTokenForm, CodeTokenExpired)
}

// IsWindowClosed reports that the 48-hour customer-service window is closed.
func IsWindowClosed(err error) bool { return hasCode(err, CodeWindowClosed) }

// IsQuota reports that the customer-service messages allowed per window are spent.
func IsQuota(err error) bool { return hasCode(err, CodeCustomQuota) }

// IsUnreachable reports that no message can reach the person: they unfollowed the
// account, or the openid is not one of its followers.
func IsUnreachable(err error) bool { return hasCode(err, CodeNotSubscribed, CodeInvalidOpenID) }

// IsTemplateRefused reports that the platform will not send this template message:
// no such template, fields it does not take, or the user declined it.
func IsTemplateRefused(err error) bool {
	return hasCode(err, CodeInvalidTemplate, CodeTemplateSize, CodeTemplateRefused, CodeArgumentInvalid)
}

// IsTransient reports a failure that may pass by itself: the network, a time-out,
// an HTTP 5xx or 429 from the gateway, "system busy" (-1) or the daily quota (45009).
// An error that is not an *APIError counts when it is a network or time-out error.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var e *APIError
	if errors.As(err, &e) {
		switch {
		case e.Code == CodeSystemBusy || e.Code == CodeDailyLimit:
			return true
		case e.Code != 0:
			return false
		case e.Status != 0:
			return e.Status >= 500 || e.Status == 429
		}
		// The platform gave no verdict: the call failed on the way, or its answer
		// could not be read. Trying again is the only safe course.
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
