package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"minyuan/bot"
	"minyuan/configs"
	"minyuan/store"
)

// Data protection: the names people have in logs, forget, expire, the audit log.

// Names is the keyed namer of people in logs: privacy.log_key, or a random key
// kept in Redis so that every replica (and the command line) names alike.
func Names(ctx context.Context, cfg configs.Config, s *store.Store) (bot.Names, error) {
	key := []byte(cfg.Privacy.LogKey)
	if len(key) == 0 {
		var err error
		if key, err = s.Secret(ctx, "logkey"); err != nil {
			return bot.Names{}, err
		}
	}
	return bot.NewNames(key), nil
}

// NewPrivacy builds the data-protection rules on s.
func NewPrivacy(ctx context.Context, cfg configs.Config, s *store.Store, att bot.AttachmentEraser) (*bot.PrivacyService, error) {
	names, err := Names(ctx, cfg, s)
	if err != nil {
		return nil, err
	}
	p := &bot.PrivacyService{Store: s, Audit: s, Names: names, Retention: cfg.Privacy.Retention()}
	if att != nil {
		p.Attachments = att
	}
	return p, nil
}

// Operator is who runs the command line, as the audit log names them.
func Operator() bot.Actor {
	name := "operator"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return bot.Actor{Kind: bot.ActorSystem, ID: "cli:" + name, Name: name}
}

// Forget erases a resident (minyuan resident forget) and says what it did.
func Forget(ctx context.Context, w io.Writer, p *bot.PrivacyService, target string, now time.Time) error {
	f, err := p.Forget(ctx, Operator(), now, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "forgot %s: %d ticket(s) erased", f.Person, len(f.Tickets))
	if len(f.Tickets) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(f.Tickets, ", "))
	}
	fmt.Fprintf(w, ", %d attachment(s) deleted; the report's counts are kept; audit lines written\n", f.Attachments)
	if len(f.Left) > 0 {
		return fmt.Errorf("%d key(s) still mention them: %s", len(f.Left), strings.Join(f.Left, ", "))
	}
	return nil
}

// Expire runs the retention now (minyuan resident expire).
func Expire(ctx context.Context, w io.Writer, p *bot.PrivacyService, now time.Time) error {
	if p.Retention <= 0 {
		fmt.Fprintln(w, "privacy.retention_days is 0: personal data is kept")
		return nil
	}
	nos, err := p.Expire(ctx, Operator(), now)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d closed ticket(s) older than %d days erased", len(nos), int(p.Retention.Hours()/24))
	if len(nos) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(nos, ", "))
	}
	fmt.Fprintln(w)
	return nil
}

// WriteAudit prints the audit lines q picks, newest first.
func WriteAudit(ctx context.Context, w io.Writer, s *store.Store, q bot.AuditQuery, asJSON bool) error {
	es, err := s.AuditEntries(ctx, q)
	if err != nil {
		return err
	}
	if asJSON {
		if es == nil {
			es = []bot.AuditEntry{}
		}
		return json.NewEncoder(w).Encode(es)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tNAME\tACTION\tTICKET\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cliWhen(e.At), e.Actor, dash(e.Name), e.Action, dash(e.Ticket), e.Detail)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// expireDaily erases, on the leader, what the retention says is due.
func (a *App) expireDaily(ctx context.Context) error {
	nos, err := a.Privacy.Expire(ctx, bot.SystemActor, a.clock.Now())
	if len(nos) > 0 {
		a.log.Info("privacy: personal data of closed tickets past the retention erased", "tickets", len(nos))
	}
	return err
}
