package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"minyuan/bot"
)

// Deadlines (督办) are the ticket service's: it schedules each ticket's reminders
// and decides what a reminder that comes due does. The scheduler only translates a
// due reminder into the service's call, as the system, at the clock's time.

var colourNames = map[bot.Colour]bot.MsgKey{
	bot.ColourGreen:  bot.Msg("colour.green"),
	bot.ColourYellow: bot.Msg("colour.yellow"),
	bot.ColourRed:    bot.Msg("colour.red"),
}

// ReminderHandlers are the due-set kinds of tickets, for the scheduler.
func ReminderHandlers(tickets *bot.TicketService, clock bot.Clock) map[string]func(ctx context.Context, r bot.Reminder) error {
	due := func(rem bot.Reminder) (bot.DeadlineDue, error) {
		var p bot.DeadlineDue
		if err := json.Unmarshal(rem.Payload, &p); err != nil {
			return p, bot.Errorf(bot.EInvalid, "%s payload: %v", rem.Kind, err)
		}
		if p.No == "" {
			return p, bot.Errorf(bot.EInvalid, "%s payload: no ticket", rem.Kind)
		}
		return p, nil
	}
	return map[string]func(context.Context, bot.Reminder) error{
		bot.ReminderDeadline: func(ctx context.Context, rem bot.Reminder) error {
			p, err := due(rem)
			if err != nil {
				return err
			}
			return tickets.Warn(ctx, bot.SystemActor, clock.Now(), p)
		},
		bot.ReminderAutoAssign: func(ctx context.Context, rem bot.Reminder) error {
			p, err := due(rem)
			if err != nil {
				return fmt.Errorf("auto-assign: %w", err)
			}
			return tickets.AutoAssign(ctx, bot.SystemActor, clock.Now(), p.No)
		},
	}
}
