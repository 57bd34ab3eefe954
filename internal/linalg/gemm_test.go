package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kernels returns every micro-kernel this CPU can run, the portable one first.
func kernels() []microKernel { return append([]microKernel{goKernel}, archKernels...) }

// refGemm is C = alpha op(A) op(B) + beta C by the definition, in float64
// with the products summed in order.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := range m {
		for j := range n {
			s := 0.0
			for p := range k {
				var av, bv float64
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			old := 0.0
			if beta != 0 {
				old = beta * c[i*ldc+j]
			}
			c[i*ldc+j] = alpha*s + old
		}
	}
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 2*r.Float64() - 1
	}
	return s
}

// TestGemmMatchesReference runs every kernel on sizes around the tile and
// block edges (partial strips, K across the KC block, M across the worker
// split) in all four transpose combinations, with padded leading dimensions.
// Tolerance: 1e-14 * K, relative to the scale of the products (|a|,|b| <= 1).
func TestGemmMatchesReference(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {14, 16, 1}, {13, 15, 7}, {29, 33, 300}, {6, 8, 9}, {5, 7, 256}, {169, 17, 257}, {300, 70, 40}, {3, 2100, 5}}
	const seed = 42
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for _, kn := range kernels() {
		for si, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for ti := range 4 {
				tA, tB := ti&1 != 0, ti&2 != 0
				name := fmt.Sprintf("%s/%dx%dx%d/tA%v_tB%v", kn.name, m, n, k, tA, tB)
				lda, ldb, ldc := k+si%3, n+1, n+2
				ar, br := m, k
				if tA {
					lda, ar = m+1, k
				}
				if tB {
					ldb, br = k+2, n
				}
				a := randSlice(r, ar*lda)
				b := randSlice(r, br*ldb)
				c := randSlice(r, m*ldc)
				want := append([]float64(nil), c...)
				alpha, beta := 0.5+r.Float64(), []float64{0, 1, -0.7}[ti%3]
				if beta == 0 {
					for i := range c {
						c[i] = math.NaN() // beta 0 must ignore C
					}
				}
				refGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
				gemm(kn, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				tol := 1e-14 * float64(k+1) * 2
				worst := 0.0
				for i := range m {
					for j := range n {
						worst = max(worst, math.Abs(c[i*ldc+j]-want[i*ldc+j]))
					}
					for j := n; j < ldc && i*ldc+j < len(c); j++ {
						if c[i*ldc+j] != want[i*ldc+j] && !math.IsNaN(c[i*ldc+j]) {
							t.Fatalf("%s: wrote C[%d][%d] outside the %d columns", name, i, j, n)
						}
					}
				}
				if !(worst <= tol) {
					t.Errorf("%s: max |diff| %.3g > %.3g", name, worst, tol)
				}
			}
		}
	}
}

// TestSyrkMatchesReference checks both forms of Syrk against refGemm (with
// the second operand the transpose of the first) across the column block
// size, for every kernel, and that the result is exactly symmetric.
func TestSyrkMatchesReference(t *testing.T) {
	const seed = 43
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for _, kn := range kernels() {
		for _, sz := range [][2]int{{1, 3}, {17, 5}, {300, 31}, {513, 270}} {
			n, k := sz[0], sz[1]
			for _, trans := range []bool{false, true} {
				rows, cols := n, k
				if trans {
					rows, cols = k, n
				}
				lda := cols + 1
				a := randSlice(r, rows*lda)
				want := make([]float64, n*n)
				refGemm(trans, !trans, n, n, k, 1.5, a, lda, a, lda, 0, want, n)
				ldc := n + 3
				c := randSlice(r, n*ldc)
				syrk(kn, trans, n, k, 1.5, a, lda, c, ldc)
				worst := 0.0
				for i := range n {
					for j := range n {
						worst = max(worst, math.Abs(c[i*ldc+j]-want[i*n+j]))
						if c[i*ldc+j] != c[j*ldc+i] {
							t.Fatalf("%s n%d k%d trans %v: C[%d][%d] != C[%d][%d]", kn.name, n, k, trans, i, j, j, i)
						}
					}
				}
				if tol := 3e-14 * float64(k+1); !(worst <= tol) {
					t.Errorf("%s n%d k%d trans %v: max |diff| %.3g > %.3g", kn.name, n, k, trans, worst, tol)
				}
			}
		}
	}
}

// TestGemmRejectsShortSlices checks the panic message for a C too small.
func TestGemmRejectsShortSlices(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Gemm with a short C did not panic")
		} else {
			t.Log(r)
		}
	}()
	a := make([]float64, 4)
	Gemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, make([]float64, 3), 2)
}
