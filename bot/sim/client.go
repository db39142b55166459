package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot"
	"minyuan/bot/wechat"
)

// Mode is how the platform talks to the account's server URL (消息加解密方式).
type Mode string

const (
	// ModePlain sends plaintext XML (明文模式).
	ModePlain Mode = "plain"
	// ModeCompat sends the plaintext fields and the ciphertext side by side (兼容模式).
	ModeCompat Mode = "compat"
	// ModeSafe sends only the ciphertext (安全模式).
	ModeSafe Mode = "safe"
)

// Defaults of Client, as on the platform.
const (
	// DefaultReplyTimeout is how long the platform waits for the server's answer
	// before it drops the connection and tries again.
	DefaultReplyTimeout = 5 * time.Second
	// DefaultAttempts is how often the platform sends one message in all.
	DefaultAttempts = 3
	// DefaultAccount is the account's original id (原始ID), the ToUserName of every
	// message when Client.Account is empty.
	DefaultAccount = "gh_minyuan0demo"
)

// ErrNoAnswer is returned when no attempt got an answer in time; the user's phone
// then shows "该公众号暂时无法提供服务，请稍后再试".
var ErrNoAnswer = errors.New("sim: the server did not answer in time")

// StatusError is an HTTP answer other than 200 from the server URL.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sim: server answered HTTP %d: %.200s", e.Status, e.Body)
}

// Client is the sending side of the simulated platform: it delivers what users type,
// tap and share to the account's server URL as WeChat does, signed (and encrypted in
// compat and safe mode), and reads the passive reply. Like WeChat, it sends a message
// again, unchanged, when the server has not answered within ReplyTimeout, Attempts
// times in all. It is safe for concurrent use once configured.
type Client struct {
	WebhookURL     string
	Token          string
	AppID          string
	EncodingAESKey string
	Mode           Mode // default ModePlain
	// Account is the ToUserName of every message (default DefaultAccount).
	Account string
	// API, when set, learns what the platform learns from each delivery: a message,
	// a follow, a click or scan-push menu click or a QR scan renews the user's
	// customer-service allowance there (Act); subscribe and unsubscribe change
	// whether the user follows.
	API   *API
	Clock bot.Clock    // default bot.SystemClock; gives CreateTime and timestamp
	HTTP  *http.Client // default: a client with no overall time-out
	// ReplyTimeout bounds each attempt (default DefaultReplyTimeout); tests shorten it.
	ReplyTimeout time.Duration
	// Attempts is how often one message is sent in all (default DefaultAttempts).
	Attempts int

	retries atomic.Int64
}

// Message is one inbound message or event, as the platform builds it. The Client's
// methods fill it in; Send takes one built by hand.
type Message struct {
	From string // the sender's openid
	// Type is text, image, voice, location or event.
	Type        string
	Content     string
	PicURL      string
	MediaID     string
	Format      string // voice: amr
	Recognition string // voice: what the platform heard
	Lat, Lon    float64
	Scale       int
	Label       string
	Event       string // subscribe, unsubscribe, SCAN, CLICK, VIEW
	EventKey    string // as sent: "qrscene_" + scene for a subscribe by QR code
	// MsgID is set by Send for messages (not events) when zero.
	MsgID int64
	// CreateTime is set by Send from the Clock when zero.
	CreateTime int64
}

// Result is what one delivery got back.
type Result struct {
	// Text is the passive reply's text; empty when the server answered "success" or
	// nothing (the phone then shows nothing).
	Text string
	// Type is the reply's MsgType ("text"), empty when there was no reply.
	Type string
	// Attempts is how many times the message was sent; above 1 means retries.
	Attempts int
	// MsgID is the message's MsgId (0 for events).
	MsgID int64
	// Raw is the reply XML, decrypted in compat and safe mode.
	Raw []byte
}

// Retries counts the retries of every delivery so far (attempts after the first).
func (c *Client) Retries() int64 { return c.retries.Load() }

// Text sends a text message and returns the reply text.
func (c *Client) Text(ctx context.Context, openid, text string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "text", Content: text})
}

// Image sends a photo. picURL may be empty: the platform's URL is then made up.
func (c *Client) Image(ctx context.Context, openid, picURL string) (string, error) {
	if picURL == "" {
		picURL = "http://mmbiz.qpic.cn/sim/" + randomString(16) + "/0"
	}
	return c.reply(ctx, Message{From: openid, Type: "image", PicURL: picURL, MediaID: randomString(24)})
}

// Photo sends a photo whose file the platform keeps (the API's AddMedia), so
// that it can be downloaded by its media id for 3 days.
func (c *Client) Photo(ctx context.Context, openid string, data []byte) (string, error) {
	id := c.API.AddMedia(data)
	return c.reply(ctx, Message{From: openid, Type: "image", PicURL: "http://mmbiz.qpic.cn/sim/" + id + "/0", MediaID: id})
}

// VoiceFile sends a voice message whose file the platform keeps, as Photo does.
func (c *Client) VoiceFile(ctx context.Context, openid string, data []byte, recognition string) (string, error) {
	id := c.API.AddMedia(data)
	return c.reply(ctx, Message{From: openid, Type: "voice", MediaID: id, Format: "amr", Recognition: recognition})
}

// Voice sends a voice message with the platform's speech recognition of it.
func (c *Client) Voice(ctx context.Context, openid, recognition string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "voice", MediaID: randomString(24), Format: "amr", Recognition: recognition})
}

// Location shares a place.
func (c *Client) Location(ctx context.Context, openid string, lat, lon float64, label string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "location", Lat: lat, Lon: lon, Scale: 15, Label: label})
}

// Subscribe follows the account, by QR code when scene is not empty.
func (c *Client) Subscribe(ctx context.Context, openid, scene string) (string, error) {
	key := ""
	if scene != "" {
		key = "qrscene_" + scene
	}
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventSubscribe, EventKey: key})
}

// Scan is a follower scanning a QR code with a scene.
func (c *Client) Scan(ctx context.Context, openid, scene string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventScan, EventKey: scene})
}

// Unsubscribe stops following the account. The platform expects no reply.
func (c *Client) Unsubscribe(ctx context.Context, openid string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventUnsubscribe})
}

// Click taps a custom-menu button of type click.
func (c *Client) Click(ctx context.Context, openid, key string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventClick, EventKey: key})
}

// View taps a custom-menu button that opens url.
func (c *Client) View(ctx context.Context, openid, url string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventView, EventKey: url})
}

// ScanPush taps a custom-menu button of the scan-push kind (scancode_push).
func (c *Client) ScanPush(ctx context.Context, openid, key string) (string, error) {
	return c.reply(ctx, Message{From: openid, Type: "event", Event: bot.EventScanPush, EventKey: key})
}

// actionOf is what m does to its sender's allowance on the platform.
func actionOf(m Message) bot.Action {
	kind := bot.KindEvent
	if m.Type != "event" {
		kind = bot.KindText // any message counts alike
	}
	return bot.ActionOf(bot.Update{Kind: kind, Event: m.Event})
}

func (c *Client) reply(ctx context.Context, m Message) (string, error) {
	r, err := c.Send(ctx, m)
	return r.Text, err
}

// Send delivers m: it tells the API what the platform learns, signs (and seals) the
// XML, posts it, retries a late answer with the same message, and opens the reply.
func (c *Client) Send(ctx context.Context, m Message) (Result, error) {
	now := c.clock().Now()
	if m.CreateTime == 0 {
		m.CreateTime = now.Unix()
	}
	if m.Type != "event" && m.MsgID == 0 {
		m.MsgID = nextMsgID()
	}
	if c.API != nil {
		switch {
		case m.Type == "event" && m.Event == bot.EventSubscribe:
			c.API.Subscribe(m.From)
		case m.Type == "event" && m.Event == bot.EventUnsubscribe:
			c.API.Unsubscribe(m.From)
		}
		c.API.Act(m.From, actionOf(m), now)
	}
	body, query, err := c.seal(m, now)
	if err != nil {
		return Result{}, err
	}
	res := Result{MsgID: m.MsgID}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	for res.Attempts < attempts {
		res.Attempts++
		if res.Attempts > 1 {
			c.retries.Add(1)
		}
		status, raw, err := c.attempt(ctx, body, query)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			// A late or failed connection: the platform gives up on it and sends
			// the same message again.
			continue
		}
		if status != http.StatusOK {
			return res, &StatusError{Status: status, Body: string(raw)}
		}
		return c.open(res, m.From, raw)
	}
	return res, fmt.Errorf("%w (%d attempts of %s)", ErrNoAnswer, res.Attempts, c.replyTimeout())
}

// attempt is one POST, bounded by ReplyTimeout from the request to the last byte.
func (c *Client) attempt(ctx context.Context, body []byte, query url.Values) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.replyTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.WebhookURL+"?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// Raw posts body once to the server URL with query, for tests of what the platform
// would never send. A nil query is a valid plaintext signature for now. It returns
// the HTTP status and the answer as it came.
func (c *Client) Raw(ctx context.Context, body []byte, query url.Values) (int, []byte, error) {
	if query == nil {
		query = c.SignedQuery()
	}
	return c.attempt(ctx, body, query)
}

// SignedQuery is a valid signature, timestamp and nonce for now: what every request
// of the platform carries.
func (c *Client) SignedQuery() url.Values {
	ts := strconv.FormatInt(c.clock().Now().Unix(), 10)
	// The platform's nonces have about ten digits. At a load test's ten thousand
	// requests a second, two of those share a second and a nonce now and then, and
	// the webhook rightly refuses the second body for that signed query as a
	// replay; sixteen digits make that a once-in-ages event.
	nonce := randomDigits(nonceDigits)
	return url.Values{
		"signature": {wechat.Sign(c.Token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
	}
}

// cdata marshals as <![CDATA[...]]>, as the platform writes its strings.
type cdata struct {
	Value string `xml:",cdata"`
}

func cd(s string) *cdata { return &cdata{s} }

// inboundXML is the platform's XML for every kind of message and event; the fields a
// kind does not have are left out.
type inboundXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   *cdata   `xml:"ToUserName"`
	FromUserName *cdata   `xml:"FromUserName,omitempty"`
	CreateTime   int64    `xml:"CreateTime,omitempty"`
	MsgType      *cdata   `xml:"MsgType,omitempty"`
	Content      *cdata   `xml:"Content,omitempty"`
	PicURL       *cdata   `xml:"PicUrl,omitempty"`
	MediaID      *cdata   `xml:"MediaId,omitempty"`
	Format       *cdata   `xml:"Format,omitempty"`
	Recognition  *cdata   `xml:"Recognition,omitempty"`
	LocationX    *float64 `xml:"Location_X,omitempty"`
	LocationY    *float64 `xml:"Location_Y,omitempty"`
	Scale        *int     `xml:"Scale,omitempty"`
	Label        *cdata   `xml:"Label,omitempty"`
	Event        *cdata   `xml:"Event,omitempty"`
	EventKey     *cdata   `xml:"EventKey,omitempty"`
	MsgID        int64    `xml:"MsgId,omitempty"`
	Encrypt      *cdata   `xml:"Encrypt,omitempty"`
}

// XML is m as the platform writes it, in plaintext.
func (c *Client) XML(m Message) ([]byte, error) {
	x := inboundXML{
		ToUserName:   cd(c.account()),
		FromUserName: cd(m.From),
		CreateTime:   m.CreateTime,
		MsgType:      cd(m.Type),
		MsgID:        m.MsgID,
	}
	switch m.Type {
	case "text":
		x.Content = cd(m.Content)
	case "image":
		x.PicURL, x.MediaID = cd(m.PicURL), cd(m.MediaID)
	case "voice":
		x.MediaID, x.Format, x.Recognition = cd(m.MediaID), cd(m.Format), cd(m.Recognition)
	case "location":
		lat, lon, scale := m.Lat, m.Lon, m.Scale
		x.LocationX, x.LocationY, x.Scale, x.Label = &lat, &lon, &scale, cd(m.Label)
	case "event":
		x.Event = cd(m.Event)
		// The platform sends an EventKey with every event but unsubscribe, empty
		// for a plain subscribe.
		if m.Event != bot.EventUnsubscribe {
			x.EventKey = cd(m.EventKey)
		}
	}
	return x.marshal(), nil
}

// seal builds the request body and query for the Client's mode.
func (c *Client) seal(m Message, now time.Time) ([]byte, url.Values, error) {
	plain, err := c.XML(m)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: marshal message: %w", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := randomDigits(nonceDigits)
	q := url.Values{
		"signature": {wechat.Sign(c.Token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
		"openid":    {m.From},
	}
	switch c.Mode {
	case "", ModePlain:
		return plain, q, nil
	case ModeCompat, ModeSafe:
	default:
		return nil, nil, fmt.Errorf("sim: unknown mode %q", c.Mode)
	}
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	sealed, err := util.EncryptMsg(random, plain, c.AppID, c.EncodingAESKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: encrypt: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wechat.Sign(c.Token, ts, nonce, string(sealed)))
	var body []byte
	if c.Mode == ModeSafe {
		body = (&inboundXML{ToUserName: cd(c.account()), Encrypt: cd(string(sealed))}).marshal()
	} else {
		// Compatible mode: everything of the plaintext, and the ciphertext beside it.
		var x inboundXML
		if err = xml.Unmarshal(plain, &x); err == nil {
			x.Encrypt = cd(string(sealed))
			body = x.marshal()
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sim: marshal envelope: %w", err)
	}
	return body, q, nil
}

// replyXML is a passive reply: plaintext fields, or the sealed envelope.
type replyXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`

	Encrypt      string `xml:"Encrypt"`
	MsgSignature string `xml:"MsgSignature"`
	TimeStamp    string `xml:"TimeStamp"`
	Nonce        string `xml:"Nonce"`
}

// open reads the server's answer as the platform does: "success" or nothing is no
// reply; a sealed reply must carry a valid msg_signature and decrypt.
func (c *Client) open(res Result, openid string, raw []byte) (Result, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "success" {
		return res, nil
	}
	x, err := parseReply(trimmed)
	if err != nil {
		return res, fmt.Errorf("sim: reply is not XML: %w", err)
	}
	if c.Mode == ModeCompat || c.Mode == ModeSafe {
		if x.Encrypt == "" {
			return res, errors.New("sim: reply to an encrypted message is not encrypted")
		}
		if wechat.Sign(c.Token, x.TimeStamp, x.Nonce, x.Encrypt) != x.MsgSignature {
			return res, errors.New("sim: reply has a bad MsgSignature")
		}
		_, plain, err := util.DecryptMsg(c.AppID, x.Encrypt, c.EncodingAESKey)
		if err != nil {
			return res, fmt.Errorf("sim: decrypt reply: %w", err)
		}
		trimmed = plain
		if x, err = parseReply(plain); err != nil {
			return res, fmt.Errorf("sim: decrypted reply is not XML: %w", err)
		}
	}
	res.Raw = trimmed
	switch {
	case x.ToUserName != openid:
		return res, fmt.Errorf("sim: reply is addressed to %q, not %q", x.ToUserName, openid)
	case x.MsgType == "":
		return res, errors.New("sim: reply has no MsgType")
	case x.MsgType == "text" && x.Content == "":
		// The phone shows an error for an empty text reply.
		return res, errors.New("sim: empty text reply")
	}
	res.Type, res.Text = x.MsgType, x.Content
	return res, nil
}

func (c *Client) clock() bot.Clock {
	if c.Clock == nil {
		return bot.SystemClock{}
	}
	return c.Clock
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) replyTimeout() time.Duration {
	if c.ReplyTimeout <= 0 {
		return DefaultReplyTimeout
	}
	return c.ReplyTimeout
}

func (c *Client) account() string {
	if c.Account == "" {
		return DefaultAccount
	}
	return c.Account
}

// msgSeq numbers messages. It starts from the clock so that two runs against one
// Redis (tests against a shared server) do not reuse MsgIds, which the webhook
// would take for retries.
var msgSeq atomic.Int64

func init() { msgSeq.Store(time.Now().UnixMicro() * 1000) }

func nextMsgID() int64 { return msgSeq.Add(1) }

const nonceDigits = 16

func randomDigits(n int) string {
	b := make([]byte, 0, n)
	var random [16]byte
	for len(b) < n {
		_, _ = rand.Read(random[:])
		for _, r := range random {
			if r < 250 && len(b) < n { // 250 = 25×10: every digit equally likely
				b = append(b, '0'+r%10)
			}
		}
	}
	return string(b)
}
