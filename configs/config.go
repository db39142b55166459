// Package configs holds Minyuan's typed configuration, the sample config file and the
// message catalogue. Defaults live here; a YAML file overrides them; environment
// variables named MINYUAN_<SECTION>_<KEY> override the file (for secrets and addresses).
package configs

import (
	"bytes"
	"embed"
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"minyuan/bot"
	"minyuan/bot/calendar"
)

//go:embed *.yaml
var files embed.FS

// Files are the embedded defaults: minyuan.sample.yaml and messages.zh.yaml.
func Files() fs.FS { return files }

// Config is everything Minyuan reads at start-up.
type Config struct {
	HTTP     HTTP    `yaml:"http"`
	WeChat   WeChat  `yaml:"wechat"`
	Redis    Redis   `yaml:"redis"`
	Session  Session `yaml:"session"`
	Invite   Invite  `yaml:"invite"`
	Log      Log     `yaml:"log"`
	Messages string  `yaml:"messages"` // a catalogue file replacing the built-in one
	Desk     Desk    `yaml:"desk"`
	Outbox   Outbox  `yaml:"outbox"`
	// Templates by kind of push; an entry with an empty id means "no template".
	Templates map[string]Template `yaml:"templates"`
	Calendar  Calendar            `yaml:"calendar"`
	Menu      []MenuButton        `yaml:"menu"`
	// RoleMenus are personalised menus (个性化菜单) by role: WeChat shows one to the
	// users Minyuan has tagged with that role instead of Menu. Later roles in
	// RoleMenuOrder win for someone who holds several.
	RoleMenus   map[bot.Role][]MenuButton `yaml:"role_menus"`
	Communities []Community               `yaml:"communities"`
	Categories  []bot.Category            `yaml:"categories"`
	// Operations (issue 14).
	Metrics Metrics `yaml:"metrics"`
	// Hotline bridge (hotline.go).
	Hotline Hotline `yaml:"hotline"`
	// Visits: party members' tasks (三必访, 五包, 四个一).
	Visits Visits `yaml:"visits"`
	// Volunteers.
	Volunteers Volunteers `yaml:"volunteers"`
	// Data protection and attachments (privacy.go).
	Privacy     Privacy     `yaml:"privacy"`
	Attachments Attachments `yaml:"attachments"`
}

// Desk is how the reception desk works.
type Desk struct {
	// AutoAssignAfter: a new ticket nobody claimed within this time is assigned
	// round-robin to the community's staff (on duty first).
	AutoAssignAfter time.Duration `yaml:"auto_assign_after"`
	// RelayTimeout ends a live relay (对话) after this much silence.
	RelayTimeout time.Duration `yaml:"relay_timeout"`
	// Hours are the desk's service hours, lunch break included.
	Hours calendar.Hours `yaml:"hours"`
	// FollowUpWindow: a resident's free message goes to their most recent ticket
	// while it is open, or closed no longer than this ago.
	FollowUpWindow time.Duration `yaml:"followup_window"`
	// RequestKeywords start the request form directly when a resident's message
	// opens with one (「投诉」「我要投诉」「报修：水管漏了」), whatever case is open.
	RequestKeywords []string `yaml:"request_keywords"`
}

// Outbox is how pushes are sent.
type Outbox struct {
	Workers     int           `yaml:"workers"`      // pushes sent at once per process
	MaxAttempts int           `yaml:"max_attempts"` // then the push is dead-lettered
	BackoffBase time.Duration `yaml:"backoff_base"` // wait before the second attempt, doubling
	BackoffCap  time.Duration `yaml:"backoff_cap"`
	ReclaimIdle time.Duration `yaml:"reclaim_idle"` // a push a dead worker held is taken over after this
	// Gather is how long the last customer-service message a recipient's allowance
	// leaves waits for more pushes to merge into it (0: the default, 20s; negative:
	// never waits).
	Gather time.Duration `yaml:"gather"`
}

// Template is the WeChat template message used for one kind of push when the
// recipient's 48-hour window is closed.
type Template struct {
	ID string `yaml:"id"`
	// Fields fill the template's keys; {text}, {ref}, {community}, {kind} or any
	// field of the push are replaced.
	Fields map[string]string `yaml:"fields"`
	URL    string            `yaml:"url"`
}

// MenuButton is a button of the official account's custom menu. A button has a Key
// (a CLICK the bot answers), a URL (a page), or Sub buttons.
type MenuButton struct {
	Name string       `yaml:"name"`
	Key  string       `yaml:"key,omitempty"`
	URL  string       `yaml:"url,omitempty"`
	Sub  []MenuButton `yaml:"sub,omitempty"`
}

// DefaultMenu is the custom menu `minyuan menu create` sets: what residents see. The
// keys are routed in handlers/.
func DefaultMenu() []MenuButton {
	return []MenuButton{
		{Name: "反映诉求", Key: "REQUEST"},
		volunteerMenu(),
		{Name: "更多", Sub: []MenuButton{
			{Name: "我的诉求", Key: "MY_TICKETS"},
			{Name: "转人工", Key: "HANDOFF"},
			{Name: "我的资料", Key: "PROFILE"},
			{Name: "帮助", Key: "HELP"},
		}},
	}
}

func volunteerMenu() MenuButton {
	return MenuButton{Name: "志愿服务", Sub: []MenuButton{
		{Name: "志愿活动", Key: "VOL_LIST"},
		{Name: "我的报名", Key: "VOL_MINE"},
		{Name: "我的时长", Key: "VOL_HOURS"},
		{Name: "我的志愿", Key: "VOL_PROFILE"},
	}}
}

// RoleMenuOrder is the order personalised menus are created in: WeChat shows the
// newest one that matches, so someone who is both a party member and staff sees the
// staff menu.
var RoleMenuOrder = []bot.Role{bot.RoleParty, bot.RoleSecretary, bot.RoleHotline, bot.RoleStaff, bot.RoleAdmin}

// DefaultRoleMenus are the personalised menus of staff and party members.
func DefaultRoleMenus() map[bot.Role][]MenuButton {
	more := MenuButton{Name: "更多", Sub: []MenuButton{
		{Name: "反映诉求", Key: "REQUEST"},
		{Name: "我的诉求", Key: "MY_TICKETS"},
		{Name: "我的资料", Key: "PROFILE"},
		{Name: "帮助", Key: "HELP"},
	}}
	return map[bot.Role][]MenuButton{
		bot.RoleStaff: {{Name: "待办", Key: "DESK_TODO"}, volunteerMenu(), more},
		bot.RoleParty: {{Name: "我的任务", Key: "VISIT_MINE"}, volunteerMenu(), more},
	}
}

// validMenu checks the platform's limits: 3 buttons, 5 under each, names of at most
// 16 (top) or 60 (sub) bytes, each button exactly one of key, url or sub.
func validMenu(bs []MenuButton, top bool) error {
	limit, nameBytes := 3, 16
	if !top {
		limit, nameBytes = 5, 60
	}
	if len(bs) > limit {
		return fmt.Errorf("at most %d buttons here, got %d", limit, len(bs))
	}
	for _, b := range bs {
		kinds := 0
		for _, set := range []bool{b.Key != "", b.URL != "", len(b.Sub) > 0} {
			if set {
				kinds++
			}
		}
		switch {
		case b.Name == "" || len(b.Name) > nameBytes:
			return fmt.Errorf("button %q: name must be 1 to %d bytes", b.Name, nameBytes)
		case kinds != 1:
			return fmt.Errorf("button %q: give exactly one of key, url or sub", b.Name)
		case len(b.Sub) > 0 && !top:
			return fmt.Errorf("button %q: sub-buttons cannot have their own", b.Name)
		case len(b.Sub) > 0:
			if err := validMenu(b.Sub, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Calendar is the working-day calendar and quiet hours.
type Calendar struct {
	// Overrides is a YAML file of extra holidays and make-up workdays (for years the
	// built-in data does not know yet, or local changes).
	Overrides string `yaml:"overrides"`
	// Quiet hours: non-urgent pushes due in them wait for their end.
	Quiet calendar.Quiet `yaml:"quiet"`
}

// HTTP is the listening side.
type HTTP struct {
	Addr string `yaml:"addr"`
}

// WeChat is the official account and how to reach the platform.
type WeChat struct {
	Path           string `yaml:"path"`
	AppID          string `yaml:"app_id"`
	AppSecret      string `yaml:"app_secret"`
	Token          string `yaml:"token"`
	EncodingAESKey string `yaml:"encoding_aes_key"`
	// Mode is the console's 消息加解密方式: safe, compatible or plain; the webhook
	// refuses messages of the other modes. Empty: safe with an EncodingAESKey,
	// plain without.
	Mode         string        `yaml:"mode"`
	APIBaseURL   string        `yaml:"api_base_url"`
	ReplayWindow time.Duration `yaml:"replay_window"`
	MaxBody      int64         `yaml:"max_body"`
}

// Redis is the system of record.
type Redis struct {
	URL                string `yaml:"url"`
	Prefix             string `yaml:"prefix"`
	RequirePersistence bool   `yaml:"require_persistence"`
	// MinReplicasAck is how many replicas must have a new ticket (WAIT) before its
	// number is told; 0 tells it at once.
	MinReplicasAck int `yaml:"min_replicas_ack"`
}

// Session is conversation state.
type Session struct {
	Timeout time.Duration `yaml:"timeout"`
}

// Invite is how roles are granted.
type Invite struct {
	TTL time.Duration `yaml:"ttl"`
}

// Log is how Minyuan logs.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Community is one community (社区) served by this installation.
type Community struct {
	Code   string `yaml:"code"`
	Name   string `yaml:"name"`
	Street string `yaml:"street"` // the street office (街道) it belongs to
	// Aliases are other names residents type for it (its short name, an old
	// name); forms and 转派 accept them. The name without 社区 needs none.
	Aliases []string `yaml:"aliases"`
	// Phone and Hours are the community's own telephone and when it is staffed
	// (「工作日 8:30-17:30」): told to residents in distress and on 社区电话.
	Phone string `yaml:"phone"`
	Hours string `yaml:"hours"`
}

// Default is the configuration before any file or environment.
func Default() Config {
	return Config{
		HTTP: HTTP{Addr: ":8080"},
		WeChat: WeChat{
			Path:         "/wechat",
			APIBaseURL:   "https://api.weixin.qq.com",
			ReplayWindow: 5 * time.Minute,
			MaxBody:      64 << 10,
		},
		Redis:   Redis{URL: "redis://127.0.0.1:6379/0", Prefix: "minyuan:"},
		Session: Session{Timeout: 30 * time.Minute},
		Invite:  Invite{TTL: 72 * time.Hour},
		Log:     Log{Level: "info", Format: "json"},
		Desk: Desk{
			AutoAssignAfter: 30 * time.Minute,
			RelayTimeout:    30 * time.Minute,
			FollowUpWindow:  72 * time.Hour,
			RequestKeywords: DefaultRequestKeywords(),
			Hours:           calendar.DefaultHours(),
		},
		Calendar: Calendar{Quiet: calendar.DefaultQuiet()},
		Outbox: Outbox{Workers: 4, MaxAttempts: 8, BackoffBase: 5 * time.Second,
			BackoffCap: 10 * time.Minute, ReclaimIdle: 30 * time.Second},
		Categories: DefaultCategories(),
		Menu:       DefaultMenu(),
		RoleMenus:  DefaultRoleMenus(),
		Hotline:    DefaultHotline(),
		Visits:     DefaultVisits(),
		// Volunteers.
		Volunteers:  DefaultVolunteers(),
		Privacy:     Privacy{RetentionDays: 730},
		Attachments: DefaultAttachments(),
	}
}

// DefaultCategories are the cases that fill a 社区's day, in words residents
// recognise, each with a hint, 其他 last (「拿不准就选其他」). Deadlines follow 12345
// practice: working days to take (接单) and to resolve (办结); 0 to take means the
// same working day, for people who may be in distress. The people-centred ones come
// first, 病丧慰问 among them: a resident's own report of illness or a death in the
// family, which also makes a party member's visit (居民病（逝）必访, visits.go
// illness_categories). Codes stay as they were, so older tickets keep their names;
// old names are aliases.
func DefaultCategories() []bot.Category {
	return []bot.Category{
		{Code: "hardship", Name: "困难求助", SignDays: 0, ResolveDays: 3, Urgency: bot.UrgencyHigh, Counts: "hardships",
			Hint: "生活困难、突发变故，急需帮助"},
		{Code: "elderly", Name: "养老助残", SignDays: 1, ResolveDays: 5, Urgency: bot.UrgencyNormal,
			Hint: "老人、残疾人的照料、补贴、上门服务", Aliases: []string{"养老", "助残"}},
		{Code: "care", Name: "病丧慰问", SignDays: 0, ResolveDays: 3, Urgency: bot.UrgencyHigh, Care: true,
			Hint: "家人生病住院、亲人去世，社区上门看望"},
		{Code: "repair", Name: "物业维修", SignDays: 1, ResolveDays: 5, Urgency: bot.UrgencyNormal,
			Hint: "水电、漏水、电梯、楼道灯", Aliases: []string{"维修", "物业", "报修", "维修物业"}},
		{Code: "sanitation", Name: "环境卫生", SignDays: 1, ResolveDays: 5, Urgency: bot.UrgencyNormal,
			Hint: "垃圾、卫生、绿化、蚊虫", Aliases: []string{"卫生", "垃圾"}},
		{Code: "noise", Name: "噪音扰民", SignDays: 1, ResolveDays: 3, Urgency: bot.UrgencyNormal, Private: true,
			Hint: "装修、广场舞、店铺的噪音", Aliases: []string{"噪音", "扰民"}},
		{Code: "dispute", Name: "邻里纠纷", SignDays: 0, ResolveDays: 10, Urgency: bot.UrgencyNormal, Counts: "disputes", Private: true,
			Hint: "邻里、家庭矛盾，需要调解", Aliases: []string{"矛盾纠纷", "纠纷", "调解"}},
		{Code: "parking", Name: "停车占道", SignDays: 1, ResolveDays: 5, Urgency: bot.UrgencyNormal,
			Hint: "乱停车、占道经营、楼道堆物", Aliases: []string{"停车", "占道"}},
		{Code: "safety", Name: "治安消防", SignDays: 0, ResolveDays: 3, Urgency: bot.UrgencyHigh,
			Hint: "安全隐患、消防通道堵塞、可疑情况", Aliases: []string{"治安安全", "治安", "消防"}},
		{Code: "inquiry", Name: "社保医保·证明办事", SignDays: 1, ResolveDays: 3, Urgency: bot.UrgencyLow,
			Hint: "社保、医保、低保、开证明、政策咨询", Aliases: []string{"政策咨询", "社保", "医保", "证明", "办事"}},
		{Code: "jobs", Name: "就业创业", SignDays: 1, ResolveDays: 10, Urgency: bot.UrgencyNormal, Counts: "jobs",
			Hint: "找工作、技能培训、创业扶持", Aliases: []string{"就业", "找工作"}},
		{Code: "suggestion", Name: "意见建议", SignDays: 1, ResolveDays: 15, Urgency: bot.UrgencyLow,
			Hint: "对社区工作的意见和建议", Aliases: []string{"建议", "意见"}},
		{Code: "other", Name: "其他", SignDays: 1, ResolveDays: 7, Urgency: bot.UrgencyNormal,
			Hint: "拿不准就选其他"},
	}
}

// Load reads path (if not empty) over the defaults, then the environment.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyEnv sets every scalar field from MINYUAN_<SECTION>_<KEY>, the names made from
// the YAML keys (wechat.app_secret → MINYUAN_WECHAT_APP_SECRET).
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "MINYUAN_") {
			env[k] = v
		}
	}
	return walk(reflect.ValueOf(cfg).Elem(), "MINYUAN", func(name string, f reflect.Value) error {
		v, ok := env[name]
		if !ok {
			return nil
		}
		if err := setScalar(f, v); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	})
}

// EnvNames lists every environment variable Load reads, for the docs and tests.
func EnvNames() []string {
	var out []string
	cfg := Default()
	_ = walk(reflect.ValueOf(&cfg).Elem(), "MINYUAN", func(name string, _ reflect.Value) error {
		out = append(out, name)
		return nil
	})
	return out
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Struct:
			if err := walk(f, name, fn); err != nil {
				return err
			}
		case reflect.String, reflect.Bool, reflect.Int64, reflect.Int:
			if err := fn(name, f); err != nil {
				return err
			}
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func setScalar(f reflect.Value, v string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(v))
	}
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(v)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int64 || f.Kind() == reflect.Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	}
	return nil
}

// Validate fails fast, naming every bad key. Each section checks itself.
func (c *Config) Validate() error {
	var errs []error
	for _, section := range [][]error{
		c.HTTP.validate(),
		c.WeChat.validate(),
		c.Redis.validate(),
		c.Session.validate(),
		c.Invite.validate(),
		c.Log.validate(),
		c.Desk.validate(),
		c.Calendar.validate(),
		c.Outbox.validate(),
		validateMenu(c.Menu, c.RoleMenus),
		validateCategories(c.Categories),
		c.visitsProblems(),
		validateCommunities(c.Communities),
		c.hotlineProblems(), // hotline.go
		c.Privacy.validate(),
		c.Attachments.validate(),
	} {
		errs = append(errs, section...)
	}
	// Volunteers.
	errs = append(errs, c.Volunteers.validate()...)
	return errors.Join(errs...)
}

// visitsProblems runs the visits section's check (configs/visits.go), which reads
// other sections too.
func (c *Config) visitsProblems() (p problems) {
	c.Visits.validate(c, p.add)
	return p
}

// problems collects what is wrong in a section, each naming its full key.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
}

func (h HTTP) validate() (p problems) {
	if h.Addr == "" {
		p.add("http.addr", "required")
	}
	return p
}

func (w WeChat) validate() (p problems) {
	if !strings.HasPrefix(w.Path, "/") {
		p.add("wechat.path", "must start with /")
	}
	if w.Token == "" {
		p.add("wechat.token", "required (MINYUAN_WECHAT_TOKEN): the token set in the WeChat console")
	}
	if w.AppID == "" {
		p.add("wechat.app_id", "required (MINYUAN_WECHAT_APP_ID)")
	}
	if w.AppSecret == "" {
		p.add("wechat.app_secret", "required (MINYUAN_WECHAT_APP_SECRET)")
	}
	if k := w.EncodingAESKey; k != "" && len(k) != 43 {
		p.add("wechat.encoding_aes_key", "must be 43 characters, got %d", len(k))
	}
	switch w.Mode {
	case "", "plain":
	case "safe", "compatible":
		if w.EncodingAESKey == "" {
			p.add("wechat.mode", "%s needs wechat.encoding_aes_key", w.Mode)
		}
	default:
		p.add("wechat.mode", "must be safe, compatible or plain, got %q", w.Mode)
	}
	if u, err := url.Parse(w.APIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("wechat.api_base_url", "must be an http(s) URL, got %q", w.APIBaseURL)
	}
	if w.ReplayWindow <= 0 {
		p.add("wechat.replay_window", "must be positive")
	}
	if w.MaxBody < 1024 {
		p.add("wechat.max_body", "must be at least 1024 bytes")
	}
	return p
}

func (r Redis) validate() (p problems) {
	if u, err := url.Parse(r.URL); err != nil || !strings.HasPrefix(u.Scheme, "redis") {
		p.add("redis.url", "must be a redis://, rediss:// or redis-sentinel:// URL")
	}
	if r.Prefix == "" {
		p.add("redis.prefix", "required")
	}
	if r.MinReplicasAck < 0 {
		p.add("redis.min_replicas_ack", "must be 0 or more")
	}
	return p
}

func (s Session) validate() (p problems) {
	if s.Timeout <= 0 {
		p.add("session.timeout", "must be positive")
	}
	return p
}

func (i Invite) validate() (p problems) {
	if i.TTL <= 0 {
		p.add("invite.ttl", "must be positive")
	}
	return p
}

func (l Log) validate() (p problems) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "one of debug, info, warn, error")
	}
	switch l.Format {
	case "json", "text":
	default:
		p.add("log.format", "json or text")
	}
	return p
}

// DefaultRequestKeywords are the words residents open a new request with.
func DefaultRequestKeywords() []string {
	return []string{"投诉", "报修", "求助", "维修", "举报"}
}

func (d Desk) validate() (p problems) {
	seen := map[string]bool{}
	for _, k := range d.RequestKeywords {
		switch {
		case strings.TrimSpace(k) == "" || strings.ContainsFunc(k, unicode.IsSpace):
			p.add("desk.request_keywords", "%q: a keyword is one word, without spaces", k)
		case seen[k]:
			p.add("desk.request_keywords", "%q is listed twice", k)
		}
		seen[k] = true
	}
	if d.AutoAssignAfter <= 0 {
		p.add("desk.auto_assign_after", "must be positive")
	}
	if d.RelayTimeout <= 0 {
		p.add("desk.relay_timeout", "must be positive")
	}
	if err := d.Hours.Validate(); err != nil {
		p.add("desk.hours", "%v", err)
	}
	return p
}

func (c Calendar) validate() (p problems) {
	if err := c.Quiet.Validate(); err != nil {
		p.add("calendar.quiet", "%v", err)
	}
	return p
}

func (o Outbox) validate() (p problems) {
	if o.Workers < 1 || o.MaxAttempts < 1 || o.BackoffBase <= 0 || o.BackoffCap < o.BackoffBase {
		p.add("outbox", "workers and max_attempts at least 1, 0 < backoff_base <= backoff_cap")
	}
	if o.ReclaimIdle < 30*time.Second {
		p.add("outbox.reclaim_idle", "at least 30s: longer than the slowest delivery")
	}
	return p
}

func validateMenu(menu []MenuButton, byRole map[bot.Role][]MenuButton) (p problems) {
	if err := validMenu(menu, true); err != nil {
		p.add("menu", "%v", err)
	}
	for role, m := range byRole {
		if !slices.Contains(RoleMenuOrder, role) {
			p.add("role_menus."+string(role), "not a role with a menu of its own (one of %v)", RoleMenuOrder)
		} else if err := validMenu(m, true); err != nil {
			p.add("role_menus."+string(role), "%v", err)
		}
	}
	return p
}

func validateCategories(cs []bot.Category) (p problems) {
	if len(cs) == 0 {
		p.add("categories", "at least one category is needed")
	}
	seen := map[string]bool{}
	for i, cat := range cs {
		key := fmt.Sprintf("categories[%d]", i)
		switch {
		case cat.Code == "" || seen[cat.Code]:
			p.add(key+".code", "required and unique, got %q", cat.Code)
		case cat.Name == "":
			p.add(key+".name", "required")
		case cat.SignDays < 0 || cat.ResolveDays < 1 || cat.SignDays > cat.ResolveDays:
			p.add(key, "need 0 <= sign_days <= resolve_days and resolve_days >= 1")
		case cat.Urgency < bot.UrgencyHigh || cat.Urgency > bot.UrgencyLow:
			p.add(key+".urgency", "0 (high), 1 (normal) or 2 (low)")
		case cat.Counts != "" && cat.Counts != "disputes" && cat.Counts != "hardships" && cat.Counts != "jobs":
			p.add(key+".counts", "disputes, hardships, jobs or empty")
		}
		seen[cat.Code] = true
	}
	return p
}

func validateCommunities(cms []Community) (p problems) {
	if len(cms) == 0 {
		p.add("communities", "at least one community is needed")
	}
	seen := map[string]bool{}
	for i, cm := range cms {
		switch {
		case cm.Code == "" || strings.ContainsAny(cm.Code, " |:"):
			p.add(fmt.Sprintf("communities[%d].code", i), "required, without spaces, '|' or ':'")
		case seen[cm.Code]:
			p.add(fmt.Sprintf("communities[%d].code", i), "duplicate %q", cm.Code)
		case cm.Name == "":
			p.add(fmt.Sprintf("communities[%d].name", i), "required")
		}
		seen[cm.Code] = true
	}
	return p
}

// Community finds a community by code.
func (c *Config) Community(code string) (Community, bool) {
	for _, cm := range c.Communities {
		if cm.Code == code {
			return cm, true
		}
	}
	return Community{}, false
}
