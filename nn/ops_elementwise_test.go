package nn

import (
	"math"
	"testing"
)

var unaryCases = []struct {
	name   string
	f      func(*Tensor) *Tensor
	ref    func(float64) float64
	lo, hi float64
	kink   bool // non-smooth at 0: keep inputs away from it
}{
	{"relu", Relu, func(x float64) float64 { return math.Max(x, 0) }, -2, 2, true},
	{"leaky_relu", func(x *Tensor) *Tensor { return LeakyRelu(x, 0.2) }, func(x float64) float64 {
		if x >= 0 {
			return x
		}
		return 0.2 * x
	}, -2, 2, true},
	{"silu", Silu, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, -4, 4, false},
	{"gelu", Gelu, func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, -3, 3, false},
	{"tanh", Tanh, math.Tanh, -3, 3, false},
	{"sigmoid", Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, -5, 5, false},
	{"exp", Exp, math.Exp, -2, 2, false},
	{"log", Log, math.Log, 0.3, 3, false},
	{"sqrt", Sqrt, math.Sqrt, 0.3, 3, false},
	{"rsqrt", Rsqrt, func(x float64) float64 { return 1 / math.Sqrt(x) }, 0.5, 3, false},
	{"square", Square, func(x float64) float64 { return x * x }, -2, 2, false},
	{"abs", Abs, math.Abs, -2, 2, true},
	{"recip", Recip, func(x float64) float64 { return 1 / x }, 0.5, 2, false},
	{"pow", func(x *Tensor) *Tensor { return Pow(x, 1.7) }, func(x float64) float64 { return math.Pow(x, 1.7) }, 0.3, 2, false},
	{"affine", func(x *Tensor) *Tensor { return Affine(x, -1.5, 0.25) }, func(x float64) float64 { return -1.5*x + 0.25 }, -2, 2, false},
	{"add_scalar", func(x *Tensor) *Tensor { return AddScalar(x, 3) }, func(x float64) float64 { return x + 3 }, -2, 2, false},
	{"rsub_scalar", func(x *Tensor) *Tensor { return RSubScalar(1, x) }, func(x float64) float64 { return 1 - x }, -2, 2, false},
	{"div_scalar", func(x *Tensor) *Tensor { return DivScalar(x, 4) }, func(x float64) float64 { return x / 4 }, -2, 2, false},
	{"clamp", func(x *Tensor) *Tensor { return Clamp(x, -0.5, 0.7) }, func(x float64) float64 { return math.Min(math.Max(x, -0.5), 0.7) }, -2, 2, false},
	{"max_scalar", func(x *Tensor) *Tensor { return MaxScalar(x, 0.3) }, func(x float64) float64 { return math.Max(x, 0.3) }, -2, 2, false},
	{"min_scalar", func(x *Tensor) *Tensor { return MinScalar(x, 0.3) }, func(x float64) float64 { return math.Min(x, 0.3) }, -2, 2, false},
}

func TestUnaryForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range unaryCases {
		in := randVals(r, 3*5*7, c.lo, c.hi)
		got := mustData(t, c.f(dev.FromData(in, 3, 5, 7)))
		want := make([]float64, len(in))
		for i, x := range in {
			want[i] = c.ref(float64(x))
		}
		assertClose(t, c.name, got, want, 1e-5, 1e-5)
	}
}

func TestUnaryGrad(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range unaryCases {
		var in gradInput
		switch {
		case c.kink:
			in = awayFrom(r, 0.05, 2, 2, 3, 5)
		case c.name == "clamp" || c.name == "max_scalar" || c.name == "min_scalar":
			in = randInput(r, c.lo, c.hi, 2, 3, 5)
			for i, v := range in.vals { // keep away from the clamp edges
				for _, e := range []float32{-0.5, 0.7, 0.3} {
					if v > e-0.03 && v < e+0.03 {
						in.vals[i] = e + 0.1
					}
				}
			}
		default:
			in = randInput(r, c.lo, c.hi, 2, 3, 5)
		}
		f := c.f
		gradcheck(t, c.name, r, func(xs []*Tensor) *Tensor { return f(xs[0]) }, in)
	}
}

var binaryCases = []struct {
	name string
	f    func(a, b *Tensor) *Tensor
	ref  func(a, b float64) float64
}{
	{"add", Add, func(a, b float64) float64 { return a + b }},
	{"sub", Sub, func(a, b float64) float64 { return a - b }},
	{"mul", Mul, func(a, b float64) float64 { return a * b }},
	{"div", Div, func(a, b float64) float64 { return a / b }},
	{"maximum", Maximum, math.Max},
	{"minimum", Minimum, math.Min},
}

var broadcastShapes = [][2][]int{
	{{2, 3, 4}, {2, 3, 4}},
	{{2, 3, 4}, {4}},
	{{2, 1, 4}, {3, 1}},
	{{1}, {5, 3}},
	{{3, 1, 5, 1}, {1, 4, 1, 2}},
	{{2, 3, 1, 5}, {2, 1, 4, 1}},
	{{2, 1, 1, 3, 4, 1, 1, 2}, {3, 4, 1, 1, 2}}, // rank 8 reaches the backend collapsed
}

// refBroadcast evaluates f over the numpy broadcast of a and b in float64.
func refBroadcast(a []float32, as []int, b []float32, bs []int, f func(a, b float64) float64) ([]int, []float64) {
	out, _ := broadcastShape(as, bs)
	sa, sb := broadcastStrides(as, out), broadcastStrides(bs, out)
	res := make([]float64, numel(out))
	idx := make([]int, len(out))
	for i := range res {
		ia, ib := 0, 0
		for k := range idx {
			ia += idx[k] * sa[k]
			ib += idx[k] * sb[k]
		}
		res[i] = f(float64(a[ia]), float64(b[ib]))
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < out[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out, res
}

func TestBinaryForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range binaryCases {
		for _, sh := range broadcastShapes {
			a := randVals(r, numel(sh[0]), -2, 2)
			b := randVals(r, numel(sh[1]), 0.5, 2)
			wantShape, want := refBroadcast(a, sh[0], b, sh[1], c.ref)
			y := c.f(dev.FromData(a, sh[0]...), dev.FromData(b, sh[1]...))
			if !sameShape(y.Shape(), wantShape) {
				t.Fatalf("%s %v %v: shape %v, want %v", c.name, sh[0], sh[1], y.Shape(), wantShape)
			}
			assertClose(t, c.name, mustData(t, y), want, 1e-6, 1e-6)
		}
	}
}

func TestBinaryGrad(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range binaryCases {
		for _, sh := range broadcastShapes[:6] {
			a := randInput(r, -2, 2, sh[0]...)
			b := randInput(r, 0.5, 2, sh[1]...)
			if c.name == "maximum" || c.name == "minimum" {
				// Keep |a-b| >= 0.1 (no ties within the finite-difference
				// step): a on odd, b on even multiples of 0.1.
				for i, v := range a.vals {
					a.vals[i] = float32(math.Round(float64(v)*5))/5 + 0.1
				}
				for i, v := range b.vals {
					b.vals[i] = float32(math.Round(float64(v)*5)) / 5
				}
			}
			f := c.f
			gradcheck(t, c.name, r, func(xs []*Tensor) *Tensor { return f(xs[0], xs[1]) }, a, b)
		}
	}
}

func TestBinaryBadShapesPanic(t *testing.T) {
	dev := testDevice()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for (2,3)+(4,)")
		}
	}()
	Add(dev.Zeros(2, 3), dev.Zeros(4))
}

func TestNoGraphWithoutGrad(t *testing.T) {
	dev := testDevice()
	x := dev.Ones(3)
	w := dev.Ones(3).SetRequiresGrad(true)
	if Mul(x, x).RequiresGrad() {
		t.Error("op on constants recorded a node")
	}
	if !Mul(x, w).RequiresGrad() {
		t.Error("op on a parameter recorded no node")
	}
	dev.NoGrad(func() {
		if Mul(x, w).RequiresGrad() {
			t.Error("NoGrad recorded a node")
		}
	})
}

func TestGradAccumulates(t *testing.T) {
	dev := testDevice()
	w := dev.FromData([]float32{1, 2, 3}, 3).SetRequiresGrad(true)
	// loss = sum(w*w) + sum(3*w): dw = 2w + 3, twice after two Backwards.
	for range 2 {
		s := dev.Scope()
		Add(SumAll(Square(w)), SumAll(MulScalar(w, 3))).Backward()
		s.Close()
	}
	assertClose(t, "grad", mustData(t, w.Grad()), []float64{10, 14, 18}, 1e-6, 0)
	w.ZeroGrad()
	if w.Grad() != nil {
		t.Error("ZeroGrad kept the gradient")
	}
}
