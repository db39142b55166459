package bot

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an error by what the user may be told about it.
type Code string

const (
	EInvalid     Code = "invalid"      // the input is malformed
	ENotFound    Code = "not_found"    // no such thing (or not yours to see)
	EForbidden   Code = "forbidden"    // not allowed for this user
	EConflict    Code = "conflict"     // already done, or used up
	EExpired     Code = "expired"      // too late
	ERateLimited Code = "rate_limited" // too many tries
	EUnavailable Code = "unavailable"  // a dependency is down; try again later
	EInternal    Code = "internal"
)

// Error is the one error type that knows what the user may see: Msg is a catalogue key
// whose text is safe to show to the sender; Err is for the logs.
type Error struct {
	Code Code
	Msg  MsgKey
	Data any // fills Msg's template
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error with a code and a log message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// UserError makes an Error whose catalogue text is shown to the sender.
func UserError(code Code, msg MsgKey, data any) *Error {
	return &Error{Code: code, Msg: msg, Data: data}
}

// ErrorCode returns the Code of err: the Code of an *Error inside it; EUnavailable
// for a context that ran out or was cancelled (a dependency too slow for the budget);
// EInternal for anything else.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return EUnavailable
	}
	return EInternal
}
