package handlers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"minyuan/bot"
	"minyuan/configs"
)

// Start-up with the real routes and catalogue: every flow registers without a
// clash, and a second registration of a menu key or command word the flows already
// route stops start-up naming both places.
func TestRoutesRefuseDuplicatesAtStartUp(t *testing.T) {
	cat, err := bot.LoadCatalog(configs.Files(), "messages.zh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other := bot.HandlerFunc(func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Reply{}, nil })
	cases := []struct {
		name     string
		register func(m *bot.Mux)
		want     []string
	}{
		{"menu key", func(m *bot.Mux) { m.Menu("REQUEST", bot.RoleResident, other) },
			[]string{`menu key "REQUEST"`, "resident_request.go:"}},
		{"command word", func(m *bot.Mux) { m.Command(wordsDeskClaim, bot.RoleStaff, other) },
			[]string{`word "接单"`, "words.desk_claim", "staff_desk.go:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMux(Flows{Catalog: cat})
			var msg string
			func() {
				defer func() { msg = fmt.Sprint(recover()) }()
				c.register(m)
			}()
			// Both places: the flow's file, and this one.
			for _, w := range append(c.want, "registered twice", "handlers/mux_test.go:") {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q does not name %q", msg, w)
				}
			}
		})
	}
}
