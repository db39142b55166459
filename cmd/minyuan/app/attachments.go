package app

import (
	"context"
	"fmt"

	"minyuan/bot"
	"minyuan/bot/attach"
	"minyuan/configs"
	"minyuan/store"
)

// AttachmentStore opens the configured attachment store (nil when it is "off").
func AttachmentStore(cfg configs.Attachments) (attach.Store, error) {
	switch cfg.Store {
	case "off":
		return nil, nil
	case "s3":
		return attach.NewS3(attach.S3Config{Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, Region: cfg.S3.Region,
			AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, Insecure: cfg.S3.Insecure, Prefix: cfg.S3.Prefix})
	case "dir", "":
		return attach.NewDir(cfg.Dir)
	}
	return nil, fmt.Errorf("attachments.store %q: dir, s3 or off", cfg.Store)
}

// newKeeper builds the attachment rules on the configured store; nil when
// attachments are off. fetch may be nil (the command line never downloads).
func newKeeper(ctx context.Context, cfg configs.Config, s *store.Store, fetch attach.Fetcher, clock bot.Clock) (*attach.Keeper, error) {
	st, err := AttachmentStore(cfg.Attachments)
	if err != nil || st == nil {
		return nil, err
	}
	key := []byte(cfg.Attachments.LinkKey)
	if len(key) == 0 {
		if key, err = s.Secret(ctx, "linkkey"); err != nil {
			return nil, err
		}
	}
	return &attach.Keeper{Store: st, Index: s, Fetch: fetch, Reminders: s, Audit: s, Clock: clock, Key: key,
		TTL: cfg.Attachments.LinkTTL, BaseURL: cfg.Attachments.BaseURL, MaxBytes: cfg.Attachments.MaxBytes}, nil
}

// OpenAttachments opens the attachment rules for the command line (forget and
// expire delete attachments); nil when attachments are off.
func OpenAttachments(ctx context.Context, cfg configs.Config, s *store.Store) (bot.AttachmentEraser, error) {
	k, err := newKeeper(ctx, cfg, s, nil, bot.SystemClock{})
	if err != nil || k == nil {
		return nil, err
	}
	return k, nil
}
