package outbox

import (
	"context"

	"minyuan/bot"
)

// Handle runs one turn as a worker of Run would: tests that order the steps of a
// race by hand take turns with Store.Read and run them with this.
func (w *Worker) Handle(ctx context.Context, r bot.Turn) { w.handle(ctx, r) }
