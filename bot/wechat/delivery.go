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
	"unicode/utf8"

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

// message fills the template's own fields; the push's Fields are only what their
// placeholders may name (a template without fields of its own takes them as they
// are). The platform shows emoji as 「□」, so they are left out.
func (t Template) message(p bot.Push) *message.TemplateMessage {
	src := t.Fields
	if len(src) == 0 {
		src = p.Fields
	}
	data := make(map[string]*message.TemplateDataItem, len(src))
	for k, v := range src {
		if len(t.Fields) > 0 {
			v = expand(v, p, func(s string) string { return s })
		}
		data[k] = &message.TemplateDataItem{Value: withoutEmoji(v)}
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

// withoutEmoji drops the emoji of s, and the space they leave at either end.
func withoutEmoji(s string) string {
	if !bot.HasEmoji(s) {
		return s
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if bot.IsEmoji(r) {
			return -1
		}
		return r
	}, s))
}

// Result is how a delivery ended (bot.Result).
type Result = bot.Result

// The results, as bot names them.
const (
	Sent          = bot.Sent
	Retry         = bot.Retry
	Undeliverable = bot.Undeliverable
	Failed        = bot.Failed
)

// Reasons an Outcome gives for Undeliverable.
const (
	ReasonUnsubscribed    = "unsubscribed"
	ReasonInvalidOpenID   = "invalid_openid"
	ReasonNoTemplate      = "no_template"
	ReasonTemplateRefused = "template_refused"
)

// Outcome is what Deliver did with a push (bot.Outcome).
type Outcome = bot.Outcome

// Allowances is what the ladder knows of each recipient's customer-service
// allowance; *store.Store is one.
type Allowances interface {
	// TakeCustom takes one customer-service message from openid's allowance at now:
	// how many are left after it, or, when there was none, why (bot.AllowanceSpent,
	// bot.AllowanceClosed).
	TakeCustom(ctx context.Context, openid string, now time.Time) (left, code int, err error)
	// GiveBack returns one the platform refused (it counts only what it took).
	GiveBack(ctx context.Context, openid string) error
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
	Allowance Allowances
	Callbacks Callbacks
	Templates Templates
	Clock     bot.Clock // default bot.SystemClock
	// KeepInTouch ends the last customer-service message the allowance leaves for a
	// resident with a case in progress: a line inviting any reply, which renews it
	// (the catalogue's push.keep_in_touch).
	KeepInTouch string
	// MaxText bounds the text of one customer-service message: pushes are merged
	// into one only up to it (default 1800 characters, within the platform's limit
	// for a text message).
	MaxText int
	Log     *slog.Logger
}

// Deliverer sends pushes down the delivery ladder: a customer-service message while
// the recipient's allowance has one (taken before the send, so that the ladder knows
// rather than learns from a refusal); a template message when it has none, or the
// platform says so anyway (45015, 45047); when neither can reach the person,
// Undeliverable, and for important pushes a call-back task.
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
	case cfg.Allowance == nil:
		return nil, errors.New("wechat: deliverer needs the recipients' allowances")
	case cfg.Callbacks == nil:
		return nil, errors.New("wechat: deliverer needs a call-back store")
	}
	if err := cfg.Templates.Validate(); err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = bot.SystemClock{}
	}
	if cfg.MaxText <= 0 {
		cfg.MaxText = 1800
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
	return d.DeliverAll(ctx, []bot.Push{p})[0]
}

// Mergeable reports whether the texts of ps fit one customer-service message.
func (d *Deliverer) Mergeable(ps []bot.Push) bool {
	n := 0
	for i, p := range ps {
		if p.Text == "" || p.Image != "" || p.Voice != "" || (i > 0 && p.To != ps[0].To) {
			return false
		}
		n += utf8.RuneCountInString(p.Text) + 2
	}
	return n+utf8.RuneCountInString(d.cfg.KeepInTouch) <= d.cfg.MaxText
}

// DeliverAll tries pushes to one recipient once down the ladder, in order: all of
// them in one customer-service message when the allowance has one, each by its
// template otherwise. It returns an outcome for each push it got to: it stops
// after the first that must be retried, so that none overtakes it.
func (d *Deliverer) DeliverAll(ctx context.Context, ps []bot.Push) []Outcome {
	if len(ps) == 0 {
		return nil
	}
	if len(ps) > 1 && !d.Mergeable(ps) {
		// Not one message: each goes down the ladder alone.
		var outs []Outcome
		for _, p := range ps {
			out := d.DeliverAll(ctx, []bot.Push{p})[0]
			outs = append(outs, out)
			if out.Result == Retry {
				break
			}
		}
		return outs
	}
	if ps[0].Text != "" || ps[0].Image != "" || ps[0].Voice != "" {
		left, code, err := d.cfg.Allowance.TakeCustom(ctx, ps[0].To, d.cfg.Clock.Now())
		if err != nil {
			return []Outcome{{Result: Retry, Via: "allowance", Reason: "store", Err: err}}
		}
		if code == bot.AllowanceOpen {
			text := d.mergedText(ps, left == 0)
			err := d.call(ctx, func(tok string) error {
				m := message.NewMessageManager(d.context(tok))
				if len(ps) == 1 && ps[0].Image != "" {
					return m.Send(message.NewCustomerImgMessage(ps[0].To, ps[0].Image))
				}
				if len(ps) == 1 && ps[0].Voice != "" {
					return m.Send(message.NewCustomerVoiceMessage(ps[0].To, ps[0].Voice))
				}
				return m.Send(message.NewCustomerTextMessage(ps[0].To, text))
			}, OpCustom)
			if err != nil && ErrorCode(err) != 0 {
				// The platform answered and refused: it did not count this one.
				if gerr := d.cfg.Allowance.GiveBack(ctx, ps[0].To); gerr != nil {
					d.log.WarnContext(ctx, "allowance: give back a refused message", "err", gerr)
				}
			}
			switch {
			case err == nil:
				outs := make([]Outcome, len(ps))
				for i := range outs {
					outs[i] = Outcome{Result: Sent, Via: OpCustom, Merged: len(ps)}
				}
				return outs
			case IsWindowClosed(err) || IsQuota(err):
				// Down a rung: the platform knows better than our count.
				d.log.WarnContext(ctx, "customer-service message refused although the allowance had one", "errcode", ErrorCode(err))
			default:
				outs := make([]Outcome, 0, len(ps))
				for _, p := range ps {
					out := d.failed(ctx, p, OpCustom, err)
					outs = append(outs, out)
					if out.Result == Retry {
						break
					}
				}
				return outs
			}
		}
	}
	outs := make([]Outcome, 0, len(ps))
	for _, p := range ps {
		out := d.template(ctx, p)
		outs = append(outs, out)
		if out.Result == Retry {
			break
		}
	}
	return outs
}

// mergedText is the one customer-service message that carries ps, in order. On the
// last message the allowance leaves (last), a resident with a case in progress is
// invited to reply.
func (d *Deliverer) mergedText(ps []bot.Push, last bool) string {
	texts := make([]string, 0, len(ps)+1)
	aboutCase := false
	for _, p := range ps {
		texts = append(texts, p.Text)
		aboutCase = aboutCase || (p.Important && p.Ref != "")
	}
	if last && aboutCase && d.cfg.KeepInTouch != "" {
		texts = append(texts, d.cfg.KeepInTouch)
	}
	return strings.Join(texts, "\n\n")
}

// template sends p as its kind's template message.
func (d *Deliverer) template(ctx context.Context, p bot.Push) Outcome {
	tpl, ok := d.cfg.Templates[p.Kind]
	if !ok {
		return d.undeliverable(ctx, p, OpTemplate, ReasonNoTemplate, nil)
	}
	err := d.call(ctx, func(tok string) error {
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
