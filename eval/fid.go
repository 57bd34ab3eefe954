// Package eval computes catsynth's evaluation metrics: FID and KID between
// generated and real image sets (from a backbone's pooled features) and the
// accuracy of estimated class affinities. Reports always name the feature
// network, because catsynth's default one is not the standard FID network.
package eval

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"catsynth/internal/linalg"
	"gonum.org/v1/gonum/mat"
)

// Features is a set of feature vectors: N rows of D values.
type Features [][]float64

// dim checks that the set is non-empty and rectangular and returns D.
func (f Features) dim(what string) (int, error) {
	if len(f) == 0 {
		return 0, fmt.Errorf("eval: %s: no feature vectors", what)
	}
	d := len(f[0])
	if d == 0 {
		return 0, fmt.Errorf("eval: %s: empty feature vectors", what)
	}
	for i, r := range f {
		if len(r) != d {
			return 0, fmt.Errorf("eval: %s: row %d has %d values, row 0 has %d", what, i, len(r), d)
		}
		for _, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("eval: %s: row %d holds %v", what, i, v)
			}
		}
	}
	return d, nil
}

// centred returns the mean of the rows, the rows minus that mean times
// scale as a row-major N x D slice, and the sum of squares of that slice.
func centred(f Features, d int, scale float64) (mu, x []float64, sumSq float64) {
	n := len(f)
	mu = make([]float64, d)
	for _, r := range f {
		for j, v := range r {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	x = make([]float64, n*d)
	for i, r := range f {
		row := x[i*d : (i+1)*d]
		for j, v := range r {
			c := (v - mu[j]) * scale
			row[j] = c
			sumSq += c * c
		}
	}
	return mu, x, sumSq
}

// factor is a D x K matrix F, a factor of a covariance C = F F^T, held
// row-major in data: F(i, j) is data[i*ld+j], or data[j*ld+i] when trans is
// set (F is then stored K x D, as the centred rows are). lower marks a
// lower triangular F (a Cholesky factor, K = D).
type factor struct {
	data         []float64
	ld           int
	trans, lower bool
	d, k         int
}

// at returns the part of F's storage that starts at row p of F.
func (f factor) at(p int) []float64 {
	if f.trans {
		return f.data[p:]
	}
	return f.data[p*f.ld:]
}

// denseFactor wraps a D x K gonum matrix as a factor.
func denseFactor(m *mat.Dense) factor {
	r, c := m.Dims()
	raw := m.RawMatrix()
	return factor{data: raw.Data, ld: raw.Stride, d: r, k: c}
}

// covFactor returns the mean of the rows, a D x K factor F of their unbiased
// covariance (F F^T = C) and tr(C). With N <= D rows the centred rows
// themselves are the cheapest factor (K = N, C has rank <= N-1 and is never
// formed); otherwise C is formed (by linalg.Syrk, while holding products,
// which keeps two sets' parallel products from competing for the cores) and
// factored by Cholesky (K = D), or by its symmetric square root when
// rounding leaves it semi-definite.
func covFactor(f Features, d int, products *sync.Mutex) (mu []float64, fac factor, trace float64, err error) {
	n := len(f)
	mu, x, trace := centred(f, d, 1/math.Sqrt(float64(n-1)))
	if n <= d {
		return mu, factor{data: x, ld: d, trans: true, d: d, k: n}, trace, nil
	}
	l := make([]float64, d*d)
	products.Lock()
	linalg.Syrk(true, d, n, 1, x, d, l, d)
	ok := linalg.Cholesky(d, l, d)
	if !ok {
		// Cholesky overwrote the covariance: form it again (rare).
		linalg.Syrk(true, d, n, 1, x, d, l, d)
	}
	products.Unlock()
	if ok {
		return mu, factor{data: l, ld: d, lower: true, d: d, k: d}, trace, nil
	}
	cov := mat.NewSymDense(d, l)
	s, err := sqrtSym(cov)
	if err != nil {
		return nil, factor{}, 0, err
	}
	return mu, denseFactor(mat.DenseCopyOf(s)), trace, nil
}

// traceSqrtFactors returns tr(sqrt(C1 C2)) for C1 = F1 F1^T and C2 = F2 F2^T.
// C1 C2 is similar to F1^T F2 F2^T F1 = G G^T with G = F1^T F2 (K1 x K2), so
// its nonzero eigenvalues are the squared singular values of G and the trace
// is the sum of the square roots of the eigenvalues of the smaller of G G^T
// and G^T G (symmetric PSD: no non-symmetric eigensolver, no complex parts,
// unlike scipy's sqrtm in the usual FID code). For sets of N images in D
// dimensions with N < D that matrix is N x N instead of D x D.
func traceSqrtFactors(f1, f2 factor) (float64, error) {
	k1, k2, d := f1.k, f2.k, f1.d
	g := make([]float64, k1*k2)
	// G = sum over row blocks P of F1[P, :]^T F2[P, :]; a lower triangular
	// factor is zero right of column max(P) there, which leaves a third of
	// the product when both are. op(A) = F1^T is the stored matrix itself
	// when F1 is stored transposed.
	const pb = 256
	for p0 := 0; p0 < d; p0 += pb {
		p1 := min(p0+pb, d)
		rows, cols := k1, k2
		if f1.lower {
			rows = p1
		}
		if f2.lower {
			cols = p1
		}
		linalg.Gemm(!f1.trans, f2.trans, rows, cols, p1-p0, 1, f1.at(p0), f1.ld, f2.at(p0), f2.ld, 1, g, k2)
	}
	k := min(k1, k2)
	m := make([]float64, k*k)
	if k1 <= k2 {
		linalg.Syrk(false, k, k2, 1, g, k2, m, k) // G G^T
	} else {
		linalg.Syrk(true, k, k1, 1, g, k2, m, k) // G^T G
	}
	vals, err := linalg.SymEigenvalues(k, m, k)
	if err != nil {
		return 0, fmt.Errorf("eval: FID: %w", err)
	}
	tr := 0.0
	for _, v := range vals {
		tr += math.Sqrt(math.Max(v, 0))
	}
	return tr, nil
}

// sqrtSym returns the principal square root of a symmetric positive
// semi-definite matrix (negative eigenvalues from rounding become 0).
func sqrtSym(a *mat.SymDense) (*mat.SymDense, error) {
	var es mat.EigenSym
	if !es.Factorize(a, true) {
		return nil, errors.New("eval: eigendecomposition did not converge")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for j, v := range vals {
		s := math.Sqrt(math.Max(v, 0))
		for i := range d {
			scaled.Set(i, j, vecs.At(i, j)*s)
		}
	}
	var prod mat.Dense
	prod.Mul(scaled, vecs.T())
	out := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			out.SetSym(i, j, 0.5*(prod.At(i, j)+prod.At(j, i)))
		}
	}
	return out, nil
}

// FID is the Fréchet distance between Gaussians fitted to two feature sets:
// |mu1 - mu2|^2 + tr(C1 + C2 - 2 sqrt(C1 C2)), in squared feature units.
// Both sets need at least two rows; with fewer rows than feature dimensions
// the covariances are singular and FID is biased upwards (use KID for small
// sets).
func FID(a, b Features) (float64, error) {
	da, err := a.dim("FID set 1")
	if err != nil {
		return 0, err
	}
	db, err := b.dim("FID set 2")
	if err != nil {
		return 0, err
	}
	if da != db {
		return 0, fmt.Errorf("eval: FID of %d- and %d-dimensional features", da, db)
	}
	if len(a) < 2 || len(b) < 2 {
		return 0, fmt.Errorf("eval: FID needs at least 2 images per set, got %d and %d", len(a), len(b))
	}
	// The two sets' covariances are independent: factor them side by side
	// (their products, each on all cores, one after the other).
	var (
		mu2      []float64
		f2       factor
		tr2      float64
		err2     error
		done     = make(chan struct{})
		products sync.Mutex
	)
	go func() {
		defer close(done)
		mu2, f2, tr2, err2 = covFactor(b, db, &products)
	}()
	mu1, f1, tr1, err := covFactor(a, da, &products)
	<-done
	if err == nil {
		err = err2
	}
	if err != nil {
		return 0, err
	}
	diff := 0.0
	for i := range mu1 {
		diff += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i])
	}
	tr, err := traceSqrtFactors(f1, f2)
	if err != nil {
		return 0, err
	}
	fid := diff + tr1 + tr2 - 2*tr
	return math.Max(fid, 0), nil
}
