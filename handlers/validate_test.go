package handlers

import "testing"

// Phone numbers as people type them: alone or in a sentence, with spaces, dashes,
// brackets, +86 or full-width digits.
func TestValidPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":             "13812345678",
		"电话是138 1234 5678":        "13812345678",
		"我的手机：138-1234-5678，谢谢":   "13812345678",
		"+86 138 1234 5678":       "13812345678",
		"８６１３８１２３４５６７８":           "13812345678",
		"座机 (027) 8888-6666":      "02788886666",
		"13812345678 13987654321": "13812345678",
		"3号楼，电话13812345678":       "13812345678",
		"打 139 8765 4321 或者 138…": "13987654321",
	} {
		if got, err := validPhone(nil, in); err != nil || got != want {
			t.Errorf("validPhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "电话是1381234567", "3号楼2单元", "12345678901", "8888 6666"} {
		if got, err := validPhone(nil, in); err == nil {
			t.Errorf("validPhone(%q) = %q, want refused", in, got)
		}
	}
}
