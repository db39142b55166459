package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"minyuan/configs"
	"minyuan/handlers"
	"minyuan/store"
)

// Check is one line of `minyuan doctor`: what was checked, whether it passed, and
// what to do when it did not.
type Check struct {
	Name   string
	OK     bool
	Detail string
	Fix    string
}

// Doctor checks what Minyuan needs to run for real: the configuration, Redis and its
// persistence, the clock, the calendar's years, the WeChat credentials (a token
// fetched through the configured API base), the templates and the menu.
func Doctor(ctx context.Context, cfg configs.Config, cfgErr error, now time.Time) []Check {
	var out []Check
	add := func(name string, ok bool, detail, fix string) {
		out = append(out, Check{Name: name, OK: ok, Detail: detail, Fix: fix})
	}
	if cfgErr != nil {
		add("config", false, cfgErr.Error(), "correct the file (see configs/minyuan.sample.yaml) or the MINYUAN_* variables")
		return out
	}
	if err := cfg.Validate(); err != nil {
		add("config", false, strings.ReplaceAll(err.Error(), "\n", "; "), "correct the keys named (see configs/minyuan.sample.yaml)")
	} else {
		add("config", true, fmt.Sprintf("%d communities, %d categories", len(cfg.Communities), len(cfg.Categories)), "")
	}

	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, closeFn, err := OpenStore(cfg)
	if err == nil {
		defer closeFn()
		err = s.Ping(rctx)
	}
	if err != nil {
		add("redis", false, fmt.Sprintf("%s: %v", redactURL(cfg.Redis.URL), err), "start Redis or correct redis.url (MINYUAN_REDIS_URL)")
	} else {
		add("redis", true, "answers at "+redactURL(cfg.Redis.URL), "")
		checkPersistence(rctx, s, add)
		checkClock(rctx, s, now, add)
	}

	cal, err := newCalendar(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		add("calendar", false, err.Error(), "correct calendar.overrides")
	} else {
		y := now.Year()
		var missing []string
		for _, year := range []int{y, y + 1} {
			if !cal.KnowsYear(year) {
				missing = append(missing, fmt.Sprint(year))
			}
		}
		if len(missing) > 0 {
			add("calendar", false, "public holidays unknown for "+strings.Join(missing, ", "),
				"add that year's holidays and make-up workdays (调休) to calendar.overrides")
		} else {
			add("calendar", true, fmt.Sprintf("knows %d and %d", y, y+1), "")
		}
	}

	tokenOK := checkToken(ctx, cfg, add)
	var missing []string
	for _, kind := range handlers.PushKinds {
		if cfg.Templates[kind].ID == "" {
			missing = append(missing, kind)
		}
	}
	if len(missing) > 0 {
		add("templates", false, "no template id for: "+strings.Join(missing, ", "),
			"add the template in the console (广告与服务 → 模板消息) and set templates.<kind>.id")
	} else {
		add("templates", true, fmt.Sprintf("%d kinds have a template id", len(handlers.PushKinds)), "")
	}
	if len(cfg.Menu) == 0 {
		add("menu", false, "no menu configured", "add a menu: section, then run minyuan menu create")
	} else if tokenOK {
		add("menu", true, fmt.Sprintf("%d buttons; set them with minyuan menu create", len(cfg.Menu)), "")
	} else {
		add("menu", false, "cannot be set without a token", "fix the WeChat credentials first")
	}
	return out
}

func checkPersistence(ctx context.Context, s *store.Store, add func(string, bool, string, string)) {
	p, err := s.CheckPersistence(ctx)
	switch {
	case err != nil:
		add("redis persistence", false, err.Error(), "check that Redis allows CONFIG GET")
	case p.Unknown:
		add("redis persistence", false, "could not be checked (CONFIG disabled)",
			"make sure the provider keeps AOF (everysec) and noeviction")
	case !p.OK:
		add("redis persistence", false, strings.Join(p.Problems, "; "),
			"set appendonly yes, appendfsync everysec, maxmemory-policy noeviction (redis.conf or CONFIG SET + CONFIG REWRITE)")
	default:
		add("redis persistence", true, "appendonly, everysec, noeviction", "")
	}
}

// checkClock compares this machine's clock with Redis's: deadlines and reminders
// are scored by one and read by the other.
func checkClock(ctx context.Context, s *store.Store, now time.Time, add func(string, bool, string, string)) {
	rt, err := s.ServerTime(ctx)
	if err != nil {
		add("clock", false, err.Error(), "check Redis")
		return
	}
	skew := now.Sub(rt)
	if skew < 0 {
		skew = -skew
	}
	if skew > 2*time.Second {
		add("clock", false, fmt.Sprintf("this machine and Redis differ by %v", skew.Round(time.Millisecond)),
			"run NTP (chrony or systemd-timesyncd) on both machines")
		return
	}
	add("clock", true, fmt.Sprintf("within %v of Redis", skew.Round(time.Millisecond)), "")
}

// checkToken fetches an access token through the configured API base, as serve would
// (the stable token endpoint, which does not cut off other holders).
func checkToken(ctx context.Context, cfg configs.Config, add func(string, bool, string, string)) bool {
	if cfg.WeChat.AppID == "" || cfg.WeChat.AppSecret == "" {
		add("wechat credentials", false, "wechat.app_id or wechat.app_secret is empty",
			"set MINYUAN_WECHAT_APP_ID and MINYUAN_WECHAT_APP_SECRET (console: 设置与开发 → 基本配置)")
		return false
	}
	body, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": cfg.WeChat.AppID,
		"secret": cfg.WeChat.AppSecret, "force_refresh": false})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(cfg.WeChat.APIBaseURL, "/")+"/cgi-bin/stable_token", strings.NewReader(string(body)))
	if err != nil {
		add("wechat credentials", false, err.Error(), "correct wechat.api_base_url")
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		add("wechat credentials", false, "cannot reach "+cfg.WeChat.APIBaseURL+": "+err.Error(),
			"check the network, a forward proxy, or wechat.api_base_url")
		return false
	}
	defer resp.Body.Close()
	var r struct {
		AccessToken string `json:"access_token"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&r); err != nil || (r.AccessToken == "" && r.ErrCode == 0) {
		add("wechat credentials", false, fmt.Sprintf("unexpected answer (HTTP %d)", resp.StatusCode), "check wechat.api_base_url")
		return false
	}
	switch {
	case r.ErrCode == 40001 || r.ErrCode == 40125:
		add("wechat credentials", false, fmt.Sprintf("the AppSecret is wrong (errcode %d)", r.ErrCode),
			"reset the AppSecret in the console (设置与开发 → 基本配置) and set MINYUAN_WECHAT_APP_SECRET")
	case r.ErrCode == 40013 || r.ErrCode == 40164 || r.ErrCode == 61004:
		add("wechat credentials", false, fmt.Sprintf("refused (errcode %d): wrong AppID or this IP is not allowed", r.ErrCode),
			"check MINYUAN_WECHAT_APP_ID and add this server's IP to the IP 白名单")
	case r.ErrCode != 0:
		add("wechat credentials", false, fmt.Sprintf("errcode %d", r.ErrCode), "see the WeChat error code list")
	default:
		add("wechat credentials", true, "a token was issued for "+cfg.WeChat.AppID, "")
		return true
	}
	return false
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
