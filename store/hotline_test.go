package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/store"
)

// The hotline's rules (bot.HotlineService, bot.CallbackService) on the real store.

var hlStart = time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

type intake struct{ st *store.Store }

func (i intake) Intake(ctx context.Context, a bot.Actor, at time.Time, n bot.NewTicket, key string) (*bot.Ticket, error) {
	t := &bot.Ticket{Community: n.Community, Category: n.Category, Description: n.Description, Source: n.Source,
		OpenID: n.OpenID, Phone: n.Phone, Confidential: n.Confidential, Created: at, Status: bot.StatusNew}
	return i.st.Create(ctx, t, key, bot.Event{At: at, Actor: a.EventActor(), Kind: bot.EventCreated})
}

// notes records what the services asked to tell people.
type notes struct {
	mu                         sync.Mutex
	created, due, escal, filed []string
}

func (n *notes) CallbackCreated(_ context.Context, c *bot.Callback) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.created = append(n.created, c.No)
	return nil
}
func (n *notes) CallbackDue(_ context.Context, c *bot.Callback) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.due = append(n.due, c.No)
	return nil
}
func (n *notes) CallbackEscalated(_ context.Context, c *bot.Callback) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.escal = append(n.escal, c.No)
	return nil
}
func (n *notes) CallFiled(_ context.Context, t *bot.Ticket) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.filed = append(n.filed, t.No)
	return nil
}

type hotlineEnv struct {
	env
	clock *bot.ManualClock
	cbs   *bot.CallbackService
	svc   *bot.HotlineService
	notes *notes
}

func newHotline(t *testing.T) hotlineEnv {
	e := newEnv(t, store.Options{})
	clock := bot.NewManualClock(hlStart)
	n := &notes{}
	cbs := &bot.CallbackService{Store: e.st, Reminders: e.st, Notify: n, Profiles: e.st, Clock: clock, Community: "QY", Retry: time.Hour}
	svc := &bot.HotlineService{Calls: e.st, Intake: intake{e.st}, Tickets: e.st, Callbacks: cbs, Profiles: e.st,
		Hasher: bot.NewPhoneHasher([]byte("k")), Proofs: e.st, Notify: n,
		Categories:  []bot.Category{{Code: "other", Name: "其他", SignDays: 1, ResolveDays: 5}},
		Communities: []bot.Community{{Code: "QY", Name: "七一路社区"}}}
	return hotlineEnv{env: e, clock: clock, cbs: cbs, svc: svc, notes: n}
}

var (
	deskStaff = bot.Actor{Kind: bot.ActorStaff, ID: "o-wang", Name: "王芳",
		Grants: []bot.Grant{{OpenID: "o-wang", Role: bot.RoleStaff, Community: "QY", Name: "王芳"}}}
	outsider = bot.Actor{Kind: bot.ActorStaff, ID: "o-he", Name: "何平",
		Grants: []bot.Grant{{OpenID: "o-he", Role: bot.RoleStaff, Community: "HP", Name: "何平"}}}
	apiActor = bot.Actor{Kind: bot.ActorAPI, ID: "callcentre", Name: "callcentre"}
)

func TestCallbackAttemptsEscalateOnTheThirdFailure(t *testing.T) {
	h := newHotline(t)
	ctx := t.Context()
	cb, created, err := h.cbs.Create(ctx, hlStart, bot.Callback{ID: "call:x", Phone: "13900001111", Reason: bot.CallbackMissedCall})
	if err != nil || !created || cb.No == "" || cb.Community != "QY" {
		t.Fatalf("create: %+v %v %v", cb, created, err)
	}
	if again, created, _ := h.cbs.Create(ctx, hlStart, bot.Callback{ID: "call:x"}); created || again.No != cb.No {
		t.Fatal("the same id made a second task")
	}
	if !slices.Equal(h.notes.created, []string{cb.No}) {
		t.Fatalf("desk told %v", h.notes.created)
	}
	// Only staff of its community may record a call; others learn nothing.
	if _, err := h.cbs.Attempt(ctx, outsider, hlStart, cb.No, bot.CallbackReached, ""); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("outsider: %v", err)
	}
	for i := 1; i <= 3; i++ {
		h.clock.Advance(time.Hour)
		got, err := h.cbs.Attempt(ctx, deskStaff, h.clock.Now(), cb.No, bot.CallbackNoAnswer, "")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Open() || got.Escalated != (i == 3) || !got.Due.Equal(h.clock.Now().Add(time.Hour)) {
			t.Fatalf("after %d failed tries: %+v", i, got)
		}
		if _, ok, _ := h.st.Reminder(ctx, bot.CallbackDueID(cb.No, i)); !ok {
			t.Fatalf("no reminder for try %d", i+1)
		}
		if _, ok, _ := h.st.Reminder(ctx, bot.CallbackDueID(cb.No, i-1)); ok {
			t.Fatalf("the reminder of try %d is still there", i)
		}
	}
	if !slices.Equal(h.notes.escal, []string{cb.No}) {
		t.Fatalf("secretary told %v, want once", h.notes.escal)
	}
	// A stale reminder does nothing; the current one reminds the desk.
	r0 := bot.Reminder{ID: bot.CallbackDueID(cb.No, 0), Kind: bot.CallbackDueKind, Payload: []byte(`{"no":"` + cb.No + `","try":0}`)}
	r3 := bot.Reminder{ID: bot.CallbackDueID(cb.No, 3), Kind: bot.CallbackDueKind, Payload: []byte(`{"no":"` + cb.No + `","try":3}`)}
	if err := errors.Join(h.cbs.Due(ctx, r0), h.cbs.Due(ctx, r3)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.notes.due, []string{cb.No}) {
		t.Fatalf("reminded %v", h.notes.due)
	}
	done, err := h.cbs.Attempt(ctx, deskStaff, h.clock.Now(), cb.No, bot.CallbackReached, "已告知")
	if err != nil || done.Open() || len(done.Attempts) != 4 {
		t.Fatalf("reached: %+v %v", done, err)
	}
	if _, err := h.cbs.Attempt(ctx, deskStaff, h.clock.Now(), cb.No, bot.CallbackReached, ""); bot.ErrorCode(err) != bot.EConflict {
		t.Fatalf("a closed task took another call: %v", err)
	}
	if open, _ := h.st.OpenCallbacks(ctx, "QY"); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	stats, _ := h.st.Stats(ctx, "QY", bot.Period(hlStart))
	if stats["callback.created"] != 1 || stats["callback.done"] != 1 {
		t.Fatalf("counters %v", stats)
	}
}

func TestVoiceCodeLinksCallsOnTheSecondTry(t *testing.T) {
	h := newHotline(t)
	ctx := t.Context()
	resident := bot.Actor{Kind: bot.ActorResident, ID: "o-zhang"}
	stranger := bot.Actor{Kind: bot.ActorResident, ID: "o-liu"}
	_, tk, created, err := h.svc.LogCall(ctx, apiActor, hlStart, bot.CallLog{CallID: "c1", Caller: "13812345678",
		StartedAt: hlStart, Category: "other", Summary: "楼道灯坏了", Community: "QY", Via: bot.CallViaAPI})
	if err != nil || !created || tk.OpenID != "" {
		t.Fatalf("log: %+v %v", tk, err)
	}
	if len(h.notes.filed) != 0 {
		t.Fatal("nobody proved the number, yet a receipt went out")
	}
	st, err := h.svc.PhoneState(ctx, resident.ID, "138-1234-5678")
	if err != nil || st.Calls != 1 || st.Linked {
		t.Fatalf("phone state %+v %v", st, err)
	}

	// A stranger who types the number gets a code read to that phone, not to them:
	// their guesses run out, and they see no calls.
	if _, err := h.svc.StartProof(ctx, stranger, hlStart, "13812345678"); err != nil {
		t.Fatal(err)
	}
	for range bot.ProofTries {
		_, err = h.svc.ConfirmProof(ctx, stranger, hlStart, "000000")
	}
	if bot.ErrorCode(err) != bot.ERateLimited {
		t.Fatalf("guesses past the limit: %v", err)
	}
	if mine, _ := h.st.ByResident(ctx, stranger.ID, 10); len(mine) != 0 {
		t.Fatalf("the stranger sees %d tickets", len(mine))
	}

	p, err := h.svc.StartProof(ctx, resident, hlStart, "13812345678")
	if err != nil || len(p.Code) != 6 || p.Callback == "" {
		t.Fatalf("start: %+v %v", p, err)
	}
	// The desk's task and the call-centre software both have the code to read.
	cb, _ := h.st.Callback(ctx, p.Callback)
	if cb.Reason != bot.CallbackVoiceCode || cb.Code != p.Code || cb.Phone != "13812345678" {
		t.Fatalf("voice-code task %+v", cb)
	}
	info, err := h.svc.Caller(ctx, apiActor, hlStart, "13812345678")
	if err != nil || info.VoiceCode != p.Code || len(info.Open) != 1 || info.Linked {
		t.Fatalf("caller info %+v %v", info, err)
	}
	again, _ := h.svc.StartProof(ctx, resident, hlStart.Add(time.Minute), "13812345678")
	if again.Code != p.Code || again.Callback != p.Callback {
		t.Fatal("asking again made a new code and a second call for the desk")
	}

	wrong := "000000"
	if wrong == p.Code {
		wrong = "111111"
	}
	_, err = h.svc.ConfirmProof(ctx, resident, hlStart.Add(2*time.Minute), wrong)
	if left, ok := bot.ProofLeft(err); !ok || left != bot.ProofTries-1 {
		t.Fatalf("wrong code: %v", err)
	}
	linked, err := h.svc.ConfirmProof(ctx, resident, hlStart.Add(3*time.Minute), p.Code)
	if err != nil || !slices.Equal(linked, []string{tk.No}) {
		t.Fatalf("right code: %v %v", linked, err)
	}
	mine, _ := h.st.ByResident(ctx, resident.ID, 10)
	if len(mine) != 1 || mine[0].No != tk.No || mine[0].OpenID != resident.ID {
		t.Fatalf("我的诉求 after linking: %+v", mine)
	}
	if cb, _ := h.st.Callback(ctx, p.Callback); cb.Open() {
		t.Fatal("the voice-code task is still open after the code was typed")
	}
	if info, _ := h.svc.Caller(ctx, apiActor, hlStart, "13812345678"); info.VoiceCode != "" || !info.Linked {
		t.Fatalf("after linking: %+v", info)
	}

	// The next call from that number reaches the resident: the ticket is theirs and
	// the receipt goes out.
	_, tk2, _, err := h.svc.LogCall(ctx, apiActor, hlStart.Add(time.Hour), bot.CallLog{CallID: "c2", Caller: "+8613812345678",
		StartedAt: hlStart.Add(time.Hour), Category: "其他", Summary: "灯还是不亮", Community: "QY", Via: bot.CallViaAPI})
	if err != nil || tk2.OpenID != resident.ID || !slices.Equal(h.notes.filed, []string{tk2.No}) {
		t.Fatalf("second call: %+v %v receipts %v", tk2, err, h.notes.filed)
	}
	// The code cannot be used twice, and has expired for anyone later.
	if _, err := h.svc.ConfirmProof(ctx, resident, hlStart.Add(2*time.Hour), p.Code); bot.ErrorCode(err) != bot.ENotFound {
		t.Fatalf("code reused: %v", err)
	}
	p3, _ := h.svc.StartProof(ctx, stranger, hlStart.Add(2*time.Hour), "13812345678")
	if _, err := h.svc.ConfirmProof(ctx, stranger, hlStart.Add(2*time.Hour+bot.ProofTTL), p3.Code); bot.ErrorCode(err) != bot.EExpired {
		t.Fatalf("expired code: %v", err)
	}
}

func TestRedisIndexHoldsNoPhoneNumberInClear(t *testing.T) {
	h := newHotline(t)
	ctx := t.Context()
	if _, _, _, err := h.svc.LogCall(ctx, apiActor, hlStart, bot.CallLog{CallID: "c1", Caller: "13812345678",
		StartedAt: hlStart, Category: "other", Summary: "x", Community: "QY", Via: bot.CallViaAPI}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.StartProof(ctx, bot.Actor{Kind: bot.ActorResident, ID: "o-zhang"}, hlStart, "13812345678"); err != nil {
		t.Fatal(err)
	}
	for _, k := range srv.Keys(t, h.prefix) {
		if contains(k, "13812345678") {
			t.Fatalf("key %q holds the number in clear", k)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
