package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/attach"
	"minyuan/cmd/minyuan/app"
)

var attachmentLinkRE = regexp.MustCompile(`(/attachments/[0-9a-f]{32}\?[^\s（]+)`)

// A photo a resident sends with a request is fetched from the platform (the
// simulator's media) into the directory store at once; 详情 shows the handler a
// link of their own that serves it, works for link_ttl and not after, and is
// written to the audit log when opened; a forged link is refused; forget deletes
// the file.
func TestPhotoIsKeptAndShownThroughASignedLink(t *testing.T) {
	d := startDemo(t, app.DemoOptions{Redis: srv.Client(t)})
	l := &lifecycle{t: t, d: d}
	ctx := context.Background()
	dir := d.Config.Attachments.Dir
	l.at(2026, 12, 1, 10, 0)
	if _, err := d.Client.Subscribe(ctx, app.DemoResident, "QY"); err != nil {
		t.Fatal(err)
	}
	photo := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte("楼道电线"), 200)...)
	l.say(app.DemoResident, "诉求")
	l.say(app.DemoResident, "治安安全")
	if got, err := d.Client.Photo(ctx, app.DemoResident, photo); err != nil || !strings.Contains(got, "照片") {
		t.Fatalf("photo in the form: %q %v", got, err)
	}
	l.say(app.DemoResident, "楼道里有人私拉电线")
	got := l.say(app.DemoResident, "13800138000")
	if strings.Contains(got, "手机") {
		t.Fatalf("phone: %q", got)
	}
	no := ticketNoRE.FindString(l.say(app.DemoResident, "确认"))
	if no == "" {
		t.Fatal("no ticket")
	}
	if _, err := d.App.Scheduler.PumpOnce(ctx); err != nil { // the fetch row is due at once
		t.Fatal(err)
	}
	var files []string
	deadline := time.Now().Add(5 * time.Second)
	for len(files) == 0 && time.Now().Before(deadline) {
		files, _ = filepath.Glob(filepath.Join(dir, "*", "*.jpg"))
		if len(files) == 0 {
			time.Sleep(20 * time.Millisecond)
			_, _ = d.App.Scheduler.PumpOnce(ctx)
		}
	}
	if len(files) != 1 {
		t.Fatalf("files kept in %s: %v", dir, files)
	}
	if kept, _ := os.ReadFile(files[0]); !bytes.Equal(kept, photo) {
		t.Fatal("the kept file is not the photo")
	}
	l.say(app.DemoStaff, "接单 "+no)
	detail := l.say(app.DemoStaff, "详情 "+no)
	m := attachmentLinkRE.FindStringSubmatch(detail)
	if m == nil {
		t.Fatalf("详情 shows no link: %q", detail)
	}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(strings.TrimSuffix(d.WebhookURL, d.Config.WeChat.Path) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, body := get(m[1]); code != http.StatusOK || !bytes.Equal(body, photo) {
		t.Fatalf("the link: %d, %d bytes", code, len(body))
	}
	es, _ := d.App.Store.AuditEntries(ctx, bot.AuditQuery{Action: bot.AuditAttachment})
	if len(es) != 1 || es[0].Actor != app.DemoStaff {
		t.Errorf("audit of the opening: %+v", es)
	}
	forged := strings.Replace(m[1], "v="+app.DemoStaff, "v=o_someone_else", 1)
	if code, _ := get(forged); code != http.StatusForbidden {
		t.Errorf("a link made over for someone else: %d", code)
	}
	l.at(2026, 12, 1, 11, 0) // past link_ttl (30 minutes)
	if code, _ := get(m[1]); code != http.StatusGone {
		t.Errorf("an expired link: %d", code)
	}

	// A voice message without words about the case is kept the same way, and 详情
	// links it beside the photo.
	voice := append([]byte("#!AMR\n"), bytes.Repeat([]byte{0x3c, 0x48}, 300)...)
	if _, err := d.Client.VoiceFile(ctx, app.DemoResident, voice, ""); err != nil {
		t.Fatal(err)
	}
	var voiceLink string
	for deadline := time.Now().Add(5 * time.Second); voiceLink == "" && time.Now().Before(deadline); {
		_, _ = d.App.Scheduler.PumpOnce(ctx)
		detail := l.say(app.DemoStaff, "详情 "+no)
		if i := strings.Index(detail, "语音1："); i >= 0 {
			if m := attachmentLinkRE.FindStringSubmatch(detail[i:]); m != nil {
				voiceLink = m[1]
			}
		}
		if voiceLink == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if voiceLink == "" {
		t.Fatalf("详情 links no voice message: %q", l.say(app.DemoStaff, "详情 "+no))
	}
	if code, body := get(voiceLink); code != http.StatusOK || !bytes.Equal(body, voice) {
		t.Fatalf("the voice link: %d, %d bytes", code, len(body))
	}

	var out bytes.Buffer
	if err := app.Forget(ctx, &out, d.App.Privacy, app.DemoResident, d.Clock.Now()); err != nil {
		t.Fatalf("forget: %v %s", err, out.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(left) != 0 {
		t.Errorf("attachments left after forget: %v", left)
	}
}

// The S3 store signs with the bucket's keys (AWS signature V4) and refuses an
// endpoint with a scheme. No S3 server runs here: what is tested is the client's
// configuration and signing, offline; Put, Get and Delete against a real bucket
// are not.
func TestS3StoreSignsOffline(t *testing.T) {
	if _, err := attach.NewS3(attach.S3Config{Endpoint: "https://minio:9000", Bucket: "b"}); err == nil {
		t.Error("an endpoint with a scheme was taken")
	}
	s, err := attach.NewS3(attach.S3Config{Endpoint: "minio.internal:9000", Bucket: "minyuan", Region: "cn-east-1",
		AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Prefix: "m/"})
	if err != nil {
		t.Fatal(err)
	}
	name := attach.Name("http://mmbiz.qpic.cn/x/0")
	u, err := s.PresignedURL(context.Background(), name, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "https" || u.Host != "minio.internal:9000" || u.Path != "/minyuan/m/"+name[:2]+"/"+name ||
		q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Expires") != "600" ||
		!strings.HasPrefix(q.Get("X-Amz-Credential"), "AKIDEXAMPLE/") || !strings.Contains(q.Get("X-Amz-Credential"), "/cn-east-1/s3/") ||
		len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("presigned URL %s", u)
	}
	if _, err := s.PresignedURL(context.Background(), "../etc/passwd", time.Minute); err == nil {
		t.Error("a name not made by attach.Name was taken")
	}
}
