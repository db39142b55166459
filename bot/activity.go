package bot

import (
	"context"
	"slices"
	"time"
)

// Volunteers (志愿服务): activities staff publish, sign-ups with a capacity and an
// ordered waitlist, check-in and check-out on site, service hours and 爱心积分.

// ActivityStatus is where an activity is.
type ActivityStatus string

const (
	ActivityOpen      ActivityStatus = "open"
	ActivityCancelled ActivityStatus = "cancelled"
)

// Audience values of Activity.Audience other than a skill name.
const (
	AudienceAll   = ""      // everyone who has a volunteer profile
	AudienceParty = "party" // party members only
)

// Activity is one occurrence of a volunteer activity. A weekly activity is several
// Activities sharing a Series, each with its own sign-ups and reminders.
type Activity struct {
	No          string         `json:"no"` // digits only, easy to type
	Community   string         `json:"community"`
	Title       string         `json:"title"`
	Place       string         `json:"place"`
	Description string         `json:"description,omitempty"`
	Photo       string         `json:"photo,omitempty"` // media id or URL
	Start       time.Time      `json:"start"`
	End         time.Time      `json:"end"`
	Capacity    int            `json:"capacity"`
	Audience    string         `json:"audience,omitempty"` // AudienceAll, AudienceParty or a skill
	Series      string         `json:"series,omitempty"`   // number of the first occurrence
	Occurrence  int            `json:"occurrence,omitempty"`
	Organiser   string         `json:"organiser,omitempty"` // openid, or "cli"/API token name
	OrgName     string         `json:"organiser_name,omitempty"`
	Status      ActivityStatus `json:"status"`
	Created     time.Time      `json:"created"`
	Version     int            `json:"version"`
}

// Length is how long the activity lasts: the most hours one attendance can earn.
func (a *Activity) Length() time.Duration { return a.End.Sub(a.Start) }

// Overlaps reports whether two activities share any time.
func (a *Activity) Overlaps(b *Activity) bool {
	return a.Start.Before(b.End) && b.Start.Before(a.End)
}

// SignupState is where a person stands on an activity's list.
type SignupState string

const (
	SignupNone       SignupState = ""
	SignupConfirmed  SignupState = "confirmed"
	SignupWaitlisted SignupState = "waitlisted"
)

// SignupResult is the outcome of a sign-up the store accepted.
type SignupResult struct {
	State    SignupState
	Position int // place on the list (1-based): among the confirmed or in the waitlist
}

// CancelResult is the outcome of a cancellation the store accepted.
type CancelResult struct {
	Was      SignupState // what the person was before cancelling
	Late     bool        // cancelled inside the late window (counted)
	Promoted string      // openid of the waitlisted person who took the place, if any
}

// Roster is an activity's lists, in arrival order.
type Roster struct {
	Confirmed  []string `json:"confirmed"`
	Waitlisted []string `json:"waitlisted"`
	// LateCancels are people who cancelled inside the late window.
	LateCancels []string `json:"late_cancels,omitempty"`
}

// Attendance is one volunteer's check-in and check-out on one activity.
type Attendance struct {
	OpenID   string    `json:"openid"`
	In       time.Time `json:"in,omitzero"`
	Out      time.Time `json:"out,omitzero"`
	Minutes  int       `json:"minutes"`
	Credited bool      `json:"credited"`     // hours and points were added
	By       string    `json:"by,omitempty"` // who credited them: "code" or the organiser's openid (补签)
}

// Volunteer is a person's volunteer profile (志愿者登记). Party members and staff are
// volunteers too.
type Volunteer struct {
	OpenID       string    `json:"openid"`
	No           string    `json:"no"` // 志愿者编号, given at registration, what staff type
	Name         string    `json:"name"`
	Phone        string    `json:"phone,omitempty"`
	Community    string    `json:"community"`
	Skills       []string  `json:"skills,omitempty"`
	Availability string    `json:"availability,omitempty"`
	Joined       time.Time `json:"joined"`
	Left         bool      `json:"left,omitempty"`
}

// HasSkill reports whether the volunteer listed skill.
func (v *Volunteer) HasSkill(skill string) bool { return slices.Contains(v.Skills, skill) }

// VolunteerTotals are a volunteer's hours and points.
type VolunteerTotals struct {
	Minutes     int         `json:"minutes"`      // all time
	YearMinutes map[int]int `json:"year_minutes"` // by year of the activity (China time)
	Points      int         `json:"points"`       // balance
	Earned      int         `json:"earned"`       // all points ever earned
}

// LedgerEntry is one line of a volunteer's points timeline.
type LedgerEntry struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"` // earned, redeemed
	Minutes  int       `json:"minutes,omitempty"`
	Points   int       `json:"points"` // signed change
	Balance  int       `json:"balance"`
	Activity string    `json:"activity,omitempty"`
	Item     string    `json:"item,omitempty"`
	Actor    string    `json:"actor,omitempty"`
}

// Credit is what crediting an attendance added.
type Credit struct {
	Minutes int
	Points  int
}

// Activities is the activity and volunteer repository (store.Store implements it).
// The operations that decide who gets a place are single atomic steps in Redis, so
// they stay right with many people and many replicas at once.
type Activities interface {
	// CreateActivities stores new activities (the occurrences of one publication),
	// numbering them in order; the same key (the confirming Update or a CLI run)
	// never creates them twice.
	CreateActivities(ctx context.Context, as []*Activity, key string) ([]*Activity, error)
	Activity(ctx context.Context, no string) (*Activity, error)
	// UpdateActivity changes an activity with optimistic locking; fn's error changes
	// nothing.
	UpdateActivity(ctx context.Context, no string, fn func(a *Activity) error) (*Activity, error)
	// Upcoming lists activities ending after from, by start.
	Upcoming(ctx context.Context, from time.Time, limit int) ([]*Activity, error)
	// Between lists activities starting in [from, to), by start.
	Between(ctx context.Context, from, to time.Time) ([]*Activity, error)

	// SignUp puts openid on the activity's list: confirmed while places are left,
	// waitlisted after. It refuses (typed *Error) a missing, cancelled or started
	// activity, a second sign-up, and one that overlaps another of openid's.
	SignUp(ctx context.Context, a *Activity, openid string, now time.Time) (SignupResult, error)
	// CancelSignup takes openid off the list; a confirmed place goes to the first
	// waitlisted person. Inside lateWindow before the start it is counted as late.
	CancelSignup(ctx context.Context, a *Activity, openid string, now time.Time, lateWindow time.Duration) (CancelResult, error)
	Roster(ctx context.Context, no string) (Roster, error)
	// SignupsOf lists the activity numbers openid is on (either list), by start.
	SignupsOf(ctx context.Context, openid string) ([]string, error)
	// DropSignups removes everybody from a cancelled activity's lists in their own
	// indexes (the lists themselves stay, to tell them).
	DropSignups(ctx context.Context, a *Activity) error

	// CheckCode returns the activity's check-in code, making one valid until expires.
	CheckCode(ctx context.Context, no string, expires time.Time) (string, error)
	// CodeActivity finds the activity of a code ("" when no such code is valid).
	CodeActivity(ctx context.Context, code string) (string, error)
	CheckIn(ctx context.Context, a *Activity, openid string, now time.Time) error
	// CheckOut records the check-out and credits the hours (capped at the activity's
	// length) and points at pointsPerHour.
	CheckOut(ctx context.Context, a *Activity, openid string, now time.Time, pointsPerHour int) (Credit, error)
	// Adjust credits minutes to openid on an activity not yet credited (补签).
	Adjust(ctx context.Context, a *Activity, openid string, minutes int, actor string, now time.Time, pointsPerHour int) (Credit, error)
	Attendance(ctx context.Context, no string) ([]Attendance, error)

	SaveVolunteer(ctx context.Context, v Volunteer) (Volunteer, error)
	Volunteer(ctx context.Context, openid string) (Volunteer, error)
	VolunteerByNo(ctx context.Context, no string) (Volunteer, error)
	Totals(ctx context.Context, openid string) (VolunteerTotals, error)
	// Redeem takes points off a balance, never below zero, with a ledger line.
	RedeemPoints(ctx context.Context, openid string, points int, item, actor, community string, now time.Time) (LedgerEntry, error)
	Ledger(ctx context.Context, openid string) ([]LedgerEntry, error)
	// CountActivity adds to the community's report counters.
	CountActivity(ctx context.Context, community string, at time.Time, d map[Counter]int64) error
}

// Report counters of the volunteer flow.
const (
	CountActivities     Counter = "volunteer.activities"
	CountSignups        Counter = "volunteer.signups"
	CountLateCancels    Counter = "volunteer.late_cancels"
	CountCheckins       Counter = "volunteer.checkins"
	CountMinutes        Counter = "volunteer.minutes"
	CountPoints         Counter = "volunteer.points"
	CountPointsRedeemed Counter = "volunteer.points_redeemed"
)
