package sim

import (
	"fmt"
	"sync"
	"time"
)

// Clock is the demo's clock: real time plus an offset that only grows, so that a
// demo can jump to tomorrow morning and see what the bot does then. It implements
// bot.Clock.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock starts at the real time.
func NewClock() *Clock { return &Clock{} }

// Now is the real time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Offset is how far the clock is ahead of real time.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Advance moves the clock d forward and returns the new time. Time never goes back:
// deadlines, reminders and dedupe keys all assume it.
func (c *Clock) Advance(d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("sim: the clock only moves forward, not by %v", d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return time.Now().Add(c.offset), nil
}

// AdvanceTo moves the clock forward to t.
func (c *Clock) AdvanceTo(t time.Time) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if d := t.Sub(now.Add(c.offset)); d < 0 {
		return time.Time{}, fmt.Errorf("sim: the clock only moves forward, not back to %s", t.Format(time.DateTime))
	}
	c.offset = t.Sub(now)
	return now.Add(c.offset), nil
}
