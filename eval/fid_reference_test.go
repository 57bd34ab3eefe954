package eval

// The FID of the first implementation (two D x D eigendecompositions),
// kept as the reference the faster one is checked against.

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// refMeanCov returns the mean and the unbiased covariance (N-1) of the rows.
func refMeanCov(f Features, d int) ([]float64, *mat.SymDense) {
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

// refTraceSqrtProduct returns tr(sqrt(A B)) for symmetric PSD A and B, as the
// sum of the square roots of the eigenvalues of sqrt(A) B sqrt(A), which is
// symmetric PSD and similar to A B (so no non-symmetric eigensolver and no
// complex parts, unlike scipy's sqrtm in the usual FID code).
func refTraceSqrtProduct(a, b *mat.SymDense) (float64, error) {
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

// refFID is FID as first written: |mu1-mu2|^2 + tr(C1 + C2) - 2 tr sqrt(C1 C2)
// with tr sqrt through sqrt(C1) C2 sqrt(C1).
func refFID(a, b Features) (float64, error) {
	d := len(a[0])
	mu1, c1 := refMeanCov(a, d)
	mu2, c2 := refMeanCov(b, d)
	diff := 0.0
	for i := range mu1 {
		diff += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i])
	}
	tr, err := refTraceSqrtProduct(c1, c2)
	if err != nil {
		return 0, err
	}
	return math.Max(diff+mat.Trace(c1)+mat.Trace(c2)-2*tr, 0), nil
}
