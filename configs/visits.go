package configs

import (
	"time"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

// Visits tunes party members' tasks (三必访, 五包, 四个一).
type Visits struct {
	// AutoAssignAfter: a task the secretary has not assigned (指派) within this time
	// goes round-robin to the branch member with the fewest open tasks; 0s assigns at
	// once (environment MINYUAN_VISITS_AUTO_ASSIGN_AFTER).
	AutoAssignAfter time.Duration `yaml:"auto_assign_after"`
	// Deadlines in working days, by kind of visit (transfer_in, hardship, illness,
	// bereavement, pairing, or one 五包 kind: hardship_member, released,
	// elderly_alone, laid_off, disabled).
	Deadlines map[string]int `yaml:"deadlines"`
	// PairingEvery: months between two visits of a 五包 pairing, by kind (default 1).
	PairingEvery map[string]int `yaml:"pairing_every"`
	// Ticket categories whose new tickets make a visit: hardship (群众有困难必访) and
	// illness or bereavement (居民病（逝）必访).
	HardshipCategories []string `yaml:"hardship_categories"`
	IllnessCategories  []string `yaml:"illness_categories"`
	// FourOneCategories: the ticket category an 信息 (info) or 建议 (proposal) item
	// becomes.
	FourOneCategories map[string]string `yaml:"fourone_categories"`
	// RemindAt is when task reminders go out on their working day.
	RemindAt calendar.Clock `yaml:"remind_at"`
	// NovemberDay is the day of November members missing 四个一 items are reminded
	// (moved to the next working day).
	NovemberDay int `yaml:"november_day"`
}

// DefaultVisits are the visit defaults.
func DefaultVisits() Visits {
	return Visits{
		AutoAssignAfter: 4 * time.Hour,
		Deadlines: map[string]int{
			"transfer_in": 5, "hardship": 3, "illness": 2, "bereavement": 2, "pairing": 10,
		},
		PairingEvery:       map[string]int{},
		HardshipCategories: []string{"hardship"},
		IllnessCategories:  []string{"care"},
		FourOneCategories:  map[string]string{"info": "other", "proposal": "suggestion"},
		RemindAt:           calendar.MustClock("09:00"),
		NovemberDay:        1,
	}
}

// validate checks the visits section against the categories.
func (v *Visits) validate(c *Config, bad func(key, format string, args ...any)) {
	if v.AutoAssignAfter < 0 {
		bad("visits.auto_assign_after", "must be 0s (at once) or positive")
	}
	kinds := map[string]bool{"transfer_in": true, "hardship": true, "illness": true, "bereavement": true, "pairing": true}
	for _, k := range bot.PairKinds {
		kinds[string(k)] = true
	}
	for k, n := range v.Deadlines {
		if !kinds[k] || n < 0 {
			bad("visits.deadlines."+k, "a kind of visit with 0 or more working days")
		}
	}
	for k, n := range v.PairingEvery {
		if !bot.VisitKind(k).IsPairKind() || n < 1 {
			bad("visits.pairing_every."+k, "a 五包 kind with 1 or more months")
		}
	}
	cats := map[string]bool{}
	for _, cat := range c.Categories {
		cats[cat.Code] = true
	}
	for _, list := range [][]string{v.HardshipCategories, v.IllnessCategories} {
		for _, code := range list {
			if !cats[code] {
				bad("visits", "category %q is not in categories", code)
			}
		}
	}
	for item, code := range v.FourOneCategories {
		if (item != string(bot.FourInfo) && item != string(bot.FourProposal)) || !cats[code] {
			bad("visits.fourone_categories."+item, "info or proposal, to a category in categories (got %q)", code)
		}
	}
	if !v.RemindAt.Valid() {
		bad("visits.remind_at", "a time of day like 09:00")
	}
	if v.NovemberDay < 1 || v.NovemberDay > 30 {
		bad("visits.november_day", "1 to 30")
	}
}

// VisitConfig is the section as the visit service takes it.
func (v Visits) VisitConfig() bot.VisitConfig {
	fo := map[bot.FourOneItem]string{}
	for k, c := range v.FourOneCategories {
		fo[bot.FourOneItem(k)] = c
	}
	return bot.VisitConfig{
		AutoAssignAfter: v.AutoAssignAfter, Deadlines: v.Deadlines, PairingEvery: v.PairingEvery,
		HardshipCategories: v.HardshipCategories, IllnessCategories: v.IllnessCategories,
		FourOneCategories: fo, RemindAt: int(v.RemindAt), NovemberDay: v.NovemberDay,
	}
}
