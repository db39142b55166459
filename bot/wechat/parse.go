package wechat

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// fields are what Parse reads of a message.
type fields struct {
	ToUserName, FromUserName, MsgType            string
	CreateTime, MsgID                            int64
	Content, Recognition, PicURL, MediaID, Label string
	LocationX, LocationY                         float64
	Event, EventKey                              string
}

func fieldsOf(m *message.MixMessage) fields {
	return fields{
		ToUserName: string(m.ToUserName), FromUserName: string(m.FromUserName), MsgType: string(m.MsgType),
		CreateTime: m.CreateTime, MsgID: m.MsgID,
		Content: m.Content, Recognition: m.Recognition, PicURL: m.PicURL, MediaID: m.MediaID, Label: m.Label,
		LocationX: m.LocationX, LocationY: m.LocationY,
		Event: string(m.Event), EventKey: m.EventKey,
	}
}

// scanFlat reads the messages the platform actually sends (<xml> holding a flat list
// of known elements, each plain text or CDATA) without encoding/xml, which spent a
// tenth of the webhook's time on them. Anything else (a nested or unknown element,
// an attribute, an entity, a comment, a carriage return, a character XML forbids, a
// repeated element) is declined, and Parse hands the message to encoding/xml.
// FuzzScanFlat holds it to what encoding/xml makes of the same bytes.
func scanFlat(raw []byte) (f fields, ok bool) {
	if !utf8.Valid(raw) {
		return fields{}, false
	}
	s := trimSpace(raw)
	if !bytes.HasPrefix(s, []byte("<xml>")) {
		return fields{}, false
	}
	s = s[len("<xml>"):]
	var seen uint32
	for {
		s = trimSpace(s)
		if bytes.HasPrefix(s, []byte("</xml>")) {
			return f, true
		}
		if len(s) < 2 || s[0] != '<' {
			return fields{}, false
		}
		end := bytes.IndexByte(s, '>')
		if end < 0 {
			return fields{}, false
		}
		name := string(s[1:end])
		slot, known := flatSlots[name]
		if !known || seen&(1<<slot) != 0 {
			return fields{}, false
		}
		seen |= 1 << slot
		s = s[end+1:]
		var text []byte
		if text, s, ok = flatText(s, name); !ok {
			return fields{}, false
		}
		if !f.set(slot, text) {
			return fields{}, false
		}
	}
}

// flatText reads an element's content up to its end tag: plain text and CDATA
// sections, nothing else.
func flatText(s []byte, name string) (text, rest []byte, ok bool) {
	for {
		i := bytes.IndexByte(s, '<')
		if i < 0 || !plainChars(s[:i], true) {
			return nil, nil, false
		}
		text = append(text, s[:i]...)
		s = s[i:]
		if cdata, found := bytes.CutPrefix(s, []byte("<![CDATA[")); found {
			j := bytes.Index(cdata, []byte("]]>"))
			if j < 0 || !plainChars(cdata[:j], false) {
				return nil, nil, false
			}
			text = append(text, cdata[:j]...)
			s = cdata[j+3:]
			continue
		}
		closing := "</" + name + ">"
		if !bytes.HasPrefix(s, []byte(closing)) {
			return nil, nil, false
		}
		return text, s[len(closing):], true
	}
}

// plainChars reports whether b holds only characters that read the same in and out
// of encoding/xml: no control character but tab and newline, no U+FFFE or U+FFFF,
// and in plain text no '&' and no ']]>'.
func plainChars(b []byte, text bool) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n':
			return false
		case text && (c == '&' || c == '>'):
			return false
		case c == 0xEF && i+2 < len(b) && b[i+1] == 0xBF && (b[i+2] == 0xBE || b[i+2] == 0xBF):
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	return bytes.TrimLeft(b, " \t\n")
}

// The elements scanFlat knows, by their slot in fields.set.
var flatSlots = map[string]uint{
	"ToUserName": 0, "FromUserName": 1, "MsgType": 2, "CreateTime": 3, "MsgId": 4,
	"Content": 5, "Recognition": 6, "PicUrl": 7, "MediaId": 8, "Label": 9,
	"Location_X": 10, "Location_Y": 11, "Event": 12, "EventKey": 13,
	"Scale": 15,
	// Read and not used; string fields of message.MixMessage, so any text does.
	"Format": 16, "Ticket": 24, "MenuId": 25, "Title": 17, "Description": 18, "Url": 19,
	"Latitude": 20, "Longitude": 21, "Precision": 22, "ThumbMediaId": 23,
}

// set stores one element's text as encoding/xml would: strings as they are, numbers
// with surrounding space trimmed (empty is zero).
func (f *fields) set(slot uint, text []byte) bool {
	str := func(p *string) bool { *p = string(text); return true }
	num := func(p *int64) bool {
		if len(text) == 0 {
			return true
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(text)), 10, 64)
		*p = n
		return err == nil
	}
	real := func(p *float64) bool {
		if len(text) == 0 {
			return true
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(string(text)), 64)
		*p = x
		return err == nil
	}
	var ignored float64
	switch slot {
	case 0:
		return str(&f.ToUserName)
	case 1:
		return str(&f.FromUserName)
	case 2:
		return str(&f.MsgType)
	case 3:
		return num(&f.CreateTime)
	case 4:
		return num(&f.MsgID)
	case 5:
		return str(&f.Content)
	case 6:
		return str(&f.Recognition)
	case 7:
		return str(&f.PicURL)
	case 8:
		return str(&f.MediaID)
	case 9:
		return str(&f.Label)
	case 10:
		return real(&f.LocationX)
	case 11:
		return real(&f.LocationY)
	case 12:
		return str(&f.Event)
	case 13:
		return str(&f.EventKey)
	case 15:
		return real(&ignored)
	}
	return true // read, not used
}
