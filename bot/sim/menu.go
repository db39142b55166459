package sim

import (
	"encoding/json"
	"slices"
	"strconv"
)

// User tags and personalised menus (个性化菜单), as on the platform: an account
// tags its users (/cgi-bin/tags/*), and a conditional menu whose matchrule names a
// tag is what the users with that tag see instead of the default menu; the newest
// matching menu wins. The default menu must exist first.

// Kinds of the tag and personalised-menu calls.
const (
	KindTagCreate     = "tag_create"
	KindTagGet        = "tag_get"
	KindTagging       = "tagging"
	KindUntagging     = "untagging"
	KindTagIDs        = "tag_ids"
	KindMenuAddCond   = "menu_addconditional"
	KindMenuDelCond   = "menu_delconditional"
	KindMenuTryMatch  = "menu_trymatch"
	errTagNameTaken   = 45157
	errTagNotFound    = 45159
	errNoDefaultMenu  = 65303
	errNoSuchCondMenu = 65304
	errEmptyMatchRule = 65305
)

func init() {
	for path, kind := range map[string]string{
		"/cgi-bin/tags/create":                 KindTagCreate,
		"/cgi-bin/tags/get":                    KindTagGet,
		"/cgi-bin/tags/members/batchtagging":   KindTagging,
		"/cgi-bin/tags/members/batchuntagging": KindUntagging,
		"/cgi-bin/tags/getidlist":              KindTagIDs,
		"/cgi-bin/menu/addconditional":         KindMenuAddCond,
		"/cgi-bin/menu/delconditional":         KindMenuDelCond,
		"/cgi-bin/menu/trymatch":               KindMenuTryMatch,
	} {
		route[path] = struct {
			kind string
			post bool
		}{kind, path != "/cgi-bin/tags/get"}
	}
}

type tag struct {
	id   int32
	name string
}

type condMenu struct {
	id     int64
	tagID  string
	button json.RawMessage
}

// menuCall answers a tag or personalised-menu call; ok is false for other kinds.
// The caller holds a.mu.
func (a *API) menuCall(kind string, body []byte) (answer map[string]any, ok bool) {
	switch kind {
	case KindTagCreate:
		var req struct {
			Tag struct {
				Name string `json:"name"`
			} `json:"tag"`
		}
		if json.Unmarshal(body, &req) != nil || req.Tag.Name == "" {
			return errAnswer(47001), true
		}
		for _, t := range a.tags {
			if t.name == req.Tag.Name {
				return errAnswer(errTagNameTaken), true
			}
		}
		t := tag{id: int32(100 + len(a.tags)), name: req.Tag.Name}
		a.tags = append(a.tags, t)
		return map[string]any{"tag": map[string]any{"id": t.id, "name": t.name}}, true
	case KindTagGet:
		out := []map[string]any{}
		for _, t := range a.tags {
			n := 0
			for _, ids := range a.userTags {
				if slices.Contains(ids, t.id) {
					n++
				}
			}
			out = append(out, map[string]any{"id": t.id, "name": t.name, "count": n})
		}
		return map[string]any{"tags": out}, true
	case KindTagging, KindUntagging:
		var req struct {
			OpenIDs []string `json:"openid_list"`
			TagID   int32    `json:"tagid"`
		}
		if json.Unmarshal(body, &req) != nil || len(req.OpenIDs) == 0 {
			return errAnswer(47001), true
		}
		if !slices.ContainsFunc(a.tags, func(t tag) bool { return t.id == req.TagID }) {
			return errAnswer(errTagNotFound), true
		}
		if a.userTags == nil {
			a.userTags = map[string][]int32{}
		}
		for _, o := range req.OpenIDs {
			ids := slices.DeleteFunc(a.userTags[o], func(id int32) bool { return id == req.TagID })
			if kind == KindTagging {
				ids = append(ids, req.TagID)
			}
			a.userTags[o] = ids
		}
		a.menuChanged = true
		return errAnswer(0), true
	case KindTagIDs:
		var req struct {
			OpenID string `json:"openid"`
		}
		_ = json.Unmarshal(body, &req)
		return map[string]any{"tagid_list": slices.Clone(a.userTags[req.OpenID])}, true
	case KindMenuAddCond:
		var req struct {
			Button    json.RawMessage `json:"button"`
			MatchRule struct {
				TagID string `json:"tag_id"`
			} `json:"matchrule"`
		}
		if json.Unmarshal(body, &req) != nil || len(req.Button) == 0 {
			return errAnswer(47001), true
		}
		if a.menu == nil {
			return errAnswer(errNoDefaultMenu), true
		}
		if req.MatchRule.TagID == "" {
			return errAnswer(errEmptyMatchRule), true
		}
		a.nextMenuID++
		a.condMenus = append(a.condMenus, condMenu{id: 400 + a.nextMenuID, tagID: req.MatchRule.TagID, button: req.Button})
		a.menuChanged = true
		return map[string]any{"menuid": 400 + a.nextMenuID}, true
	case KindMenuDelCond:
		var req struct {
			MenuID json.Number `json:"menuid"`
		}
		_ = json.Unmarshal(body, &req)
		id, _ := req.MenuID.Int64()
		i := slices.IndexFunc(a.condMenus, func(m condMenu) bool { return m.id == id })
		if i < 0 {
			return errAnswer(errNoSuchCondMenu), true
		}
		a.condMenus = slices.Delete(a.condMenus, i, i+1)
		a.menuChanged = true
		return errAnswer(0), true
	case KindMenuTryMatch:
		var req struct {
			UserID string `json:"user_id"`
		}
		_ = json.Unmarshal(body, &req)
		m := a.menuFor(req.UserID)
		if m == nil {
			return errAnswer(46002), true
		}
		return map[string]any{"button": m}, true
	}
	return nil, false
}

// menuFor is the menu openid sees: the newest personalised menu matching one of
// their tags, else the default. The caller holds a.mu.
func (a *API) menuFor(openid string) json.RawMessage {
	for i := len(a.condMenus) - 1; i >= 0; i-- {
		m := a.condMenus[i]
		for _, id := range a.userTags[openid] {
			if strconv.Itoa(int(id)) == m.tagID {
				return m.button
			}
		}
	}
	return a.menu
}

// MenuFor returns the menu buttons openid sees (nil while the account has none).
func (a *API) MenuFor(openid string) json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.menuFor(openid))
}

// conditionalMenus lists the personalised menus in getMenu's shape. The caller
// holds a.mu.
func (a *API) conditionalMenus() []map[string]any {
	out := []map[string]any{}
	for _, m := range a.condMenus {
		out = append(out, map[string]any{"button": m.button, "matchrule": map[string]any{"tag_id": m.tagID}, "menuid": m.id})
	}
	return out
}
