package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Catalogue keys of a resident's free message on their case.
var (
	msgPushFollowUp      = Msg("followup.push")       // to the handler or desk: what the resident wrote
	msgPushFollowUpMedia = Msg("followup.push_media") // the photo or voice itself, or (template) that one came
	msgFollowUpVoice     = Msg("followup.voice")      // the timeline's line for a voice message with no words
)

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

// Said is what a resident sent outside any command: words (typed, or a voice
// message's recognition), a photo, or a voice message with no words recognised.
type Said struct {
	Text string
	// Photo is the picture's URL, kept on the ticket; PhotoMedia is the platform's
	// media id of it, to send the picture on as an image.
	Photo, PhotoMedia string
	// Voice is the media id of a voice message, sent on as it is when there are no
	// words.
	Voice string
}

// FollowUp puts what a resident sent outside any command on their case no: a
// timeline line (photos on the ticket too), and a push to whoever has the ticket,
// or to the desk (on duty first) when nobody has claimed it. A photo or a voice
// message is sent on after the alert as it is, so that the handler sees the picture
// (hears the voice) rather than a link. Unlike AddInfo it also takes a case closed a
// short while ago: 「谢谢，不过还是不亮」 must reach someone.
func (s *TicketService) FollowUp(ctx context.Context, a Actor, at time.Time, no string, m Said) (*Ticket, error) {
	if len([]rune(m.Text)) > MaxTicketText {
		return nil, UserError(EInvalid, msgBadDescriptionLen, map[string]int{"Max": MaxTicketText})
	}
	var photos []string
	if m.Photo != "" {
		photos = []string{m.Photo}
	}
	voiceOnly := m.Voice != "" && m.Text == ""
	before, t, err := s.update(ctx, a, at, no, EventAdded, maySee, func(t *Ticket) ([]Event, error) {
		body := strings.TrimSpace(strings.Join(append([]string{m.Text}, photos...), "\n"))
		said := body // what a repetition is told by: a voice message by its media
		if voiceOnly {
			body = s.Catalog.T(msgFollowUpVoice, nil)
			said = body + "\n" + m.Voice
		}
		if !markAdded(t, a, at, said) {
			return nil, errAddedAlready
		}
		t.Photos = append(t.Photos, photos...)
		if voiceOnly {
			t.Voices = append(t.Voices, VoiceRef(m.Voice))
		}
		return []Event{s.event(a, at, t, EventAdded, body)}, nil
	})
	t, repeat, goOn, err := s.addition(ctx, no, t, err)
	if err != nil || !goOn {
		return t, err
	}
	to, err := s.handlerOrDesk(ctx, t)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{"Added": m.Text, "AddedPhotos": len(photos), "Voice": m.Voice != "" && m.Text == "", "Closed": !t.Open()}
	if err := s.tellStaff(ctx, t, to, EventAdded, msgPushFollowUp, extra); err != nil {
		return nil, err
	}
	if err := s.sendOn(ctx, t, to, m); err != nil {
		return nil, err
	}
	if repeat {
		return t, nil
	}
	return t, s.changed(ctx, TicketChange{Before: before, After: t, Event: EventAdded, Actor: a, At: at})
}

// sendOn sends a resident's photo or voice message on to each of to, after the
// alert that says whose it is. When the recipient's 48-hour window is closed it goes
// as a template saying what came, since a template carries no media.
func (s *TicketService) sendOn(ctx context.Context, t *Ticket, to []Grant, m Said) error {
	if m.PhotoMedia == "" && (m.Voice == "" || m.Text != "") {
		return nil
	}
	view := s.StaffView(t, map[string]any{"Photo": m.PhotoMedia != ""}) // a push: masked
	text := s.Catalog.T(msgPushFollowUpMedia, view)
	for _, g := range to {
		p := Push{
			ID: TicketPushID(t.No, t.Version, EventAdded, g.OpenID) + ":media", To: g.OpenID, Kind: PushTicketAlert, Text: text,
			Fields: map[string]string{"no": t.No, "category": fmt.Sprint(view["Category"]), "text": text},
			Ref:    t.No, Community: t.Community, Urgent: t.Urgency == UrgencyHigh,
		}
		if m.PhotoMedia != "" {
			p.Image = m.PhotoMedia
		} else {
			p.Voice = m.Voice
		}
		if err := s.Pusher.Push(ctx, p); err != nil {
			return err
		}
	}
	return nil
}
