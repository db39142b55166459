package wechat

import (
	"crypto/subtle"

	"github.com/silenceper/wechat/v2/util"
)

// Sign is WeChat's request signature: the hex SHA-1 of token, timestamp, nonce and any
// extra parts (the Encrypt field for msg_signature), sorted and concatenated. The
// simulator signs with it what the webhook checks.
func Sign(token, timestamp, nonce string, extra ...string) string {
	// A fresh slice: util.Signature sorts its arguments in place.
	parts := make([]string, 0, 3+len(extra))
	parts = append(parts, token, timestamp, nonce)
	parts = append(parts, extra...)
	return util.Signature(parts...)
}

// sameSignature compares in constant time, so that a forger cannot learn a valid
// signature byte by byte from response times.
func sameSignature(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
