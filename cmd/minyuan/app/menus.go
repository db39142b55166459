package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/menu"
	"github.com/silenceper/wechat/v2/officialaccount/user"

	"minyuan/bot"
	"minyuan/bot/wechat"
	"minyuan/configs"
)

// Menus: residents see the default menu; the holders of a role with a menu of its
// own (role_menus) are tagged on the platform with that role's tag, and a
// personalised menu (个性化菜单) matching the tag is what they see. Binding or losing
// a role retags the person through the due set, so a failed call is retried.

// RetagKind is the reminder kind that sets a person's menu tags from their roles.
const RetagKind = "menu.retag"

// msgMenuTag names the user tag of a role's menu (the console shows it).
var msgMenuTag = bot.Msg("menu.tag")

func (a *App) oaContext() *oacontext.Context {
	return &oacontext.Context{
		Config:            &oaconfig.Config{AppID: a.cfg.WeChat.AppID, AppSecret: a.cfg.WeChat.AppSecret},
		AccessTokenHandle: a.token,
	}
}

// CreateMenu sets the official account's menus from the configuration: the default
// menu, then one personalised menu per role in role_menus (replacing those made
// before), and tags every holder of those roles.
func (a *App) CreateMenu(ctx context.Context) error {
	m := menu.NewMenu(a.oaContext())
	// The library's calls take no context; the HTTP client's time-out bounds them.
	if err := m.SetMenu(menuButtons(a.cfg.Menu)); err != nil {
		return fmt.Errorf("wechat: create menu: %s", wechat.Redact(err.Error()))
	}
	old, err := m.GetMenu()
	if err != nil {
		return fmt.Errorf("wechat: get menu: %s", wechat.Redact(err.Error()))
	}
	for _, c := range old.Conditionalmenu {
		if err := m.DeleteConditional(c.MenuID); err != nil {
			return fmt.Errorf("wechat: delete personalised menu %d: %s", c.MenuID, wechat.Redact(err.Error()))
		}
	}
	for _, role := range configs.RoleMenuOrder {
		buttons, ok := a.cfg.RoleMenus[role]
		if !ok {
			continue
		}
		id, err := a.tagID(role)
		if err != nil {
			return err
		}
		// The library's MatchRule still has the old group_id; the platform wants tag_id.
		raw, err := json.Marshal(map[string]any{"button": menuButtons(buttons), "matchrule": map[string]string{"tag_id": strconv.Itoa(int(id))}})
		if err != nil {
			return err
		}
		if err := m.AddConditionalByJSON(string(raw)); err != nil {
			return fmt.Errorf("wechat: personalised menu of %s: %s", role, wechat.Redact(err.Error()))
		}
	}
	grants, err := a.Store.ListGrants(ctx)
	if err != nil {
		return err
	}
	var people []string
	for _, g := range grants {
		if !slices.Contains(people, g.OpenID) {
			people = append(people, g.OpenID)
		}
	}
	for _, openid := range people {
		if err := a.Retag(ctx, openid); err != nil {
			return err
		}
	}
	return nil
}

// Retag gives openid the menu tags of the roles they hold, and takes away the others.
func (a *App) Retag(ctx context.Context, openid string) error {
	grants, err := a.Store.Grants(ctx, openid)
	if err != nil {
		return err
	}
	u := user.NewUser(a.oaContext())
	for _, role := range configs.RoleMenuOrder {
		if _, ok := a.cfg.RoleMenus[role]; !ok {
			continue
		}
		id, err := a.tagID(role)
		if err != nil {
			return err
		}
		holds := slices.ContainsFunc(grants, func(g bot.Grant) bool { return g.Role == role })
		if holds {
			err = u.BatchTag([]string{openid}, id)
		} else {
			err = u.BatchUntag([]string{openid}, id)
		}
		if err != nil {
			return fmt.Errorf("wechat: menu tag %s: %s", role, wechat.Redact(err.Error()))
		}
	}
	return nil
}

// tagID finds the platform's tag of a role, making it the first time.
func (a *App) tagID(role bot.Role) (int32, error) {
	name := a.catalog.T(msgMenuTag, map[string]string{"Role": a.catalog.T(bot.Msg("role."+string(role)), nil)})
	a.tagsMu.Lock()
	defer a.tagsMu.Unlock()
	if id, ok := a.tags[name]; ok {
		return id, nil
	}
	u := user.NewUser(a.oaContext())
	tags, err := u.GetTag()
	if err != nil {
		return 0, fmt.Errorf("wechat: list tags: %s", wechat.Redact(err.Error()))
	}
	if a.tags == nil {
		a.tags = map[string]int32{}
	}
	for _, t := range tags {
		a.tags[t.Name] = t.ID
	}
	if id, ok := a.tags[name]; ok {
		return id, nil
	}
	t, err := u.CreateTag(name)
	if err != nil {
		return 0, fmt.Errorf("wechat: create tag %s: %s", name, wechat.Redact(err.Error()))
	}
	a.tags[name] = t.ID
	return t.ID, nil
}

// ScheduleRetag asks for openid's menu tags to be set from their roles, now and
// again until it succeeds.
func ScheduleRetag(ctx context.Context, due bot.Reminders, openid string, at time.Time) error {
	payload, err := json.Marshal(openid)
	if err != nil {
		return err
	}
	return due.Schedule(ctx, bot.Reminder{ID: RetagKind + ":" + bot.Recipient(openid), Kind: RetagKind, Due: at, Payload: payload})
}

// retag handles a RetagKind reminder.
func (a *App) retag(ctx context.Context, r bot.Reminder) error {
	var openid string
	if err := json.Unmarshal(r.Payload, &openid); err != nil || openid == "" {
		return errors.Join(bot.Errorf(bot.EInvalid, "menu retag: bad payload"), err)
	}
	return a.Retag(ctx, openid)
}

func menuButtons(bs []configs.MenuButton) []*menu.Button {
	out := make([]*menu.Button, len(bs))
	for i, b := range bs {
		switch {
		case len(b.Sub) > 0:
			out[i] = menu.NewSubButton(b.Name, menuButtons(b.Sub))
		case b.URL != "":
			out[i] = menu.NewViewButton(b.Name, b.URL)
		default:
			out[i] = menu.NewClickButton(b.Name, b.Key)
		}
	}
	return out
}
