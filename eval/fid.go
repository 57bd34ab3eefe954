// Package eval computes catsynth's evaluation metrics: FID and KID between
// generated and real image sets (from a backbone's pooled features) and the
// accuracy of estimated class affinities. Reports always name the feature
// network, because catsynth's default one is not the standard FID network.
package eval

import (
	"errors"
	"fmt"
	"math"

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

// meanCov returns the mean and the unbiased covariance (N-1) of the rows.
func meanCov(f Features, d int) ([]float64, *mat.SymDense) {
	n := len(f)
	mu := make([]float64, d)
	for _, r := range f {
		for j, v := range r {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	x := mat.NewDense(n, d, nil)
	for i, r := range f {
		for j, v := range r {
			x.Set(i, j, v-mu[j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(max(n-1, 1)), x.T())
	return mu, cov
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

// traceSqrtProduct returns tr(sqrt(A B)) for symmetric PSD A and B, as the
// sum of the square roots of the eigenvalues of sqrt(A) B sqrt(A), which is
// symmetric PSD and similar to A B (so no non-symmetric eigensolver and no
// complex parts, unlike scipy's sqrtm in the usual FID code).
func traceSqrtProduct(a, b *mat.SymDense) (float64, error) {
	sa, err := sqrtSym(a)
	if err != nil {
		return 0, err
	}
	var t, m mat.Dense
	t.Mul(sa, b)
	m.Mul(&t, sa)
	d, _ := m.Dims()
	sym := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, false) {
		return 0, errors.New("eval: eigendecomposition did not converge")
	}
	tr := 0.0
	for _, v := range es.Values(nil) {
		tr += math.Sqrt(math.Max(v, 0))
	}
	return tr, nil
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
	mu1, c1 := meanCov(a, da)
	mu2, c2 := meanCov(b, db)
	diff := 0.0
	for i := range mu1 {
		diff += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i])
	}
	tr, err := traceSqrtProduct(c1, c2)
	if err != nil {
		return 0, err
	}
	fid := diff + mat.Trace(c1) + mat.Trace(c2) - 2*tr
	return math.Max(fid, 0), nil
}
