package cpu

import (
	"fmt"
	"math/rand"
	"testing"

	"catsynth/nn/backend"
)

// benchGemm runs a square product with every kernel this machine has and
// reports GFLOP/s.
func benchGemm(b *testing.B, size int) {
	for _, kern := range append([]microKernel{goKernel}, archKernels...) {
		if kern.name == goKernel.name && size > 1024 {
			continue // the portable kernel would take minutes
		}
		b.Run(kern.name, func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			a, bb := randSlice(rng, size*size), randSlice(rng, size*size)
			c := make([]float32, size*size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sgemmWith(kern, false, false, size, size, size, a, size, bb, size, c, size, false)
			}
			b.ReportMetric(2*float64(size)*float64(size)*float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkMatMul256(b *testing.B)  { benchGemm(b, 256) }
func BenchmarkMatMul1024(b *testing.B) { benchGemm(b, 1024) }
func BenchmarkMatMul2048(b *testing.B) { benchGemm(b, 2048) }

// BenchmarkConv3x3 times forward and backward 3x3 convolutions at the
// shapes of a generator's middle: 64 -> 64 channels at batch 4 x 32x32 (the
// peer comparison's shape) and batch 1 x 64x64.
func BenchmarkConv3x3(b *testing.B) {
	for _, sh := range [][3]int{{4, 32, 32}, {1, 64, 64}} {
		p := backend.Conv{N: sh[0], C: 64, H: sh[1], W: sh[2], O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			PadH: 1, PadW: 1, Groups: 1}
		be := New()
		rng := rand.New(rand.NewSource(1))
		x := &Buffer{randSlice(rng, p.N*p.C*p.H*p.W)}
		w := &Buffer{randSlice(rng, p.O*p.C*p.KH*p.KW)}
		y := &Buffer{make([]float32, p.N*p.O*p.OH()*p.OW())}
		run := map[string]func(){
			"forward":     func() { be.Conv2D(y, x, w, p) },
			"grad_input":  func() { be.Conv2DGradInput(x, y, w, p) },
			"grad_weight": func() { be.Conv2DGradWeight(w, x, y, p) },
		}
		for _, name := range []string{"forward", "grad_input", "grad_weight"} {
			b.Run(fmt.Sprintf("B%dC64_%dx%d/%s", sh[0], sh[1], sh[2], name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					run[name]()
				}
				b.ReportMetric(p.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
