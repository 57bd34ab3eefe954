package nn

import (
	"math"
	"testing"
)

func TestParamsNames(t *testing.T) {
	dev := testDevice()
	ps := NewParams(dev, 3)
	body := ps.Sub("body.0")
	NewConv2d(body.Sub("conv_0"), 3, 4, 3, 1, 1, true)
	NewSNConv2d(body.Sub("conv_s"), 4, 2, 1, 1, 0, false)
	NewBatchNorm2d(ps.Sub("norm"), 4)
	NewLinear(ps.Sub("fc"), 5, 6, true)
	var names []string
	for _, p := range ps.All() {
		names = append(names, p.Name)
	}
	want := []string{
		"body.0.conv_0.weight", "body.0.conv_0.bias",
		"body.0.conv_s.weight_orig", "body.0.conv_s.weight_u", "body.0.conv_s.weight_v",
		"norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
		"fc.weight", "fc.bias",
	}
	if len(names) != len(want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("param %d = %q, want %q", i, names[i], want[i])
		}
	}
	if n := len(body.All()); n != 5 {
		t.Errorf("body view lists %d params, want 5", n)
	}
	if p, ok := body.Get("conv_0.weight"); !ok || !sameShape(p.T.Shape(), []int{4, 3, 3, 3}) {
		t.Errorf("Get conv_0.weight: %v %v", p, ok)
	}
	if want := 4*3*9 + 4 + 2*4 + 6*5 + 6; ps.Count() != want {
		t.Errorf("Count = %d, want %d", ps.Count(), want)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate name did not panic")
		}
	}()
	NewLinear(ps.Sub("fc"), 5, 6, true)
}

func TestInitStatistics(t *testing.T) {
	r, _ := testRNG(t)
	shape := []int{64, 32, 3, 3} // fanIn 288, fanOut 576
	in, out := Fans(shape)
	if in != 288 || out != 576 {
		t.Fatalf("Fans = %d, %d", in, out)
	}
	cases := []struct {
		name     string
		init     Init
		std, max float64 // expected std and bound (0: unbounded)
	}{
		{"xavier_uniform", XavierUniform(1), math.Sqrt(2.0 / (288 + 576)), math.Sqrt(6.0 / (288 + 576))},
		{"xavier_normal", XavierNormal(2), 2 * math.Sqrt(2.0/(288+576)), 0},
		{"kaiming_uniform", KaimingUniform(Gain("relu", 0)), math.Sqrt(2.0 / 288), math.Sqrt(6.0 / 288)},
		{"kaiming_normal", KaimingNormal(Gain("leaky_relu", 0.2)), math.Sqrt(2/(1+0.04)) / math.Sqrt(288), 0},
		{"normal", Normal(0, 0.02), 0.02, 0},
		{"torch_default", torchDefaultWeight, 1 / math.Sqrt(3*288), 1 / math.Sqrt(288)},
	}
	for _, c := range cases {
		v := c.init(r, shape)
		s, sq, mx := 0.0, 0.0, 0.0
		for _, x := range v {
			s += float64(x)
			sq += float64(x) * float64(x)
			mx = math.Max(mx, math.Abs(float64(x)))
		}
		n := float64(len(v))
		mean, std := s/n, math.Sqrt(sq/n-(s/n)*(s/n))
		if math.Abs(mean) > 4*c.std/math.Sqrt(n) || math.Abs(std-c.std) > 0.05*c.std {
			t.Errorf("%s: mean %g std %g, want 0 and %g", c.name, mean, std, c.std)
		}
		if c.max > 0 && mx > c.max {
			t.Errorf("%s: |x| up to %g beyond bound %g", c.name, mx, c.max)
		}
	}
}

func TestParamsSeeded(t *testing.T) {
	dev := testDevice()
	a, b, c := NewParams(dev, 9), NewParams(dev, 9), NewParams(dev, 10)
	wa := NewConv2d(a, 2, 3, 3, 1, 1, true).W
	wb := NewConv2d(b, 2, 3, 3, 1, 1, true).W
	wc := NewConv2d(c, 2, 3, 3, 1, 1, true).W
	da, db, dc := mustData(t, wa), mustData(t, wb), mustData(t, wc)
	same := func(x, y []float32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(da, db) || same(da, dc) {
		t.Error("initialization does not follow the seed")
	}
}

func TestLayersForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	ps := NewParams(dev, 5)
	x := randVals(r, 2*3*5*5, -1, 1)
	xt := dev.FromData(x, 2, 3, 5, 5)
	conv := NewConv2d(ps.Sub("c"), 3, 4, 3, 2, 1, true)
	y := conv.Forward(xt)
	p := ConvOpts{Stride: 2, Pad: 1}.params(xt, conv.W)
	assertClose(t, "conv layer", mustData(t, y), refConv(x, mustData(t, conv.W), mustData(t, conv.B), p), 1e-5, 1e-5)
	gn := NewGroupNorm(ps.Sub("gn"), 2, 4, true)
	ln := NewLayerNorm(ps.Sub("ln"), true, 3, 3)
	emb := NewEmbedding(ps.Sub("emb"), 4, 3)
	out := ln.Forward(gn.Forward(y))
	if !sameShape(out.Shape(), []int{2, 4, 3, 3}) {
		t.Errorf("norm layers shape %v", out.Shape())
	}
	e := emb.Forward(dev.FromData([]float32{1, 3}, 2))
	if !sameShape(e.Shape(), []int{2, 3}) {
		t.Errorf("embedding shape %v", e.Shape())
	}
}
