package bot

import "time"

// Day is the day a report figure belongs to, in China time: "2026-11-30". Every
// counter is kept per month (Period) and per day, so that a report over any range of
// dates reads whole months where it can and days only at its ragged ends.
func Day(t time.Time) string { return t.In(chinaTime).Format(time.DateOnly) }

// ChinaTime is the time zone report periods are cut in.
func ChinaTime() *time.Location { return chinaTime }

// StatsBucket names one hash of report counters: a community and a period, either a
// month ("2026-11") or a day ("2026-11-30").
type StatsBucket struct {
	Community string
	Period    string
}
