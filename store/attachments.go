package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot/attach"
)

// SaveAttachment records a kept attachment.
func (s *Store) SaveAttachment(ctx context.Context, m attach.Meta) error {
	raw, _ := json.Marshal(m)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.attachment(m.Name), raw, 0)
		if m.Owner != "" {
			p.SAdd(ctx, s.k.attachmentsOf(m.Owner), m.Name)
		}
		p.ZAdd(ctx, s.k.attachmentsKept(), redis.Z{Score: float64(m.Kept.UnixMilli()), Member: m.Name})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save attachment: %w", err)
	}
	return nil
}

// Attachment reads a kept attachment's record.
func (s *Store) Attachment(ctx context.Context, name string) (attach.Meta, bool, error) {
	raw, err := s.rdb.Get(ctx, s.k.attachment(name)).Bytes()
	if errors.Is(err, redis.Nil) {
		return attach.Meta{}, false, nil
	}
	if err != nil {
		return attach.Meta{}, false, fmt.Errorf("store: attachment: %w", err)
	}
	var m attach.Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return attach.Meta{}, false, fmt.Errorf("store: attachment: %w", err)
	}
	return m, true, nil
}

// DeleteAttachment forgets a kept attachment's record.
func (s *Store) DeleteAttachment(ctx context.Context, m attach.Meta) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k.attachment(m.Name))
		if m.Owner != "" {
			p.SRem(ctx, s.k.attachmentsOf(m.Owner), m.Name)
		}
		p.ZRem(ctx, s.k.attachmentsKept(), m.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete attachment: %w", err)
	}
	return nil
}

// AttachmentsOf lists the attachments one person sent (by bot.Recipient).
func (s *Store) AttachmentsOf(ctx context.Context, owner string) ([]string, error) {
	return s.rdb.SMembers(ctx, s.k.attachmentsOf(owner)).Result()
}

// AttachmentsBefore lists up to limit attachments kept before t, oldest first.
func (s *Store) AttachmentsBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	return s.rdb.ZRangeByScore(ctx, s.k.attachmentsKept(), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(t.UnixMilli(), 10), Count: int64(limit)}).Result()
}
