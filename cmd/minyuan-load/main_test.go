package main

import (
	"slices"
	"testing"
)

func TestTargetsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want targets
		ok   bool
	}{
		{[]string{"http://127.0.0.1:8091/"}, targets{{"echo", "http://127.0.0.1:8091/"}}, true},
		{[]string{"http://h:1/?a=b"}, targets{{"echo", "http://h:1/?a=b"}}, true},
		{[]string{"echo=http://h:1/", "node=http://h:2/"}, targets{{"echo", "http://h:1/"}, {"node", "http://h:2/"}}, true},
		{[]string{"echo=http://h:1/", "http://h:2/"}, nil, false}, // two named echo
		{[]string{"minyuan=http://h:1/"}, nil, false},
		{[]string{"node="}, nil, false},
		{[]string{"=http://h:1/"}, nil, false},
	} {
		var got targets
		var err error
		for _, a := range tc.args {
			if err = got.Set(a); err != nil {
				break
			}
		}
		if (err == nil) != tc.ok || tc.ok && !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v", tc.args, got, err)
		}
	}
}
