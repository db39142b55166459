package attach_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/attach"
)

func TestDirPutGetDelete(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "att")
	d, err := attach.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatal("opening the store made the directory")
	}
	name := attach.Name("http://mmbiz.qpic.cn/a/0")
	if err := d.Put(ctx, name, "image/png", []byte("png!")); err != nil {
		t.Fatal(err)
	}
	rc, ctype, err := d.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "png!" || ctype != "image/png" {
		t.Fatalf("got %q %s", b, ctype)
	}
	if err := d.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Get(ctx, name); !errors.Is(err, attach.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := d.Delete(ctx, name); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if err := d.Put(ctx, "../../etc/passwd", "text/plain", nil); err == nil {
		t.Fatal("a path for a name was taken")
	}
}

// memIndex and fakes stand in for Redis and the platform.
type memIndex struct {
	mu sync.Mutex
	m  map[string]attach.Meta
}

func (x *memIndex) SaveAttachment(_ context.Context, m attach.Meta) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.m[m.Name] = m
	return nil
}
func (x *memIndex) Attachment(_ context.Context, name string) (attach.Meta, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m, ok := x.m[name]
	return m, ok, nil
}
func (x *memIndex) DeleteAttachment(_ context.Context, m attach.Meta) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.m, m.Name)
	return nil
}
func (x *memIndex) AttachmentsOf(_ context.Context, owner string) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for n, m := range x.m {
		if m.Owner == owner {
			out = append(out, n)
		}
	}
	return out, nil
}
func (x *memIndex) AttachmentsBefore(_ context.Context, t time.Time, limit int) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for n, m := range x.m {
		if m.Kept.Before(t) && len(out) < limit {
			out = append(out, n)
		}
	}
	return out, nil
}

type rows map[string]bot.Reminder

func (r rows) Schedule(_ context.Context, xs ...bot.Reminder) error {
	for _, x := range xs {
		r[x.ID] = x
	}
	return nil
}
func (r rows) Cancel(_ context.Context, ids ...string) error {
	for _, id := range ids {
		delete(r, id)
	}
	return nil
}

type media map[string][]byte

func (m media) FetchMedia(_ context.Context, id string, max int64) ([]byte, string, error) {
	b, ok := m[id]
	if !ok {
		return nil, "", errors.New("errcode=40007")
	}
	return b, "image/jpeg", nil
}

// A resident's photo is kept through its due-set row; staff get a link that works
// for them until it expires; a resident's own media only, and forget and the
// retention delete.
func TestKeeperKeepsLinksAndDeletes(t *testing.T) {
	ctx := context.Background()
	d, _ := attach.NewDir(t.TempDir())
	clock := bot.NewManualClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	due := rows{}
	k := &attach.Keeper{Store: d, Index: &memIndex{m: map[string]attach.Meta{}}, Fetch: media{"m1": []byte("jpeg")},
		Reminders: due, Clock: clock, Key: []byte("k"), TTL: 10 * time.Minute, BaseURL: "https://my.example/"}
	resident := &bot.User{OpenID: "o_res"}
	staff := &bot.User{OpenID: "o_staff", Grants: []bot.Grant{{Role: bot.RoleStaff, Community: "QY"}}}
	photo := bot.Update{Kind: bot.KindImage, PicURL: "http://mmbiz.qpic.cn/p/0", MediaID: "m1"}
	if err := k.Keep(ctx, staff, photo, clock.Now()); err != nil || len(due) != 0 {
		t.Fatalf("a staff member's photo was kept: %v %v", due, err)
	}
	if err := k.Keep(ctx, resident, photo, clock.Now()); err != nil || len(due) != 1 {
		t.Fatalf("rows %v %v", due, err)
	}
	viewer := bot.Actor{Kind: bot.ActorStaff, ID: "o_staff"}
	if _, ok, _ := k.Link(ctx, viewer, photo.PicURL); ok {
		t.Fatal("a link before the photo was fetched")
	}
	for _, r := range due {
		if err := k.Fetched(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	link, ok, err := k.Link(ctx, viewer, photo.PicURL)
	if err != nil || !ok || !strings.HasPrefix(link, "https://my.example/attachments/") {
		t.Fatalf("link %q %v %v", link, ok, err)
	}
	get := func(u string) (int, string) {
		rec := httptest.NewRecorder()
		k.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(u, "https://my.example"), nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(link); code != http.StatusOK || body != "jpeg" {
		t.Fatalf("open: %d %q", code, body)
	}
	if code, _ := get(strings.Replace(link, "v=o_staff", "v=o_other", 1)); code != http.StatusForbidden {
		t.Errorf("a link for someone else: %d", code)
	}
	clock.Advance(11 * time.Minute)
	if code, _ := get(link); code != http.StatusGone {
		t.Errorf("an expired link: %d", code)
	}
	if n, err := k.Expire(ctx, clock.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("the retention took a new photo: %d %v", n, err)
	}
	if n, err := k.DeleteOwner(ctx, "o_res"); err != nil || n != 1 {
		t.Fatalf("forget: %d %v", n, err)
	}
	if _, _, err := d.Get(ctx, attach.Name(photo.PicURL)); !errors.Is(err, attach.ErrNotFound) {
		t.Fatalf("the file after forget: %v", err)
	}
}
