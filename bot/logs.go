package bot

import (
	"context"
	"log/slog"
	"strings"
)

// Handler wraps a log handler so that people appear in the logs only by their
// name (Of): attributes that hold an openid (to, openid, user, …) are replaced, an
// event's update id ("e:<openid>:…") has its openid replaced, and the recipient
// part of push and reminder ids (Recipient, an unkeyed hash anyone holding a list
// of openids could match) becomes the keyed name. Every component logs through it.
func (n Names) Handler(h slog.Handler) slog.Handler { return namesHandler{h: h, n: n} }

// Attribute keys whose value is an openid, and those whose value is an id that may
// carry one.
var (
	personKeys = map[string]bool{"openid": true, "to": true, "user": true, "from": true, "sender": true,
		"resident": true, "staff": true, "member": true, "peer": true, "handler": true, "assignee": true}
	idKeys = map[string]bool{"id": true, "update": true, "push": true, "reminder": true, "turn": true}
)

type namesHandler struct {
	h slog.Handler
	n Names
}

func (nh namesHandler) Enabled(ctx context.Context, l slog.Level) bool { return nh.h.Enabled(ctx, l) }

func (nh namesHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(nh.attr(a))
		return true
	})
	return nh.h.Handle(ctx, out)
}

func (nh namesHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = nh.attr(a)
	}
	return namesHandler{h: nh.h.WithAttrs(out), n: nh.n}
}

func (nh namesHandler) WithGroup(name string) slog.Handler {
	return namesHandler{h: nh.h.WithGroup(name), n: nh.n}
}

func (nh namesHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch {
	case v.Kind() == slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = nh.attr(x)
		}
		return slog.Group(a.Key, out...)
	case v.Kind() != slog.KindString:
		return a
	case personKeys[a.Key] && v.String() != SystemActor.ID:
		return slog.String(a.Key, nh.n.Of(v.String()))
	case idKeys[a.Key]:
		return slog.String(a.Key, nh.n.ID(v.String()))
	}
	return a
}

// ID is id as logs show it: an event update's openid and a push or reminder id's
// recipient part replaced by the person's name.
func (n Names) ID(id string) string {
	parts := strings.Split(id, ":")
	for i, p := range parts {
		switch {
		case i == 1 && parts[0] == "e":
			parts[i] = n.Of(p)
		case isRecipient(p):
			parts[i] = n.OfRecipient(p)
		}
	}
	return strings.Join(parts, ":")
}

// isRecipient reports whether s looks like Recipient's output: 12 lower-case hex
// digits.
func isRecipient(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'f') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
