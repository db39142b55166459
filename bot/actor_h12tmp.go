package bot

import (
	"crypto/sha256"
	"encoding/hex"
)

// TEMPORARY (h12): a stand-in for h8a's bot.Actor (bot/actor.go) with the fields the
// lead fixed, so that the hotline service can be built before that lands. Deleted at
// the merge that brings the real one.

// ActorKind says what kind of party acted.
type ActorKind string

const (
	ActorResident ActorKind = "resident"
	ActorStaff    ActorKind = "staff"
	ActorHotline  ActorKind = "hotline"
	ActorAPI      ActorKind = "api"
	ActorSystem   ActorKind = "system"
)

// Actor is who acted.
type Actor struct {
	Kind   ActorKind
	ID     string
	Name   string
	Grants []Grant
}

// SystemActor is the scheduler.
var SystemActor = Actor{Kind: ActorSystem, ID: "system"}

func (a Actor) user() *User { return &User{OpenID: a.ID, Grants: a.Grants} }

// Can reports whether the actor may act in role somewhere.
func (a Actor) Can(role Role) bool { return a.user().Can(role) }

// CanIn reports whether the actor may act in role in community.
func (a Actor) CanIn(role Role, community string) bool { return a.user().CanIn(role, community) }

// Communities lists the communities of role.
func (a Actor) Communities(role Role) ([]string, bool) { return a.user().Communities(role) }

// Counter names a report counter.
type Counter string

// Recipient is how a person appears inside an id: a short hash of the openid.
func Recipient(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return hex.EncodeToString(sum[:6])
}
