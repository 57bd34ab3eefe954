package linalg

import (
	"math"
	"sync"
)

// choleskyBlock is the panel width of the blocked Cholesky factorisation.
const choleskyBlock = 64

// Cholesky factors the symmetric positive definite N x N matrix in a
// (row-major, leading dimension lda, lower triangle read) as L L^T,
// overwriting a with L (its strict upper triangle set to zero). It reports
// false, leaving a partly overwritten, when a pivot is not positive (the
// matrix is not numerically positive definite). The factorisation is
// right-looking by panels of choleskyBlock columns: the panel below the
// diagonal block is a triangular solve (rows split over the workers) and
// the trailing update a symmetric rank-64 product through Gemm.
func Cholesky(n int, a []float64, lda int) bool {
	if n == 0 {
		return true
	}
	checkMat("A", a, n, n, lda)
	for j0 := 0; j0 < n; j0 += choleskyBlock {
		w := min(choleskyBlock, n-j0)
		if !cholUnblocked(w, a[j0*lda+j0:], lda) {
			return false
		}
		j1 := j0 + w
		if j1 == n {
			break
		}
		// L21 = A21 L11^-T, row by row (forward substitution).
		l11 := a[j0*lda+j0:]
		solve := func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				row := a[r*lda+j0 : r*lda+j0+w]
				for c := range w {
					row[c] = (row[c] - dot(row[:c], l11[c*lda:c*lda+c])) / l11[c*lda+c]
				}
			}
		}
		if n-j1 < symvSplit || maxWorkers < 2 {
			solve(j1, n)
		} else {
			var wg sync.WaitGroup
			mid := j1 + (n-j1)/2
			wg.Go(func() { solve(mid, n) })
			solve(j1, mid)
			wg.Wait()
		}
		// A22 -= L21 L21^T (lower triangle).
		syrkLower(kernel, false, n-j1, w, -1, a[j1*lda+j0:], lda, 1, a[j1*lda+j1:], lda)
	}
	for i := range n {
		clear(a[i*lda+i+1 : i*lda+n])
	}
	return true
}

// cholUnblocked factors the leading w x w block of a in place (lower
// triangle), reporting false at a pivot that is not positive.
func cholUnblocked(w int, a []float64, lda int) bool {
	for j := range w {
		rj := a[j*lda : j*lda+j+1]
		p := rj[j] - dotGo(rj[:j], rj[:j])
		if !(p > 0) {
			return false
		}
		p = math.Sqrt(p)
		rj[j] = p
		for i := j + 1; i < w; i++ {
			ri := a[i*lda : i*lda+j+1]
			ri[j] = (ri[j] - dotGo(ri[:j], rj[:j])) / p
		}
	}
	return true
}
