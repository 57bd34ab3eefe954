package nn

import (
	"math"
	"testing"
)

// refNormalize normalizes x viewed as (outer, n, inner) over the middle and
// inner axes grouped as given by groupOf (index -> group), in float64.
func refNormGroups(x []float32, groupOf func(i int) int, ngroups int, eps float64) []float64 {
	sum, sq, cnt := make([]float64, ngroups), make([]float64, ngroups), make([]float64, ngroups)
	for i, v := range x {
		g := groupOf(i)
		sum[g] += float64(v)
		cnt[g]++
	}
	for i, v := range x {
		g := groupOf(i)
		d := float64(v) - sum[g]/cnt[g]
		sq[g] += d * d
	}
	y := make([]float64, len(x))
	for i, v := range x {
		g := groupOf(i)
		y[i] = (float64(v) - sum[g]/cnt[g]) / math.Sqrt(sq[g]/cnt[g]+eps)
	}
	return y
}

func TestNormsForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	const n, c, h, w = 3, 4, 5, 3
	const eps = 1e-5
	x := randVals(r, n*c*h*w, -2, 3)
	xt := dev.FromData(x, n, c, h, w)
	hw := h * w

	rm, rv := dev.Zeros(c), dev.Ones(c)
	bn := BatchNorm(xt, rm, rv, true, 0.1, eps)
	assertClose(t, "batchnorm", mustData(t, bn), refNormGroups(x, func(i int) int { return i / hw % c }, c, eps), 1e-4, 1e-4)
	// running stats: 0.9*init + 0.1*batch (unbiased variance)
	wantM, wantV := make([]float64, c), make([]float64, c)
	cnt := float64(n * hw)
	for i, v := range x {
		wantM[i/hw%c] += float64(v) / cnt
	}
	for i, v := range x {
		d := float64(v) - wantM[i/hw%c]
		wantV[i/hw%c] += d * d / (cnt - 1)
	}
	for i := range wantM {
		wantM[i] *= 0.1
		wantV[i] = 0.9 + 0.1*wantV[i]
	}
	assertClose(t, "running_mean", mustData(t, rm), wantM, 1e-5, 1e-5)
	assertClose(t, "running_var", mustData(t, rv), wantV, 1e-5, 1e-5)
	// eval uses running stats
	ev := mustData(t, BatchNorm(xt, rm, rv, false, 0.1, eps))
	want := make([]float64, len(x))
	for i, v := range x {
		ch := i / hw % c
		want[i] = (float64(v) - wantM[ch]) / math.Sqrt(wantV[ch]+eps)
	}
	assertClose(t, "batchnorm eval", ev, want, 1e-4, 1e-4)

	in := InstanceNorm(xt, eps)
	assertClose(t, "instancenorm", mustData(t, in), refNormGroups(x, func(i int) int { return i / hw }, n*c, eps), 1e-4, 1e-4)

	gw, gb := randVals(r, c, 0.5, 1.5), randVals(r, c, -1, 1)
	gn := GroupNorm(xt, 2, dev.FromData(gw, c), dev.FromData(gb, c), eps)
	want = refNormGroups(x, func(i int) int { return i / (hw * 2) }, n*2, eps)
	for i := range want {
		want[i] = want[i]*float64(gw[i/hw%c]) + float64(gb[i/hw%c])
	}
	assertClose(t, "groupnorm", mustData(t, gn), want, 1e-4, 1e-4)

	lw, lb := randVals(r, h*w, 0.5, 1.5), randVals(r, h*w, -1, 1)
	ln := LayerNorm(xt, 2, dev.FromData(lw, h, w), dev.FromData(lb, h, w), eps)
	want = refNormGroups(x, func(i int) int { return i / hw }, n*c, eps)
	for i := range want {
		want[i] = want[i]*float64(lw[i%hw]) + float64(lb[i%hw])
	}
	assertClose(t, "layernorm", mustData(t, ln), want, 1e-4, 1e-4)
}

func TestNormHandValues(t *testing.T) {
	dev := testDevice()
	// one plane [1, 3]: mean 2, var 1 -> [-1, 1]/sqrt(1+eps)
	y := mustData(t, InstanceNorm(dev.FromData([]float32{1, 3}, 1, 1, 1, 2), 0))
	assertClose(t, "instancenorm [1,3]", y, []float64{-1, 1}, 1e-6, 0)
}

func TestNormsGrad(t *testing.T) {
	r, _ := testRNG(t)
	x := randInput(r, -2, 2, 2, 4, 3, 3)
	gradcheck(t, "batchnorm", r, func(xs []*Tensor) *Tensor {
		d := xs[0].Device()
		return BatchNorm(xs[0], d.Zeros(4), d.Ones(4), true, 0.1, 1e-5)
	}, x)
	gradcheck(t, "instancenorm", r, func(xs []*Tensor) *Tensor { return InstanceNorm(xs[0], 1e-5) }, x)
	gradcheck(t, "groupnorm", r, func(xs []*Tensor) *Tensor { return GroupNorm(xs[0], 2, xs[1], xs[2], 1e-5) },
		x, randInput(r, 0.5, 1.5, 4), randInput(r, -1, 1, 4))
	gradcheck(t, "layernorm", r, func(xs []*Tensor) *Tensor { return LayerNorm(xs[0], 1, xs[1], xs[2], 1e-5) },
		randInput(r, -2, 2, 3, 5), randInput(r, 0.5, 1.5, 5), randInput(r, -1, 1, 5))
}
