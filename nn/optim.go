package nn

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// AdamConfig holds Adam/AdamW hyperparameters. Values are taken literally
// (Beta1 = 0 is valid, as OASIS uses); DefaultAdam gives the usual ones.
// WeightDecay is decoupled (AdamW); 0 gives plain Adam.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
}

// DefaultAdam returns PyTorch's defaults (betas 0.9, 0.999, eps 1e-8) with lr.
func DefaultAdam(lr float32) AdamConfig {
	return AdamConfig{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Adam is the Adam/AdamW optimizer with its moments on the device.
type Adam struct {
	Config AdamConfig
	params []*Tensor
	m, v   []*Tensor
	step   int
}

// NewAdam creates an optimizer for params (trainable tensors).
func NewAdam(params []*Tensor, cfg AdamConfig) *Adam {
	a := &Adam{Config: cfg, params: params}
	for _, p := range params {
		a.m = append(a.m, p.dev.allocUnscoped(p.shape))
		a.v = append(a.v, p.dev.allocUnscoped(p.shape))
		p.dev.be.Fill(a.m[len(a.m)-1].buf(), p.Numel(), 0)
		p.dev.be.Fill(a.v[len(a.v)-1].buf(), p.Numel(), 0)
	}
	return a
}

// Steps is the number of Step calls so far.
func (a *Adam) Steps() int { return a.step }

// Step updates every parameter that has a gradient, in place.
func (a *Adam) Step() {
	a.step++
	c := a.Config
	p := backend.Adam{
		LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay,
		BiasCorr1: float32(1 - math.Pow(float64(c.Beta1), float64(a.step))),
		BiasCorr2: float32(1 - math.Pow(float64(c.Beta2), float64(a.step))),
	}
	for i, prm := range a.params {
		if prm.grad == nil {
			continue
		}
		prm.dev.be.Adam(prm.buf(), prm.grad.buf(), a.m[i].buf(), a.v[i].buf(), prm.Numel(), p)
		prm.written()
		a.m[i].written()
		a.v[i].written()
	}
}

// State returns the moment buffers as checkpoint entries, named
// prefix+"m."+names[i] and prefix+"v."+names[i] for the i-th parameter given
// to NewAdam, so that a resumed run continues exactly (with SetSteps).
func (a *Adam) State(prefix string, names []string) []*Param {
	if len(names) != len(a.params) {
		panic(fmt.Sprintf("nn: Adam.State: %d names for %d parameters", len(names), len(a.params)))
	}
	out := make([]*Param, 0, 2*len(names))
	for i, n := range names {
		out = append(out, &Param{Name: prefix + "m." + n, T: a.m[i]}, &Param{Name: prefix + "v." + n, T: a.v[i]})
	}
	return out
}

// SetSteps sets the number of steps taken so far, which the bias
// correction uses; call it after loading State into a new optimizer.
func (a *Adam) SetSteps(n int) { a.step = n }

// ZeroGrad drops the gradients of the optimizer's parameters.
func (a *Adam) ZeroGrad() {
	for _, p := range a.params {
		p.ZeroGrad()
	}
}

// Release frees the moment buffers.
func (a *Adam) Release() {
	for i := range a.m {
		a.m[i].Release()
		a.v[i].Release()
	}
}

// EMA keeps an exponential moving average of a model's trainable parameters
// (shadow = decay*shadow + (1-decay)*param) and a copy of its buffers, on the
// device. Shadow uses the same names, so it can be saved as a model.
type EMA struct {
	Decay  float32
	live   []*Param
	shadow []*Param
}

// NewEMA starts the average at the current values of ps.
func NewEMA(ps *Params, decay float32) *EMA {
	e := &EMA{Decay: decay}
	for _, prm := range ps.All() {
		t := prm.T.dev.allocUnscoped(prm.T.shape)
		t.CopyFrom(prm.T)
		e.live = append(e.live, prm)
		e.shadow = append(e.shadow, &Param{Name: prm.Name, T: t, Trainable: prm.Trainable})
	}
	return e
}

// Update folds the current parameters into the average and copies buffers.
func (e *EMA) Update() {
	for i, prm := range e.live {
		sh := e.shadow[i].T
		if !prm.Trainable {
			sh.CopyFrom(prm.T)
			continue
		}
		d := sh.dev
		a := d.allocUnscoped(sh.shape)
		b := d.allocUnscoped(sh.shape)
		n := sh.Numel()
		d.be.Unary(backend.Affine, a.buf(), sh.buf(), n, backend.Args{Alpha: e.Decay})
		d.be.Unary(backend.Affine, b.buf(), prm.T.buf(), n, backend.Args{Alpha: 1 - e.Decay})
		d.be.Binary(backend.Add, sh.buf(), a.buf(), b.buf(), backend.Broadcast{Shape: []int{n}, AStrides: []int{1}, BStrides: []int{1}})
		sh.written()
		a.Release()
		b.Release()
	}
}

// Shadow returns the averaged tensors with the model's names (for
// SaveParams through a registry view, or for evaluation).
func (e *EMA) Shadow() []*Param { return e.shadow }

// Swap exchanges the live parameters' values with the averages (cheap: the
// buffers are swapped, and with them their versions). Call it before
// evaluating with the averages and again afterwards to restore the training
// weights.
func (e *EMA) Swap() {
	for i, prm := range e.live {
		swapStorage(prm.T, e.shadow[i].T)
	}
}

// Release frees the shadow tensors.
func (e *EMA) Release() {
	for _, s := range e.shadow {
		s.T.Release()
	}
}

// ClipGradNorm scales the gradients of params so that their global L2 norm
// is at most maxNorm (PyTorch's clip_grad_norm_ with eps 1e-6). The scale is
// computed on the device; the returned norm (before clipping) is the one
// scalar read back.
func ClipGradNorm(params []*Tensor, maxNorm float32) (float32, error) {
	var sq []*Tensor
	var dev *Device
	for _, p := range params {
		if p.grad != nil {
			dev = p.dev
			sq = append(sq, p.grad)
		}
	}
	if dev == nil {
		return 0, nil
	}
	var norm float32
	var err error
	dev.NoGrad(func() {
		s := dev.Scope()
		defer s.Close()
		total := SumAll(Square(sq[0]))
		for _, g := range sq[1:] {
			total = Add(total, SumAll(Square(g)))
		}
		nt := Sqrt(total)
		// scale = min(1, maxNorm / (norm + 1e-6))
		scale := MinScalar(MulScalar(Recip(AddScalar(nt, 1e-6)), maxNorm), 1)
		for _, g := range sq {
			ng := dev.allocUnscoped(g.shape)
			binaryInto(ng, mulOp, g, scale)
			swapStorage(g, ng)
			ng.Release()
		}
		norm, err = nt.Item()
	})
	if err != nil {
		return 0, fmt.Errorf("nn: ClipGradNorm: %w", err)
	}
	return norm, nil
}
