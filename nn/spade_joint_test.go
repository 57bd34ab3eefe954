package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// spadeNet is one SPADE (or CLADE) layer in a registry of its own, with
// random running statistics so that the eval normalisation matters.
type spadeNet struct {
	ps *Params
	s  *SPADE
}

func newSPADENet(dev *Device, seed uint64, clade bool) *spadeNet {
	ps := NewParams(dev, seed)
	s := NewSPADE(ps.Sub("norm"), SPADEConfig{NormNC: 4, LabelNC: 3, Hidden: 5, Kernel: 3, CLADE: clade})
	r := rand.New(rand.NewPCG(seed, 1))
	s.Norm.RunningMean.Upload(randVals(r, 4, -0.5, 0.5))
	s.Norm.RunningVar.Upload(randVals(r, 4, 0.5, 2))
	return &spadeNet{ps: ps, s: s}
}

// spadeInputs are x (2, 4, 6, 5) and a soft label map seg (2, 3, 6, 5).
func spadeInputs(dev *Device, r *rand.Rand) (x, seg *Tensor) {
	return dev.FromData(randVals(r, 2*4*30, -2, 2), 2, 4, 6, 5), dev.FromData(randVals(r, 2*3*30, 0, 1), 2, 3, 6, 5)
}

// evalOut is the layer's eval-mode output with the leaky ReLU, as
// inference runs it (autograd off: the joint path) or, with grad, with
// autograd on and the weights wanting gradients (the separate path).
func (n *spadeNet) evalOut(t *testing.T, x, seg *Tensor, grad bool) []float32 {
	t.Helper()
	dev := x.Device()
	was := n.ps.Training()
	n.ps.SetTraining(false)
	defer n.ps.SetTraining(was)
	prev := dev.SetGradEnabled(grad)
	defer dev.SetGradEnabled(prev)
	s := dev.Scope()
	defer s.Close()
	return mustData(t, n.s.ForwardAct(x, seg, ActLeakyReLU(0.2)))
}

// closeTo reports the first index where got and want differ by more than
// tol relative to 1 + |want|, or -1.
func closeTo(got, want []float32, tol float64) int {
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			return i
		}
	}
	return -1
}

// TestSPADEJointEqualsSeparate: the eval forward through the joint
// gamma/beta conv and the joint modulation equals the separate path (two
// convs, two buffers) on the test device, and equals the CPU backend's
// separate path when the test device is another backend
// (CATSYNTH_TEST_BACKEND=gpu).
func TestSPADEJointEqualsSeparate(t *testing.T) {
	r, seed := testRNG(t)
	dev := testDevice()
	ref := NewDevice(cpu.New())
	for _, clade := range []bool{false, true} {
		t.Run(fmt.Sprintf("clade=%v", clade), func(t *testing.T) {
			n := newSPADENet(dev, seed, clade)
			defer n.ps.Release()
			x, seg := spadeInputs(dev, r)
			defer x.Release()
			defer seg.Release()
			joint := n.evalOut(t, x, seg, false)
			if n.s.joint.t == nil {
				t.Fatal("the eval forward without gradients did not take the joint path")
			}
			sep := n.evalOut(t, x, seg, true)
			if i := closeTo(joint, sep, 1e-5); i >= 0 {
				t.Fatalf("joint [%d] = %g, separate %g", i, joint[i], sep[i])
			}
			if dev.Backend().Name() == ref.Backend().Name() {
				return
			}
			c := newSPADENet(ref, seed, clade)
			defer c.ps.Release()
			cx, cseg := ref.FromData(mustData(t, x), x.Shape()...), ref.FromData(mustData(t, seg), seg.Shape()...)
			defer cx.Release()
			defer cseg.Release()
			want := c.evalOut(t, cx, cseg, true)
			if i := closeTo(joint, want, 1e-4); i >= 0 {
				t.Fatalf("%s joint [%d] = %g, CPU separate %g", dev.Backend().Name(), i, joint[i], want[i])
			}
		})
	}
}

// checkFreshSPADE compares n's eval output with that of a layer built
// afresh (another seed: no cache, other initial values) and given n's
// current parameter values: a stale joint weight in n shows as a
// difference; then a second output, certainly from the cache, must agree.
func checkFreshSPADE(t *testing.T, what string, n *spadeNet, clade bool, x, seg *Tensor) {
	t.Helper()
	got := n.evalOut(t, x, seg, false)
	f := newSPADENet(x.Device(), 999, clade)
	defer f.ps.Release()
	src := n.ps.All()
	for i, p := range f.ps.All() {
		p.T.Upload(mustData(t, src[i].T))
	}
	want := f.evalOut(t, x, seg, false)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: eval output[%d] = %g, a fresh layer with the same parameters gives %g (stale joint weight)", what, i, got[i], want[i])
		}
	}
	again := n.evalOut(t, x, seg, false)
	for i := range got {
		if again[i] != got[i] {
			t.Fatalf("%s: second eval output[%d] = %g, first %g", what, i, again[i], got[i])
		}
	}
}

// TestSPADEJointCacheInvalidation: after every way of writing the gamma or
// beta weight, the eval output equals that of a fresh layer with the same
// parameters.
func TestSPADEJointCacheInvalidation(t *testing.T) {
	r, seed := testRNG(t)
	dev := testDevice()
	dir := t.TempDir()
	x, seg := spadeInputs(dev, r)
	defer x.Release()
	defer seg.Release()
	var ema *EMA // the EMA case's steps share it
	type step = func(t *testing.T, n *spadeNet, clade bool)
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"adam step", []step{func(t *testing.T, n *spadeNet, _ bool) {
			// eval mode with gradients (the separate path), as finetuning
			// through frozen statistics does
			n.ps.SetTraining(false)
			opt := NewAdam(n.ps.Trainable(), DefaultAdam(0.05))
			defer opt.Release()
			s := dev.Scope()
			MeanAll(Square(n.s.Forward(x, seg))).Backward()
			opt.Step()
			opt.ZeroGrad()
			s.Close()
		}}},
		{"checkpoint load", []step{func(t *testing.T, n *spadeNet, clade bool) {
			other := newSPADENet(dev, seed+1, clade)
			defer other.ps.Release()
			other.evalOut(t, x, seg, false) // other's cache, irrelevant
			path := filepath.Join(dir, fmt.Sprintf("other-%v.safetensors", clade))
			if err := SaveParams(path, other.ps.All(), SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadParams(path, n.ps.All(), LoadOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		{"ema update and swap", []step{
			func(t *testing.T, n *spadeNet, _ bool) {
				ema = NewEMA(n.ps, 0.5)
				upload(r, n.s.Gamma.W)
				upload(r, n.s.Beta.W)
			},
			func(t *testing.T, n *spadeNet, _ bool) { ema.Update() },
			func(t *testing.T, n *spadeNet, _ bool) { ema.Swap() },
			func(t *testing.T, n *spadeNet, _ bool) { ema.Update() }, // while swapped
			func(t *testing.T, n *spadeNet, _ bool) { ema.Swap() },
			func(t *testing.T, n *spadeNet, _ bool) { ema.Swap(); ema.Update(); ema.Swap() },
			func(t *testing.T, n *spadeNet, _ bool) { ema.Swap(); ema.Release() },
		}},
		{"upload gamma, beta", []step{
			func(t *testing.T, n *spadeNet, _ bool) { upload(r, n.s.Gamma.W) },
			func(t *testing.T, n *spadeNet, _ bool) { upload(r, n.s.Beta.W) },
		}},
		{"copy into beta through a view", []step{func(t *testing.T, n *spadeNet, _ bool) {
			v := Reshape(n.s.Beta.W, 1, -1)
			src := dev.FromData(randVals(r, v.Numel(), -1, 1), v.Shape()...)
			v.CopyFrom(src)
			src.Release()
			v.Release()
		}}},
		{"raw buffer write", []step{func(t *testing.T, n *spadeNet, _ bool) {
			w := n.s.Gamma.W
			dev.Backend().Upload(w.Buffer(), randVals(r, w.Numel(), -1, 1))
		}}},
		{"training forward then eval", []step{func(t *testing.T, n *spadeNet, _ bool) {
			n.ps.SetTraining(true)
			s := dev.Scope()
			n.s.Forward(x, seg)
			s.Close()
			if n.s.joint.t != nil {
				t.Error("training mode kept the joint weight")
			}
			upload(r, n.s.Gamma.W)
			n.ps.SetTraining(false)
		}}},
	} {
		for _, clade := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/clade=%v", c.name, clade), func(t *testing.T) {
				n := newSPADENet(dev, seed, clade)
				defer n.ps.Release()
				checkFreshSPADE(t, "initial", n, clade, x, seg) // fills the cache
				for i, st := range c.steps {
					st(t, n, clade)
					checkFreshSPADE(t, fmt.Sprintf("%s, step %d", c.name, i), n, clade, x, seg)
				}
			})
		}
	}
}

// copyCounter counts the Copy calls of the wrapped backend (the joint
// weight's concatenation is two) and keeps its fused kernels visible.
type copyCounter struct {
	backend.Backend
	backend.Fused
	backend.ConvEpilogue
	backend.ActivatedModulation
	copies int
}

func (c *copyCounter) Copy(dst, src backend.Buffer, p backend.Strided) {
	c.copies++
	c.Backend.Copy(dst, src, p)
}

// TestSPADEJointWeightBuiltOnce: the first eval forward concatenates the
// two weights (two copies more than a later forward); later forwards build
// nothing and leave the cache's Version alone until a weight changes; the
// release of the registry frees the cache.
func TestSPADEJointWeightBuiltOnce(t *testing.T) {
	r, seed := testRNG(t)
	inner := testDevice().Backend()
	cc := &copyCounter{Backend: inner}
	cc.Fused, _ = inner.(backend.Fused)
	cc.ConvEpilogue, _ = inner.(backend.ConvEpilogue)
	cc.ActivatedModulation, _ = inner.(backend.ActivatedModulation)
	if cc.Fused == nil || cc.ConvEpilogue == nil || cc.ActivatedModulation == nil {
		t.Skipf("%s lacks the fused kernels", inner.Name())
	}
	dev := NewDevice(cc)
	x, seg := spadeInputs(dev, r)
	n := newSPADENet(dev, seed, false)
	forward := func() (copies int, version uint64) {
		c0 := cc.copies
		n.evalOut(t, x, seg, false)
		if n.s.joint.t == nil {
			t.Fatal("no joint weight after an eval forward")
		}
		return cc.copies - c0, n.s.joint.t.Version()
	}
	first, v1 := forward()
	second, v2 := forward()
	third, v3 := forward()
	t.Logf("copies per forward: %d, %d, %d", first, second, third)
	if first-second != 2 || third != second || v2 != v1 || v3 != v1 {
		t.Errorf("copies per forward %d, %d, %d and joint versions %d, %d, %d: want the concatenation's 2 copies in the first only and one version",
			first, second, third, v1, v2, v3)
	}
	upload(r, n.s.Beta.W)
	if again, v := forward(); again != first || v == v1 {
		t.Errorf("after an upload of beta's weight: %d copies (want %d), version %d (was %d)", again, first, v, v1)
	}
	x.Release()
	seg.Release()
	n.ps.Release()
	if n.s.joint.t != nil {
		t.Error("the registry's Release left the joint weight")
	}
	if live := dev.LiveBuffers(); live != 0 {
		t.Errorf("%d buffers live after releasing the layer", live)
	}
}
