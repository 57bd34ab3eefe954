package cpu

import (
	"sync"
	"testing"
)

// TestScratchReuse: a returned buffer is handed out again for any request
// of its capacity class (not only its length), the lists keep at most
// scratchKeep buffers per class, and concurrent use is safe (run with
// -race).
func TestScratchReuse(t *testing.T) {
	p := getScratch(1000) // class 1024
	if len(*p) != 1000 || cap(*p) != 1024 {
		t.Fatalf("getScratch(1000): len %d cap %d, want 1000 and 1024", len(*p), cap(*p))
	}
	putScratch(p)
	q := getScratch(600) // same class
	if q != p || len(*q) != 600 {
		t.Errorf("getScratch(600) after returning a 1024-capacity buffer: same buffer %v, len %d", q == p, len(*q))
	}
	putScratch(q)

	const class = 5 // 32 values
	keep := scratchKeep(class)
	var bufs []*[]float32
	for range keep + 3 {
		bufs = append(bufs, getScratch(32))
	}
	for _, b := range bufs {
		putScratch(b)
	}
	scratch.mu.Lock()
	kept := len(scratch.free[class])
	scratch.mu.Unlock()
	if kept != keep {
		t.Errorf("class %d keeps %d buffers after %d were returned, want %d", class, kept, keep+3, keep)
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				b := getScratch(64 + (w*i)%200)
				(*b)[0] = float32(w)
				putScratch(b)
			}
		}()
	}
	wg.Wait()
}
