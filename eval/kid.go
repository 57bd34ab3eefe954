package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// polyKernel returns the matrix (x_i . y_j / d + 1)^3.
func polyKernel(x, y Features, d int) *mat.Dense {
	mx := mat.NewDense(len(x), d, nil)
	for i, r := range x {
		mx.SetRow(i, r)
	}
	my := mat.NewDense(len(y), d, nil)
	for i, r := range y {
		my.SetRow(i, r)
	}
	var k mat.Dense
	k.Mul(mx, my.T())
	k.Apply(func(_, _ int, v float64) float64 {
		v = v/float64(d) + 1
		return v * v * v
	}, &k)
	return &k
}

// KIDOptions control the subset estimate of KID. The zero value is the
// usual protocol (Binkowski et al. 2018; torch-fidelity): 100 subsets of
// min(1000, smaller set) rows.
type KIDOptions struct {
	Subsets    int    // number of subsets (0: 100)
	SubsetSize int    // rows per subset (0: min(1000, len(a), len(b)))
	Seed       uint64 // seed of the subset draws
}

// KIDResult is the mean and standard deviation of the unbiased MMD^2
// estimates over the subsets.
type KIDResult struct {
	Mean, Std  float64
	Subsets    int
	SubsetSize int
}

// KID is the kernel inception distance: the unbiased squared MMD between
// two feature sets under the cubic polynomial kernel k(x, y) = (x.y/D + 1)^3,
// averaged over random subsets (drawn without replacement within a subset).
// Unlike FID it is unbiased for small sets, so it is catsynth's primary
// number in the few-shot regime. Each subset needs at least 2 rows.
func KID(a, b Features, o KIDOptions) (KIDResult, error) {
	da, err := a.dim("KID set 1")
	if err != nil {
		return KIDResult{}, err
	}
	db, err := b.dim("KID set 2")
	if err != nil {
		return KIDResult{}, err
	}
	if da != db {
		return KIDResult{}, fmt.Errorf("eval: KID of %d- and %d-dimensional features", da, db)
	}
	subsets := o.Subsets
	if subsets <= 0 {
		subsets = 100
	}
	m := o.SubsetSize
	if m <= 0 {
		m = min(1000, len(a), len(b))
	}
	if m < 2 || m > len(a) || m > len(b) {
		return KIDResult{}, fmt.Errorf("eval: KID subset size %d with sets of %d and %d images (need 2 <= size <= both)", m, len(a), len(b))
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x4b4944))
	// The kernel matrices over the full sets, computed once (N^2 memory):
	// the subsets then only index them.
	kaa, kbb, kab := polyKernel(a, a, da), polyKernel(b, b, da), polyKernel(a, b, da)
	vals := make([]float64, subsets)
	for s := range subsets {
		ia := r.Perm(len(a))[:m]
		ib := r.Perm(len(b))[:m]
		var kxx, kyy, kxy float64
		for i := range m {
			for j := range m {
				kxy += kab.At(ia[i], ib[j])
				if j > i {
					kxx += kaa.At(ia[i], ia[j])
					kyy += kbb.At(ib[i], ib[j])
				}
			}
		}
		mm := float64(m)
		vals[s] = 2*(kxx+kyy)/(mm*(mm-1)) - 2*kxy/(mm*mm)
	}
	mean := 0.0
	for _, v := range vals {
		mean += v
	}
	mean /= float64(subsets)
	vr := 0.0
	for _, v := range vals {
		vr += (v - mean) * (v - mean)
	}
	return KIDResult{Mean: mean, Std: math.Sqrt(vr / float64(subsets)), Subsets: subsets, SubsetSize: m}, nil
}
