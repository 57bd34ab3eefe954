package cpu

import (
	"math/rand"
	"testing"

	"catsynth/nn/backend"
)

// BenchmarkModulateAct times SPADE's eval chain over elemBenchN values
// (batch 4, 64 channels, 64x64): "fused" is one ModulateAct (batch norm,
// modulation with biases, leaky ReLU), "chain" the three kernels it
// replaces (NormalizeWith, Modulate, Unary leaky ReLU); both in Gelem/s.
func BenchmarkModulateAct(b *testing.B) {
	be := New()
	rng := rand.New(rand.NewSource(3))
	p := backend.Modulation{N: 4, C: 64, S: 64 * 64, Offset: 1, Bias: true}
	a := backend.ModAct{Norm: true, Eps: 1e-5, Act: backend.ActLeakyReLU, Slope: 0.2}
	nrm := backend.Norm{N: p.N, C: p.C, S: p.S, Groups: p.C, AcrossBatch: true, Eps: a.Eps}
	buf := func(n int) *Buffer { return &Buffer{randSlice(rng, n)} }
	x, g, bt, y, t := buf(elemBenchN), buf(elemBenchN), buf(elemBenchN), buf(elemBenchN), buf(elemBenchN)
	gb, bb, m := buf(p.C), buf(p.C), buf(p.C)
	v := &Buffer{make([]float32, p.C)}
	for i := range v.data {
		v.data[i] = 0.5 + rng.Float32()
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(elemBenchN)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	}
	b.Run("fused", func(b *testing.B) {
		for b.Loop() {
			be.ModulateAct(y, x, m, v, g, bt, gb, bb, p, a)
		}
		report(b)
	})
	b.Run("chain", func(b *testing.B) {
		for b.Loop() {
			be.NormalizeWith(t, x, m, v, nrm)
			be.Modulate(y, t, g, bt, gb, bb, p)
			be.Unary(backend.LeakyRelu, y, y, elemBenchN, backend.Args{Alpha: a.Slope})
		}
		report(b)
	})
}
