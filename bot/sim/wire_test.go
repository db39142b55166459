package sim

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// replySamples are passive replies as servers wrote them: Minyuan's webhook, the
// silenceper/wechat echo and node-webot's wechat echo (minyuan-load), plain and sealed.
func replySamples(t testing.TB) map[string][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no reply samples: %v", err)
	}
	out := map[string][]byte{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(name)] = bytes.TrimSpace(b)
	}
	return out
}

// The hand-written reader must take every server's reply itself: falling back to
// encoding/xml would be correct but would bring the cost back unnoticed.
func TestLeanReplyReadsEveryServersReplies(t *testing.T) {
	for name, b := range replySamples(t) {
		got, ok := leanReply(b)
		if !ok {
			t.Errorf("%s: left to encoding/xml", name)
			continue
		}
		var want replyXML
		if err := xml.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

// FuzzParseReply holds parseReply to encoding/xml: whatever the hand-written reader
// accepts, encoding/xml accepts and reads the same.
func FuzzParseReply(f *testing.F) {
	for _, b := range replySamples(f) {
		f.Add(b)
	}
	for _, s := range []string{
		"", "success", "<xml></xml>", "<xml/>", "<foo><Content>a</Content></foo>",
		"<xml><Content><![CDATA[a]]><![CDATA[b]]></Content></xml>",
		"<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>",
		"<xml><Content>a&amp;b</Content></xml>",
		"<xml><Content>a\r\nb</Content></xml>",
		"<xml><Content><![CDATA[a\r\nb]]></Content></xml>",
		"<xml><Content>x</Content><Content>y</Content></xml>",
		"<xml><Content a=\"1\">x</Content></xml>",
		"<xml><Content/></xml>",
		"<xml><Content></Content></xml>",
		"<xml><CreateTime> 12 </CreateTime></xml>",
		"<xml><CreateTime>-12</CreateTime></xml>",
		"<xml><CreateTime>99999999999999999999</CreateTime></xml>",
		"<xml><CreateTime></CreateTime></xml>",
		"<xml><CreateTime><![CDATA[7]]></CreateTime></xml>",
		"<xml><Other>1</Other><Content>x</Content></xml>",
		"<xml><Content><b>x</b></Content></xml>",
		"<xml>\n  <Content>x</Content>\n</xml>",
		"<xml>junk<Content>x</Content></xml>",
		"<xml><Content>\x00</Content></xml>",
		"<xml><Content>\xff</Content></xml>",
		"<xml><Content>\uFFFE</Content></xml>",
		"<xml><Content>]]></Content></xml>",
		"<xml><Content>x</Content></xml>trailing",
		"<?xml version=\"1.0\"?><xml><Content>x</Content></xml>",
		"<xml><!-- c --><Content>x</Content></xml>",
		"<xml><a:Content>x</a:Content></xml>",
		"<xml><Content>x</Content></xml></xml>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want replyXML
		wantErr := xml.Unmarshal(b, &want)
		if lean, ok := leanReply(b); ok {
			if wantErr != nil {
				t.Fatalf("lean reader accepted what encoding/xml refuses (%v): %q", wantErr, b)
			}
			if lean != want {
				t.Fatalf("%q:\n lean %+v\n  xml %+v", b, lean, want)
			}
		}
		got, err := parseReply(b)
		if (err != nil) != (wantErr != nil) || err == nil && got != want {
			t.Fatalf("%q: parseReply %+v, %v; encoding/xml %+v, %v", b, got, err, want, wantErr)
		}
	})
}

// FuzzInboundXML holds the hand-written writer to xml.Marshal on the same message.
func FuzzInboundXML(f *testing.F) {
	f.Add(uint16(0b1111), "gh_minyuan0demo", "oUser", "text", "帮助", int64(1796025309), int64(7), 0.0, 0.0, 0)
	f.Add(uint16(0xFFFF), "", "o", "location", "a]]>b]]]>c", int64(0), int64(-1), 39.9042, -116.407, 15)
	f.Add(uint16(0b1), "x", "", "", "", int64(math.MaxInt64), int64(math.MinInt64), math.Inf(1), math.NaN(), -3)
	f.Fuzz(func(t *testing.T, set uint16, a, b, c, d string, n1, n2 int64, lat, lon float64, scale int) {
		pick := func(i int, s string) *cdata {
			if set&(1<<i) == 0 {
				return nil
			}
			return cd(s)
		}
		x := inboundXML{
			ToUserName: pick(0, a), FromUserName: pick(1, b), MsgType: pick(2, c), Content: pick(3, d),
			PicURL: pick(4, a+b), MediaID: pick(5, c), Format: pick(6, d), Recognition: pick(7, d+a),
			Label: pick(8, b), Event: pick(9, c), EventKey: pick(10, d), Encrypt: pick(11, a),
			CreateTime: n1, MsgID: n2,
		}
		if set&(1<<12) != 0 {
			x.LocationX, x.LocationY, x.Scale = &lat, &lon, &scale
		}
		want, err := xml.Marshal(x)
		if err != nil {
			t.Skip(err)
		}
		if got := x.marshal(); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func TestRandomDigits(t *testing.T) {
	var counts [10]int
	for range 1000 {
		s := randomDigits(10)
		if len(s) != 10 {
			t.Fatalf("%q: want 10 digits", s)
		}
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				t.Fatalf("%q: not a digit", s)
			}
			counts[c-'0']++
		}
	}
	for d, n := range counts {
		if n < 800 || n > 1200 { // 1000 expected each; far outside is a bias
			t.Errorf("digit %d drawn %d times in 10000", d, n)
		}
	}
}

// BenchmarkParseReply compares the hand-written reader with encoding/xml on each
// server's reply.
func BenchmarkParseReply(b *testing.B) {
	for name, raw := range replySamples(b) {
		b.Run(name+"/lean", func(b *testing.B) {
			for b.Loop() {
				if _, err := parseReply(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-xml", func(b *testing.B) {
			for b.Loop() {
				var x replyXML
				if err := xml.Unmarshal(raw, &x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
