package nn

import (
	"math"
	"testing"
)

func TestAdamMatchesReference(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, cfg := range []AdamConfig{DefaultAdam(0.01), {LR: 0.002, Beta1: 0, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}} {
		p0 := randVals(r, 5, -1, 1)
		c := randVals(r, 5, -1, 1)
		p := dev.FromData(p0, 5).SetRequiresGrad(true)
		ct := dev.FromData(c, 5)
		opt := NewAdam([]*Tensor{p}, cfg)
		ref := to64(p0)
		m, v := make([]float64, 5), make([]float64, 5)
		b1, b2 := float64(cfg.Beta1), float64(cfg.Beta2)
		for step := 1; step <= 4; step++ {
			// loss = sum(c * p^2): grad = 2 c p
			s := dev.Scope()
			opt.ZeroGrad()
			SumAll(Mul(ct, Square(p))).Backward()
			opt.Step()
			s.Close()
			for i := range ref {
				g := 2 * float64(c[i]) * ref[i]
				m[i] = b1*m[i] + (1-b1)*g
				v[i] = b2*v[i] + (1-b2)*g*g
				mh := m[i] / (1 - math.Pow(b1, float64(step)))
				vh := v[i] / (1 - math.Pow(b2, float64(step)))
				ref[i] -= float64(cfg.LR)*mh/(math.Sqrt(vh)+float64(cfg.Eps)) + float64(cfg.LR*cfg.WeightDecay)*ref[i]
			}
		}
		assertClose(t, "adam", mustData(t, p), ref, 1e-5, 1e-4)
	}
}

func TestEMA(t *testing.T) {
	dev := testDevice()
	ps := NewParams(dev, 1)
	w := ps.New("w", Const(1), 3)
	b := ps.NewBuffer("b", Const(5), 2)
	ema := NewEMA(ps, 0.9)
	w.Upload([]float32{2, 3, 11})
	b.Upload([]float32{7, 8})
	ema.Update()
	sh := ema.Shadow()
	assertClose(t, "ema w", mustData(t, sh[0].T), []float64{1.1, 1.2, 2}, 1e-6, 1e-6)
	assertClose(t, "ema buffer", mustData(t, sh[1].T), []float64{7, 8}, 0, 0)
	if sh[0].Name != "w" || sh[1].Name != "b" {
		t.Errorf("shadow names %q %q", sh[0].Name, sh[1].Name)
	}
	ema.Swap()
	assertClose(t, "swapped", mustData(t, w), []float64{1.1, 1.2, 2}, 1e-6, 1e-6)
	ema.Swap()
	assertClose(t, "restored", mustData(t, w), []float64{2, 3, 11}, 0, 0)
}

func TestClipGradNorm(t *testing.T) {
	dev := testDevice()
	a := dev.FromData([]float32{1, 2}, 2).SetRequiresGrad(true)
	b := dev.FromData([]float32{3}, 1).SetRequiresGrad(true)
	// grads: 3*a -> (3, 3), 4*b -> (4): norm sqrt(9+9+16) = sqrt(34)
	Add(SumAll(MulScalar(a, 3)), SumAll(MulScalar(b, 4))).Backward()
	norm, err := ClipGradNorm([]*Tensor{a, b}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(norm)-math.Sqrt(34)) > 1e-5 {
		t.Errorf("norm %g, want %g", norm, math.Sqrt(34))
	}
	k := 1 / (math.Sqrt(34) + 1e-6)
	assertClose(t, "clipped a", mustData(t, a.Grad()), []float64{3 * k, 3 * k}, 1e-6, 1e-5)
	assertClose(t, "clipped b", mustData(t, b.Grad()), []float64{4 * k}, 1e-6, 1e-5)
	// below the limit: unchanged
	norm, _ = ClipGradNorm([]*Tensor{a, b}, 10)
	assertClose(t, "unclipped", mustData(t, b.Grad()), []float64{4 * k}, 1e-6, 1e-5)
	if math.Abs(float64(norm)-1) > 1e-4 {
		t.Errorf("norm after clipping %g, want 1", norm)
	}
}

// Saving the parameters with the optimizer's State and resuming in a new
// optimizer continues exactly where an uninterrupted run would be.
func TestAdamStateResume(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	p0, c := randVals(r, 6, -1, 1), randVals(r, 6, -1, 1)
	ct := dev.FromData(c, 6)
	step := func(p *Tensor, opt *Adam) {
		s := dev.Scope()
		opt.ZeroGrad()
		SumAll(Mul(ct, Square(p))).Backward()
		opt.Step()
		s.Close()
	}
	cfg := DefaultAdam(0.05)
	straight := dev.FromData(p0, 6).SetRequiresGrad(true)
	optS := NewAdam([]*Tensor{straight}, cfg)
	for range 5 {
		step(straight, optS)
	}

	p := dev.FromData(p0, 6).SetRequiresGrad(true)
	opt := NewAdam([]*Tensor{p}, cfg)
	for range 3 {
		step(p, opt)
	}
	path := t.TempDir() + "/state.safetensors"
	save := append([]*Param{{Name: "w", T: p, Trainable: true}}, opt.State("opt.", []string{"w"})...)
	if err := SaveParams(path, save, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	q := dev.FromData(make([]float32, 6), 6).SetRequiresGrad(true)
	opt2 := NewAdam([]*Tensor{q}, cfg)
	load := append([]*Param{{Name: "w", T: q, Trainable: true}}, opt2.State("opt.", []string{"w"})...)
	if _, err := LoadParams(path, load, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	opt2.SetSteps(opt.Steps())
	for range 2 {
		step(q, opt2)
	}
	assertClose(t, "resumed", mustData(t, q), to64(mustData(t, straight)), 1e-7, 1e-6)
}
