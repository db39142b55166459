package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
)

// The hotline bridge (热线): phone calls become tickets in the same desk as chat
// messages. A call reaches Minyuan three ways: the generic CTI push events of a phone
// system (newCall, answer, hangup), the call-logging API of call-centre software, and
// the 来电 quick form in a hotline operator's chat. Every call has one record in the
// caller log, keyed by the phone system's callId.

// Report counters of the hotline (monthly, per community; see StatDeltas for the
// ticket ones: a ticket from the hotline counts as source:hotline).
const (
	CounterCallReceived     Counter = "call.received"
	CounterCallMissed       Counter = "call.missed"
	CounterCallbackCreated  Counter = "callback.created"
	CounterCallbackDone     Counter = "callback.done"
	CounterCallConfidential Counter = "call.confidential"
)

// SourceHotline is the Ticket.Source (channel) of tickets made from calls.
const SourceHotline = "hotline"

// CallState is where a call is.
type CallState string

const (
	CallRinging  CallState = "ringing"
	CallAnswered CallState = "answered"
	CallEnded    CallState = "ended"
)

// Hang-up causes of the generic CTI API. A call that ends with busy, cancel or
// noAnswer without having been answered is a missed call.
const (
	CauseNormalClearing = "normalClearing"
	CauseBusy           = "busy"
	CauseCancel         = "cancel"
	CauseNoAnswer       = "noAnswer"
	CauseCongestion     = "congestion"
	CauseNotFound       = "notFound"
	CauseForwarded      = "forwarded"
)

// MissedCause reports whether a hang-up cause means nobody took the call.
func MissedCause(cause string) bool {
	return cause == CauseNoAnswer || cause == CauseCancel || cause == CauseBusy
}

// Where a call was logged from.
const (
	CallViaCTI  = "cti"
	CallViaAPI  = "api"
	CallViaChat = "chat"
)

// Call is one call in the caller log.
type Call struct {
	ID        string    `json:"id"`     // the phone system's callId, or the software's call_id
	Caller    string    `json:"caller"` // normalised number; "" for anonymous
	To        string    `json:"to,omitempty"`
	Direction string    `json:"direction,omitempty"` // "in" or "out"
	Via       string    `json:"via"`                 // cti, api, chat
	Community string    `json:"community,omitempty"`
	Queue     string    `json:"queue,omitempty"`
	Users     []string  `json:"users,omitempty"` // who the phone system rang or who called
	State     CallState `json:"state"`
	Cause     string    `json:"cause,omitempty"`
	// AnsweredBy is the CTI answeringNumber, or the operator who logged the call.
	AnsweredBy string    `json:"answered_by,omitempty"`
	Started    time.Time `json:"started"`
	Answered   time.Time `json:"answered,omitzero"`
	Ended      time.Time `json:"ended,omitzero"`
	DurationS  int       `json:"duration_s,omitempty"`
	Missed     bool      `json:"missed,omitempty"`
	// Logged: what the operator recorded (API or chat form).
	Operator     string `json:"operator,omitempty"`
	Category     string `json:"category,omitempty"`
	Summary      string `json:"summary,omitempty"`
	RecordingURL string `json:"recording_url,omitempty"`
	Confidential bool   `json:"confidential,omitempty"`
	Ticket       string `json:"ticket,omitempty"`
	// Callback is the number of the call-back task a missed call made.
	Callback string `json:"callback,omitempty"`
	// Digest fingerprints what was logged, so that a repeat of the same log is told
	// apart from a different log reusing the call_id.
	Digest  string    `json:"digest,omitempty"`
	Updated time.Time `json:"updated"`
}

// CallLog is a call as call-centre software or the chat form logs it.
type CallLog struct {
	CallID       string
	Caller       string
	StartedAt    time.Time
	DurationS    int
	Operator     string
	Category     string // code or name
	Summary      string
	Community    string // code
	RecordingURL string
	Confidential bool
	Via          string // CallViaAPI or CallViaChat
}

// CTIEvent is one push of the generic CTI API.
type CTIEvent struct {
	Event           string // newCall, answer, hangup
	From            string
	To              string
	Direction       string
	CallID          string
	Users           []string
	Queue           string
	Cause           string
	AnsweringNumber string
}

// CTI event names.
const (
	CTINewCall = "newCall"
	CTIAnswer  = "answer"
	CTIHangup  = "hangup"
)

// CallerInfo is what an operator wants on screen when a number rings: the caller's
// open tickets, recent calls, whether a resident has proved the number, and a voice
// code to read out if a resident is waiting to link it.
type CallerInfo struct {
	Number    string
	Linked    bool
	Open      []*Ticket
	Calls     []*Call
	VoiceCode string
}

// CallStore is the caller log and the hotline's other records.
type CallStore interface {
	// Call loads one call; ok is false when there is none.
	Call(ctx context.Context, id string) (c *Call, ok bool, err error)
	// UpdateCall changes a call atomically: fn gets the current call (nil when there
	// is none) and returns the new one, or nil to leave it as it is. Counters are
	// added to the call's community in the same write.
	UpdateCall(ctx context.Context, id, callerHash string, fn func(c *Call) (*Call, map[Counter]int64, error)) (*Call, error)
	// CallsOf lists the calls of a number (by its keyed hash), newest first.
	CallsOf(ctx context.Context, callerHash string, limit int) ([]*Call, error)
	// ProvedBy is the resident who proved a number (by its keyed hash).
	ProvedBy(ctx context.Context, callerHash string) (openid string, ok bool, err error)
}

// PhoneHasher turns a phone number into the keyed hash the indexes use, so Redis
// never holds a number in clear as a key.
type PhoneHasher struct{ key []byte }

// NewPhoneHasher makes a hasher with a secret key.
func NewPhoneHasher(key []byte) PhoneHasher { return PhoneHasher{key: append([]byte(nil), key...)} }

// Hash is the number's index key; "" for "".
func (h PhoneHasher) Hash(number string) string {
	if number == "" {
		return ""
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// NormalizePhone turns what people and phone systems write for a number into digits:
// spaces, dashes and brackets go, a +86 or 0086 country prefix goes; "anonymous",
// "unknown" and the like give "". ok is false for something that is not a number.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "anonymous", "unknown", "private", "restricted", "withheld":
		return "", true
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '（', r == '）', unicode.IsSpace(r):
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(s, "+86"):
		d = strings.TrimPrefix(d, "86")
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "861"):
		d = d[2:]
	}
	if len(d) < 5 || len(d) > 20 {
		return "", false
	}
	return d, true
}
