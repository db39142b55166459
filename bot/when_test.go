package bot_test

import (
	"testing"
	"time"

	"minyuan/bot"
)

// Dates read the way people say them, one format everywhere: 6月3日（周二）下午5:30.
func TestWhenReadsLikeSpeech(t *testing.T) {
	cat := realCatalog(t)
	loc := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2025, 6, 3, 17, 30, 0, 0, loc), "6月3日（周二）下午5:30"},
		{time.Date(2025, 6, 3, 9, 5, 0, 0, loc), "6月3日（周二）上午9:05"},
		{time.Date(2025, 6, 3, 12, 0, 0, 0, loc), "6月3日（周二）中午12:00"},
		{time.Date(2025, 6, 3, 20, 15, 0, 0, loc), "6月3日（周二）晚上8:15"},
		{time.Date(2025, 6, 4, 0, 30, 0, 0, loc), "6月4日（周三）凌晨0:30"},
		{time.Date(2025, 6, 3, 9, 30, 0, 0, time.UTC), "6月3日（周二）下午5:30"}, // shown in China's time
	} {
		if got := bot.When(cat, c.at); got != c.want {
			t.Errorf("%v: %q, want %q", c.at, got, c.want)
		}
	}
}
