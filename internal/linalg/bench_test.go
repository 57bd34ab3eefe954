package linalg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
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

// BenchmarkSymEigenvalues times the eigenvalues of a random symmetric PSD
// matrix (as FID's G^T G) with SymEigenvalues, and with gonum's EigenSym
// for comparison at 1024.
func BenchmarkSymEigenvalues(b *testing.B) {
	for _, n := range []int{1024, 2048} {
		r := rand.New(rand.NewPCG(3, uint64(n)))
		g := randSlice(r, n*n)
		s := make([]float64, n*n)
		Syrk(false, n, n, 1, g, n, s, n)
		a := make([]float64, n*n)
		b.Run(fmt.Sprintf("linalg/n%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(a, s)
				if _, err := SymEigenvalues(n, a, n); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n > 1024 {
			continue
		}
		b.Run(fmt.Sprintf("gonum/n%d", n), func(b *testing.B) {
			for b.Loop() {
				var es mat.EigenSym
				if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), s...)), false) {
					b.Fatal("EigenSym failed")
				}
			}
		})
	}
}
