package sim

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The platform's XML is written and read by hand here, because a load run spends
// more of its CPU in encoding/xml's reflection than in anything else it does, and
// the longer the reply, the more: a run must cost the same per message whatever the
// server answers. Each function gives exactly what encoding/xml gives on the same
// input (FuzzParseReply and FuzzInboundXML hold them together); the reader hands
// whatever it does not recognise to encoding/xml.

// marshal writes x as xml.Marshal(x) does.
func (x *inboundXML) marshal() []byte {
	b := make([]byte, 0, 256)
	b = append(b, "<xml>"...)
	b = appendCDATA(b, "ToUserName", x.ToUserName)
	b = appendCDATA(b, "FromUserName", x.FromUserName)
	if x.CreateTime != 0 {
		b = appendInt(b, "CreateTime", x.CreateTime)
	}
	b = appendCDATA(b, "MsgType", x.MsgType)
	b = appendCDATA(b, "Content", x.Content)
	b = appendCDATA(b, "PicUrl", x.PicURL)
	b = appendCDATA(b, "MediaId", x.MediaID)
	b = appendCDATA(b, "Format", x.Format)
	b = appendCDATA(b, "Recognition", x.Recognition)
	if x.LocationX != nil {
		b = appendElem(b, "Location_X", strconv.AppendFloat(nil, *x.LocationX, 'g', -1, 64))
	}
	if x.LocationY != nil {
		b = appendElem(b, "Location_Y", strconv.AppendFloat(nil, *x.LocationY, 'g', -1, 64))
	}
	if x.Scale != nil {
		b = appendInt(b, "Scale", int64(*x.Scale))
	}
	b = appendCDATA(b, "Label", x.Label)
	b = appendCDATA(b, "Event", x.Event)
	b = appendCDATA(b, "EventKey", x.EventKey)
	if x.MsgID != 0 {
		b = appendInt(b, "MsgId", x.MsgID)
	}
	b = appendCDATA(b, "Encrypt", x.Encrypt)
	return append(b, "</xml>"...)
}

func appendElem(b []byte, name string, value []byte) []byte {
	b = append(append(append(b, '<'), name...), '>')
	b = append(b, value...)
	return append(append(append(b, "</"...), name...), '>')
}

func appendInt(b []byte, name string, n int64) []byte {
	var scratch [20]byte
	return appendElem(b, name, strconv.AppendInt(scratch[:0], n, 10))
}

// appendCDATA writes a *cdata field: nothing when nil, and, as encoding/xml does,
// no CDATA section for an empty string and "]]>" split across two sections.
func appendCDATA(b []byte, name string, c *cdata) []byte {
	if c == nil {
		return b
	}
	b = append(append(append(b, '<'), name...), '>')
	if s := c.Value; s != "" {
		b = append(b, "<![CDATA["...)
		for {
			i := strings.Index(s, "]]>")
			if i < 0 {
				break
			}
			b = append(append(b, s[:i]...), "]]]]><![CDATA[>"...)
			s = s[i+3:]
		}
		b = append(append(b, s...), "]]>"...)
	}
	return append(append(append(b, "</"...), name...), '>')
}

// parseReply reads a passive reply as xml.Unmarshal into a replyXML does.
func parseReply(b []byte) (replyXML, error) {
	if x, ok := leanReply(b); ok {
		return x, nil
	}
	var x replyXML
	err := xml.Unmarshal(b, &x)
	return x, err
}

// leanReply reads the shape every server writes, <xml> then the reply's own elements
// (each once, holding one CDATA section or plain text) then </xml>, and reports false
// for anything else: other elements, attributes, entities, comments, a declaration,
// carriage returns, text encoding/xml would refuse.
func leanReply(b []byte) (x replyXML, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte("<xml>"))
	if !ok {
		return x, false
	}
	if rest, ok = bytes.CutSuffix(rest, []byte("</xml>")); !ok {
		return x, false
	}
	var seen uint16
	for {
		rest = bytes.TrimLeft(rest, " \t\n")
		if len(rest) == 0 {
			return x, true
		}
		if rest[0] != '<' {
			return x, false
		}
		end := bytes.IndexByte(rest, '>')
		if end < 0 {
			return x, false
		}
		name := rest[1:end]
		rest = rest[end+1:]
		var value []byte
		if v, ok := bytes.CutPrefix(rest, []byte("<![CDATA[")); ok {
			i := bytes.Index(v, []byte("]]>"))
			if i < 0 {
				return x, false
			}
			value, rest = v[:i], v[i+3:]
		} else {
			i := bytes.IndexByte(rest, '<')
			if i < 0 {
				return x, false
			}
			value, rest = rest[:i], rest[i:]
			if bytes.ContainsAny(value, "&>]") {
				return x, false
			}
		}
		if !plainText(value) || len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' ||
			!bytes.Equal(rest[2:2+len(name)], name) || rest[2+len(name)] != '>' {
			return x, false
		}
		rest = rest[len(name)+3:]
		var bit uint16
		switch string(name) {
		case "ToUserName":
			bit, x.ToUserName = 1<<0, string(value)
		case "FromUserName":
			bit, x.FromUserName = 1<<1, string(value)
		case "CreateTime":
			n, ok := decimal(value)
			if !ok {
				return x, false
			}
			bit, x.CreateTime = 1<<2, n
		case "MsgType":
			bit, x.MsgType = 1<<3, string(value)
		case "Content":
			bit, x.Content = 1<<4, string(value)
		case "Encrypt":
			bit, x.Encrypt = 1<<5, string(value)
		case "MsgSignature":
			bit, x.MsgSignature = 1<<6, string(value)
		case "TimeStamp":
			bit, x.TimeStamp = 1<<7, string(value)
		case "Nonce":
			bit, x.Nonce = 1<<8, string(value)
		default:
			return x, false
		}
		if seen&bit != 0 {
			return x, false
		}
		seen |= bit
	}
}

// plainText reports whether encoding/xml reads s as it is: valid UTF-8 of XML's
// characters, and no carriage return, which it would turn into a line feed. (UTF-8
// has no surrogates; of the other non-characters XML refuses, U+FFFE and U+FFFF,
// each is one byte sequence.)
func plainText(s []byte) bool {
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' {
			return false
		}
	}
	return utf8.Valid(s) && !bytes.Contains(s, []byte("\uFFFE")) && !bytes.Contains(s, []byte("\uFFFF"))
}

// decimal reads a non-negative number of at most 18 digits, which cannot overflow.
func decimal(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
