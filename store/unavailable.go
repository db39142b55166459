package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
)

// outageHook marks every Redis failure that means "Redis cannot be reached or cannot
// serve now" as bot.EUnavailable, on the command itself, so that the class survives
// every fmt.Errorf("store: …: %w") on the way up: the engine answers 「系统繁忙」 and
// logs an outage, not a bug. Server errors that are our own fault (a wrong type, a
// script error) stay as they are.
type outageHook struct{}

func (outageHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (outageHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if w := asOutage(err); w != nil {
			cmd.SetErr(w)
			return w
		}
		return err
	}
}

func (outageHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if w := asOutage(c.Err()); w != nil {
				c.SetErr(w)
			}
		}
		if w := asOutage(err); w != nil {
			return w
		}
		return err
	}
}

// Server replies that say the server cannot serve now (loading, a replica that has
// just been demoted, a primary without its replicas, a script running too long).
var outagePrefixes = []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "CLUSTERDOWN"}

// asOutage wraps err as bot.EUnavailable when it is an outage, or returns nil.
func asOutage(err error) error {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) {
		return nil
	}
	var be *bot.Error
	if errors.As(err, &be) {
		return nil
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		// A reply from the server: an outage only if it says so.
		msg := rerr.Error()
		for _, p := range outagePrefixes {
			if strings.HasPrefix(msg, p) {
				return &bot.Error{Code: bot.EUnavailable, Err: err}
			}
		}
		var ne net.Error
		if !errors.As(err, &ne) {
			return nil
		}
	}
	// Network errors, time-outs, a closed or exhausted pool, a cancelled context.
	return &bot.Error{Code: bot.EUnavailable, Err: err}
}

// LogTo sends go-redis's own log lines (failed dials, pool trouble) to log as
// warnings, so that they do not break a JSON log with lines of their own. The
// library's logger is global: the last call wins.
func LogTo(log *slog.Logger) {
	redis.SetLogger(redisLogger{log.With("component", "go-redis")})
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
}
