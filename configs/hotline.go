package configs

import (
	"strings"
	"time"
)

// Hotline is the hotline bridge: the HTTP API for call-centre software, the CTI
// endpoint for phone systems, call-backs and 转人工.
type Hotline struct {
	// Tokens are the bearer tokens of /api/v1/hotline/*, /api/v1/tickets and
	// /api/v1/callers, each named. A token may be given as "sha256:<hex>" (its hash)
	// so that the config holds no usable secret; `minyuan hotline revoke --name N`
	// revokes one at once on every replica.
	Tokens []HotlineToken `yaml:"tokens"`
	// CTIToken is the {token} of /api/v1/cti/{token}; empty: the CTI endpoint is off.
	CTIToken string `yaml:"cti_token"`
	// Number is the hotline's number, told to residents outside service hours.
	Number string `yaml:"number"`
	// Community takes calls that name none (CTI calls from unknown numbers); empty:
	// the first community.
	Community string `yaml:"community"`
	// PhoneKey keys the hash that indexes phone numbers (keep it in the environment:
	// MINYUAN_HOTLINE_PHONE_KEY); empty: a random key kept in Redis.
	PhoneKey string `yaml:"phone_key"`
	// RateLimit is how many requests one token may make per minute.
	RateLimit int `yaml:"rate_limit"`
	// MaxBody: larger API request bodies are refused with 413.
	MaxBody int64 `yaml:"max_body"`
	// ReplayWindow: a request with an X-Minyuan-Timestamp further than this from now,
	// or an X-Minyuan-Nonce seen within it, is refused.
	ReplayWindow time.Duration `yaml:"replay_window"`
	// CallbackRetry: a call-back that did not get through is due again after this.
	CallbackRetry time.Duration `yaml:"callback_retry"`
	// AcceptWithin: 转人工 waits this long for the staff member asked to accept (接入)
	// before asking the next.
	AcceptWithin time.Duration `yaml:"accept_within"`
}

// HotlineToken is one named API token.
type HotlineToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
}

// DefaultHotline is the hotline section before any file.
func DefaultHotline() Hotline {
	return Hotline{RateLimit: 120, MaxBody: 16 << 10, ReplayWindow: 5 * time.Minute,
		CallbackRetry: 2 * time.Hour, AcceptWithin: 3 * time.Minute}
}

func (c *Config) validateHotline(bad func(key, format string, args ...any)) {
	h := c.Hotline
	names := map[string]bool{}
	for i, t := range h.Tokens {
		switch {
		case t.Name == "" || names[t.Name] || strings.ContainsAny(t.Name, " :"):
			bad("hotline.tokens", "entry %d: name required, unique, without spaces or ':'", i)
		case strings.HasPrefix(t.Token, "sha256:") && len(t.Token) != len("sha256:")+64:
			bad("hotline.tokens", "entry %q: sha256: needs 64 hex digits", t.Name)
		case !strings.HasPrefix(t.Token, "sha256:") && len(t.Token) < 16:
			bad("hotline.tokens", "entry %q: token must be at least 16 characters", t.Name)
		}
		names[t.Name] = true
	}
	if h.CTIToken != "" && len(h.CTIToken) < 16 {
		bad("hotline.cti_token", "at least 16 characters (it is the endpoint's only secret), or empty to switch CTI off")
	}
	if h.Community != "" {
		if _, ok := c.Community(h.Community); !ok {
			bad("hotline.community", "unknown community %q", h.Community)
		}
	}
	if h.RateLimit < 1 {
		bad("hotline.rate_limit", "at least 1 request per minute")
	}
	if h.MaxBody < 1024 {
		bad("hotline.max_body", "at least 1024 bytes")
	}
	if h.ReplayWindow <= 0 || h.CallbackRetry <= 0 || h.AcceptWithin <= 0 {
		bad("hotline", "replay_window, callback_retry and accept_within must be positive")
	}
}
