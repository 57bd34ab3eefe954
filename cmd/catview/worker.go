package main

import (
	"context"
	"image"
	"sync"
	"time"

	"catsynth/app"
)

// worker owns the session: every call into it runs on the worker's one
// goroutine, so the UI never waits for the model. Jobs (load a model,
// save a file) run in order; renders are coalesced: a newer one replaces
// a pending one and cancels a running one (an iterative sampler stops at
// its next step; a one-shot GAN forward finishes first).
type worker struct {
	s *app.Session

	jobs chan func(*app.Session)
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending *renderJob
	cancel  context.CancelFunc // of the running render
}

// renderJob is a render and where its steps and result go (called on the
// worker goroutine).
type renderJob struct {
	r      app.Render
	onStep func(app.Step)
	onDone func(img *image.RGBA, took time.Duration, err error)
}

func newWorker(s *app.Session) *worker {
	w := &worker{s: s, jobs: make(chan func(*app.Session), 64), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *worker) loop() {
	defer close(w.done)
	for {
		// Jobs first: a render queued before a model change is stale.
		select {
		case job := <-w.jobs:
			job(w.s)
			continue
		default:
		}
		select {
		case <-w.quit:
			return
		case job := <-w.jobs:
			job(w.s)
		case <-w.wake:
			w.render()
		}
	}
}

// render runs the pending render, if any.
func (w *worker) render() {
	w.mu.Lock()
	j := w.pending
	w.pending = nil
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.mu.Unlock()
	defer cancel()
	if j == nil {
		return
	}
	img, took, err := w.s.RenderImage(ctx, j.r, j.onStep)
	w.mu.Lock()
	w.cancel = nil
	w.mu.Unlock()
	j.onDone(img, took, err)
}

// Render asks for a render; it supersedes any pending or running one.
func (w *worker) Render(j renderJob) {
	w.mu.Lock()
	w.pending = &j
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// CancelRender stops the running render and drops a pending one.
func (w *worker) CancelRender() {
	w.mu.Lock()
	w.pending = nil
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
}

// Do queues a job after the ones before it.
func (w *worker) Do(job func(*app.Session)) { w.jobs <- job }

// Close stops the worker after the job or render it is running.
func (w *worker) Close() {
	w.CancelRender()
	close(w.quit)
	<-w.done
}
