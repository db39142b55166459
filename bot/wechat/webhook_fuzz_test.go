package wechat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"minyuan/bot/wechat"
)

// FuzzParse feeds Parse whatever arrives after the signature check (or after
// decryption): it must never panic, and what it accepts must be fit for the engine and
// the store.
func FuzzParse(f *testing.F) {
	for _, b := range wechat.Samples(f) {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"<xml/>",
		"<xml><MsgType>event</MsgType></xml>",
		"<xml><FromUserName>o</FromUserName><CreateTime>-1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
		"<xml><FromUserName>o</FromUserName><CreateTime>9223372036854775807</CreateTime><MsgType>location</MsgType><Location_X>1e400</Location_X><MsgId>1</MsgId></xml>",
		`<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml>&a;</xml>`,
		"<xml><SubscribeMsgPopupEvent><List><PopupScene>x</PopupScene></List></SubscribeMsgPopupEvent></xml>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := wechat.Parse(raw)
		if err != nil {
			return
		}
		if u.ID == "" || u.From == "" || u.Kind == "" || u.Time.Unix() <= 0 {
			t.Fatalf("accepted an incomplete update %+v", u)
		}
		if !strings.HasPrefix(u.ID, "m:") && !strings.HasPrefix(u.ID, "e:") {
			t.Fatalf("ID %q has no known prefix", u.ID)
		}
		if _, err := json.Marshal(u); err != nil {
			t.Fatalf("accepted update does not encode: %v", err)
		}
	})
}
