package faultinject

import (
	"errors"
	"strings"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// TestLoseAfter: exactly LoseAfter downloads succeed (with the right
// values), then every Download and Flush fails with ErrDeviceLost naming
// the wrapped device.
func TestLoseAfter(t *testing.T) {
	for _, after := range []int{0, 1, 3} {
		b := New(cpu.New(), after)
		buf, err := b.Alloc(2)
		if err != nil {
			t.Fatal(err)
		}
		b.Upload(buf, []float32{7, 8})
		out := make([]float32, 2)
		ok := 0
		for range after + 3 {
			if err := b.Download(buf, out); err != nil {
				if !errors.Is(err, backend.ErrDeviceLost) || !strings.Contains(err.Error(), "cpu") {
					t.Fatalf("after %d: error %v, want ErrDeviceLost naming cpu", after, err)
				}
				continue
			}
			if out[0] != 7 || out[1] != 8 {
				t.Fatalf("after %d: read %v", after, out)
			}
			ok++
		}
		if ok != after || !b.Lost() {
			t.Errorf("LoseAfter %d: %d downloads succeeded, lost %v", after, ok, b.Lost())
		}
		if err := b.Flush(); !errors.Is(err, backend.ErrDeviceLost) {
			t.Errorf("LoseAfter %d: Flush after the loss: %v", after, err)
		}
	}
}
