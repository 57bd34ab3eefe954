package nn

import (
	"math"
	"testing"
)

func TestSoftmaxForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	const a, b, c = 2, 5, 3
	x := randVals(r, a*b*c, -4, 4)
	x[0] = 80 // large logits must not overflow
	x[3] = 85
	xt := dev.FromData(x, a, b, c)
	sm, lsm := mustData(t, Softmax(xt, 1)), mustData(t, LogSoftmax(xt, 1))
	want, wantLog := make([]float64, len(x)), make([]float64, len(x))
	for i := 0; i < a; i++ {
		for k := 0; k < c; k++ {
			m := math.Inf(-1)
			for j := 0; j < b; j++ {
				m = math.Max(m, float64(x[(i*b+j)*c+k]))
			}
			s := 0.0
			for j := 0; j < b; j++ {
				s += math.Exp(float64(x[(i*b+j)*c+k]) - m)
			}
			for j := 0; j < b; j++ {
				idx := (i*b+j)*c + k
				wantLog[idx] = float64(x[idx]) - m - math.Log(s)
				want[idx] = math.Exp(wantLog[idx])
			}
		}
	}
	assertClose(t, "softmax", sm, want, 1e-6, 1e-5)
	assertClose(t, "log_softmax", lsm, wantLog, 1e-5, 1e-5)
	// hand value: softmax([0, ln 3]) = [1/4, 3/4]
	hv := mustData(t, Softmax(dev.FromData([]float32{0, float32(math.Log(3))}, 1, 2), 1))
	assertClose(t, "softmax hand", hv, []float64{0.25, 0.75}, 1e-6, 0)
}

func TestSoftmaxGrad(t *testing.T) {
	r, _ := testRNG(t)
	gradcheck(t, "softmax", r, func(xs []*Tensor) *Tensor { return Softmax(xs[0], 1) }, randInput(r, -2, 2, 2, 4, 3))
	gradcheck(t, "log_softmax", r, func(xs []*Tensor) *Tensor { return LogSoftmax(xs[0], -1) }, randInput(r, -2, 2, 3, 5))
}

func TestCrossEntropyHand(t *testing.T) {
	dev := testDevice()
	// Two pixels, 3 classes. Pixel 0: logits log([0.2, 0.3, 0.5]) (a known
	// distribution), target 2 -> -log 0.5. Pixel 1: uniform logits, target 0
	// -> log 3. Layout (N=1, C=3, H=1, W=2).
	l := func(p float64) float32 { return float32(math.Log(p)) }
	logits := dev.FromData([]float32{l(0.2), 0, l(0.3), 0, l(0.5), 0}, 1, 3, 1, 2)
	cases := []struct {
		name    string
		target  []float32
		weights []float32
		ignore  int
		want    float64
	}{
		{"plain", []float32{2, 0}, nil, -1, (-math.Log(0.5) + math.Log(3)) / 2},
		{"weighted", []float32{2, 0}, []float32{2, 0.5}, -1, (-2*math.Log(0.5) + 0.5*math.Log(3)) / 2},
		{"ignore 255", []float32{2, 255}, nil, 255, -math.Log(0.5)},
		{"ignore class 0", []float32{2, 0}, nil, 0, -math.Log(0.5)},
		{"all ignored", []float32{-1, -1}, nil, -1, 0},
	}
	for _, c := range cases {
		o := CEOpts{IgnoreIndex: c.ignore}
		if c.weights != nil {
			o.Weights = dev.FromData(c.weights, 1, 1, 2)
		}
		got := mustData(t, CrossEntropy(logits, dev.FromData(c.target, 1, 1, 2), o))
		assertClose(t, "ce "+c.name, got, []float64{c.want}, 1e-6, 1e-6)
	}
}

func TestCrossEntropyGrad(t *testing.T) {
	r, _ := testRNG(t)
	const n, c, h, w = 2, 4, 3, 2
	target := make([]float32, n*h*w)
	weights := randVals(r, n*h*w, 0.5, 2)
	for i := range target {
		target[i] = float32(r.IntN(c + 1)) // c is ignored (outside [0, C))
	}
	target[0] = 1
	gradcheck(t, "cross_entropy", r, func(xs []*Tensor) *Tensor {
		d := xs[0].Device()
		return CrossEntropy(xs[0], d.FromData(target, n, h, w), CEOpts{Weights: d.FromData(weights, n, h, w), IgnoreIndex: 1})
	}, randInput(r, -2, 2, n, c, h, w))
	// The gradient of the plain CE is (softmax - onehot)/count: check one pixel.
	dev := testDevice()
	x := dev.FromData([]float32{1, 2, 3}, 1, 3, 1, 1).SetRequiresGrad(true)
	CrossEntropy(x, dev.FromData([]float32{0}, 1, 1, 1), CEOpts{IgnoreIndex: -1}).Backward()
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	s := e[0] + e[1] + e[2]
	assertClose(t, "ce grad", mustData(t, x.Grad()), []float64{e[0]/s - 1, e[1] / s, e[2] / s}, 1e-6, 1e-5)
}

func TestMSEL1(t *testing.T) {
	dev := testDevice()
	a, b := dev.FromData([]float32{1, 2, 3, 4}, 4), dev.FromData([]float32{1, 0, 4, 1}, 4)
	assertClose(t, "mse", mustData(t, MSE(a, b)), []float64{(0 + 4 + 1 + 9) / 4.0}, 1e-6, 0)
	assertClose(t, "l1", mustData(t, L1(a, b)), []float64{(0 + 2 + 1 + 3) / 4.0}, 1e-6, 0)
}

func TestMSEGrad(t *testing.T) {
	r, _ := testRNG(t)
	gradcheck(t, "mse", r, func(xs []*Tensor) *Tensor { return MSE(xs[0], xs[1]) },
		randInput(r, -1, 1, 2, 3), randInput(r, -1, 1, 2, 3))
	a := randInput(r, -1, 1, 2, 3)
	b := gradInput{shape: a.shape, vals: append([]float32(nil), a.vals...)}
	for i := range b.vals { // |a-b| >= 0.1 keeps L1 away from its kink
		b.vals[i] += float32(0.1+0.5*r.Float64()) * float32(1-2*r.IntN(2))
	}
	gradcheck(t, "l1", r, func(xs []*Tensor) *Tensor { return L1(xs[0], xs[1]) }, a, b)
}
