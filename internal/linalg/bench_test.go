package linalg

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemm times square products C = A B per micro-kernel, reporting
// GFLOP/s (2 N^3 flops per product).
func BenchmarkGemm(b *testing.B) {
	for _, kn := range kernels() {
		for _, n := range []int{1024, 2048} {
			if kn.name == goKernel.name && n > 1024 {
				continue
			}
			b.Run(fmt.Sprintf("%s/n%d", kn.name, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, uint64(n)))
				x, y, c := randSlice(r, n*n), randSlice(r, n*n), make([]float64, n*n)
				for b.Loop() {
					gemm(kn, false, false, n, n, n, 1, x, n, y, n, 0, c, n)
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSyrk times the covariance product X^T X of n = 5000 rows of 2048
// features, reporting GFLOP/s of the triangle (N^2 K flops).
func BenchmarkSyrk(b *testing.B) {
	const d, n = 2048, 5000
	r := rand.New(rand.NewPCG(2, 0))
	x, c := randSlice(r, n*d), make([]float64, d*d)
	for b.Loop() {
		Syrk(true, d, n, 1, x, d, c, d)
	}
	b.ReportMetric(float64(d)*float64(d)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
