package bot

// ActorKind says through which door someone acted.
type ActorKind string

const (
	ActorResident ActorKind = "resident" // a resident in chat
	ActorStaff    ActorKind = "staff"    // a staff member (or secretary, admin) in chat
	ActorHotline  ActorKind = "hotline"  // a hotline operator logging a call
	ActorAPI      ActorKind = "api"      // a client of the HTTP API (call-centre software)
	ActorSystem   ActorKind = "system"   // the scheduler, imports: nobody in person
)

// Actor is who acted: what services take instead of a chat message. ID is the
// openid of a person, the name of an API token, or "system".
type Actor struct {
	Kind   ActorKind
	ID     string
	Name   string
	Grants []Grant
}

// SystemActor is the scheduler and every change Minyuan makes on its own.
var SystemActor = Actor{Kind: ActorSystem, ID: "system"}

// ChatActor is the sender of an Update acting as kind (ActorResident for the
// resident's side of a flow, ActorStaff at the desk).
func ChatActor(u *User, kind ActorKind) Actor {
	return Actor{Kind: kind, ID: u.OpenID, Grants: u.Grants}
}

func (a Actor) user() *User { return &User{OpenID: a.ID, Grants: a.Grants} }

// Can reports whether the actor may act in role in some community. The system may
// do everything.
func (a Actor) Can(role Role) bool { return a.Kind == ActorSystem || a.user().Can(role) }

// CanIn reports whether the actor may act in role in community. The system may do
// everything.
func (a Actor) CanIn(role Role, community string) bool {
	return a.Kind == ActorSystem || a.user().CanIn(role, community)
}

// Communities lists the communities in which the actor holds role; all is true for
// an admin (and the system).
func (a Actor) Communities(role Role) (codes []string, all bool) {
	if a.Kind == ActorSystem {
		return nil, true
	}
	return a.user().Communities(role)
}

// NameIn is how the actor is named on a ticket of community: the actor's own Name
// when set, else the name of their grant there, else of any grant (an admin's).
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

// EventActor is how the actor is written in a timeline event: the openid of a
// person, "system", or "api:<token name>".
func (a Actor) EventActor() string {
	if a.Kind == ActorAPI {
		return "api:" + a.ID
	}
	return a.ID
}
