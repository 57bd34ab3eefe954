package webapp

import (
	"runtime"
	"time"
)

// Large responses (the wasm, model files) take turns: under load the cores,
// not the network, are the limit on loopback, and 200 bodies copied at once
// share them unevenly, so some wait seconds while others finish. A FIFO
// gate of a few slots (Go queues blocked channel senders in order) makes the
// wait even. A body that cannot get a slot within gateWait goes anyway, so
// slow clients holding slots delay others by at most that long.
const (
	// largeBody is the size from which a response takes a slot.
	largeBody = 256 << 10
	// gateWait is the longest a response waits for a slot.
	gateWait = time.Second
)

// bodyGate bounds how many large bodies are written at once.
type bodyGate struct {
	slots chan struct{}
	wait  time.Duration
}

func newBodyGate(slots int, wait time.Duration) *bodyGate {
	return &bodyGate{slots: make(chan struct{}, slots), wait: wait}
}

// defaultBodyGate has two slots per core.
func defaultBodyGate() *bodyGate { return newBodyGate(2*runtime.GOMAXPROCS(0), gateWait) }

// enter waits for a slot (at most g.wait) and returns the function that
// gives it back; without a slot in time the returned function does nothing.
func (g *bodyGate) enter() (leave func()) {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }
	case <-t.C:
		return func() {}
	}
}
