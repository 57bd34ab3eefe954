package testscenes

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/cpu"
)

// RNG returns a random generator seeded from the clock, with the seed
// logged so that a failure can be replayed, and the seed.
func RNG(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed)), seed
}

// SameLosses fails t where two traces of training losses (a CPU and a GPU
// run of the same steps) differ by more than 1e-3 relative (at least 1e-3
// absolute), which allows float32 summation-order differences to grow over
// a few steps.
func SameLosses(t testing.TB, what string, ref, got []models.Losses) {
	t.Helper()
	if len(ref) != len(got) {
		t.Fatalf("%s: %d and %d steps", what, len(ref), len(got))
	}
	for i := range ref {
		for _, k := range models.LossNames([]models.Losses{ref[i], got[i]}) {
			a, b := ref[i][k], got[i][k]
			if d := math.Abs(float64(a - b)); !(d <= 1e-3*math.Max(1, math.Abs(float64(a)))) {
				t.Errorf("%s step %d loss %s: %g and %g", what, i, k, a, b)
			}
		}
	}
	t.Logf("%s: %v / %v", what, ref[len(ref)-1], got[len(got)-1])
}

// CPU is a device on the CPU reference backend.
func CPU() *nn.Device { return nn.NewDevice(cpu.New()) }
