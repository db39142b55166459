package configs

import (
	"fmt"
	"time"

	"minyuan/bot"
)

// Volunteers is how the volunteer flow (志愿服务) works.
type Volunteers struct {
	// EveningReminder is the time of day ("18:00") of the reminder sent the day
	// before an activity.
	EveningReminder string `yaml:"evening_reminder"`
	// SoonReminder is how long before the start the second reminder goes.
	SoonReminder time.Duration `yaml:"soon_reminder"`
	// LateCancel: a cancellation this close to the start is allowed but counted, and
	// staff see it.
	LateCancel time.Duration `yaml:"late_cancel"`
	// PointsPerHour is how many 爱心积分 an hour of service earns.
	PointsPerHour int `yaml:"points_per_hour"`
	// CheckInOpens is how long before the start check-in codes work.
	CheckInOpens time.Duration `yaml:"check_in_opens"`
	// MissingCheckouts is the time of day ("08:30"), the morning after an activity,
	// when its organiser is sent who checked in but never checked out.
	MissingCheckouts string `yaml:"missing_checkouts"`
	// Skills volunteers may list, and activities may ask for.
	Skills []string `yaml:"skills"`
}

// DefaultVolunteers are the defaults of the volunteers: section.
func DefaultVolunteers() Volunteers {
	return Volunteers{EveningReminder: "18:00", SoonReminder: 2 * time.Hour, LateCancel: 24 * time.Hour,
		PointsPerHour: 10, CheckInOpens: 30 * time.Minute, MissingCheckouts: "08:30",
		Skills: []string{"巡逻", "医护", "维修", "心理疏导", "文艺", "教育辅导", "法律", "摄影"}}
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (v Volunteers) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: volunteers.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, err := clock(v.EveningReminder); err != nil {
		bad("evening_reminder", "%v", err)
	}
	if _, err := clock(v.MissingCheckouts); err != nil {
		bad("missing_checkouts", "%v", err)
	}
	if v.SoonReminder <= 0 {
		bad("soon_reminder", "must be positive")
	}
	if v.LateCancel < 0 {
		bad("late_cancel", "must not be negative")
	}
	if v.PointsPerHour < 0 {
		bad("points_per_hour", "must not be negative")
	}
	if v.CheckInOpens < 0 {
		bad("check_in_opens", "must not be negative")
	}
	return errs
}

// Service is the configuration as the volunteer service takes it (after Validate).
func (v Volunteers) Service() bot.VolunteerConfig {
	eve, _ := clock(v.EveningReminder)
	miss, _ := clock(v.MissingCheckouts)
	return bot.VolunteerConfig{EveningAt: eve, SoonBefore: v.SoonReminder, LateCancel: v.LateCancel,
		PointsPerHour: v.PointsPerHour, CodeOpens: v.CheckInOpens, MissingAt: miss, Skills: v.Skills}
}
