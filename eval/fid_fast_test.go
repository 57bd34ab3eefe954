package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFIDMatchesReference checks the factored FID (Gram matrices when a set
// has no more images than dimensions, Cholesky factors otherwise) against the
// first implementation's two D x D eigendecompositions on random sets.
// Tolerance: 1e-7 relative to the summed covariance traces (the reference
// itself adds the square roots of D-N rounding-level eigenvalues when N < D).
func TestFIDMatchesReference(t *testing.T) {
	cases := []struct {
		d, n1, n2 int
		shift     float64
	}{
		{8, 5, 6, 0.1},    // both sets smaller than d: Gram path
		{24, 10, 10, 0},   // equal sizes, same distribution
		{16, 10, 60, 0.5}, // one Gram factor, one Cholesky factor
		{16, 60, 10, 0.5},
		{12, 12, 13, 0.2}, // n == d and n == d+1 (Cholesky of a barely full-rank covariance)
		{16, 200, 300, 1}, // both larger than d
		{32, 33, 500, 0},
		{300, 700, 400, 0.3}, // d > 256: the covariance and product GEMMs cross their blocks
		{300, 290, 301, 0},   // a Gram factor against a Cholesky one at d > 256
	}
	for i, c := range cases {
		seed := uint64(100 + i)
		t.Run(fmt.Sprintf("d%d_n%d_n%d", c.d, c.n1, c.n2), func(t *testing.T) {
			t.Logf("seed %d", seed)
			r := rand.New(rand.NewPCG(seed, 0))
			a := gaussSet(r, c.n1, c.d)
			b := mapSet(gaussSet(r, c.n2, c.d), func(v float64) float64 { return 1.3*v + c.shift })
			got, err := FID(a, b)
			if err != nil {
				t.Fatal(err)
			}
			want, err := refFID(a, b)
			if err != nil {
				t.Fatal(err)
			}
			_, tr1 := sampleStats(a)
			_, tr2 := sampleStats(b)
			tol := 1e-7 * (tr1 + tr2)
			t.Logf("FID %.12g, reference %.12g, |diff| %.3g, tol %.3g", got, want, math.Abs(got-want), tol)
			if math.Abs(got-want) > tol {
				t.Errorf("FID = %.12g, reference %.12g (|diff| %.3g > %.3g)", got, want, math.Abs(got-want), tol)
			}
		})
	}
}

// TestFIDSemidefiniteFallback feeds a set whose covariance is singular even
// though it has more rows than dimensions (one feature is constant), so the
// Cholesky factorisation fails and the square-root factor is used.
func TestFIDSemidefiniteFallback(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	a := mapSet(gaussSet(r, 40, 6), func(v float64) float64 { return v })
	for _, row := range a {
		row[2] = 3
	}
	b := gaussSet(r, 50, 6)
	got, err := FID(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := refFID(a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FID %.12g, reference %.12g", got, want)
	if math.Abs(got-want) > 1e-7*(1+want) {
		t.Errorf("FID = %.12g, reference %.12g", got, want)
	}
}

// lowRankSet draws n rows in d dimensions cheaply for benchmarks: a random
// mix of 64 latent normals plus independent noise, so the covariance is full
// rank but not diagonal.
func lowRankSet(r *rand.Rand, n, d int) Features {
	const k = 64
	mix := make([]float64, k*d)
	for i := range mix {
		mix[i] = r.NormFloat64()
	}
	f := make(Features, n)
	z := make([]float64, k)
	for i := range f {
		for j := range z {
			z[j] = r.NormFloat64()
		}
		row := make([]float64, d)
		for j := range row {
			row[j] = 0.1 * r.NormFloat64()
		}
		for l, zl := range z {
			m := mix[l*d : (l+1)*d]
			for j := range row {
				row[j] += zl * m[j]
			}
		}
		f[i] = row
	}
	return f
}

// BenchmarkFID times FID of two 2048-d sets of n images each (the
// InceptionV3 pool size), the statistics only (features given), in seconds
// per FID as the metric s/op.
func BenchmarkFID(b *testing.B) {
	const d, seed = 2048, 1
	for _, n := range fidBenchSizes {
		b.Run(fmt.Sprintf("d%d_n%d", d, n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(seed, uint64(n)))
			x, y := lowRankSet(r, n, d), lowRankSet(r, n, d)
			b.ResetTimer()
			for b.Loop() {
				if _, err := FID(x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fidBenchSizes are the set sizes BenchmarkFID runs (5000 takes a minute).
var fidBenchSizes = []int{50, 500, 5000}
