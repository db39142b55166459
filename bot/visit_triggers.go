package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The triggers of visit tasks other than the secretary's own: tickets (hardship,
// illness), staff flags, transfers in, and the 五包 pairings' monthly tasks.

// TicketVisit makes the visit a ticket calls for, if any: a ticket of a hardship
// category makes a hardship visit, one of an illness category an illness visit.
// It is what the ticket service's change hook calls for new tickets; the event is
// the ticket, so a retried hook makes no second task.
func (s *VisitService) TicketVisit(ctx context.Context, at time.Time, t *Ticket) (*Visit, error) {
	switch {
	case slices.Contains(s.Config.HardshipCategories, t.Category):
		v, _, err := s.FlagTicket(ctx, SystemActor, at, t, VisitHardship)
		return v, err
	case slices.Contains(s.Config.IllnessCategories, t.Category):
		v, _, err := s.FlagTicket(ctx, SystemActor, at, t, VisitIllness)
		return v, err
	}
	return nil, nil
}

// FlagTicket makes a visit for a ticket's resident: staff's 标记困难 (hardship),
// 病访 (illness) or 逝访 (bereavement) on a ticket. One ticket makes one task of
// each trigger however often it is flagged.
func (s *VisitService) FlagTicket(ctx context.Context, actor Actor, at time.Time, t *Ticket, kind VisitKind) (*Visit, bool, error) {
	trigger := TriggerHardship
	if kind == VisitIllness || kind == VisitBereavement {
		trigger = TriggerIllness
	}
	return s.Create(ctx, actor, at, NewVisit{
		Community: t.Community, Trigger: trigger, Kind: kind,
		Event:  "ticket:" + t.No + ":" + string(trigger),
		Person: Person{Name: t.Name, Phone: t.Phone, OpenID: t.OpenID, Address: s.address(ctx, t.OpenID)},
		Reason: t.Description, Ticket: t.No,
	})
}

// address is the address a resident gave in their profile, if any.
func (s *VisitService) address(ctx context.Context, openid string) string {
	if s.Profiles == nil || openid == "" {
		return ""
	}
	p, err := s.Profiles.Profile(ctx, openid)
	if err != nil {
		return ""
	}
	return p.Address
}

// FlagPerson makes an illness or bereavement visit for a person staff name in chat
// (病访 / 逝访 <name> <address>). The event is the person on that day, so the same
// report twice makes one task.
func (s *VisitService) FlagPerson(ctx context.Context, actor Actor, at time.Time, community string, kind VisitKind, p Person, reason string) (*Visit, bool, error) {
	return s.Create(ctx, actor, at, NewVisit{
		Community: community, Trigger: TriggerIllness, Kind: kind,
		Event:  "person:" + community + ":" + string(kind) + ":" + strings.TrimSpace(p.Name) + ":" + startOfDay(at).Format("20060102"),
		Person: p, Reason: reason,
	})
}

// TransferIn makes the visit to a party member newly transferred into the branch
// (转入). The event is the newcomer's name in the branch: typing it twice, or the
// command line and chat both, makes one task.
func (s *VisitService) TransferIn(ctx context.Context, actor Actor, at time.Time, community, name, address string) (*Visit, bool, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, false, UserError(EInvalid, MsgVisitNeedsName, nil)
	}
	return s.Create(ctx, actor, at, NewVisit{
		Community: community, Trigger: TriggerTransferIn, Kind: VisitTransferIn,
		Event:  "transfer:" + community + ":" + name,
		Person: Person{Name: name, Address: address},
	})
}

// MsgVisitNeedsName answers a 转入 without a name.
var MsgVisitNeedsName = Msg("visit.needs_name")

// Pair starts a 五包 pairing of a branch member with a person (结对), and makes its
// first visit task at once; the next ones come every Every months.
func (s *VisitService) Pair(ctx context.Context, actor Actor, at time.Time, community, member string, kind VisitKind, person Person) (*Pairing, *Visit, error) {
	if !may(actor, RoleSecretary, community) {
		return nil, nil, UserError(EForbidden, MsgVisitNoBranch, nil)
	}
	if !kind.IsPairKind() {
		return nil, nil, UserError(EInvalid, MsgPairBadKind, nil)
	}
	if strings.TrimSpace(person.Name) == "" {
		return nil, nil, UserError(EInvalid, MsgVisitNeedsName, nil)
	}
	g, err := s.Member(ctx, community, member)
	if err != nil {
		return nil, nil, err
	}
	every := s.Config.PairingEvery[string(kind)]
	if every <= 0 {
		every = 1
	}
	p, err := s.Visits.CreatePairing(ctx, &Pairing{Community: community, Member: g.OpenID, MemberName: g.Name,
		Kind: kind, Person: person, Every: every, Started: at})
	if err != nil {
		return nil, nil, err
	}
	v, err := s.pairingTask(ctx, at, p, Period(at))
	if err != nil {
		return p, nil, err
	}
	return p, v, s.schedulePairing(ctx, p, at)
}

// EndPairing ends a pairing: no more tasks. Its open tasks stay as they are.
func (s *VisitService) EndPairing(ctx context.Context, actor Actor, at time.Time, id string) (*Pairing, error) {
	p, err := s.Visits.Pairing(ctx, id)
	if ErrorCode(err) == ENotFound || (err == nil && !may(actor, RoleSecretary, p.Community)) {
		return nil, UserError(ENotFound, MsgPairNotFound, map[string]string{"ID": id})
	}
	if err != nil {
		return nil, err
	}
	p, err = s.Visits.EndPairing(ctx, id, at)
	if err != nil {
		return nil, err
	}
	return p, s.Reminders.Cancel(ctx, PairingReminderID(id))
}

// MsgPairNotFound answers a pairing that does not exist or is not the actor's.
var MsgPairNotFound = Msg("pair.not_found")

type duePairing struct {
	ID     string `json:"id"`
	Period string `json:"period"`
}

// periodStart is when a month's pairing task is made: its first working day at the
// reminder hour.
func (s *VisitService) periodStart(period string) time.Time {
	t, _ := time.ParseInLocation("2006-01", period, chinaTime)
	d := t
	for i := 0; i < 31 && !s.Calendar.IsWorkday(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return s.remindAt(d)
}

func (s *VisitService) schedulePairing(ctx context.Context, p *Pairing, from time.Time) error {
	t, _ := time.ParseInLocation("2006-01", Period(from), chinaTime)
	next := Period(t.AddDate(0, p.Every, 0))
	payload, _ := json.Marshal(duePairing{ID: p.ID, Period: next})
	return s.Reminders.Schedule(ctx, Reminder{ID: PairingReminderID(p.ID), Kind: ReminderPairing, Due: s.periodStart(next), Payload: payload})
}

// FirePairing makes a pairing's task of the month that has come, and schedules the
// next. The due set fires it on one replica; the event (pairing and month) makes
// one task even if it fired twice.
func (s *VisitService) FirePairing(ctx context.Context, at time.Time, r Reminder) error {
	var d duePairing
	if err := json.Unmarshal(r.Payload, &d); err != nil {
		return fmt.Errorf("pairing payload: %w", err)
	}
	p, err := s.Visits.Pairing(ctx, d.ID)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !p.Active() {
		return nil
	}
	if _, err := s.pairingTask(ctx, at, p, d.Period); err != nil {
		return err
	}
	t, _ := time.ParseInLocation("2006-01", d.Period, chinaTime)
	return s.schedulePairing(ctx, p, t)
}

func (s *VisitService) pairingTask(ctx context.Context, at time.Time, p *Pairing, period string) (*Visit, error) {
	v, _, err := s.Create(ctx, SystemActor, at, NewVisit{
		Community: p.Community, Trigger: TriggerPairing, Kind: p.Kind,
		Event:  "pairing:" + p.ID + ":" + period,
		Person: p.Person, Pairing: p.ID, Period: period,
		Assignee: Grant{OpenID: p.Member, Name: p.MemberName, Role: RoleParty, Community: p.Community},
	})
	return v, err
}

// PairingsOf lists a branch's pairings for its secretary.
func (s *VisitService) PairingsOf(ctx context.Context, actor Actor, community string) ([]*Pairing, error) {
	if !may(actor, RoleSecretary, community) {
		return nil, UserError(EForbidden, MsgVisitNoBranch, nil)
	}
	return s.Visits.Pairings(ctx, community)
}
