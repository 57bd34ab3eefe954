package cpu

import (
	"math/rand"
	"testing"

	"catsynth/nn/backend"
)

// elemBenchN is the size of the element-wise benchmarks: a 64-channel 64x64
// activation of batch 4, larger than the caches, split over the workers.
const elemBenchN = 4 * 64 * 64 * 64

// benchUnaryArgs are arguments inside every op's domain for inputs in (0.1, 2).
var benchUnaryArgs = backend.Args{Alpha: 0.5, Beta: 1.5}

// BenchmarkUnary times Unary and UnaryGrad of every op over elemBenchN
// values, reported as Gelem/s (10^9 elements per second).
func BenchmarkUnary(b *testing.B) {
	be := New()
	rng := rand.New(rand.NewSource(1))
	x := &Buffer{make([]float32, elemBenchN)}
	for i := range x.data {
		x.data[i] = 0.1 + 1.9*rng.Float32()
	}
	y, dy, dx := &Buffer{make([]float32, elemBenchN)}, &Buffer{randSlice(rng, elemBenchN)}, &Buffer{make([]float32, elemBenchN)}
	for op := backend.UnaryOp(0); op < backend.NumUnaryOps; op++ {
		be.Unary(op, y, x, elemBenchN, benchUnaryArgs)
		b.Run(op.String(), func(b *testing.B) {
			for b.Loop() {
				be.Unary(op, y, x, elemBenchN, benchUnaryArgs)
			}
			b.ReportMetric(float64(elemBenchN)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(op.String()+"_grad", func(b *testing.B) {
			for b.Loop() {
				be.UnaryGrad(op, dx, x, y, dy, elemBenchN, benchUnaryArgs)
			}
			b.ReportMetric(float64(elemBenchN)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}

// BenchmarkBinary times every binary op on same-shape operands and with a
// per-channel b (the broadcast of a bias or a norm's scale).
func BenchmarkBinary(b *testing.B) {
	be := New()
	rng := rand.New(rand.NewSource(2))
	shape := []int{4, 64, 64 * 64}
	x, z, d := &Buffer{randSlice(rng, elemBenchN)}, &Buffer{randSlice(rng, elemBenchN)}, &Buffer{make([]float32, elemBenchN)}
	for i := range z.data {
		z.data[i] += 3 // divisors away from zero
	}
	full := contiguous(shape)
	for op := backend.BinaryOp(0); op < backend.NumBinaryOps; op++ {
		for _, bc := range []struct {
			name    string
			strides []int
		}{{"same", full}, {"channel", []int{0, 1, 0}}} {
			p := backend.Broadcast{Shape: shape, AStrides: full, BStrides: bc.strides}
			b.Run(op.String()+"_"+bc.name, func(b *testing.B) {
				for b.Loop() {
					be.Binary(op, d, x, z, p)
				}
				b.ReportMetric(float64(elemBenchN)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
