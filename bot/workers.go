package bot

import "sync"

// maxIdleWorkers bounds the goroutines an Engine keeps waiting for work.
const maxIdleWorkers = 256

// workers run the engine's Updates on goroutines that outlive them: a goroutine that
// handled one message has grown its stack to what a handler needs, and the next
// message starts there instead of growing a fresh one again (a few per cent of the
// message path). Beyond maxIdleWorkers waiting, a worker ends after its job. The zero
// value is ready to use.
type workers struct {
	jobs chan func()
	idle chan struct{} // a token per worker allowed to wait
	init sync.Once
}

// run runs job on a waiting worker, or on a new one.
func (w *workers) run(job func()) {
	w.init.Do(func() {
		w.jobs = make(chan func())
		w.idle = make(chan struct{}, maxIdleWorkers)
	})
	select {
	case w.jobs <- job:
	default:
		go w.work(job)
	}
}

func (w *workers) work(job func()) {
	for {
		job()
		select {
		case w.idle <- struct{}{}:
		default:
			return // enough are waiting
		}
		job = <-w.jobs
		<-w.idle
	}
}
