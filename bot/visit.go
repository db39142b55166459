package bot

import (
	"context"
	"time"
)

// Party-member tasks (党员任务): visit tasks of the 三必访 (three must-visits) and the
// 五包 pairings, and the yearly 四个一 items. The branch (党支部) is the community.

// RoleInstructor is a 处级干部 assigned to a community as instructor (指导员): they
// report their own four items (四个一) in the community.
const RoleInstructor Role = "instructor"

// VisitTrigger is what made a visit task: the three must-visits and the 五包 pairing.
// The report counters are named after it.
type VisitTrigger string

const (
	TriggerTransferIn VisitTrigger = "transfer_in" // 党员新转入社区必访
	TriggerHardship   VisitTrigger = "hardship"    // 群众有困难必访
	TriggerIllness    VisitTrigger = "illness"     // 居民病（逝）必访
	TriggerPairing    VisitTrigger = "pairing"     // 五包 monthly visit
)

// Triggers lists every trigger, in the order reports show them.
var Triggers = []VisitTrigger{TriggerTransferIn, TriggerHardship, TriggerIllness, TriggerPairing}

// VisitKind says what a visit is: the trigger's kind, finer where the trigger has
// several (illness or bereavement; the five kinds of 五包 person).
type VisitKind string

const (
	VisitTransferIn  VisitKind = "transfer_in"
	VisitHardship    VisitKind = "hardship"
	VisitIllness     VisitKind = "illness"     // 病访
	VisitBereavement VisitKind = "bereavement" // 逝访
	// 五包 kinds.
	PairHardshipMember VisitKind = "hardship_member" // 特困党员户
	PairReleased       VisitKind = "released"        // 两劳释放人员
	PairElderly        VisitKind = "elderly_alone"   // 孤寡老人
	PairLaidOff        VisitKind = "laid_off"        // 下岗职工
	PairDisabled       VisitKind = "disabled"        // 残疾人
)

// PairKinds are the five kinds of person a member may be paired with, by the name
// people use for them.
var PairKinds = map[string]VisitKind{
	"特困党员户":  PairHardshipMember,
	"两劳释放人员": PairReleased,
	"孤寡老人":   PairElderly,
	"下岗职工":   PairLaidOff,
	"残疾人":    PairDisabled,
}

// IsPairKind reports whether k is one of the five 五包 kinds.
func (k VisitKind) IsPairKind() bool {
	for _, v := range PairKinds {
		if v == k {
			return true
		}
	}
	return false
}

// VisitStatus is where a visit task is.
type VisitStatus string

const (
	VisitNew      VisitStatus = "new"      // 待指派: waiting for an assignee
	VisitAssigned VisitStatus = "assigned" // 待走访
	VisitDone     VisitStatus = "done"     // 已完成
	VisitEnded    VisitStatus = "ended"    // 已撤销: its pairing ended before it was done
)

// Person is who a visit is for. Name, address and phone are shown only to the
// assignee and the branch secretary.
type Person struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Phone   string `json:"phone,omitempty"`
	OpenID  string `json:"openid,omitempty"` // a resident who follows the account
}

// Visit is one visit task (走访任务).
type Visit struct {
	No        string       `json:"no"` // short digits, like ticket numbers
	Community string       `json:"community"`
	Trigger   VisitTrigger `json:"trigger"`
	Kind      VisitKind    `json:"kind"`
	// Event identifies what made the task: one event makes one task, also when the
	// trigger arrives twice (a retried command, a ticket both of the hardship
	// category and flagged 标记困难).
	Event  string `json:"event"`
	Person Person `json:"person"`
	// Reason is why the visit is due; for a hardship it holds the hardship's details,
	// which only the assignee and the secretary see, never a push.
	Reason  string `json:"reason,omitempty"`
	Ticket  string `json:"ticket,omitempty"`  // the linked ticket
	Pairing string `json:"pairing,omitempty"` // the 五包 pairing it belongs to
	Period  string `json:"period,omitempty"`  // the pairing's month, "2026-11"

	Status       VisitStatus `json:"status"`
	Assignee     string      `json:"assignee,omitempty"` // openid of the party member
	AssigneeName string      `json:"assignee_name,omitempty"`
	Created      time.Time   `json:"created"`
	Assigned     time.Time   `json:"assigned,omitzero"`
	Deadline     time.Time   `json:"deadline"`
	Done         time.Time   `json:"done,omitzero"`
	Report       string      `json:"report,omitempty"`
	Photos       []string    `json:"photos,omitempty"`
	// Overdue is set when the deadline passed with the task open; it stays set.
	Overdue bool `json:"overdue,omitempty"`
	// A reschedule (改期) the assignee asked for, waiting for the secretary.
	Proposed       time.Time `json:"proposed,omitzero"`
	ProposedReason string    `json:"proposed_reason,omitempty"`
	Version        int       `json:"version"`
	// Erased is when the retention blanked the person visited, the reason and the
	// report; zero while the task holds them.
	Erased time.Time `json:"erased,omitzero"`
}

// Open reports whether the task still waits to be done.
func (v *Visit) Open() bool { return v.Status == VisitNew || v.Status == VisitAssigned }

// Ended is when a task stopped waiting: done, or, for one ended with its pairing,
// its deadline. Zero while it is open.
func (v *Visit) Ended() time.Time {
	switch {
	case v.Open():
		return time.Time{}
	case !v.Done.IsZero():
		return v.Done
	}
	return v.Deadline
}

// VisitEvent is one line of a visit task's timeline.
type VisitEvent struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"` // openid, "system", or "cli"
	Name  string    `json:"name,omitempty"`
	Kind  string    `json:"kind"` // created, assigned, reminded, overdue, nudged, done, reschedule_asked, rescheduled, reschedule_refused, returned, ended
	Text  string    `json:"text,omitempty"`
}

// Pairing is a 五包 pairing: a party member looks after one person, with a visit
// task every Every months until the pairing ends.
type Pairing struct {
	ID         string    `json:"id"`
	Community  string    `json:"community"`
	Member     string    `json:"member"` // openid
	MemberName string    `json:"member_name,omitempty"`
	Kind       VisitKind `json:"kind"`
	Person     Person    `json:"person"`
	Every      int       `json:"every"` // months between visits
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended,omitzero"`
}

// Active reports whether the pairing still makes tasks.
func (p *Pairing) Active() bool { return p.Ended.IsZero() }

// FourOneItem is one of the four yearly items (四个一).
type FourOneItem string

const (
	FourGoodDeed FourOneItem = "good_deed" // 做一件好事 (instructors: 办一件实事好事)
	FourLabour   FourOneItem = "labour"    // 参加一次义务劳动 (instructors: 参加一次社区公益活动)
	FourInfo     FourOneItem = "info"      // 向党支部反映一条信息 (instructors: 反映一条民意)
	FourProposal FourOneItem = "proposal"  // 提一条合理化建议
)

// FourOneItems lists the four items in the order they are shown.
var FourOneItems = []FourOneItem{FourGoodDeed, FourLabour, FourInfo, FourProposal}

// FourOneEntry is one item a member reported.
type FourOneEntry struct {
	ID     string      `json:"id"` // what reported it (the Update), so a retry adds nothing
	OpenID string      `json:"openid"`
	Name   string      `json:"name,omitempty"`
	Item   FourOneItem `json:"item"`
	Text   string      `json:"text"`
	Ticket string      `json:"ticket,omitempty"` // the ticket an info or proposal became
	At     time.Time   `json:"at"`
}

// Visits is the repository of visit tasks, pairings and 四个一 entries.
type Visits interface {
	// CreateVisit stores a new task, numbering it, unless a task was already made
	// for v.Event: then it returns that one with created false.
	CreateVisit(ctx context.Context, v *Visit, ev VisitEvent) (out *Visit, created bool, err error)
	Visit(ctx context.Context, no string) (*Visit, error)
	// UpdateVisit changes a task atomically: fn gets the current task and returns
	// the events to add; an error from fn changes nothing.
	UpdateVisit(ctx context.Context, no string, fn func(v *Visit) ([]VisitEvent, error)) (*Visit, error)
	VisitTimeline(ctx context.Context, no string) ([]VisitEvent, error)
	// MemberVisits lists the tasks ever assigned to a member; BranchVisits a
	// community's tasks; both by deadline.
	MemberVisits(ctx context.Context, openid string) ([]*Visit, error)
	BranchVisits(ctx context.Context, community string) ([]*Visit, error)
	AllVisits(ctx context.Context) ([]*Visit, error)

	CreatePairing(ctx context.Context, p *Pairing) (*Pairing, error)
	Pairing(ctx context.Context, id string) (*Pairing, error)
	EndPairing(ctx context.Context, id string, at time.Time) (*Pairing, error)
	Pairings(ctx context.Context, community string) ([]*Pairing, error)

	// AddFourOne records an entry once per e.ID; added is false for a repeat.
	AddFourOne(ctx context.Context, community string, e FourOneEntry) (added bool, err error)
	// FourOne lists a member's entries of a year.
	FourOne(ctx context.Context, openid string, year int) ([]FourOneEntry, error)
}

// The catalogue keys named after kinds, statuses and items are declared here, so
// that start-up checks them like any other.
var _ = func() bool {
	for _, k := range []VisitKind{VisitTransferIn, VisitHardship, VisitIllness, VisitBereavement,
		PairHardshipMember, PairReleased, PairElderly, PairLaidOff, PairDisabled} {
		Msg("visit.kind." + string(k))
	}
	for _, st := range []VisitStatus{VisitNew, VisitAssigned, VisitDone, VisitEnded} {
		Msg("visit.status." + string(st))
	}
	for _, it := range FourOneItems {
		Msg("fourone.item.member." + string(it))
		Msg("fourone.item.instructor." + string(it))
		Words("words.fourone." + string(it))
	}
	return true
}()

// Year is the year a 四个一 entry counts for, in China time.
func Year(t time.Time) int { return t.In(chinaTime).Year() }

// Report counters of visits (monthly hash per community).
func CounterVisitCreated(t VisitTrigger) Counter { return Counter("visit.created:" + string(t)) }
func CounterVisitDone(t VisitTrigger) Counter    { return Counter("visit.done:" + string(t)) }
func CounterVisitInTime(t VisitTrigger) Counter  { return Counter("visit.done_in_time:" + string(t)) }
func CounterVisitOverdue(t VisitTrigger) Counter { return Counter("visit.overdue:" + string(t)) }
func CounterFourOne(item FourOneItem) Counter    { return Counter("fourone:" + string(item)) }

// VisitStatDeltas says how a change of a task moves the report counters of its
// community; before is nil for a new task.
func VisitStatDeltas(before, after *Visit) map[Counter]int64 {
	d := map[Counter]int64{}
	if before == nil {
		d[CounterVisitCreated(after.Trigger)]++
		return d
	}
	if before.Status != VisitDone && after.Status == VisitDone {
		d[CounterVisitDone(after.Trigger)]++
		if !after.Done.After(after.Deadline) && !after.Overdue {
			d[CounterVisitInTime(after.Trigger)]++
		}
	}
	if !before.Overdue && after.Overdue {
		d[CounterVisitOverdue(after.Trigger)]++
	}
	return d
}
