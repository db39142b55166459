package store

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchPipelines is how many pipelines of the message path may be in flight at once.
// While they are, further calls queue and go together in the next one: under load
// many messages share one write and one read, and an idle server sends each call
// at once.
const batchPipelines = 2

// batcher sends the scripts of the message path (claim and commit) in shared
// pipelines. It has no goroutine of its own: a caller that finds a pipeline free
// sends what is queued, its own call included, and hands on what queued meanwhile.
type batcher struct {
	rdb redis.UniversalClient

	mu       sync.Mutex
	queue    []*scriptCall
	inflight int
}

type scriptCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
}

// run runs script as Script.Run would, sharing the round trip with other callers. It
// returns when the reply came or ctx is done (then the script may yet run, as with
// any call whose answer is lost).
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &scriptCall{ctx: ctx, script: script, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.inflight < batchPipelines {
		b.inflight++
		batch := b.queue
		b.queue = nil
		b.mu.Unlock()
		b.send(batch)
	} else {
		b.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(ctx.Err())
		return cmd
	}
}

// send runs one batch, then the calls that queued meanwhile (in the background, so
// that this caller's answer does not wait for theirs), or frees its pipeline.
func (b *batcher) send(batch []*scriptCall) {
	b.exec(batch)
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.inflight--
		b.mu.Unlock()
		return
	}
	next := b.queue
	b.queue = nil
	b.mu.Unlock()
	go b.send(next)
}

// exec sends a batch in one pipeline. Its context lasts as long as the longest
// caller's; a script the server does not know yet (after a restart or a failover)
// is sent again in full.
func (b *batcher) exec(batch []*scriptCall) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range batch {
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			cmds[i] = c.script.Eval(c.ctx, b.rdb, c.keys, c.args...)
		}
		c.cmd = cmds[i]
		close(c.done)
	}
}

// batchContext is a context without the callers' cancellation, with the latest of
// their deadlines: one caller giving up must not cut the others' replies.
func batchContext(batch []*scriptCall) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.Background(), last)
}
