package linalg

import (
	"errors"
	"math"
	"sync"

	"gonum.org/v1/gonum/lapack/gonum"
)

// tridiagBlock is the panel width of the blocked tridiagonalisation: each
// panel's trailing update is a rank-2*tridiagBlock product through Gemm.
const tridiagBlock = 32

// symvSplit is the trailing size from which a symmetric matrix-vector
// product is split over maxWorkers goroutines.
const symvSplit = 256

// SymEigenvalues returns the eigenvalues, in ascending order, of the
// symmetric N x N matrix in a (row-major, leading dimension lda, both
// triangles set). It overwrites a. It reduces the matrix to tridiagonal
// form by Householder reflections in panels (LAPACK's dsytrd scheme: the
// reflectors of a panel are accumulated as V and W and applied to the
// trailing matrix as A - V W^T - W V^T through Gemm; the matrix-vector
// products inside a panel read the lower triangle once with a fused SIMD
// dot-and-axpy, on both cores), then
// computes the eigenvalues of the tridiagonal matrix with gonum's Dsterf
// (implicit QL/QR without vectors).
func SymEigenvalues(n int, a []float64, lda int) ([]float64, error) {
	if n == 0 {
		return nil, nil
	}
	checkMat("A", a, n, n, lda)
	d := make([]float64, n)
	e := make([]float64, max(n-1, 1))
	tridiagonalize(n, a, lda, d, e)
	if !(gonum.Implementation{}).Dsterf(n, d, e[:n-1]) {
		return nil, errors.New("linalg: the tridiagonal eigenvalue iteration did not converge")
	}
	return d, nil
}

// tridiagonalize reduces the symmetric matrix a (both triangles) to the
// tridiagonal matrix with diagonal d (N values) and off-diagonal e (N-1),
// similar to it by an orthogonal transformation. It works on rows: step i
// annihilates a[i][i+2:] (by symmetry the same as column i below the
// subdiagonal) and never reads rows or columns before i again.
func tridiagonalize(n int, a []float64, lda int, d, e []float64) {
	nb := tridiagBlock
	v := make([]float64, n*nb)
	w := make([]float64, n*nb)
	y := make([]float64, n)
	tmp := make([]float64, n)
	for j0 := 0; j0 < n; j0 += nb {
		// The last panels are reduced without a trailing update.
		last := n-j0 <= 2*nb
		width := nb
		if last {
			width = n - j0
			if width > nb {
				v = make([]float64, n*width)
				w = make([]float64, n*width)
			}
		}
		panel(n, a, lda, j0, width, v, w, y, tmp, d, e)
		if last {
			return
		}
		// A[j1:, j1:] -= V W^T + W V^T over the rows below the panel.
		j1 := j0 + width
		mt := n - j1
		a22 := a[j1*lda+j1:]
		Gemm(false, true, mt, mt, width, -1, v[j1*width:], width, w[j1*width:], width, 1, a22, lda)
		Gemm(false, true, mt, mt, width, -1, w[j1*width:], width, v[j1*width:], width, 1, a22, lda)
	}
}

// panel reduces rows j0 .. j0+nb-1, filling d and e for them and leaving the
// reflectors in v and the matching w (row r of each at [r*nb:], column c for
// row j0+c) for the rows after each reflector's own: the trailing matrix is
// then A - V W^T - W V^T. Rows after the panel are not updated.
func panel(n int, a []float64, lda, j0, nb int, v, w, y, tmp, d, e []float64) {
	for c := range nb {
		i := j0 + c
		row := a[i*lda+i : i*lda+n]
		// Bring row i up to date with the panel's earlier reflectors.
		if c > 0 {
			vi, wi := v[i*nb:i*nb+c], w[i*nb:i*nb+c]
			for r := i; r < n; r++ {
				row[r-i] -= dot(vi, w[r*nb:r*nb+c]) + dot(wi, v[r*nb:r*nb+c])
			}
		}
		d[i] = row[0]
		if i == n-1 {
			return
		}
		// The reflector H = I - tau u u^T with u[0] = 1 maps row[1:] to
		// (beta, 0, ..., 0).
		x := row[1:]
		alpha := x[0]
		xnorm := math.Sqrt(dotGo(x[1:], x[1:]))
		tau, beta := 0.0, alpha
		if xnorm != 0 {
			beta = -math.Copysign(math.Hypot(alpha, xnorm), alpha)
			tau = (beta - alpha) / beta
			s := 1 / (alpha - beta)
			for j := 1; j < len(x); j++ {
				x[j] *= s
			}
		}
		e[i] = beta
		x[0] = 1
		m := n - i - 1
		for r := range m {
			v[(i+1+r)*nb+c] = x[r]
		}
		// y = tau (A' u) with A' the up-to-date trailing matrix
		// A[i+1:, i+1:] - V W^T - W V^T (the earlier columns only).
		yy := y[:m]
		symv(a[(i+1)*lda+i+1:], lda, m, x, yy, tmp)
		if c > 0 {
			var t1, t2 [2 * tridiagBlock]float64
			tv, tw := t1[:c], t2[:c]
			if c > len(t1) {
				tv, tw = make([]float64, c), make([]float64, c)
			}
			for r := range m {
				xr := x[r]
				vr, wr := v[(i+1+r)*nb:(i+1+r)*nb+c], w[(i+1+r)*nb:(i+1+r)*nb+c]
				for q := range c {
					tv[q] += vr[q] * xr
					tw[q] += wr[q] * xr
				}
			}
			for r := range m {
				vr, wr := v[(i+1+r)*nb:(i+1+r)*nb+c], w[(i+1+r)*nb:(i+1+r)*nb+c]
				yy[r] -= dot(wr, tv) + dot(vr, tw)
			}
		}
		for r := range yy {
			yy[r] *= tau
		}
		// w = y - (tau/2)(y^T u) u makes the rank-2 update A - u w^T - w u^T.
		h := -0.5 * tau * dotGo(yy, x)
		for r := range m {
			w[(i+1+r)*nb+c] = yy[r] + h*x[r]
		}
		x[0] = beta
	}
}

// symv sets y = S x for the m x m symmetric block S at s (leading
// dimension lds), reading only its lower triangle: row r gives y[r] its dot
// with x[:r+1] and adds x[r] S[r, :r] to y[:r] in the same pass, so the
// block is read once, half of it. For large m the rows are split over two
// goroutines at m/sqrt(2) (equal halves of the triangle), the second with
// its own accumulator in tmp (m values), added at the end.
func symv(s []float64, lds, m int, x, y, tmp []float64) {
	rows := func(r0, r1 int, acc []float64) {
		for r := r0; r < r1; r++ {
			row := s[r*lds : r*lds+r+1]
			xr := x[r]
			acc[r] += dotAxpy(row[:r], x, acc, xr) + row[r]*xr
		}
	}
	clear(y[:m])
	if m < symvSplit || maxWorkers < 2 {
		rows(0, m, y)
		return
	}
	split := int(float64(m) / math.Sqrt2)
	acc := tmp[:m]
	clear(acc)
	var wg sync.WaitGroup
	wg.Go(func() { rows(split, m, acc) })
	rows(0, split, y)
	wg.Wait()
	for r, v := range acc {
		y[r] += v
	}
}
