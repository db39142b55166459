package bot_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"minyuan/bot"
)

// The log handler names people by a keyed hash: an openid attribute, an event's
// update id and a push id's recipient part are rewritten, the same person the same
// way, and another key names them otherwise.
func TestLogsNamePeopleByAKeyedHash(t *testing.T) {
	const openid = "oMY_resident_1234567890abcdef"
	var b bytes.Buffer
	n := bot.NewNames([]byte("key one"))
	log := slog.New(n.Handler(slog.NewJSONHandler(&b, nil))).With("update", "e:"+openid+":1796090400:subscribe:QY")
	log.Info("sent", "push", bot.TicketPushID("1001", 3, bot.EventReply, openid), "to", openid, "kind", "ticket_update")
	log.WithGroup("g").Info("x", "openid", openid)
	out := b.String()
	if strings.Contains(out, openid) || strings.Contains(out, bot.Recipient(openid)) {
		t.Fatalf("the logs name the person: %s", out)
	}
	name := n.Of(openid)
	if strings.Count(out, name) != 5 {
		t.Fatalf("want %s five times: %s", name, out)
	}
	if other := bot.NewNames([]byte("key two")).Of(openid); other == name {
		t.Fatal("the name does not depend on the key")
	}
	if !strings.Contains(out, `"push":"t:1001:v3:reply:`+name+`"`) || !strings.Contains(out, `"kind":"ticket_update"`) {
		t.Fatalf("ids keep their shape: %s", out)
	}
}
