package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minyuan/configs"
)

func TestSampleLoadsWithSecretsFromEnvironment(t *testing.T) {
	env := []string{
		"MINYUAN_HTTP_ADDR=127.0.0.1:9999",
		"MINYUAN_REDIS_URL=redis://127.0.0.1:6390/2",
		"MINYUAN_WECHAT_APP_ID=wx123",
		"MINYUAN_WECHAT_APP_SECRET=s3cret",
		"MINYUAN_WECHAT_TOKEN=tok",
		"MINYUAN_WECHAT_ENCODING_AES_KEY=" + strings.Repeat("a", 43),
		"MINYUAN_WECHAT_API_BASE_URL=http://127.0.0.1:7000",
		"MINYUAN_SESSION_TIMEOUT=10m",
		"MINYUAN_REDIS_REQUIRE_PERSISTENCE=true",
		"OTHER=ignored",
	}
	cfg, err := configs.Load("minyuan.sample.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("sample with env should validate: %v", err)
	}
	checks := []struct{ got, want any }{
		{cfg.HTTP.Addr, "127.0.0.1:9999"},
		{cfg.Redis.URL, "redis://127.0.0.1:6390/2"},
		{cfg.WeChat.AppSecret, "s3cret"},
		{cfg.WeChat.APIBaseURL, "http://127.0.0.1:7000"},
		{cfg.Session.Timeout, 10 * time.Minute},
		{cfg.Redis.RequirePersistence, true},
		{cfg.WeChat.Path, "/wechat"},
		{len(cfg.Communities) > 0, true},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %v, want %v", i, c.got, c.want)
		}
	}
}

func TestValidateNamesTheBadKey(t *testing.T) {
	base := func() configs.Config {
		c := configs.Default()
		c.WeChat.AppID, c.WeChat.AppSecret, c.WeChat.Token = "wx", "s", "t"
		c.Communities = []configs.Community{{Code: "A", Name: "甲"}}
		return c
	}
	if c := base(); c.Validate() != nil {
		t.Fatalf("base config invalid: %v", c.Validate())
	}
	cases := []struct {
		key    string
		mutate func(*configs.Config)
	}{
		{"wechat.token", func(c *configs.Config) { c.WeChat.Token = "" }},
		{"wechat.app_secret", func(c *configs.Config) { c.WeChat.AppSecret = "" }},
		{"wechat.encoding_aes_key", func(c *configs.Config) { c.WeChat.EncodingAESKey = "short" }},
		{"wechat.api_base_url", func(c *configs.Config) { c.WeChat.APIBaseURL = "ftp://x" }},
		{"redis.url", func(c *configs.Config) { c.Redis.URL = "http://x" }},
		{"session.timeout", func(c *configs.Config) { c.Session.Timeout = 0 }},
		{"communities", func(c *configs.Config) { c.Communities = nil }},
		{"communities[1].code", func(c *configs.Config) {
			c.Communities = append(c.Communities, configs.Community{Code: "A", Name: "乙"})
		}},
		{"log.level", func(c *configs.Config) { c.Log.Level = "loud" }},
		{"desk.request_keywords", func(c *configs.Config) { c.Desk.RequestKeywords = []string{"投诉", "投诉"} }},
		{"desk.request_keywords", func(c *configs.Config) { c.Desk.RequestKeywords = []string{"我要 投诉"} }},
	}
	for _, tc := range cases {
		c := base()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: got %v", tc.key, err)
		}
	}
}

func TestBadEnvironmentValueIsNamed(t *testing.T) {
	_, err := configs.Load("", []string{"MINYUAN_SESSION_TIMEOUT=soon"})
	if err == nil || !strings.Contains(err.Error(), "MINYUAN_SESSION_TIMEOUT") {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownYAMLKeyFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("redis:\n  ulr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configs.Load(p, nil); err == nil || !strings.Contains(err.Error(), "ulr") {
		t.Fatalf("got %v", err)
	}
}

func TestEnvNamesCoverIssueExamples(t *testing.T) {
	names := strings.Join(configs.EnvNames(), " ")
	for _, want := range []string{"MINYUAN_HTTP_ADDR", "MINYUAN_REDIS_URL", "MINYUAN_WECHAT_APP_ID",
		"MINYUAN_WECHAT_APP_SECRET", "MINYUAN_WECHAT_TOKEN", "MINYUAN_WECHAT_ENCODING_AES_KEY",
		"MINYUAN_WECHAT_API_BASE_URL"} {
		if !strings.Contains(names, want) {
			t.Errorf("missing %s", want)
		}
	}
}
