package handlers

import (
	"context"
	"fmt"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

var msgDigest = bot.Msg("push.digest")

// DailyDigest tells each staff member, on working days, what waits on their desk:
// the open requests of their community and how many are overdue. It runs once a
// morning on the scheduler's leader; the push IDs carry the date, so a second run
// that day sends nothing twice.
func (d *Deps) DailyDigest(ctx context.Context) error {
	r := d.system()
	if !d.Calendar.IsWorkday(r.Now) {
		return nil
	}
	day := r.Now.In(calendar.Location()).Format("2006-01-02")
	for _, c := range d.Communities {
		queue, err := d.Tickets.Queue(ctx, c.Code, 1000)
		if err != nil {
			return err
		}
		if len(queue) == 0 {
			continue
		}
		overdue, unclaimed := 0, 0
		for _, t := range queue {
			if d.colour(t, r.Now) == msgColourRed {
				overdue++
			}
			if t.Handler == "" {
				unclaimed++
			}
		}
		staff, err := d.staffOf(ctx, c.Code)
		if err != nil {
			return err
		}
		text := r.T(msgDigest, map[string]any{"Community": c.Name, "Open": len(queue), "Overdue": overdue, "Unclaimed": unclaimed})
		for _, g := range staff {
			err := d.push(ctx, bot.Push{ID: fmt.Sprintf("digest:%s:%s:%s", day, c.Code, g.OpenID), To: g.OpenID,
				Kind: pushTicketAlert, Text: text, Fields: map[string]string{"text": text}, Community: c.Code})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
