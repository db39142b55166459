package app

import (
	"context"

	"minyuan/bot"
	"minyuan/store"
)

// grantDirectory answers Holders from the whole list of grants, until the store
// keeps its index by role and community.
type grantDirectory struct{ *store.Store }

func (d grantDirectory) Holders(ctx context.Context, role bot.Role, community string) ([]bot.Grant, error) {
	all, err := d.ListGrants(ctx)
	if err != nil {
		return nil, err
	}
	var out []bot.Grant
	for _, g := range all {
		if g.Role == role && (community == "" || role == bot.RoleAdmin || g.Community == community) {
			out = append(out, g)
		}
	}
	return out, nil
}
