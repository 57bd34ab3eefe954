package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gaussSet draws n rows of d correlated Gaussian features (a random linear
// mix of independent normals, so the covariance is not diagonal).
func gaussSet(r *rand.Rand, n, d int) Features {
	mix := make([][]float64, d)
	for i := range mix {
		mix[i] = make([]float64, d)
		for j := range mix[i] {
			mix[i][j] = r.NormFloat64() / math.Sqrt(float64(d))
		}
	}
	f := make(Features, n)
	z := make([]float64, d)
	for i := range f {
		for j := range z {
			z[j] = r.NormFloat64()
		}
		f[i] = make([]float64, d)
		for j := range d {
			for k := range d {
				f[i][j] += mix[j][k] * z[k]
			}
			f[i][j] += float64(j) * 0.1
		}
	}
	return f
}

func mapSet(f Features, g func(v float64) float64) Features {
	out := make(Features, len(f))
	for i, r := range f {
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = g(v)
		}
	}
	return out
}

func sampleStats(f Features) (mu []float64, trCov float64) {
	n, d := len(f), len(f[0])
	mu = make([]float64, d)
	for _, r := range f {
		for j, v := range r {
			mu[j] += v / float64(n)
		}
	}
	for _, r := range f {
		for j, v := range r {
			trCov += (v - mu[j]) * (v - mu[j]) / float64(n-1)
		}
	}
	return mu, trCov
}

func TestFIDKnownCases(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	a := gaussSet(r, 300, 16)
	mu, trC := sampleStats(a)
	muSq := 0.0
	for _, v := range mu {
		muSq += v * v
	}
	const shift = 0.7
	cases := []struct {
		name string
		b    Features
		want float64 // analytic value from the sample statistics
	}{
		// Same covariance: only the means differ, by shift in each of 16 dims.
		{"identical", a, 0},
		{"shifted", mapSet(a, func(v float64) float64 { return v + shift }), 16 * shift * shift},
		// b = 2a: |mu|^2 + tr(C + 4C - 2*sqrt(4C^2)) = |mu|^2 + tr(C).
		{"scaled", mapSet(a, func(v float64) float64 { return 2 * v }), muSq + trC},
	}
	for _, c := range cases {
		got, err := FID(a, c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: FID %.6g, analytic %.6g", c.name, got, c.want)
		if math.Abs(got-c.want) > 1e-6*(1+c.want) {
			t.Errorf("%s: FID = %.9g, want %.9g", c.name, got, c.want)
		}
	}
}

func TestFIDOneDimensional(t *testing.T) {
	// In 1-D FID = (m1 - m2)^2 + (s1 - s2)^2 with sample standard deviations.
	const seed = 5
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	a, b := make(Features, 50), make(Features, 70)
	for i := range a {
		a[i] = []float64{r.NormFloat64()}
	}
	for i := range b {
		b[i] = []float64{2 + 3*r.NormFloat64()}
	}
	m1, v1 := sampleStats(a)
	m2, v2 := sampleStats(b)
	want := (m1[0]-m2[0])*(m1[0]-m2[0]) + (math.Sqrt(v1)-math.Sqrt(v2))*(math.Sqrt(v1)-math.Sqrt(v2))
	got, err := FID(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-9*(1+want) {
		t.Errorf("FID = %.12g, want %.12g", got, want)
	}
}

func TestFIDErrors(t *testing.T) {
	ok := Features{{1, 2}, {3, 4}}
	cases := []struct {
		name string
		a, b Features
		want string
	}{
		{"empty", Features{}, ok, "no feature vectors"},
		{"one row", Features{{1, 2}}, ok, "at least 2"},
		{"ragged", Features{{1, 2}, {3}}, ok, "row 1"},
		{"dims", ok, Features{{1}, {2}}, "2- and 1-dimensional"},
		{"nan", Features{{1, 2}, {math.NaN(), 0}}, ok, "NaN"},
	}
	for _, c := range cases {
		if _, err := FID(c.a, c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// naiveMMD is the unbiased MMD^2 of the whole sets with the cubic kernel.
func naiveMMD(a, b Features) float64 {
	d := float64(len(a[0]))
	k := func(x, y []float64) float64 {
		s := 0.0
		for i := range x {
			s += x[i] * y[i]
		}
		return math.Pow(s/d+1, 3)
	}
	m := float64(len(a))
	var xx, yy, xy float64
	for i := range a {
		for j := range a {
			if i != j {
				xx += k(a[i], a[j])
				yy += k(b[i], b[j])
			}
			xy += k(a[i], b[j])
		}
	}
	return xx/(m*(m-1)) + yy/(m*(m-1)) - 2*xy/(m*m)
}

func TestKID(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	a := gaussSet(r, 60, 8)
	b := gaussSet(rand.New(rand.NewPCG(seed+1, 0)), 60, 8)
	// A single subset of the full sets is the plain unbiased estimate.
	full, err := KID(a, b, KIDOptions{Subsets: 1, SubsetSize: 60, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := naiveMMD(a, b); math.Abs(full.Mean-want) > 1e-9*(1+math.Abs(want)) || full.Std != 0 {
		t.Errorf("KID of full sets = %.12g (std %g), naive %.12g (std 0)", full.Mean, full.Std, want)
	}
	// Identical sets: near zero; a shifted copy: clearly larger.
	same, err := KID(a, a, KIDOptions{Subsets: 20, SubsetSize: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	shifted, err := KID(a, mapSet(a, func(v float64) float64 { return v + 1 }), KIDOptions{Subsets: 20, SubsetSize: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KID same %.4g±%.2g, shifted %.4g±%.2g", same.Mean, same.Std, shifted.Mean, shifted.Std)
	if math.Abs(same.Mean) > 3*same.Std+1e-3 {
		t.Errorf("KID of identical sets %.4g (std %.3g) is not near 0", same.Mean, same.Std)
	}
	if shifted.Mean < same.Mean+10*same.Std || shifted.Mean < 0.1 {
		t.Errorf("KID of a shifted copy %.4g is not clearly above %.4g", shifted.Mean, same.Mean)
	}
	if shifted.Std <= 0 {
		t.Errorf("std over 20 subsets is %g", shifted.Std)
	}
	if _, err := KID(a, b[:10], KIDOptions{SubsetSize: 20}); err == nil {
		t.Errorf("subset larger than a set: no error")
	}
	if _, err := KID(a[:1], b[:1], KIDOptions{}); err == nil {
		t.Errorf("one-row sets: no error")
	}
}

func TestScoreAffinity(t *testing.T) {
	truth := [][]float64{{1, 0, 0}, {0, 0.5, 0.5}, {0, 0, 1}}
	cases := []struct {
		name      string
		est       [][]float64
		top1, tv  float64
		errSubstr string
	}{
		{name: "exact", est: truth, top1: 1, tv: 0},
		{name: "tie counts either", est: [][]float64{{0.9, 0.1, 0}, {0, 0, 1}, {0, 0, 1}}, top1: 1, tv: (0.1 + 0.5 + 0) / 3},
		{name: "all wrong", est: [][]float64{{0, 1, 0}, {1, 0, 0}, {1, 0, 0}}, top1: 0, tv: (1 + 1 + 1) / 3.0},
		{name: "one of three", est: [][]float64{{0.6, 0.4, 0}, {1, 0, 0}, {0.5, 0.5, 0}}, top1: 1.0 / 3, tv: (0.4 + 1 + 1) / 3},
		{name: "row sum", est: [][]float64{{0.5, 0, 0}, {0, 1, 0}, {0, 0, 1}}, errSubstr: "row 0 sums"},
		{name: "negative", est: [][]float64{{1.5, -0.5, 0}, {0, 1, 0}, {0, 0, 1}}, errSubstr: "holds -0.5"},
		{name: "shape", est: [][]float64{{1, 0}, {0, 1}, {0, 1}}, errSubstr: "columns"},
		{name: "rows", est: [][]float64{{1, 0, 0}}, errSubstr: "1 estimated and 3 true"},
	}
	for _, c := range cases {
		got, err := ScoreAffinity(c.est, truth)
		if c.errSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.errSubstr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got.Top1-c.top1) > 1e-12 || math.Abs(got.MeanTV-c.tv) > 1e-12 || got.Rows != 3 {
			t.Errorf("%s: got %+v, want top1 %g, mean TV %g", c.name, got, c.top1, c.tv)
		}
	}
}
