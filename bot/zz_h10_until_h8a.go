package bot

// Temporary copies of what helper h8a's first slice brings (bot/actor.go, bot/ids.go,
// bot.Counter); this file goes away when that slice is merged.

import (
	"crypto/sha256"
	"encoding/hex"
)

type Counter string

type ActorKind string

const (
	ActorResident ActorKind = "resident"
	ActorStaff    ActorKind = "staff"
	ActorAPI      ActorKind = "api"
	ActorSystem   ActorKind = "system"
)

type Actor struct {
	Kind   ActorKind
	ID     string
	Name   string
	Grants []Grant
}

var SystemActor = Actor{Kind: ActorSystem, ID: "system"}

func ChatActor(u *User, kind ActorKind) Actor {
	return Actor{Kind: kind, ID: u.OpenID, Grants: u.Grants}
}

func (a Actor) user() *User { return &User{OpenID: a.ID, Grants: a.Grants} }

func (a Actor) Can(role Role) bool { return a.Kind == ActorSystem || a.user().Can(role) }

func (a Actor) CanIn(role Role, community string) bool {
	return a.Kind == ActorSystem || a.user().CanIn(role, community)
}

func (a Actor) Communities(role Role) (codes []string, all bool) {
	if a.Kind == ActorSystem {
		return nil, true
	}
	return a.user().Communities(role)
}

func (a Actor) NameIn(community string) string {
	if a.Name != "" {
		return a.Name
	}
	name := ""
	for _, g := range a.Grants {
		if g.Community == community && g.Role.Includes(RoleStaff) {
			return g.Name
		}
		if name == "" || g.Role == RoleAdmin {
			name = g.Name
		}
	}
	return name
}

func Recipient(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return hex.EncodeToString(sum[:6])
}

// Volunteers. (To move into bot/ids.go.)

// ActivityPushID is the id of the push telling to about event of activity no at
// version (its version after the change told; reminders carry the version they were
// made for, so a moved activity reminds again).
func ActivityPushID(no string, version int, event, to string) string {
	return "a:" + no + ":v" + itoa(version) + ":" + event + ":" + Recipient(to)
}

// ActivityReminderID is the id of one of activity no's reminders: slot is "eve",
// "soon" or "missing". Scheduling the same slot again moves it.
func ActivityReminderID(no, slot string) string { return "a:" + no + ":" + slot }

// CheckCodePushID is the id of the QR image pushed to the organiser who asked for
// activity no's code.
func CheckCodePushID(no, code, to string) string {
	return "a:" + no + ":qr:" + code + ":" + Recipient(to)
}
