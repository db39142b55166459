package wechat

import (
	"io"

	"github.com/sirupsen/logrus"
)

// Silence mutes the global logrus logger. The library's root package turns it to debug
// on stdout in its init(), and its message server then logs whole decrypted messages:
// residents' words and phone numbers. Minyuan logs through slog instead, and anything
// else of the library that logs must not leak either. Call it once all packages are initialised (main does; NewWebhook does
// too); it is safe to call again and from several goroutines.
func Silence() {
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel)
}
