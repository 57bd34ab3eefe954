package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// dots returns every dot kernel this CPU can run, the portable one first.
func dots() []dotKernel { return append([]dotKernel{{"go", dotGo, dotAxpyGo}}, archDots...) }

// randSym returns a random symmetric n x n matrix (lda n): uniform entries,
// or with psd set the Gram matrix of n x n/2 uniform values, so that about
// half its eigenvalues are zero, as in FID's rank-deficient products.
func randSym(r *rand.Rand, n int, psd bool) []float64 {
	s := make([]float64, n*n)
	if psd {
		k := max(n/2, 1)
		g := randSlice(r, n*k)
		refGemm(false, true, n, n, k, 1, g, k, g, k, 0, s, n)
	} else {
		for i := range n {
			for j := 0; j <= i; j++ {
				x := 2*r.Float64() - 1
				s[i*n+j], s[j*n+i] = x, x
			}
		}
	}
	return s
}

// TestSymEigenvaluesMatchGonum compares the blocked tridiagonalisation plus
// Dsterf with gonum's EigenSym on sizes around the panel width and the symv
// split, for every dot and GEMM kernel. Tolerance: 1e-13 N max|lambda|.
func TestSymEigenvaluesMatchGonum(t *testing.T) {
	const seed = 44
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	savedDot, savedAxpy, savedKernel := dot, dotAxpy, kernel
	defer func() { dot, dotAxpy, kernel = savedDot, savedAxpy, savedKernel }()
	for _, dk := range dots() {
		for _, kn := range kernels() {
			dot, dotAxpy, kernel = dk.fn, dk.axpy, kn
			for _, n := range []int{1, 2, 3, 31, 64, 65, 97, 300} {
				for _, psd := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/n%d/psd%v", dk.name, kn.name, n, psd)
					s := randSym(r, n, psd)
					var es mat.EigenSym
					if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), s...)), false) {
						t.Fatalf("%s: gonum EigenSym failed", name)
					}
					want := es.Values(nil)
					lda := n + 1
					a := make([]float64, n*lda)
					for i := range n {
						copy(a[i*lda:i*lda+n], s[i*n:i*n+n])
					}
					got, err := SymEigenvalues(n, a, lda)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					scale := 0.0
					for _, x := range want {
						scale = max(scale, math.Abs(x))
					}
					tol := 1e-13 * float64(n) * scale
					for i := range want {
						if !(math.Abs(got[i]-want[i]) <= tol) {
							t.Fatalf("%s: eigenvalue %d = %.15g, gonum %.15g (|diff| %.3g > %.3g)", name, i, got[i], want[i], math.Abs(got[i]-want[i]), tol)
						}
					}
				}
			}
		}
	}
}

// TestDotMatchesReference checks each dot kernel against a float64 loop on
// lengths around the vector and unroll widths.
func TestDotMatchesReference(t *testing.T) {
	const seed = 45
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for _, dk := range dots() {
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000} {
			x, y := randSlice(r, n), randSlice(r, n+3)
			want := 0.0
			for i := range x {
				want += x[i] * y[i]
			}
			if got := dk.fn(x, y); !(math.Abs(got-want) <= 1e-14*float64(n+1)) {
				t.Errorf("%s n%d: dot %.17g, reference %.17g", dk.name, n, got, want)
			}
			alpha := r.Float64() - 0.5
			z := randSlice(r, n+2)
			wantZ := append([]float64(nil), z...)
			for i := range x {
				wantZ[i] += alpha * x[i]
			}
			if got := dk.axpy(x, y, z, alpha); !(math.Abs(got-want) <= 1e-14*float64(n+1)) {
				t.Errorf("%s n%d: fused dot %.17g, reference %.17g", dk.name, n, got, want)
			}
			for i := range z {
				if !(math.Abs(z[i]-wantZ[i]) <= 1e-15) {
					t.Fatalf("%s n%d: fused axpy y[%d] = %.17g, reference %.17g", dk.name, n, i, z[i], wantZ[i])
				}
			}
		}
	}
}
