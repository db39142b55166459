package wechat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/material"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"minyuan/bot"
)

// Template is the template message that stands in for a push of one kind when the
// customer-service window is closed.
type Template struct {
	ID string `yaml:"id"`
	// Fields fill the template's keys ("first", "keyword1", "remark", ...). A value
	// is literal text in which {name} is replaced by a field of the push: {text},
	// {ref}, {community}, {kind}, {id}, or any key of Push.Fields. The push's own
	// Fields go in first, under their own keys; these override them.
	Fields map[string]string `yaml:"fields"`
	// URL, if set, is opened when the user taps the message; {name} works as in
	// Fields (values are query-escaped).
	URL string `yaml:"url"`
}

// Templates maps a push Kind to its template.
type Templates map[string]Template

var placeholderRE = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)

// Validate checks that every template has an ID and its fields names a key.
func (ts Templates) Validate() error {
	for kind, t := range ts {
		if strings.TrimSpace(t.ID) == "" {
			return fmt.Errorf("templates.%s: id is required", kind)
		}
		for k := range t.Fields {
			if strings.TrimSpace(k) == "" {
				return fmt.Errorf("templates.%s.fields: empty template key", kind)
			}
		}
		if t.URL != "" {
			if u, err := url.Parse(placeholderRE.ReplaceAllString(t.URL, "x")); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
				return fmt.Errorf("templates.%s.url: want an http(s) URL, got %q", kind, t.URL)
			}
		}
	}
	return nil
}

func expand(s string, p bot.Push, escape func(string) string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		var v string
		switch name {
		case "text":
			v = p.Text
		case "ref":
			v = p.Ref
		case "community":
			v = p.Community
		case "kind":
			v = p.Kind
		case "id":
			v = p.ID
		default:
			v = p.Fields[name]
		}
		return escape(v)
	})
}

func (t Template) message(p bot.Push) *message.TemplateMessage {
	data := make(map[string]*message.TemplateDataItem, len(p.Fields)+len(t.Fields))
	for k, v := range p.Fields {
		data[k] = &message.TemplateDataItem{Value: v}
	}
	for k, v := range t.Fields {
		data[k] = &message.TemplateDataItem{Value: expand(v, p, func(s string) string { return s })}
	}
	// The platform sends one message per openid and client_msg_id within ten
	// minutes: a push sent twice (its worker died between the send and the record
	// of it) reaches the phone once. A hash keeps the ID short and opaque.
	sum := sha256.Sum256([]byte(p.ID))
	return &message.TemplateMessage{
		ToUser:      p.To,
		TemplateID:  t.ID,
		URL:         expand(t.URL, p, url.QueryEscape),
		Data:        data,
		ClientMsgID: hex.EncodeToString(sum[:16]),
	}
}

// Result is how a delivery ended.
type Result int

const (
	// Sent: the platform accepted the message.
	Sent Result = iota + 1
	// Retry: a failure that may pass (network, 5xx, -1, 45009, a token still
	// refused after one refresh, Redis): try again later.
	Retry
	// Undeliverable: no message can reach the person (unfollowed, no template for
	// the kind with the window closed, template refused). Final; important pushes
	// have become a call-back task.
	Undeliverable
	// Failed: the platform refused the message for a reason retrying cannot fix.
	// The push belongs in the dead-letter stream, for an admin to look at.
	Failed
)

func (r Result) String() string {
	switch r {
	case Sent:
		return "sent"
	case Retry:
		return "retry"
	case Undeliverable:
		return "undeliverable"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Reasons an Outcome gives for Undeliverable.
const (
	ReasonUnsubscribed    = "unsubscribed"
	ReasonInvalidOpenID   = "invalid_openid"
	ReasonNoTemplate      = "no_template"
	ReasonTemplateRefused = "template_refused"
)

// Outcome is what Deliver did with a push.
type Outcome struct {
	Result Result
	// Via is how the push went (OpCustom or OpTemplate) when Sent; otherwise the
	// step that failed.
	Via string
	// Reason is a short machine-readable why, for anything but Sent: one of the
	// Reason constants for Undeliverable, the error otherwise.
	Reason string
	// Err is the error behind a Retry or Failed, or behind an Undeliverable that
	// came from the platform. Its text is redacted.
	Err error
	// Callback is true when a call-back task was made for staff.
	Callback bool
}

// LastSeen tells when a user last wrote to the account; *store.Store is one.
type LastSeen interface {
	LastSeen(ctx context.Context, openid string) (t time.Time, ok bool, err error)
}

// Callbacks records call-back tasks; *store.Store is one.
type Callbacks interface {
	AddCallback(ctx context.Context, c bot.Callback) error
}

// TokenSource is the shared access token; *Token is one.
type TokenSource interface {
	GetAccessTokenContext(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, bad string) error
}

// DelivererConfig configures a Deliverer.
type DelivererConfig struct {
	AppID     string
	Token     TokenSource
	Seen      LastSeen
	Callbacks Callbacks
	Templates Templates
	Clock     bot.Clock // default bot.SystemClock
	// Window is how long after a user's last message customer-service messages
	// reach them (default 48h, the platform's).
	Window time.Duration
	Log    *slog.Logger
}

// Deliverer sends pushes down the delivery ladder: a customer-service message while
// the recipient's 48-hour window is open; a template message when it is closed, or
// the platform says so (45015) or the window's quota is spent (45047); when neither
// can reach the person, Undeliverable, and for important pushes a call-back task.
//
// The API base is the library's global HTTP client (UseAPIBase); its time-out bounds
// every call, since the library's send functions take no context.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger
}

// NewDeliverer checks cfg and makes a Deliverer.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	Silence()
	switch {
	case cfg.Token == nil:
		return nil, errors.New("wechat: deliverer needs a token")
	case cfg.Seen == nil:
		return nil, errors.New("wechat: deliverer needs last-seen times")
	case cfg.Callbacks == nil:
		return nil, errors.New("wechat: deliverer needs a call-back store")
	}
	if err := cfg.Templates.Validate(); err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = bot.SystemClock{}
	}
	if cfg.Window <= 0 {
		cfg.Window = 48 * time.Hour
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{cfg: cfg, log: log.With("component", "wechat.delivery")}, nil
}

// Deliver tries p once down the ladder. It never waits to retry: a Retry outcome is
// for the caller to schedule.
func (d *Deliverer) Deliver(ctx context.Context, p bot.Push) Outcome {
	last, seen, err := d.cfg.Seen.LastSeen(ctx, p.To)
	if err != nil {
		return Outcome{Result: Retry, Via: "last_seen", Reason: "store", Err: err}
	}
	open := seen && d.cfg.Clock.Now().Sub(last) < d.cfg.Window
	if open && (p.Text != "" || p.Image != "") {
		err := d.call(ctx, func(tok string) error {
			m := message.NewMessageManager(d.context(tok))
			if p.Image != "" {
				return m.Send(message.NewCustomerImgMessage(p.To, p.Image))
			}
			return m.Send(message.NewCustomerTextMessage(p.To, p.Text))
		}, OpCustom)
		switch {
		case err == nil:
			return Outcome{Result: Sent, Via: OpCustom}
		case IsWindowClosed(err) || IsQuota(err):
			// Down a rung: our idea of the window was wrong, or its quota is spent.
		default:
			return d.failed(ctx, p, OpCustom, err)
		}
	}

	tpl, ok := d.cfg.Templates[p.Kind]
	if !ok {
		return d.undeliverable(ctx, p, OpTemplate, ReasonNoTemplate, nil)
	}
	err = d.call(ctx, func(tok string) error {
		_, err := message.NewTemplate(d.context(tok)).Send(tpl.message(p))
		return err
	}, OpTemplate)
	if err == nil {
		return Outcome{Result: Sent, Via: OpTemplate}
	}
	if IsTemplateRefused(err) {
		return d.undeliverable(ctx, p, OpTemplate, ReasonTemplateRefused, err)
	}
	return d.failed(ctx, p, OpTemplate, err)
}

// failed classifies a failure other than the window.
func (d *Deliverer) failed(ctx context.Context, p bot.Push, via string, err error) Outcome {
	var ae *APIError
	switch {
	case hasCode(err, CodeNotSubscribed):
		return d.undeliverable(ctx, p, via, ReasonUnsubscribed, err)
	case hasCode(err, CodeInvalidOpenID):
		return d.undeliverable(ctx, p, via, ReasonInvalidOpenID, err)
	case IsTransient(err), IsTokenError(err):
		return Outcome{Result: Retry, Via: via, Reason: err.Error(), Err: err}
	case errors.As(err, &ae) && ae.Op == OpToken:
		// The token could not be had at all (a wrong secret, say): every push
		// fails alike until someone fixes the configuration, so keep them coming
		// back rather than dead-letter them all at once.
		return Outcome{Result: Retry, Via: via, Reason: err.Error(), Err: err}
	}
	return Outcome{Result: Failed, Via: via, Reason: err.Error(), Err: err}
}

// undeliverable ends the ladder. An important push becomes a call-back task, once
// however often this runs: its ID derives from the push's.
func (d *Deliverer) undeliverable(ctx context.Context, p bot.Push, via, reason string, err error) Outcome {
	out := Outcome{Result: Undeliverable, Via: via, Reason: reason, Err: err}
	if !p.Important {
		return out
	}
	cb := bot.Callback{
		ID:        "push:" + p.ID,
		OpenID:    p.To,
		Community: p.Community,
		Ref:       p.Ref,
		Text:      p.Text,
		Reason:    reason,
		Created:   d.cfg.Clock.Now(),
	}
	if err := d.cfg.Callbacks.AddCallback(ctx, cb); err != nil {
		// Without the task the push would be lost: try the whole ladder again.
		return Outcome{Result: Retry, Via: "callback", Reason: "store", Err: err}
	}
	out.Callback = true
	return out
}

// call runs send with the shared token; when the platform refuses the token it
// drops it, gets another and runs send once more, at once. The token each send uses
// is pinned, so that it is exactly the refused one that gets invalidated.
func (d *Deliverer) call(ctx context.Context, send func(token string) error, op string) error {
	tok, err := d.cfg.Token.GetAccessTokenContext(ctx)
	if err != nil {
		return ParseError(OpToken, err)
	}
	err = ParseError(op, send(tok))
	if !IsTokenError(err) {
		return err
	}
	d.log.InfoContext(ctx, "access token refused; refreshing once", "op", op, "errcode", ErrorCode(err))
	if ierr := d.cfg.Token.Invalidate(ctx, tok); ierr != nil {
		return &APIError{Op: OpToken, Msg: "invalidate: " + Redact(ierr.Error()), Err: ierr}
	}
	if tok, err = d.cfg.Token.GetAccessTokenContext(ctx); err != nil {
		return ParseError(OpToken, err)
	}
	return ParseError(op, send(tok))
}

// UploadImage uploads an image as temporary media (the check-in QR code) and
// returns its media id for an image push.
func (d *Deliverer) UploadImage(ctx context.Context, name string, data []byte) (string, error) {
	var id string
	err := d.call(ctx, func(tok string) error {
		m, err := material.NewMaterial(d.context(tok)).MediaUploadFromReader(material.MediaTypeImage, name, bytes.NewReader(data))
		id = m.MediaID
		return err
	}, OpMedia)
	return id, err
}

func (d *Deliverer) context(tok string) *oacontext.Context {
	return &oacontext.Context{Config: &config.Config{AppID: d.cfg.AppID}, AccessTokenHandle: fixedToken(tok)}
}

// fixedToken hands the library one token, so that Deliverer knows which one a call
// used.
type fixedToken string

func (t fixedToken) GetAccessToken() (string, error) { return string(t), nil }
