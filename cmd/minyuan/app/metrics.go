package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"minyuan/bot"
	"minyuan/bot/metrics"
	"minyuan/configs"
	"minyuan/store"
)

// newMetrics builds the collectors and times Redis through a go-redis hook.
func newMetrics(cfg configs.Config, cat *bot.Catalog, s *store.Store, rdb redis.UniversalClient, clock bot.Clock) *metrics.Metrics {
	codes := make([]string, len(cfg.Communities))
	for i, c := range cfg.Communities {
		codes[i] = c.Code
	}
	m := metrics.New(s, codes, clock, cat.T("engine.busy", nil), cat.T("engine.busy_unsure", nil))
	rdb.AddHook(m.RedisHook())
	return m
}

// MetricsHandler serves /metrics (for tests and for mounting elsewhere).
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	return mux
}

// serveMetrics listens on metrics.addr, apart from the webhook; empty: nothing.
func (a *App) serveMetrics() (stop func(), err error) {
	if a.cfg.Metrics.Addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", a.cfg.Metrics.Addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics endpoint stopped", "err", err)
		}
	}()
	a.log.Info("metrics", "addr", l.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
