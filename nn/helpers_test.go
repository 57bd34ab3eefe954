package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"catsynth/nn/cpu"
)

// testRNG returns a seeded generator and logs the seed so failures replay.
func testRNG(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed)), seed
}

// testDevice is the device the op tests run on: the CPU reference, or the
// backend named by CATSYNTH_TEST_BACKEND (e.g. "gpu"), so that the whole
// forward and gradient suite also checks another backend.
func testDevice() *Device {
	name := os.Getenv("CATSYNTH_TEST_BACKEND")
	if name == "" || name == "cpu" {
		return NewDevice(cpu.New())
	}
	d, err := Open(name)
	if err != nil {
		panic(fmt.Sprintf("CATSYNTH_TEST_BACKEND=%s: %v", name, err))
	}
	return d
}

func randVals(r *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return v
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

func mustData(t testing.TB, x *Tensor) []float32 {
	t.Helper()
	d, err := x.Data()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// assertClose compares got with a float64 reference element-wise.
func assertClose(t testing.TB, name string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= atol+rtol*math.Abs(want[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g (diff %g)", name, i, got[i], want[i], d)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off", name, bad, len(got))
	}
}

// gradInput is one input of a gradcheck: its shape and values.
type gradInput struct {
	shape []int
	vals  []float32
}

// gradcheck compares autograd gradients of the scalar loss sum(f(xs) * r),
// r random, with central finite differences evaluated in float64 on the host
// (the op itself runs in float32, so eps is large and the tolerance loose).
// At most maxProbe elements per input are probed.
func gradcheck(t *testing.T, name string, r *rand.Rand, f func(xs []*Tensor) *Tensor, inputs ...gradInput) {
	t.Helper()
	const (
		eps      = 1e-2
		atol     = 5e-3
		rtol     = 3e-2
		maxProbe = 40
	)
	dev := testDevice()
	xs := make([]*Tensor, len(inputs))
	for i, in := range inputs {
		xs[i] = dev.FromData(in.vals, in.shape...).SetRequiresGrad(true)
	}
	y := f(xs)
	rv := randVals(r, y.Numel(), -1, 1)
	rt := dev.FromData(rv, y.shape...)
	SumAll(Mul(y, rt)).Backward()

	loss := func() float64 {
		var out []float32
		dev.NoGrad(func() {
			s := dev.Scope()
			out = mustData(t, f(xs))
			s.Close()
		})
		sum := 0.0
		for i := range out {
			sum += float64(out[i]) * float64(rv[i])
		}
		return sum
	}
	for i, x := range xs {
		if x.Grad() == nil {
			t.Errorf("%s: input %d got no gradient", name, i)
			continue
		}
		ana := mustData(t, x.Grad())
		vals := append([]float32(nil), inputs[i].vals...)
		idx := r.Perm(len(vals))
		if len(idx) > maxProbe {
			idx = idx[:maxProbe]
		}
		for _, j := range idx {
			orig := vals[j]
			vals[j] = orig + eps
			x.Upload(vals)
			lp := loss()
			vals[j] = orig - eps
			x.Upload(vals)
			lm := loss()
			vals[j] = orig
			x.Upload(vals)
			fd := (lp - lm) / (2 * eps)
			if d := math.Abs(float64(ana[j]) - fd); d > atol+rtol*math.Abs(fd) {
				t.Errorf("%s: d/dx%d[%d] autograd %g, finite difference %g", name, i, j, ana[j], fd)
			}
		}
	}
}

// randInput draws an input of shape with values in [lo, hi).
func randInput(r *rand.Rand, lo, hi float64, shape ...int) gradInput {
	return gradInput{shape: shape, vals: randVals(r, numel(shape), lo, hi)}
}

// awayFrom draws values in [-hi, hi) at least gap away from 0 (for kinks).
func awayFrom(r *rand.Rand, gap, hi float64, shape ...int) gradInput {
	v := randVals(r, numel(shape), gap, hi)
	for i := range v {
		if r.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return gradInput{shape: shape, vals: v}
}
