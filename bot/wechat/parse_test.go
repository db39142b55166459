package wechat

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// The messages the platform sends take the fast path.
func TestScanFlatReadsThePlatformsMessages(t *testing.T) {
	files := samples(t)
	fast := 0
	for name, b := range files {
		f, ok := scanFlat(b)
		var m message.MixMessage
		if xerr := xml.Unmarshal(b, &m); xerr != nil {
			if ok {
				t.Errorf("%s: scanFlat accepted what encoding/xml refuses (%v)", name, xerr)
			}
			continue
		}
		if !ok {
			t.Logf("%s: declined", name)
			continue
		}
		fast++
		if want := fieldsOf(&m); fmt.Sprintf("%#v", f) != fmt.Sprintf("%#v", want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, f, want)
		}
	}
	if fast < 8 {
		t.Fatalf("only %d of %d sample messages took the fast path", fast, len(files))
	}
}

// FuzzScanFlat holds the fast path to encoding/xml: whatever it accepts, encoding/xml
// accepts too and reads the same.
func FuzzScanFlat(f *testing.F) {
	for _, b := range samples(f) {
		f.Add(b)
	}
	for _, s := range []string{
		"<xml><Content>a<![CDATA[b]]>c</Content></xml>",
		"<xml><CreateTime> 12 </CreateTime><MsgId></MsgId><Location_X>NaN</Location_X></xml>",
		"<xml>\n\t<Content><![CDATA[]]]]><![CDATA[>]]></Content></xml>trailing",
		"<xml><Content>a&amp;b</Content></xml>",
		"<xml><Content>\r\n</Content></xml>",
		"<xml><Content>\uffff</Content></xml>",
		"<xml><Content>1</Content><Content>2</Content></xml>",
		"<xml><Scale>x</Scale></xml>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := scanFlat(b)
		if !ok {
			return
		}
		var m message.MixMessage
		if err := xml.Unmarshal(b, &m); err != nil {
			t.Fatalf("scanFlat accepted %q, encoding/xml refuses: %v", b, err)
		}
		if want := fieldsOf(&m); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
		}
	})
}

// samples are the platform's messages in testdata, by file name: the seeds of the
// fuzz targets here and in wechat_test (Samples).
func samples(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no sample messages in testdata: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = b
	}
	return out
}
