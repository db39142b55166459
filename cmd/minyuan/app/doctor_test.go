package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"minyuan/bot"
	"minyuan/bot/sim"
	"minyuan/cmd/minyuan/app"
	"minyuan/configs"
	"minyuan/handlers"
	"minyuan/store/redistest"
)

// doctorConfig is a deployment that should pass: a persistent Redis of its own, the
// simulator as the WeChat API, a template for every kind of push.
func doctorConfig(t *testing.T) configs.Config {
	t.Helper()
	red := redistest.StartPrivate(t, redistest.PrivateOptions{AOF: true, Args: []string{"--maxmemory-policy", "noeviction"}})
	api := sim.NewAPI("wxdoctor", "the-right-secret", bot.SystemClock{})
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	cfg := configs.Default()
	cfg.Redis.URL = red.URL()
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token = "wxdoctor", "the-right-secret", "doctortoken123"
	cfg.WeChat.APIBaseURL = hs.URL
	cfg.Communities = []configs.Community{{Code: "QY", Name: "七一路社区", Street: "七一路街道"}}
	cfg.Templates = map[string]configs.Template{}
	for _, k := range handlers.PushKinds {
		cfg.Templates[k] = configs.Template{ID: "tpl-" + k, Fields: map[string]string{"first": "{text}"}}
	}
	return cfg
}

func checks(t *testing.T, cfg configs.Config) map[string]app.Check {
	t.Helper()
	out := map[string]app.Check{}
	for _, c := range app.Doctor(context.Background(), cfg, nil, time.Now()) {
		out[c.Name] = c
	}
	return out
}

func TestDoctor(t *testing.T) {
	good := doctorConfig(t)
	got := checks(t, good)
	for _, name := range []string{"config", "redis", "redis persistence", "clock", "calendar", "wechat credentials", "templates", "menu"} {
		c, ok := got[name]
		if !ok || !c.OK {
			t.Errorf("%s: %+v", name, c)
		}
	}

	wrong := good
	wrong.WeChat.AppSecret = "a-wrong-secret"
	if c := checks(t, wrong)["wechat credentials"]; c.OK || !strings.Contains(c.Detail, "AppSecret is wrong") || !strings.Contains(c.Fix, "MINYUAN_WECHAT_APP_SECRET") {
		t.Errorf("wrong secret: %+v", c)
	}

	ephemeral := good
	ephemeral.Redis.URL = srv.URL() // the shared test server keeps nothing
	if c := checks(t, ephemeral)["redis persistence"]; c.OK || !strings.Contains(c.Detail, "appendonly") || !strings.Contains(c.Fix, "appendonly yes") {
		t.Errorf("redis without persistence: %+v", c)
	}

	noTemplate := good
	noTemplate.Templates = map[string]configs.Template{}
	for k, v := range good.Templates {
		noTemplate.Templates[k] = v
	}
	delete(noTemplate.Templates, handlers.PushKinds[0])
	if c := checks(t, noTemplate)["templates"]; c.OK || !strings.Contains(c.Detail, handlers.PushKinds[0]) || c.Fix == "" {
		t.Errorf("missing template: %+v", c)
	}

	down := good
	down.Redis.URL = "redis://127.0.0.1:1/0"
	if c := checks(t, down)["redis"]; c.OK || c.Fix == "" {
		t.Errorf("redis down: %+v", c)
	}
}
