package wechat

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// marshalText is what the reply was before: xml.Marshal of silenceper's message.Text.
func marshalText(t testing.TB, to, from string, created int64, text string) []byte {
	msg := message.NewText(text)
	msg.SetToUserName(message.CDATA(to))
	msg.SetFromUserName(message.CDATA(from))
	msg.SetCreateTime(created)
	msg.SetMsgType(message.MsgTypeText)
	b, err := xml.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalEnvelope(t testing.TB, enc, sig string, ts int64, nonce string) []byte {
	b, err := xml.Marshal(message.ResponseEncryptedXMLMsg{EncryptedMsg: enc, MsgSignature: sig, Timestamp: ts, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReplyXMLIsWhatMarshalMakes(t *testing.T) {
	for _, c := range []struct {
		to, from, text string
		created        int64
	}{
		{"oResident0001", "gh_minyuan", "您的诉求已提交，编号 1001。", 1732500000},
		{"o", "g", "", 0},
		{"o]]>x", "g<&>", "a]]>b]]>]]>c\n\t\"'<&>", -5},
		{"", "", "]]>", 9223372036854775807},
	} {
		got := textReplyXML(c.to, c.from, c.created, c.text)
		if want := marshalText(t, c.to, c.from, c.created, c.text); !bytes.Equal(got, want) {
			t.Errorf("text reply\n got %s\nwant %s", got, want)
		}
	}
	for _, c := range []struct {
		enc, sig, nonce string
		ts              int64
	}{
		{"aGVsbG8=+/", "0123abcd", "1357924680", 1732500000},
		{"", "", "<&>\"'\t\n\r\x00\xff", -1},
	} {
		got := encryptedReplyXML(c.enc, c.sig, c.ts, c.nonce)
		if want := marshalEnvelope(t, c.enc, c.sig, c.ts, c.nonce); !bytes.Equal(got, want) {
			t.Errorf("envelope\n got %s\nwant %s", got, want)
		}
	}
}

// FuzzReplyXML checks the hand-written replies byte for byte against xml.Marshal.
func FuzzReplyXML(f *testing.F) {
	f.Add("oResident0001", "gh_minyuan", "您的诉求已提交]]>，编号 1001。", int64(1732500000), "1357924680")
	f.Add("", "", "", int64(0), "")
	f.Fuzz(func(t *testing.T, to, from, text string, ts int64, nonce string) {
		if got, want := textReplyXML(to, from, ts, text), marshalText(t, to, from, ts, text); !bytes.Equal(got, want) {
			t.Fatalf("text reply\n got %q\nwant %q", got, want)
		}
		if got, want := encryptedReplyXML(text, from, ts, nonce), marshalEnvelope(t, text, from, ts, nonce); !bytes.Equal(got, want) {
			t.Fatalf("envelope\n got %q\nwant %q", got, want)
		}
	})
}
