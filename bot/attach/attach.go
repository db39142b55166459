// Package attach keeps residents' photos and voice messages past the three days
// WeChat keeps them: each is fetched by its media id while it still can be, put in
// a store (a directory, or an S3-compatible bucket), and shown to staff through a
// link Minyuan signs, that works for a while and for the person it was made for,
// and that Minyuan serves itself (every opening written to the audit log).
//
// An attachment is named by what tickets keep of it: a photo by its picture URL
// (Ticket.Photos), a voice message by its media id. The name in the store is a
// hash of that, so a store holds no openid, URL or media id.
package attach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
)

// ErrNotFound is a Get or Delete of an attachment the store does not hold.
var ErrNotFound = errors.New("attach: not found")

// Store keeps attachment files by name (Name).
type Store interface {
	Put(ctx context.Context, name, contentType string, data []byte) error
	// Get opens an attachment; the caller closes it.
	Get(ctx context.Context, name string) (io.ReadCloser, string, error)
	// Delete removes an attachment; deleting a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// Name is the store name of the attachment ref stands for (a picture URL, or
// "voice:<media id>").
func Name(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return hex.EncodeToString(sum[:16])
}

// validName reports whether name is one Name made (nothing else reaches a store).
func validName(name string) bool {
	if len(name) != 32 {
		return false
	}
	return strings.Trim(name, "0123456789abcdef") == ""
}

// extOf picks the file extension that says what an attachment is.
func extOf(contentType string) string {
	switch {
	case strings.Contains(contentType, "png"):
		return ".png"
	case strings.Contains(contentType, "gif"):
		return ".gif"
	case strings.Contains(contentType, "amr"):
		return ".amr"
	case strings.Contains(contentType, "speex"):
		return ".speex"
	case strings.Contains(contentType, "mpeg"), strings.Contains(contentType, "mp3"):
		return ".mp3"
	case strings.HasPrefix(contentType, "image/"):
		return ".jpg"
	}
	return ".bin"
}

var typeOfExt = map[string]string{".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg",
	".amr": "audio/amr", ".speex": "audio/speex", ".mp3": "audio/mpeg", ".bin": "application/octet-stream"}
