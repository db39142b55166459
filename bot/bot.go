// Package bot is the heart of Minyuan: the domain types, the conversation engine
// (router, forms, sessions) and the interfaces it needs from its adapters. It imports
// none of them: store/ and bot/wechat implement what is declared here.
package bot

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Kind is the kind of an inbound Update.
type Kind string

const (
	KindText     Kind = "text"
	KindImage    Kind = "image"
	KindVoice    Kind = "voice"
	KindLocation Kind = "location"
	KindEvent    Kind = "event"
	KindOther    Kind = "other"
)

// Events carried by KindEvent updates.
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
	EventScan        = "SCAN"
	EventClick       = "CLICK"
	EventView        = "VIEW"
)

// Update is one inbound message or event, normalised from whatever channel it came by.
type Update struct {
	// ID is the dedupe key: the same message delivered twice has the same ID.
	ID   string    `json:"id"`
	From string    `json:"from"` // the sender's openid
	To   string    `json:"to"`   // the account that received it
	Time time.Time `json:"time"` // when the platform says it was sent
	Kind Kind      `json:"kind"`
	// Text is the typed text, or the platform's recognition of a voice message.
	Text     string    `json:"text,omitempty"`
	MediaID  string    `json:"media_id,omitempty"`
	PicURL   string    `json:"pic_url,omitempty"`
	Location *Location `json:"location,omitempty"`
	Event    string    `json:"event,omitempty"`
	// EventKey is the menu key of a CLICK, the URL of a VIEW, or the QR scene of a
	// subscribe or SCAN (without the platform's "qrscene_" prefix).
	EventKey string `json:"event_key,omitempty"`
	// Replay, when set, guards a delivery whose signature does not cover its body.
	Replay *ReplayGuard `json:"-"`
}

// ReplayGuard names a delivery's signed query (Key) and a digest of its body (Sum).
// The inbox refuses the Update (ErrReplayed) when the same Key came with another Sum
// within TTL, in the same step as the claim: a captured plaintext query cannot
// carry another body, while the platform's own retry (same query, same body) is
// answered as any duplicate is. Replicas share what they saw.
type ReplayGuard struct {
	Key string
	Sum string
	TTL time.Duration
}

// ErrReplayed is what Inbox.Begin returns for an Update whose ReplayGuard's query was
// seen with another body. Nothing was claimed.
var ErrReplayed = errors.New("signed query replayed with another body")

// Location is a place a user shared.
type Location struct {
	Lat   float64 `json:"lat"`
	Lon   float64 `json:"lon"`
	Label string  `json:"label,omitempty"`
}

// Reply is the passive answer to an Update. An empty Reply means "nothing to say".
type Reply struct {
	Text string `json:"text,omitempty"`
	// Refused, when set, is why the delivery itself was refused (a replayed signed
	// query): the channel answers with an error status and tells the user nothing.
	Refused string `json:"-"`
}

// Text makes a text Reply.
func Text(s string) Reply { return Reply{Text: s} }

// Clock tells the time. Everything that depends on time reads it, so tests move it.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told to: what tests inject to move
// time instead of sleeping. Safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock makes a ManualClock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Session is a user's place in a conversation: the flow they are in, the step, and
// the answers so far.
type Session struct {
	// ID names this run of a flow: the engine gives one to every session a handler
	// starts. What a flow creates is keyed by it, so a 确认 typed again after a
	// failure finds what the first one made instead of making it twice.
	ID      string            `json:"id,omitempty"`
	User    string            `json:"user"`
	Flow    string            `json:"flow"`
	Step    int               `json:"step"`
	Data    map[string]string `json:"data,omitempty"`
	Updated time.Time         `json:"updated"`
	// Finished, in a session with no Flow, is the form the user finished last, kept
	// for a few minutes; such a session is no flow (handlers see none).
	Finished *Finished `json:"finished,omitempty"`
}

// Finished is a form's run that has ended: the answer that ended it and what the
// user was told. That answer can be lost on its way after everything was written
// (Redis died before replying, or time ran out), and the user is then told to send
// the same again; by then the form is over. Until Until, the same final answer is
// read as that repetition and told the same words, not taken for something new.
type Finished struct {
	Flow string `json:"flow"`
	// Said is the final answer as Spoken; Confirm: it was the confirm step, and any
	// confirm word repeats it (「好」 then 「确认」).
	Said    string    `json:"said,omitempty"`
	Confirm bool      `json:"confirm,omitempty"`
	Reply   string    `json:"reply"`
	Until   time.Time `json:"until"`
}

// Role is what a user may do. A role is granted by an invite code, never self-declared.
type Role string

const (
	RoleResident Role = "resident" // everyone who follows the account
	RoleStaff    Role = "staff"
	// RoleSecretary is the community secretary (社区书记): a staff member who also
	// gets overdue and flagged tickets of the community.
	RoleSecretary Role = "secretary"
	RoleParty     Role = "party"
	RoleHotline   Role = "hotline"
	RoleAdmin     Role = "admin"
)

// ParseRole accepts the roles that can be granted.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleStaff, RoleSecretary, RoleParty, RoleHotline, RoleAdmin, RoleInstructor:
		return r, true
	}
	return "", false
}

// Grant binds a user to a role in a community.
type Grant struct {
	OpenID    string    `json:"openid"`
	Role      Role      `json:"role"`
	Community string    `json:"community"`
	Name      string    `json:"name"`
	Granted   time.Time `json:"granted"`
}

// Invite is a one-time code that grants a role when typed in chat.
type Invite struct {
	Code      string    `json:"code"`
	Role      Role      `json:"role"`
	Community string    `json:"community"`
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// User is who sent an Update, with what they may do.
type User struct {
	OpenID string
	Grants []Grant
}

// Can reports whether the user may act in role (in any community). Admins may do
// everything; everybody is a resident.
func (u *User) Can(role Role) bool {
	if role == RoleResident || role == "" {
		return true
	}
	for _, g := range u.Grants {
		if g.Role.Includes(role) {
			return true
		}
	}
	return false
}

// Includes reports whether holding r lets one act as other: an admin may do
// everything, a secretary everything staff may.
func (r Role) Includes(other Role) bool {
	return r == other || r == RoleAdmin || (r == RoleSecretary && other == RoleStaff)
}

// CanIn reports whether the user may act in role in a given community.
func (u *User) CanIn(role Role, community string) bool {
	for _, g := range u.Grants {
		if g.Role == RoleAdmin || (g.Role.Includes(role) && g.Community == community) {
			return true
		}
	}
	return false
}

// Communities lists the communities in which the user holds role (or any role, if
// role is empty). Admins hold every community; ok is false when the list is "all".
func (u *User) Communities(role Role) (codes []string, all bool) {
	for _, g := range u.Grants {
		if g.Role == RoleAdmin {
			return nil, true
		}
		if (role == "" || g.Role.Includes(role)) && !slices.Contains(codes, g.Community) {
			codes = append(codes, g.Community)
		}
	}
	return codes, false
}

// Commit is everything the engine writes once an Update has been handled: the reply
// to remember for retries, the session, and when the user last wrote to us. The store
// applies it atomically, together with the release of the user's lock.
type Commit struct {
	UpdateID string
	User     string
	Reply    Reply
	Session  *Session // nil: the user has no session any more
	Seen     time.Time
	// Action is what the Update did to the user's customer-service allowance
	// (ActionOf), recorded at Seen; ActionNone records nothing.
	Action Action
}

// Claim is what Inbox.Begin hands the engine: either the right to handle an Update
// (Owner), with the sender's lock held and their grants and session loaded, or the
// reply its first delivery already got.
type Claim struct {
	Owner bool
	// Reply is the stored answer of an Update handled before (Owner false).
	Reply Reply
	// Token fences the claim and the lock: Renew, Commit and Abort act only while
	// they still hold it.
	Token string
	// Deadline is when the claim stops being good: Begin refuses to take a claim or
	// a lock after it, and Commit refuses to write after it, because by then the
	// engine has answered without them.
	Deadline time.Time
	Update   Update
	Grants   []Grant
	Session  *Session
	// Relay is the live relay the sender was in when the claim was taken, if any.
	Relay *Relay
}

// ErrInFlight is what Begin returns when its context ends while another live owner
// still holds the Update: a retry that came while the first delivery runs.
var ErrInFlight = errors.New("update in flight elsewhere")

// ErrClaimLost is what Commit returns when the claim is no longer this caller's: its
// lease lapsed (the process stalled, or Redis failed over) or its deadline passed.
// Nothing was written. Stored holds the reply another owner committed, if any.
type ErrClaimLost struct {
	Stored *Reply
	Reason string
}

func (e *ErrClaimLost) Error() string { return "claim lost: " + e.Reason }

// Inbox gives every Update exactly one effect, and one user's Updates one at a time,
// across processes. Claims and locks are short leases: a process that dies frees them
// within a lease, not after minutes.
type Inbox interface {
	// Begin claims u, takes its sender's lock in turn (Updates waiting together go in
	// the order the user sent them), and loads the sender's grants, session and live
	// relay: one round trip when nothing is in the way. It checks u.Replay first. It waits until ctx is done; a caller
	// that finds u already answered gets Owner false and the stored reply. It never
	// takes a claim or a lock after deadline.
	Begin(ctx context.Context, u Update, deadline time.Time) (*Claim, error)
	// Renew extends the leases of the claim and the lock while the owner works;
	// false means they are no longer held.
	Renew(ctx context.Context, c *Claim) (bool, error)
	// Abort gives up the claim and the lock without an effect, so that a retry of
	// the Update is handled afresh.
	Abort(ctx context.Context, c *Claim) error
	// Commit stores the outcome of a claimed Update and releases the lock, only
	// while the claim is still held and its deadline has not passed; otherwise it
	// returns *ErrClaimLost and writes nothing.
	Commit(ctx context.Context, c *Claim, out Commit) error
	// Peek is Begin for an Update that may change nothing (a ReadOnly command): it
	// checks u.Replay, then, when nothing of the sender's is in flight (no claim of
	// u, no lock, nobody queued), records the sender's action at seen and loads
	// their grants, session and relay, claiming nothing. It returns nil when
	// something is in flight (the caller claims the Update as usual), and the stored
	// reply when u was answered before.
	Peek(ctx context.Context, u Update, seen time.Time) (*Peeked, error)
}

// Peeked is what Inbox.Peek found: the stored answer of an Update handled before,
// or the sender's grants, session and live relay.
type Peeked struct {
	Reply   *Reply
	Grants  []Grant
	Session *Session
	Relay   *Relay
}

// Roles holds grants and invites.
type Roles interface {
	// Redeem binds openid with the invite code: once, before it expires. Failed tries
	// are counted per openid; past the limit it returns an *Error with ERateLimited.
	Redeem(ctx context.Context, code, openid string, now time.Time) (Grant, error)
}

// Community is one community (社区) the installation serves.
type Community struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Street string `json:"street"`
	// Aliases are other names residents use for it; the name without its 社区
	// suffix is understood without one.
	Aliases []string `json:"aliases,omitempty"`
	// Phone and Hours: the community's telephone and when it is staffed.
	Phone string `json:"phone,omitempty"`
	Hours string `json:"hours,omitempty"`
}

// Profile is what a resident has told us about themselves, remembered so that forms
// need not ask again. The phone is typed by the resident; it also matches hotline
// calls to their WeChat.
type Profile struct {
	OpenID    string    `json:"openid"`
	Name      string    `json:"name,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Community string    `json:"community,omitempty"`
	Address   string    `json:"address,omitempty"`
	Updated   time.Time `json:"updated"`
}

// Profiles keeps residents' profiles.
type Profiles interface {
	Profile(ctx context.Context, openid string) (Profile, error)
	SaveProfile(ctx context.Context, p Profile) error
}
