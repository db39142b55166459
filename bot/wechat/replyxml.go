package wechat

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// The passive reply's XML, written directly: encoding/xml's Marshal allocates a 4 KiB
// buffer and walks the structs by reflection for every message, a tenth of the
// webhook's time. The bytes are those xml.Marshal makes of silenceper/wechat's
// message.Text and message.ResponseEncryptedXMLMsg (TestReplyXMLIsWhatMarshalMakes,
// FuzzReplyXML).

// textReplyXML is a text reply to user `to` from account `from`.
func textReplyXML(to, from string, created int64, text string) []byte {
	b := make([]byte, 0, 200+len(to)+len(from)+len(text))
	b = append(b, "<xml><ToUserName>"...)
	b = appendCDATA(b, to)
	b = append(b, "</ToUserName><FromUserName>"...)
	b = appendCDATA(b, from)
	b = append(b, "</FromUserName><CreateTime>"...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, "</CreateTime><MsgType>text</MsgType><Content>"...)
	b = appendCDATA(b, text)
	return append(b, "</Content></xml>"...)
}

// encryptedReplyXML is the envelope of a sealed reply.
func encryptedReplyXML(encrypt, signature string, ts int64, nonce string) []byte {
	var buf bytes.Buffer
	buf.Grow(120 + len(encrypt) + len(signature) + len(nonce))
	buf.WriteString("<xml><Encrypt>")
	_ = xml.EscapeText(&buf, []byte(encrypt))
	buf.WriteString("</Encrypt><MsgSignature>")
	_ = xml.EscapeText(&buf, []byte(signature))
	buf.WriteString("</MsgSignature><TimeStamp>")
	buf.Write(strconv.AppendInt(nil, ts, 10))
	buf.WriteString("</TimeStamp><Nonce>")
	_ = xml.EscapeText(&buf, []byte(nonce))
	buf.WriteString("</Nonce></xml>")
	return buf.Bytes()
}

// appendCDATA writes s as encoding/xml writes a ",cdata" field: nothing for an empty
// string, and a "]]>" inside split across two sections.
func appendCDATA(b []byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, "<![CDATA["...)
	for {
		before, after, ok := strings.Cut(s, "]]>")
		if !ok {
			break
		}
		b = append(b, before...)
		b = append(b, "]]]]><![CDATA[>"...)
		s = after
	}
	b = append(b, s...)
	return append(b, "]]>"...)
}
