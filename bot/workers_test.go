package bot

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every job runs, at once with the others however many there are: a worker is
// reused only when it waits, and never queues a job behind another.
func TestWorkersRunEveryJobAtOnce(t *testing.T) {
	var w workers
	for round := range 3 {
		n := 2*maxIdleWorkers + 10
		var started, finished sync.WaitGroup
		release := make(chan struct{})
		var ran atomic.Int64
		started.Add(n)
		finished.Add(n)
		for range n {
			w.run(func() {
				started.Done()
				<-release // every job waits until all have started
				ran.Add(1)
				finished.Done()
			})
		}
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a job waited behind another", round)
		}
		close(release)
		finished.Wait()
		if ran.Load() != int64(n) {
			t.Fatalf("round %d: %d of %d jobs ran", round, ran.Load(), n)
		}
	}
}
