package webapp

import (
	"testing"
	"time"
)

// TestBodyGateTakesTurns: with every slot taken a body waits until one is
// given back, and one that waits longer than the gate's limit goes without
// a slot (and giving back nothing is harmless).
func TestBodyGateTakesTurns(t *testing.T) {
	g := newBodyGate(1, time.Hour)
	leave := g.enter()
	got := make(chan func(), 1)
	go func() { got <- g.enter() }()
	select {
	case <-got:
		t.Fatal("a second body got the only slot while it was taken")
	case <-time.After(50 * time.Millisecond):
	}
	leave()
	select {
	case l := <-got:
		if len(g.slots) != 1 {
			t.Fatalf("slots taken %d after the hand-over, want 1", len(g.slots))
		}
		l()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting body did not get the slot given back")
	}
	if len(g.slots) != 0 {
		t.Fatalf("slots taken %d after both left, want 0", len(g.slots))
	}

	g = newBodyGate(1, 10*time.Millisecond)
	held := g.enter()
	defer held()
	start := time.Now()
	g.enter()()
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Fatalf("went after %v, before the 10 ms limit", d)
	}
	if len(g.slots) != 1 {
		t.Fatalf("slots taken %d, want 1 (the held one only)", len(g.slots))
	}
}
