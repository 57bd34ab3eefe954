package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCholeskyMatchesReference factors random SPD matrices (a Gram matrix
// plus a multiple of the identity) across the panel and split sizes with
// every GEMM and dot kernel and checks L against an unblocked float64
// Cholesky, with the strict upper triangle zero. Tolerance: 1e-12 relative
// to max |L|.
func TestCholeskyMatchesReference(t *testing.T) {
	const seed = 46
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	savedDot, savedKernel := dot, kernel
	defer func() { dot, kernel = savedDot, savedKernel }()
	for _, dk := range dots() {
		for _, kn := range kernels() {
			dot, kernel = dk.fn, kn
			for _, n := range []int{1, 2, 63, 64, 65, 130, 333} {
				name := fmt.Sprintf("%s/%s/n%d", dk.name, kn.name, n)
				s := randSym(r, n, true)
				for i := range n {
					s[i*n+i] += 0.5
				}
				want := refCholesky(n, s)
				lda := n + 2
				a := make([]float64, n*lda)
				for i := range n {
					copy(a[i*lda:i*lda+n], s[i*n:i*n+n])
				}
				if !Cholesky(n, a, lda) {
					t.Fatalf("%s: Cholesky failed on an SPD matrix", name)
				}
				worst, scale := 0.0, 0.0
				for i := range n {
					for j := range n {
						got := a[i*lda+j]
						if j > i {
							if got != 0 {
								t.Fatalf("%s: L[%d][%d] = %g above the diagonal", name, i, j, got)
							}
							continue
						}
						worst = max(worst, math.Abs(got-want[i*n+j]))
						scale = max(scale, math.Abs(want[i*n+j]))
					}
				}
				if tol := 1e-12 * scale; !(worst <= tol) {
					t.Errorf("%s: max |diff| %.3g > %.3g", name, worst, tol)
				}
			}
		}
	}
}

// refCholesky returns the lower Cholesky factor of the n x n SPD matrix s
// by the textbook column formulas, in float64.
func refCholesky(n int, s []float64) []float64 {
	l := make([]float64, n*n)
	for j := range n {
		sum := s[j*n+j]
		for q := range j {
			sum -= l[j*n+q] * l[j*n+q]
		}
		l[j*n+j] = math.Sqrt(sum)
		for i := j + 1; i < n; i++ {
			sum := s[i*n+j]
			for q := range j {
				sum -= l[i*n+q] * l[j*n+q]
			}
			l[i*n+j] = sum / l[j*n+j]
		}
	}
	return l
}

// TestCholeskyRejectsSemidefinite checks that a matrix with a zero row and
// column (a constant feature's covariance) is reported, in the unblocked
// part and past the first panel.
func TestCholeskyRejectsSemidefinite(t *testing.T) {
	const seed = 47
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for _, zero := range []int{3, 100} {
		n := 150
		s := randSym(r, n, true)
		for i := range n {
			s[i*n+i] += 0.5
		}
		for i := range n {
			s[i*n+zero], s[zero*n+i] = 0, 0
		}
		if Cholesky(n, s, n) {
			t.Errorf("Cholesky succeeded with row %d zero", zero)
		}
	}
}
