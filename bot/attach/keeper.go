package attach

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"minyuan/bot"
)

// FetchKind is the kind of the due-set row that fetches one attachment from the
// platform (retried with the scheduler's backoff while the media id lasts).
const FetchKind = "attachment.fetch"

// Meta is what the index keeps of a kept attachment.
type Meta struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"` // image or voice
	Type  string    `json:"type"` // content type
	Size  int       `json:"size"`
	Kept  time.Time `json:"kept"`
	Owner string    `json:"owner"` // bot.Recipient of the sender
}

// Index records the attachments kept (store implements it), so that they can be
// listed by owner (forget) and by age (the retention).
type Index interface {
	SaveAttachment(ctx context.Context, m Meta) error
	Attachment(ctx context.Context, name string) (Meta, bool, error)
	DeleteAttachment(ctx context.Context, m Meta) error
	AttachmentsOf(ctx context.Context, owner string) ([]string, error)
	AttachmentsBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
}

// Fetcher downloads a user's temporary media from the platform (bot/wechat).
type Fetcher interface {
	FetchMedia(ctx context.Context, mediaID string, max int64) ([]byte, string, error)
}

// Keeper holds the rules of attachments: which media are kept, how they are
// fetched, who may open them and for how long, and when they go.
type Keeper struct {
	Store     Store
	Index     Index
	Fetch     Fetcher
	Reminders bot.Reminders
	Audit     bot.AuditLog // each opening of a link; nil: none
	Clock     bot.Clock
	Log       *slog.Logger
	// Key signs the links; TTL is how long one works (default 30m).
	Key []byte
	TTL time.Duration
	// BaseURL starts every link (the address staff's phones reach Minyuan at).
	BaseURL  string
	MaxBytes int64
}

type fetchDue struct {
	Media string `json:"media"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Owner string `json:"owner"`
}

// Keep arranges for the photo or voice message of u to be fetched into the store
// at once (a due-set row, so a restart loses nothing and the scheduler retries a
// failed download). Only residents' media are kept; other updates are ignored.
func (k *Keeper) Keep(ctx context.Context, u *bot.User, upd bot.Update, at time.Time) error {
	if upd.MediaID == "" || len(u.Grants) > 0 {
		return nil
	}
	var ref, kind string
	switch {
	case upd.Kind == bot.KindImage && upd.PicURL != "":
		ref, kind = upd.PicURL, "image"
	case upd.Kind == bot.KindVoice:
		ref, kind = bot.VoiceRef(upd.MediaID), "voice"
	default:
		return nil
	}
	name := Name(ref)
	payload, _ := json.Marshal(fetchDue{Media: upd.MediaID, Name: name, Kind: kind, Owner: bot.Recipient(u.OpenID)})
	return k.Reminders.Schedule(ctx, bot.Reminder{ID: "att:" + name, Kind: FetchKind, Due: at, Payload: payload})
}

// Middleware keeps the media of every update that reaches the flows.
func (k *Keeper) Middleware(next bot.Handler) bot.Handler {
	return bot.HandlerFunc(func(ctx context.Context, r *bot.Request) (bot.Reply, error) {
		if r.Update.MediaID != "" {
			if err := k.Keep(ctx, r.User, r.Update, r.Now); err != nil && k.Log != nil {
				k.Log.Warn("attach: could not schedule the media's download", "err", err)
			}
		}
		return next.Serve(ctx, r)
	})
}

// Fetched is the due-set handler: it downloads the media and puts it in the store.
// An attachment already kept (the row fired twice) is left as it is.
func (k *Keeper) Fetched(ctx context.Context, r bot.Reminder) error {
	var d fetchDue
	if err := json.Unmarshal(r.Payload, &d); err != nil || d.Media == "" || !validName(d.Name) {
		return nil // nothing to retry
	}
	if _, ok, err := k.Index.Attachment(ctx, d.Name); err != nil || ok {
		return err
	}
	max := k.MaxBytes
	if max <= 0 {
		max = 10 << 20
	}
	data, ctype, err := k.Fetch.FetchMedia(ctx, d.Media, max)
	if err != nil {
		return fmt.Errorf("attach: fetch: %w", err)
	}
	if err := k.Store.Put(ctx, d.Name, ctype, data); err != nil {
		return err
	}
	return k.Index.SaveAttachment(ctx, Meta{Name: d.Name, Kind: d.Kind, Type: ctype, Size: len(data), Kept: k.now(), Owner: d.Owner})
}

func (k *Keeper) now() time.Time {
	if k.Clock == nil {
		return time.Now()
	}
	return k.Clock.Now()
}

// Link is a link to the attachment of ref (a photo's URL) for viewer, working
// until TTL from now; ok is false while it is not kept (not yet fetched, or gone).
func (k *Keeper) Link(ctx context.Context, viewer bot.Actor, ref string) (link string, ok bool, err error) {
	name := Name(ref)
	if _, ok, err := k.Index.Attachment(ctx, name); err != nil || !ok {
		return "", false, err
	}
	ttl := k.TTL
	if ttl <= 0 {
		ttl = 30 * time.Minute
	}
	exp := strconv.FormatInt(k.now().Add(ttl).Unix(), 10)
	who := viewer.EventActor()
	q := url.Values{"e": {exp}, "v": {who}, "s": {k.sign(name, exp, who)}}
	return strings.TrimSuffix(k.BaseURL, "/") + "/attachments/" + name + "?" + q.Encode(), true, nil
}

func (k *Keeper) sign(name, exp, who string) string {
	m := hmac.New(sha256.New, k.Key)
	m.Write([]byte(name + "\n" + exp + "\n" + who))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ServeHTTP serves GET /attachments/{name}?e=&v=&s=: the file, if the signature
// is right and the link has not expired; every opening is an audit line.
func (k *Keeper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/attachments/")
	q := r.URL.Query()
	exp, who, sig := q.Get("e"), q.Get("v"), q.Get("s")
	until, err := strconv.ParseInt(exp, 10, 64)
	switch {
	case !validName(name) || err != nil || !hmac.Equal([]byte(sig), []byte(k.sign(name, exp, who))):
		http.Error(w, "invalid link", http.StatusForbidden)
		return
	case k.now().Unix() > until:
		http.Error(w, "this link has expired: open 详情 again for a new one", http.StatusGone)
		return
	}
	rc, ctype, err := k.Store.Get(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		if k.Log != nil {
			k.Log.Error("attach: read", "err", err)
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rc.Close()
	if k.Audit != nil {
		if err := k.Audit.Audit(r.Context(), bot.AuditEntry{At: k.now(), Actor: who, Action: bot.AuditAttachment, Detail: name}); err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_, _ = io.Copy(w, rc)
}

// Delete removes the attachment of ref (a photo's URL); refs never kept are
// ignored. It is the privacy rules' AttachmentEraser.
func (k *Keeper) Delete(ctx context.Context, ref string) error {
	return k.deleteName(ctx, Name(ref))
}

func (k *Keeper) deleteName(ctx context.Context, name string) error {
	m, ok, err := k.Index.Attachment(ctx, name)
	if err != nil {
		return err
	}
	if err := k.Store.Delete(ctx, name); err != nil {
		return err
	}
	if !ok {
		m = Meta{Name: name}
	}
	if err := k.Reminders.Cancel(ctx, "att:"+name); err != nil {
		return err
	}
	return k.Index.DeleteAttachment(ctx, m)
}

// DeleteOwner removes every attachment a person sent (forget).
func (k *Keeper) DeleteOwner(ctx context.Context, openid string) (int, error) {
	names, err := k.Index.AttachmentsOf(ctx, bot.Recipient(openid))
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		if err := k.deleteName(ctx, n); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// Expire removes the attachments kept since before t (the retention: a photo is
// never kept longer than the ticket it came with may keep its personal data).
func (k *Keeper) Expire(ctx context.Context, t time.Time) (int, error) {
	n := 0
	for {
		names, err := k.Index.AttachmentsBefore(ctx, t, 500)
		if err != nil || len(names) == 0 {
			return n, err
		}
		for _, name := range names {
			if err := k.deleteName(ctx, name); err != nil {
				return n, err
			}
			n++
		}
	}
}
