package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"minyuan/bot"
	"minyuan/bot/httpapi"
	"minyuan/configs"
	"minyuan/store"
)

// CallbacksCmd groups the call-back commands.
type CallbacksCmd struct {
	List CallbacksListCmd `cmd:"" help:"List open call-back tasks (回电)."`
}

// CallbacksListCmd lists open call-back tasks.
type CallbacksListCmd struct {
	Community string `help:"Community code (default: every community)."`
	JSON      bool   `name:"json" help:"Print JSON."`
}

// callbackRow is a task as the command line shows it: the phone masked, since the
// listing is read by more people than will call.
type callbackRow struct {
	Number    string    `json:"number"`
	Community string    `json:"community"`
	Phone     string    `json:"phone"`
	Reason    string    `json:"reason"`
	Ticket    string    `json:"ticket,omitempty"`
	Attempts  int       `json:"attempts"`
	Escalated bool      `json:"escalated,omitempty"`
	Created   time.Time `json:"created"`
	Due       time.Time `json:"due,omitzero"`
}

func (c CallbacksListCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	codes := []string{c.Community}
	if c.Community == "" {
		codes = codes[:0]
		for _, cm := range cfg.Communities {
			codes = append(codes, cm.Code)
		}
	} else if _, ok := cfg.Community(c.Community); !ok {
		return fmt.Errorf("unknown community %q", c.Community)
	}
	return g.withStore(func(s *store.Store) error {
		rows := []callbackRow{}
		for _, code := range codes {
			cbs, err := s.OpenCallbacks(g.Ctx, code)
			if err != nil {
				return err
			}
			for _, cb := range cbs {
				rows = append(rows, callbackRow{Number: cb.No, Community: cb.Community, Phone: bot.MaskPhone(cb.Phone),
					Reason: cb.Reason, Ticket: cb.Ref, Attempts: len(cb.Attempts), Escalated: cb.Escalated,
					Created: cb.Created, Due: cb.Due})
			}
		}
		if c.JSON {
			return json.NewEncoder(g.Out).Encode(rows)
		}
		w := tabwriter.NewWriter(g.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NO\tCOMMUNITY\tPHONE\tREASON\tTICKET\tATTEMPTS\tDUE")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Number, r.Community, r.Phone, r.Reason, r.Ticket, r.Attempts,
				r.Due.In(time.Local).Format(time.DateTime))
		}
		return w.Flush()
	})
}

// HotlineCmd groups the hotline API's token commands.
type HotlineCmd struct {
	Tokens  HotlineTokensCmd  `cmd:"" help:"List the API tokens of the config (names and fingerprints) and whether revoked."`
	Revoke  HotlineRevokeCmd  `cmd:"" help:"Revoke an API token at once, on every replica."`
	Restore HotlineRestoreCmd `cmd:"" help:"Undo a revocation."`
}

// HotlineTokensCmd lists tokens.
type HotlineTokensCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

type tokenRow struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	Revoked     bool   `json:"revoked"`
}

func (c HotlineTokensCmd) Run(g *Globals) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return g.withStore(func(s *store.Store) error {
		revoked, err := s.RevokedTokens(g.Ctx)
		if err != nil {
			return err
		}
		rows := []tokenRow{}
		for _, t := range cfg.Hotline.Tokens {
			h := httpapi.HashToken(t.Token)
			rows = append(rows, tokenRow{Name: t.Name, Fingerprint: h[:12], Revoked: revoked[h]})
		}
		if c.JSON {
			return json.NewEncoder(g.Out).Encode(rows)
		}
		w := tabwriter.NewWriter(g.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tFINGERPRINT\tREVOKED")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%s\t%v\n", r.Name, r.Fingerprint, r.Revoked)
		}
		return w.Flush()
	})
}

// HotlineRevokeCmd revokes a token by name.
type HotlineRevokeCmd struct {
	Name string `required:"" help:"The token's name in hotline.tokens."`
}

func (c HotlineRevokeCmd) Run(g *Globals) error { return setRevoked(g, c.Name, true) }

// HotlineRestoreCmd restores a revoked token.
type HotlineRestoreCmd struct {
	Name string `required:"" help:"The token's name in hotline.tokens."`
}

func (c HotlineRestoreCmd) Run(g *Globals) error { return setRevoked(g, c.Name, false) }

func setRevoked(g *Globals, name string, on bool) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	tok, ok := findToken(cfg, name)
	if !ok {
		return fmt.Errorf("no token named %q in hotline.tokens", name)
	}
	return g.withStore(func(s *store.Store) error {
		if err := s.RevokeToken(g.Ctx, httpapi.HashToken(tok.Token), on); err != nil {
			return err
		}
		verb := "revoked"
		if !on {
			verb = "restored"
		}
		fmt.Fprintf(g.Out, "%s token %s\n", verb, name)
		return nil
	})
}

func findToken(cfg configs.Config, name string) (configs.HotlineToken, bool) {
	for _, t := range cfg.Hotline.Tokens {
		if t.Name == name {
			return t, true
		}
	}
	return configs.HotlineToken{}, false
}
