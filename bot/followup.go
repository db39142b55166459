package bot

import (
	"context"
	"strings"
	"time"
)

// Catalogue keys of a resident's free message on their case.
var msgPushFollowUp = Msg("followup.push") // to the handler or desk: what the resident wrote

// openCaseScan bounds how many of a resident's newest tickets OpenCase reads.
const openCaseScan = 20

// OpenCase is the case a resident's free message belongs to: their most recent
// ticket still open, or closed no longer than within ago. ok is false when there is
// none.
func (s *TicketService) OpenCase(ctx context.Context, a Actor, at time.Time, within time.Duration) (t *Ticket, ok bool, err error) {
	ts, err := s.Mine(ctx, a, openCaseScan)
	if err != nil {
		return nil, false, err
	}
	for _, t := range ts {
		if t.Open() || (t.Status == StatusClosed && !t.Closed.IsZero() && at.Sub(t.Closed) <= within) {
			return t, true, nil
		}
	}
	return nil, false, nil
}

// FollowUp puts what a resident wrote outside any command on their case no: a
// timeline line (photos on the ticket too), and a push to whoever has the ticket,
// or to the desk (on duty first) when nobody has claimed it. Unlike AddInfo it also
// takes a case closed a short while ago: 「谢谢，不过还是不亮」 must reach someone.
func (s *TicketService) FollowUp(ctx context.Context, a Actor, at time.Time, no, text string, photos []string) (*Ticket, error) {
	if len([]rune(text)) > MaxTicketText {
		return nil, UserError(EInvalid, msgBadDescriptionLen, map[string]int{"Max": MaxTicketText})
	}
	before, t, err := s.update(ctx, a, at, no, EventAdded, maySee, func(t *Ticket) ([]Event, error) {
		t.Photos = append(t.Photos, photos...)
		body := strings.Join(append([]string{text}, photos...), "\n")
		return []Event{s.event(a, at, t, EventAdded, strings.TrimSpace(body))}, nil
	})
	if err != nil {
		return nil, err
	}
	to, err := s.handlerOrDesk(ctx, t)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{"Added": text, "AddedPhotos": len(photos), "Closed": !t.Open()}
	if err := s.tellStaff(ctx, t, to, EventAdded, msgPushFollowUp, extra); err != nil {
		return nil, err
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventAdded, Actor: a, At: at})
}
