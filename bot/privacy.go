package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Data protection: who read what (the audit log), and how people are named where
// their openid must not appear (logs).

// Audit actions.
const (
	AuditDetail     = "detail"     // a staff member read a ticket's 详情 in chat
	AuditShow       = "cli_show"   // an operator printed a ticket (minyuan tickets show)
	AuditForget     = "forget"     // a resident's personal data erased on request
	AuditExpire     = "expire"     // a closed ticket's personal data erased after the retention
	AuditAttachment = "attachment" // someone opened an attachment's link
)

// ErasedActor stands in a timeline for a resident whose data was erased.
const ErasedActor = "resident"

// AuditEntry is one line of the audit log. Actor is the staff member's openid, an
// operator ("cli:<user>") or "system"; a resident is never named here by openid.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Name   string    `json:"name,omitempty"`
	Action string    `json:"action"`
	Ticket string    `json:"ticket,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditQuery picks audit lines; empty fields match all.
type AuditQuery struct {
	Ticket string
	Actor  string // openid or name
	Action string
	From   time.Time
	To     time.Time // exclusive
	Limit  int       // newest first; default 100
}

// AuditLog keeps the audit lines (store implements it).
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// Names names people by a keyed hash of their openid, for logs and audit lines:
// the same person has the same name everywhere, and nobody without the key can
// tell whose name it is, or find a known openid's name.
type Names struct{ key []byte }

// NewNames makes the namer with a secret key.
func NewNames(key []byte) Names { return Names{key: append([]byte(nil), key...)} }

// Of is openid's name, e.g. "p3f9a0c21d4"; "" for "".
func (n Names) Of(openid string) string {
	if openid == "" {
		return ""
	}
	return n.OfRecipient(Recipient(openid))
}

// OfRecipient is the name of the person an id's recipient part (Recipient) stands
// for: ids keep their unkeyed short hash, logs show this keyed one instead.
func (n Names) OfRecipient(r string) string {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte(r))
	return "p" + hex.EncodeToString(m.Sum(nil)[:5])
}

// Detail is ticket no with its timeline as staff read it under 详情, and the audit
// line that says who read it and when.
func (s *TicketService) Detail(ctx context.Context, a Actor, at time.Time, no string) (*Ticket, []Event, error) {
	t, evs, err := s.Timeline(ctx, a, no)
	if err != nil || s.Audit == nil {
		return t, evs, err
	}
	err = s.Audit.Audit(ctx, AuditEntry{At: at, Actor: a.EventActor(), Name: a.NameIn(t.Community), Action: AuditDetail, Ticket: no})
	return t, evs, err
}
