package nn

import (
	"testing"
)

// TestVersion: every in-place write gives a tensor a new Version, reads do
// not, views share their storage's version, and swapping storages
// exchanges versions. Run with the fused norm kernels and composed.
func TestVersion(t *testing.T) {
	r, seed := testRNG(t)
	dev := testDevice()
	rand := func(shape ...int) *Tensor { return dev.FromData(randVals(r, numel(shape), -1, 1), shape...) }
	// prep gets a parameter p (3, 4) with a gradient, its registry and a
	// batch norm of it; it returns the tensor to watch and the action.
	type prep func(p *Tensor, ps *Params, bn *BatchNorm2d) (*Tensor, func())
	self := func(act func(p *Tensor)) prep {
		return func(p *Tensor, _ *Params, _ *BatchNorm2d) (*Tensor, func()) { return p, func() { act(p) } }
	}
	for _, c := range []struct {
		name  string
		write bool
		prep  prep
	}{
		{"upload", true, self(func(p *Tensor) { p.Upload(randVals(r, 12, -1, 1)) })},
		{"copy from", true, self(func(p *Tensor) { p.CopyFrom(rand(12)) })},
		{"copy into a view", true, self(func(p *Tensor) { Reshape(p, 12).CopyFrom(rand(12)) })},
		{"buffer", true, self(func(p *Tensor) { p.Buffer() })},
		{"adam step", true, self(func(p *Tensor) {
			opt := NewAdam([]*Tensor{p}, DefaultAdam(0.1))
			opt.Step()
			opt.Release()
		})},
		{"checkpoint load", true, func(p *Tensor, ps *Params, _ *BatchNorm2d) (*Tensor, func()) {
			path := t.TempDir() + "/p.safetensors"
			if err := SaveParams(path, ps.All(), SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			return p, func() {
				if _, err := LoadParams(path, ps.All(), LoadOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"ema update (the shadow)", true, func(p *Tensor, ps *Params, _ *BatchNorm2d) (*Tensor, func()) {
			e := NewEMA(ps, 0.9)
			return e.Shadow()[0].T, func() { e.Update(); e.Release() }
		}},
		{"ema swap", true, func(p *Tensor, ps *Params, _ *BatchNorm2d) (*Tensor, func()) {
			e := NewEMA(ps, 0.9)
			sv := e.Shadow()[0].T.Version()
			return p, func() {
				e.Swap()
				if p.Version() != sv {
					t.Errorf("after Swap the parameter's version is %d, want the shadow's %d", p.Version(), sv)
				}
				e.Release()
			}
		}},
		{"clip grad norm (the gradient)", true, func(p *Tensor, _ *Params, _ *BatchNorm2d) (*Tensor, func()) {
			return p.Grad(), func() {
				if _, err := ClipGradNorm([]*Tensor{p}, 1e-3); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"batch norm running mean, training", true, func(_ *Tensor, _ *Params, bn *BatchNorm2d) (*Tensor, func()) {
			return bn.RunningMean, func() { bn.Forward(rand(2, 3, 2, 2)) }
		}},
		{"batch norm running mean, eval", false, func(_ *Tensor, ps *Params, bn *BatchNorm2d) (*Tensor, func()) {
			return bn.RunningMean, func() { ps.SetTraining(false); bn.Forward(rand(2, 3, 2, 2)) }
		}},
		{"ema update (the parameter)", false, func(p *Tensor, ps *Params, _ *BatchNorm2d) (*Tensor, func()) {
			e := NewEMA(ps, 0.9)
			return p, func() { e.Update(); e.Release() }
		}},
		{"data", false, self(func(p *Tensor) { mustData(t, p) })},
		{"ops reading it", false, self(func(p *Tensor) { SumAll(Mul(p, Reshape(p.Detach(), 3, 4))) })},
	} {
		for _, compose := range []bool{false, true} {
			dev.composeFused = compose
			ps := NewParams(dev, seed)
			p := ps.New("p", Normal(0, 1), 3, 4)
			bn := NewBatchNorm2d(ps.Sub("bn"), 3)
			s := dev.Scope()
			MeanAll(Square(p)).Backward()
			if v := Reshape(p, 12); v.Version() != p.Version() {
				t.Errorf("a view's version %d, its tensor's %d", v.Version(), p.Version())
			}
			watch, act := c.prep(p, ps, bn)
			before := watch.Version()
			act()
			if changed := watch.Version() != before; changed != c.write {
				t.Errorf("%s (composed norms %v): version changed = %v, want %v", c.name, compose, changed, c.write)
			}
			s.Close()
			p.ZeroGrad()
			ps.Release()
		}
	}
	dev.composeFused = false
	// stamps are unique: fresh tensors, even never written ones, differ
	a, b := dev.Empty(4), dev.Empty(4)
	if a.Version() == b.Version() {
		t.Errorf("two new tensors share version %d", a.Version())
	}
	a.Release()
	b.Release()
}
