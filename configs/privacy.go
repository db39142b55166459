package configs

import "time"

// Privacy is how long personal data is kept and how people are named in logs.
type Privacy struct {
	// RetentionDays: a closed ticket's personal data (the resident's name, phone
	// and openid, what they wrote, the timeline's texts, its attachments) is erased
	// this many days after it closed; the anonymous counts stay. 0 keeps it.
	RetentionDays int `yaml:"retention_days"`
	// LogKey keys the hash that names people in logs and audit lines
	// (MINYUAN_PRIVACY_LOG_KEY); empty: a random key kept in Redis.
	LogKey string `yaml:"log_key"`
}

// Retention is RetentionDays as a duration (0: keep).
func (p Privacy) Retention() time.Duration { return time.Duration(p.RetentionDays) * 24 * time.Hour }

func (p Privacy) validate() (ps problems) {
	if p.RetentionDays < 0 {
		ps.add("privacy.retention_days", "must be 0 (keep) or a number of days")
	}
	return ps
}

// Attachments is where residents' photos and voice are kept once fetched from
// WeChat (its media ids last 3 days), and how staff open them.
type Attachments struct {
	// Store: "dir" (the default) or "s3" (an S3-compatible bucket: MinIO, a
	// cloud's object storage); "off" keeps nothing.
	Store string `yaml:"store"`
	// Dir is the directory of the dir store.
	Dir string `yaml:"dir"`
	S3  S3     `yaml:"s3"`
	// BaseURL is the address staff's phones reach Minyuan at (https://…), which
	// the links in chat start with; empty: links are relative paths.
	BaseURL string `yaml:"base_url"`
	// LinkKey signs the links (MINYUAN_ATTACHMENTS_LINK_KEY); empty: a random key
	// kept in Redis.
	LinkKey string `yaml:"link_key"`
	// LinkTTL is how long a link works.
	LinkTTL time.Duration `yaml:"link_ttl"`
	// MaxBytes bounds one attachment.
	MaxBytes int64 `yaml:"max_bytes"`
}

// S3 is an S3-compatible bucket.
type S3 struct {
	Endpoint  string `yaml:"endpoint"` // host[:port], no scheme
	Bucket    string `yaml:"bucket"`
	Region    string `yaml:"region"`
	AccessKey string `yaml:"access_key"` // MINYUAN_ATTACHMENTS_S3_ACCESS_KEY
	SecretKey string `yaml:"secret_key"` // MINYUAN_ATTACHMENTS_S3_SECRET_KEY
	Insecure  bool   `yaml:"insecure"`   // plain HTTP (a MinIO on the same host)
	Prefix    string `yaml:"prefix"`     // object names start with it
}

// DefaultAttachments keeps attachments in ./data/attachments, links valid 30 minutes.
func DefaultAttachments() Attachments {
	return Attachments{Store: "dir", Dir: "data/attachments", LinkTTL: 30 * time.Minute, MaxBytes: 10 << 20}
}

func (a Attachments) validate() (p problems) {
	switch a.Store {
	case "off":
	case "dir", "":
		if a.Dir == "" {
			p.add("attachments.dir", "required with store dir")
		}
	case "s3":
		if a.S3.Endpoint == "" {
			p.add("attachments.s3.endpoint", "required with store s3 (host:port)")
		}
		if a.S3.Bucket == "" {
			p.add("attachments.s3.bucket", "required with store s3")
		}
		if a.S3.AccessKey == "" || a.S3.SecretKey == "" {
			p.add("attachments.s3.access_key", "access_key and secret_key are required with store s3 (MINYUAN_ATTACHMENTS_S3_ACCESS_KEY, MINYUAN_ATTACHMENTS_S3_SECRET_KEY)")
		}
	default:
		p.add("attachments.store", "%q: dir, s3 or off", a.Store)
	}
	if a.LinkTTL <= 0 || a.LinkTTL > 7*24*time.Hour {
		p.add("attachments.link_ttl", "between 1s and 168h")
	}
	if a.MaxBytes <= 0 {
		p.add("attachments.max_bytes", "must be positive")
	}
	return p
}
