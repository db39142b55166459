package store

import (
	"slices"
	"testing"
)

func TestParseSentinel(t *testing.T) {
	o, err := parseSentinel("us%3Aer:p%40ss@10.0.0.1:26379,10.0.0.2:26380/3?master=mymaster&sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Addrs, []string{"10.0.0.1:26379", "10.0.0.2:26380"}) || o.DB != 3 ||
		o.MasterName != "mymaster" || o.Username != "us:er" || o.Password != "p@ss" || o.SentinelPassword != "sp" {
		t.Fatalf("%+v", o)
	}
	o, err = parseSentinel(":pw@h:26379?master=m")
	if err != nil || o.Password != "pw" || o.Username != "" || o.DB != 0 {
		t.Fatalf("%+v, %v", o, err)
	}
	// MasterName is what makes NewUniversalClient build a failover client.
	if c, err := Connect("redis-sentinel://h:26379/0?master=m"); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
}

func TestNormaliseCode(t *testing.T) {
	for in, want := range map[string]string{
		"abcd2345":    "ABCD2345",
		" abcd 2345 ": "ABCD2345",
		"ABCD-2345":   "ABCD2345",
		"abcd　2345":   "ABCD2345", // ideographic space from a Chinese keyboard
		"ABCD234":     "",
		"ABCD23450":   "",
		"ABCD2O45":    "", // O is not in the alphabet
		"绑定ABCD2345":  "",
		"":            "",
	} {
		got, ok := normaliseCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("normaliseCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for range 100 {
		if c := newCode(); len(c) != codeLen {
			t.Fatalf("newCode() = %q", c)
		}
	}
}
