// Package wechat is Minyuan's WeChat channel: the webhook that takes signed (and
// possibly encrypted) XML from the official-account platform and turns it into
// bot.Update, and the delivery of outbound messages.
package wechat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
)

// Defaults for Config.
const (
	DefaultMaxBody = 64 << 10
	DefaultWindow  = 5 * time.Minute
	DefaultBudget  = 4 * time.Second
)

// Modes of the account's server configuration (消息加解密方式): what the webhook
// accepts. Each refuses what the others would send.
const (
	// ModeSafe accepts only encrypted messages (安全模式), signed over the ciphertext.
	ModeSafe = "safe"
	// ModeCompatible accepts encrypted messages and, while an account moves to safe
	// mode, plaintext ones (兼容模式).
	ModeCompatible = "compatible"
	// ModePlain accepts only plaintext messages (明文模式).
	ModePlain = "plain"
)

// Config configures the webhook.
type Config struct {
	Token          string
	AppID          string
	EncodingAESKey string // empty: only plain mode
	// Mode is ModeSafe, ModeCompatible or ModePlain; empty means ModeSafe with an
	// EncodingAESKey and ModePlain without.
	Mode string
	// MaxBody bounds a request body; larger bodies get 413. Default 64 KiB: real
	// messages are a few KiB (text is capped at 2048 bytes by the platform).
	MaxBody int64
	// Budget bounds the handling of one request from its arrival: the handler's
	// context carries this deadline, so that the answer leaves inside the
	// platform's 5-second limit whatever Redis does (default DefaultBudget).
	Budget time.Duration
	// Window bounds |now - timestamp| of a signed request; older or later requests get
	// 403, so a captured URL cannot be replayed long after. Default 5 minutes.
	Window time.Duration
	Clock  bot.Clock // default bot.SystemClock
}

func (c *Config) validate() error {
	if c.Token == "" {
		return errors.New("wechat: webhook token is required")
	}
	if c.EncodingAESKey != "" {
		if len(c.EncodingAESKey) != 43 {
			return fmt.Errorf("wechat: EncodingAESKey must be 43 characters, got %d", len(c.EncodingAESKey))
		}
		if k, err := base64.StdEncoding.DecodeString(c.EncodingAESKey + "="); err != nil || len(k) != 32 {
			return errors.New("wechat: EncodingAESKey is not valid base64 of a 32-byte key")
		}
		// The platform puts the AppID inside every ciphertext and we check it: without
		// one every encrypted message would be refused.
		if c.AppID == "" {
			return errors.New("wechat: AppID is required with EncodingAESKey")
		}
	}
	switch c.Mode {
	case "":
		c.Mode = ModePlain
		if c.EncodingAESKey != "" {
			c.Mode = ModeSafe
		}
	case ModeSafe, ModeCompatible:
		if c.EncodingAESKey == "" {
			return fmt.Errorf("wechat: mode %s needs an EncodingAESKey", c.Mode)
		}
	case ModePlain:
	default:
		return fmt.Errorf("wechat: mode %q: want safe, compatible or plain", c.Mode)
	}
	if c.MaxBody < 0 {
		return errors.New("wechat: MaxBody must not be negative")
	}
	if c.Window < 0 {
		return errors.New("wechat: Window must not be negative")
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.Clock == nil {
		c.Clock = bot.SystemClock{}
	}
	return nil
}

// HandleFunc answers one Update; bot.Engine.Handle is one.
type HandleFunc func(ctx context.Context, u bot.Update) bot.Reply

type webhook struct {
	cfg Config
	h   HandleFunc
	log *slog.Logger
}

// NewWebhook returns the handler for the account's server URL. Requests that are not
// signed with cfg.Token within cfg.Window, or that do not decrypt, never reach h.
func NewWebhook(cfg Config, h HandleFunc, log *slog.Logger) (http.Handler, error) {
	Silence()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("wechat: webhook needs a HandleFunc")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &webhook{cfg: cfg, h: h, log: log.With("component", "wechat.webhook")}, nil
}

func (wh *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		wh.verifyURL(w, r)
	case http.MethodPost:
		wh.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		wh.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// verifyURL answers the platform's check of the server URL. The echostr comes back in
// plain text in every mode for official accounts.
func (wh *webhook) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, reason := wh.checkSignature(q); reason != "" {
		wh.reject(w, r, http.StatusForbidden, reason)
		return
	}
	echo := q.Get("echostr")
	if echo == "" {
		wh.reject(w, r, http.StatusBadRequest, "no echostr")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, echo)
	wh.log.InfoContext(r.Context(), "server url verified", "status", http.StatusOK)
}

func (wh *webhook) receive(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithDeadline(r.Context(), start.Add(wh.cfg.Budget))
	defer cancel()

	// Read the whole bounded body first, so that an oversized request is refused as
	// such whatever else is wrong with it, and nothing is parsed half-read.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wh.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			wh.reject(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		wh.reject(w, r, http.StatusBadRequest, "body unreadable")
		return
	}

	q := r.URL.Query()
	ts, reason := wh.checkSignature(q)
	if reason != "" {
		wh.reject(w, r, http.StatusForbidden, reason)
		return
	}

	var encrypted bool
	switch q.Get("encrypt_type") {
	case "", "raw":
		if wh.cfg.Mode == ModeSafe {
			wh.reject(w, r, http.StatusForbidden, "plaintext message in safe mode")
			return
		}
	case "aes":
		if wh.cfg.Mode == ModePlain {
			wh.reject(w, r, http.StatusForbidden, "encrypted message in plain mode")
			return
		}
		// Compatible mode sends the plaintext fields beside Encrypt; they are not
		// covered by msg_signature, so only the ciphertext is believed.
		encrypted = true
	default:
		wh.reject(w, r, http.StatusBadRequest, "unknown encrypt_type")
		return
	}

	plain := body
	if encrypted {
		var status int
		plain, status, reason = wh.decrypt(q, ts, body)
		if reason != "" {
			wh.reject(w, r, status, reason)
			return
		}
	}

	u, err := Parse(plain)
	if err != nil {
		// The error text may quote field values; the reason is enough to debug with.
		wh.reject(w, r, http.StatusBadRequest, "malformed message")
		return
	}
	if !encrypted {
		// The signature covers the query, not the body: the inbox refuses the query
		// seen before with another body, in the same step as the claim.
		sum := sha256.Sum256(body)
		u.Replay = &bot.ReplayGuard{Key: q.Get("timestamp") + ":" + q.Get("nonce") + ":" + q.Get("signature"),
			Sum: string(sum[:]), TTL: wh.cfg.Window * 2}
	}

	reply := wh.h(ctx, u)
	if reply.Refused != "" {
		wh.reject(w, r, http.StatusForbidden, reply.Refused)
		return
	}

	status := http.StatusOK
	if reply.Text == "" {
		// "success" tells the platform there is nothing to show; an empty text reply
		// would show the user an error instead.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "success")
	} else {
		out, err := wh.replyXML(u, reply, encrypted, ts, q.Get("nonce"))
		if err != nil {
			wh.log.ErrorContext(ctx, "reply not built", "id", u.ID, "kind", u.Kind, "err", err)
			status = http.StatusInternalServerError
			http.Error(w, http.StatusText(status), status)
		} else {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write(out)
		}
	}

	wh.log.InfoContext(ctx, "update",
		"status", status, "id", u.ID, "kind", u.Kind, "encrypted", encrypted,
		"took", time.Since(start))
	// Sizes only: the words themselves are personal data.
	wh.log.DebugContext(ctx, "update sizes", "id", u.ID,
		"body_bytes", len(body), "text_runes", utf8.RuneCountInString(u.Text),
		"reply_runes", utf8.RuneCountInString(reply.Text))
}

// checkSignature verifies signature over (token, timestamp, nonce) and the timestamp
// window. It returns the timestamp, or a reason for refusing the request.
func (wh *webhook) checkSignature(q url.Values) (ts int64, reason string) {
	tsText, nonce := q.Get("timestamp"), q.Get("nonce")
	if !sameSignature(Sign(wh.cfg.Token, tsText, nonce), q.Get("signature")) {
		return 0, "bad signature"
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return 0, "bad timestamp"
	}
	if d := wh.cfg.Clock.Now().Sub(time.Unix(ts, 0)); d > wh.cfg.Window || d < -wh.cfg.Window {
		return 0, "timestamp outside window"
	}
	return ts, ""
}

// decrypt checks msg_signature over the ciphertext and opens it. A failure returns the
// HTTP status and a reason.
func (wh *webhook) decrypt(q url.Values, ts int64, body []byte) (plain []byte, status int, reason string) {
	if wh.cfg.EncodingAESKey == "" {
		return nil, http.StatusBadRequest, "encrypted message but no EncodingAESKey configured"
	}
	var env message.EncryptedXMLMsg
	if err := xml.Unmarshal(body, &env); err != nil || env.EncryptedMsg == "" {
		return nil, http.StatusBadRequest, "malformed encrypted message"
	}
	if !sameSignature(Sign(wh.cfg.Token, q.Get("timestamp"), q.Get("nonce"), env.EncryptedMsg), q.Get("msg_signature")) {
		return nil, http.StatusForbidden, "bad msg_signature"
	}
	// DecryptMsg also checks that the AppID sealed inside is ours.
	_, plain, err := util.DecryptMsg(wh.cfg.AppID, env.EncryptedMsg, wh.cfg.EncodingAESKey)
	if err != nil {
		return nil, http.StatusBadRequest, "decrypt failed"
	}
	return plain, 0, ""
}

// replyXML builds the passive text reply, sealed in safe mode with the request's
// timestamp and nonce, as the platform expects.
func (wh *webhook) replyXML(u bot.Update, reply bot.Reply, encrypted bool, ts int64, nonce string) ([]byte, error) {
	raw := textReplyXML(u.From, u.To, wh.cfg.Clock.Now().Unix(), reply.Text)
	if !encrypted {
		return raw, nil
	}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("wechat: reply random: %w", err)
	}
	sealed, err := util.EncryptMsg(random, raw, wh.cfg.AppID, wh.cfg.EncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("wechat: encrypt reply: %w", err)
	}
	// Sign the timestamp as it will be marshalled, not as it came in the query.
	tsText := strconv.FormatInt(ts, 10)
	return encryptedReplyXML(string(sealed), Sign(wh.cfg.Token, tsText, nonce, string(sealed)), ts, nonce), nil
}

// reject answers a request that reaches no handler. Only the reason is logged, never
// the body.
func (wh *webhook) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	wh.log.WarnContext(r.Context(), "request refused", "status", status, "method", r.Method, "reason", reason)
	http.Error(w, http.StatusText(status), status)
}

var errMalformed = errors.New("wechat: malformed message")

// Parse normalises one plaintext message or event XML into a bot.Update. Its ID is the
// dedupe key: "m:<MsgId>" for messages, "e:<FromUserName>:<CreateTime>:<Event>:<EventKey>"
// for events (with the EventKey as in the Update), because the platform numbers
// messages but not events, and retries either unchanged.
func Parse(raw []byte) (bot.Update, error) {
	m, ok := scanFlat(raw)
	if !ok {
		var mm message.MixMessage
		if err := xml.Unmarshal(raw, &mm); err != nil {
			return bot.Update{}, fmt.Errorf("%w: %w", errMalformed, err)
		}
		m = fieldsOf(&mm)
	}
	u := bot.Update{
		From: strings.TrimSpace(m.FromUserName),
		To:   strings.TrimSpace(m.ToUserName),
	}
	msgType := strings.TrimSpace(m.MsgType)
	switch {
	case u.From == "":
		return bot.Update{}, fmt.Errorf("%w: no FromUserName", errMalformed)
	case msgType == "":
		return bot.Update{}, fmt.Errorf("%w: no MsgType", errMalformed)
	case m.CreateTime <= 0:
		return bot.Update{}, fmt.Errorf("%w: no CreateTime", errMalformed)
	}
	u.Time = time.Unix(m.CreateTime, 0)

	if msgType == string(message.MsgTypeEvent) {
		u.Kind = bot.KindEvent
		u.Event = strings.TrimSpace(m.Event)
		if u.Event == "" {
			return bot.Update{}, fmt.Errorf("%w: event without Event", errMalformed)
		}
		u.EventKey = m.EventKey
		if u.Event == bot.EventSubscribe || u.Event == bot.EventScan {
			u.EventKey = strings.TrimPrefix(u.EventKey, "qrscene_")
		}
		u.ID = "e:" + u.From + ":" + strconv.FormatInt(m.CreateTime, 10) + ":" + u.Event + ":" + u.EventKey
		return u, nil
	}

	// Without a MsgId two messages in the same second could not be told apart, and
	// one would be dropped as a retry of the other.
	if m.MsgID == 0 {
		return bot.Update{}, fmt.Errorf("%w: message without MsgId", errMalformed)
	}
	u.ID = "m:" + strconv.FormatInt(m.MsgID, 10)
	switch message.MsgType(msgType) {
	case message.MsgTypeText:
		u.Kind = bot.KindText
		u.Text = m.Content
	case message.MsgTypeImage:
		u.Kind = bot.KindImage
		u.PicURL = m.PicURL
		u.MediaID = m.MediaID
	case message.MsgTypeVoice:
		u.Kind = bot.KindVoice
		u.MediaID = m.MediaID
		u.Text = m.Recognition
	case message.MsgTypeLocation:
		u.Kind = bot.KindLocation
		// Out-of-range or NaN coordinates are no place, and NaN would not even
		// survive encoding/json on the way to the store.
		if !(m.LocationX >= -90 && m.LocationX <= 90 && m.LocationY >= -180 && m.LocationY <= 180) {
			return bot.Update{}, fmt.Errorf("%w: location out of range", errMalformed)
		}
		u.Location = &bot.Location{Lat: m.LocationX, Lon: m.LocationY, Label: m.Label}
	default:
		u.Kind = bot.KindOther
	}
	return u, nil
}
