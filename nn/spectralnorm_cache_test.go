package nn

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/nn/backend"
)

// snNet is a small spectrally normalised network: an SN conv, leaky ReLU,
// global average and an SN linear head.
type snNet struct {
	ps   *Params
	conv *Conv2d
	head *LinearLayer
}

func newSNNet(dev *Device, seed uint64) *snNet {
	ps := NewParams(dev, seed)
	return &snNet{ps: ps, conv: NewSNConv2d(ps.Sub("conv"), 3, 5, 3, 1, 1, true), head: NewSNLinear(ps.Sub("head"), 5, 4, true)}
}

func (n *snNet) forward(x *Tensor) *Tensor {
	y := LeakyRelu(n.conv.Forward(x), 0.2)
	return n.head.Forward(Mean(y, []int{2, 3}, false))
}

// evalOut is the network's eval-mode output for x, as inference runs it
// (autograd off, inside a scope).
func (n *snNet) evalOut(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	dev := x.Device()
	was := n.ps.Training()
	n.ps.SetTraining(false)
	defer n.ps.SetTraining(was)
	var out []float32
	dev.NoGrad(func() {
		s := dev.Scope()
		out = mustData(t, n.forward(x))
		s.Close()
	})
	return out
}

// checkFresh compares n's eval output for x with that of a network built
// afresh (another seed, so no cache and other initial values) and given n's
// current parameter values: a stale cached weight in n shows as a difference.
func checkFresh(t *testing.T, what string, n *snNet, x *Tensor) {
	t.Helper()
	got := n.evalOut(t, x)
	f := newSNNet(x.Device(), 999)
	defer f.ps.Release()
	src := n.ps.All()
	for i, p := range f.ps.All() {
		p.T.Upload(mustData(t, src[i].T))
	}
	want := f.evalOut(t, x)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: eval output[%d] = %g, a fresh network with the same parameters gives %g (stale spectral-norm weight)", what, i, got[i], want[i])
		}
	}
	// and again, now certainly from the cache
	again := n.evalOut(t, x)
	for i := range got {
		if again[i] != got[i] {
			t.Fatalf("%s: second eval output[%d] = %g, first %g", what, i, again[i], got[i])
		}
	}
}

// upload overwrites t with random values.
func upload(r *rand.Rand, t *Tensor) { t.Upload(randVals(r, t.Numel(), -1, 1)) }

// TestSpectralNormCacheInvalidation: after every way of writing weight_orig,
// u or v, the eval output equals that of a freshly built network with the
// same parameters.
func TestSpectralNormCacheInvalidation(t *testing.T) {
	r, seed := testRNG(t)
	dev := testDevice()
	dir := t.TempDir()
	x := dev.FromData(randVals(r, 2*3*6*6, -1, 1), 2, 3, 6, 6)
	defer x.Release()
	var ema *EMA // the EMA case's steps share it
	for _, c := range []struct {
		name string
		// steps each change n somehow; checkFresh runs after each
		steps []func(t *testing.T, n *snNet)
	}{
		{"adam step", []func(*testing.T, *snNet){func(t *testing.T, n *snNet) {
			// eval mode with gradients: the uncached path, as finetuning
			// through a frozen-statistics network does
			n.ps.SetTraining(false)
			opt := NewAdam(n.ps.Trainable(), DefaultAdam(0.05))
			defer opt.Release()
			s := dev.Scope()
			MeanAll(Square(n.forward(x))).Backward()
			opt.Step()
			opt.ZeroGrad()
			s.Close()
		}}},
		{"checkpoint load", []func(*testing.T, *snNet){func(t *testing.T, n *snNet) {
			other := newSNNet(dev, seed+1)
			defer other.ps.Release()
			other.ps.SetTraining(true)
			other.evalOut(t, x) // cache of other, irrelevant
			path := filepath.Join(dir, "other.safetensors")
			if err := SaveParams(path, other.ps.All(), SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadParams(path, n.ps.All(), LoadOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		{"ema update and swap", []func(*testing.T, *snNet){
			func(t *testing.T, n *snNet) {
				ema = NewEMA(n.ps, 0.5)
				upload(r, n.conv.SN.Orig)
				upload(r, n.head.SN.U)
			},
			func(t *testing.T, n *snNet) { ema.Update() },
			func(t *testing.T, n *snNet) { ema.Swap() },
			func(t *testing.T, n *snNet) { ema.Update() }, // while swapped: the averages' storage is live
			func(t *testing.T, n *snNet) { ema.Swap() },
			func(t *testing.T, n *snNet) { ema.Swap() }, // the cache now holds the averages' weight
			func(t *testing.T, n *snNet) {
				// back to the live weights, the averages move on, and back
				// to them again: the same storage as the cache's, rewritten
				ema.Swap()
				ema.Update()
				ema.Swap()
			},
			func(t *testing.T, n *snNet) { ema.Swap(); ema.Release() },
		}},
		{"upload orig, u, v", []func(*testing.T, *snNet){
			func(t *testing.T, n *snNet) { upload(r, n.conv.SN.Orig) },
			func(t *testing.T, n *snNet) { upload(r, n.conv.SN.U) },
			func(t *testing.T, n *snNet) { upload(r, n.conv.SN.V) },
			func(t *testing.T, n *snNet) { upload(r, n.head.SN.Orig) },
		}},
		{"copy into orig, u, v", []func(*testing.T, *snNet){
			func(t *testing.T, n *snNet) {
				for _, sn := range []*SpectralNorm{n.conv.SN, n.head.SN} {
					for _, p := range []*Tensor{sn.Orig, sn.U, sn.V} {
						src := dev.FromData(randVals(r, p.Numel(), -1, 1), p.Numel())
						p.CopyFrom(src)
						src.Release()
					}
				}
			},
			func(t *testing.T, n *snNet) {
				// through a reshaped view of u
				v := Reshape(n.conv.SN.U, 1, -1)
				src := dev.FromData(randVals(r, v.Numel(), -1, 1), v.Shape()...)
				v.CopyFrom(src)
				src.Release()
				v.Release()
			},
		}},
		{"raw buffer write", []func(*testing.T, *snNet){func(t *testing.T, n *snNet) {
			v := n.conv.SN.V
			dev.Backend().Upload(v.Buffer(), randVals(r, v.Numel(), -1, 1))
		}}},
		{"training power iteration then eval", []func(*testing.T, *snNet){
			func(t *testing.T, n *snNet) {
				n.ps.SetTraining(true)
				dev.NoGrad(func() {
					s := dev.Scope()
					n.forward(x)
					s.Close()
				})
				n.ps.SetTraining(false)
			},
			func(t *testing.T, n *snNet) { n.conv.SN.PowerIteration(3) }, // explicit, in eval mode
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newSNNet(dev, seed)
			defer n.ps.Release()
			n.ps.SetTraining(false)
			checkFresh(t, "initial", n, x) // fills the cache
			for i, step := range c.steps {
				step(t, n)
				checkFresh(t, fmt.Sprintf("%s, step %d", c.name, i), n, x)
			}
		})
	}
}

// TestSpectralNormCachedEqualsUncached: the cached eval weight holds exactly
// the values of Div(Orig, Sigma()), and a weight handed out before a change
// keeps its values (a snapshot) while a new call sees the change.
func TestSpectralNormCachedEqualsUncached(t *testing.T) {
	r, seed := testRNG(t)
	dev := testDevice()
	n := newSNNet(dev, seed)
	defer n.ps.Release()
	n.ps.SetTraining(false)
	sn := n.conv.SN
	sn.PowerIteration(5)
	var uncached []float32
	dev.NoGrad(func() {
		s := dev.Scope()
		uncached = mustData(t, Div(sn.Orig, sn.Sigma()))
		s.Close()
	})
	var held *Tensor
	dev.NoGrad(func() {
		held = sn.Weight() // no scope: lives until Release
		w2 := sn.Weight()
		for name, w := range map[string]*Tensor{"first": held, "second": w2} {
			got := mustData(t, w)
			for i := range got {
				if got[i] != uncached[i] {
					t.Fatalf("%s cached weight[%d] = %g, Div(Orig, Sigma()) = %g", name, i, got[i], uncached[i])
				}
			}
		}
		w2.Release()
	})
	upload(r, sn.Orig)
	dev.NoGrad(func() {
		s := dev.Scope()
		want := mustData(t, Div(sn.Orig, sn.Sigma()))
		got := mustData(t, sn.Weight())
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("after Upload: weight[%d] = %g, want %g", i, got[i], want[i])
			}
		}
		s.Close()
	})
	// a write into a returned weight does not stick to the cache
	dev.NoGrad(func() {
		s := dev.Scope()
		want := mustData(t, Div(sn.Orig, sn.Sigma()))
		sn.Weight().CopyFrom(dev.Zeros(sn.Orig.Shape()...))
		got := mustData(t, sn.Weight())
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("after a write into a returned weight: weight[%d] = %g, want %g", i, got[i], want[i])
			}
		}
		s.Close()
	})
	old := mustData(t, held)
	for i := range old {
		if old[i] != uncached[i] {
			t.Fatalf("a weight held across the change changed: [%d] = %g, was %g", i, old[i], uncached[i])
		}
	}
	held.Release()
	n.ps.Release()
	if live := dev.LiveBuffers(); live != 0 {
		t.Errorf("%d buffers live after releasing the network and the held weight", live)
	}
}

// kernelCounter counts the primitive kernel calls (and uploads) of the
// wrapped backend.
type kernelCounter struct {
	backend.Backend
	calls int
}

func (k *kernelCounter) Upload(dst backend.Buffer, src []float32) {
	k.calls++
	k.Backend.Upload(dst, src)
}
func (k *kernelCounter) Fill(dst backend.Buffer, n int, v float32) {
	k.calls++
	k.Backend.Fill(dst, n, v)
}
func (k *kernelCounter) Copy(dst, src backend.Buffer, p backend.Strided) {
	k.calls++
	k.Backend.Copy(dst, src, p)
}
func (k *kernelCounter) Unary(op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
	k.calls++
	k.Backend.Unary(op, dst, x, n, a)
}
func (k *kernelCounter) UnaryGrad(op backend.UnaryOp, dx, x, y, dy backend.Buffer, n int, a backend.Args) {
	k.calls++
	k.Backend.UnaryGrad(op, dx, x, y, dy, n, a)
}
func (k *kernelCounter) Binary(op backend.BinaryOp, dst, a, b backend.Buffer, p backend.Broadcast) {
	k.calls++
	k.Backend.Binary(op, dst, a, b, p)
}
func (k *kernelCounter) Reduce(op backend.ReduceOp, dst, x backend.Buffer, p backend.Reduction) {
	k.calls++
	k.Backend.Reduce(op, dst, x, p)
}
func (k *kernelCounter) MatMul(c, a, b backend.Buffer, p backend.MatMul) {
	k.calls++
	k.Backend.MatMul(c, a, b, p)
}
func (k *kernelCounter) Conv2D(y, x, w backend.Buffer, p backend.Conv) {
	k.calls++
	k.Backend.Conv2D(y, x, w, p)
}
func (k *kernelCounter) Conv2DGradInput(dx, dy, w backend.Buffer, p backend.Conv) {
	k.calls++
	k.Backend.Conv2DGradInput(dx, dy, w, p)
}
func (k *kernelCounter) Conv2DGradWeight(dw, x, dy backend.Buffer, p backend.Conv) {
	k.calls++
	k.Backend.Conv2DGradWeight(dw, x, dy, p)
}
func (k *kernelCounter) Resize(dst, x backend.Buffer, p backend.Resize) {
	k.calls++
	k.Backend.Resize(dst, x, p)
}
func (k *kernelCounter) ResizeGrad(dx, dy backend.Buffer, p backend.Resize) {
	k.calls++
	k.Backend.ResizeGrad(dx, dy, p)
}
func (k *kernelCounter) Pool2D(op backend.PoolOp, dst, x backend.Buffer, p backend.Pool) {
	k.calls++
	k.Backend.Pool2D(op, dst, x, p)
}
func (k *kernelCounter) Pool2DGrad(op backend.PoolOp, dx, x, y, dy backend.Buffer, p backend.Pool) {
	k.calls++
	k.Backend.Pool2DGrad(op, dx, x, y, dy, p)
}
func (k *kernelCounter) OneHot(dst, idx backend.Buffer, p backend.OneHot) {
	k.calls++
	k.Backend.OneHot(dst, idx, p)
}
func (k *kernelCounter) Adam(param, grad, m, v backend.Buffer, n int, p backend.Adam) {
	k.calls++
	k.Backend.Adam(param, grad, m, v, n, p)
}

// TestSpectralNormEvalWeightDispatchesOnce: the first eval Weight call runs
// the sigma and division kernels; later ones run none (counted at the
// primitive calls, and as GPU dispatches where the backend counts them)
// until a parameter changes; training mode is never cached.
func TestSpectralNormEvalWeightDispatchesOnce(t *testing.T) {
	_, seed := testRNG(t)
	inner := testDevice().Backend()
	kc := &kernelCounter{Backend: inner}
	dev := NewDevice(kc)
	gpu, _ := inner.(interface {
		Counts() (dispatches, submits int)
	})
	dispatches := func() int {
		if gpu == nil {
			return 0
		}
		d, _ := gpu.Counts()
		return d
	}
	n := newSNNet(dev, seed)
	defer n.ps.Release()
	sn := n.conv.SN
	weight := func() {
		dev.NoGrad(func() {
			s := dev.Scope()
			sn.Weight()
			s.Close()
		})
	}
	for _, c := range []struct {
		name     string
		training bool
		before   func()
		want     string // "none" or "some" kernel calls
	}{
		{"first eval call", false, nil, "some"},
		{"second eval call", false, nil, "none"},
		{"third eval call", false, nil, "none"},
		{"after an upload of v", false, func() { sn.V.Upload(mustData(t, sn.V)) }, "some"},
		{"eval again", false, nil, "none"},
		{"training", true, nil, "some"},
		{"training again", true, nil, "some"},
		{"eval after training", false, nil, "some"},
		{"eval again after training", false, nil, "none"},
	} {
		if c.before != nil {
			c.before()
		}
		n.ps.SetTraining(c.training)
		k0, d0 := kc.calls, dispatches()
		weight()
		calls, disp := kc.calls-k0, dispatches()-d0
		t.Logf("%s: %d kernel calls, %d GPU dispatches", c.name, calls, disp)
		if c.want == "none" && (calls != 0 || disp != 0) {
			t.Errorf("%s: %d kernel calls, %d GPU dispatches, want none", c.name, calls, disp)
		}
		if c.want == "some" && calls == 0 {
			t.Errorf("%s: no kernel calls: the weight was not computed", c.name)
		}
	}
}
