package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// ModulateOpts are what ModulateWith adds to Modulate. The zero value is
// Modulate with offset 0.
type ModulateOpts struct {
	// Offset is added to gamma (1 for SPADE and CLADE).
	Offset float32
	// GammaBias and BetaBias (C values each, either may be nil) are added
	// to gamma and beta per channel, as in ModulateBias.
	GammaBias, BetaBias *Tensor
	// Mean and Var (C values each), both set or both nil, normalise x per
	// channel first: (x - Mean) * rsqrt(Var + Eps). They are constants
	// (batch norm in eval mode, from the running statistics): no gradient
	// reaches them.
	Mean, Var *Tensor
	Eps       float32
	// Act follows the modulation.
	Act Activation
}

// modAct returns the backend's activated modulation, or nil when it has
// none or the device is set to compose.
func (d *Device) modAct() backend.ActivatedModulation {
	if d.composeFused {
		return nil
	}
	f, _ := d.be.(backend.ActivatedModulation)
	return f
}

// ModulateWith returns o.Act(xn * (gamma + o.GammaBias + o.Offset) + beta +
// o.BetaBias) for x (N, C, ...), xn being x normalised with o.Mean and
// o.Var when they are set and x otherwise; gamma and beta as in Modulate.
// SPADE in eval mode is one such op: batch norm, modulation and leaky ReLU.
// With gamma and beta of x's shape on a backend with
// backend.ActivatedModulation it is one backend call forward and one
// backward (plus the normalisation's recomputation and the scaling of dx
// under o.Mean); it is composed from BatchNorm, ModulateBias and the
// activation otherwise.
func ModulateWith(x, gamma, beta *Tensor, o ModulateOpts) *Tensor {
	if (o.Mean == nil) != (o.Var == nil) || o.Mean != nil && (x.Rank() < 2 || o.Mean.Numel() != x.shape[1] || o.Var.Numel() != x.shape[1]) {
		panic(fmt.Sprintf("nn: ModulateWith: x %v with statistics %s", x.shape, shapesString(o.Mean, o.Var)))
	}
	if o.Mean == nil && o.Act.Kind == backend.ActNone {
		return ModulateBias(x, gamma, beta, o.GammaBias, o.BetaBias, o.Offset)
	}
	d := x.dev
	f := d.modAct()
	p, ok := modLayout(x, gamma)
	if f == nil || !ok || p.Per != backend.PerElement || !sameShape(beta.shape, x.shape) || (o.GammaBias == nil) != (o.BetaBias == nil) {
		return composedModulateWith(x, gamma, beta, o)
	}
	y, p, a := fusedModulateAct("nn: ModulateWith", f, x, gamma, beta, p, o, false)
	parents := []*Tensor{x, gamma, beta}
	if p.Bias {
		parents = append(parents, o.GammaBias, o.BetaBias)
	}
	return record(y, "modulate_act", parents, func(g *Tensor) []*Tensor {
		// The kernel's gradient is that of the modulation of xn; under the
		// normalisation dx is then scaled by rsqrt(Var + Eps).
		xn, ga := x, a
		if a.Norm {
			xn, ga.Norm = BatchNorm(x, o.Mean, o.Var, false, 0, o.Eps), false
		}
		dx, dg, db := d.alloc(x.shape), d.alloc(gamma.shape), d.alloc(beta.shape)
		f.ModulateActGrad(dx.buf(), dg.buf(), db.buf(), g.buf(), y.buf(), xn.buf(), gamma.buf(), bufOrNil(o.GammaBias), p, ga)
		if a.Norm {
			dx = Mul(dx, Reshape(Rsqrt(AddScalar(o.Var, o.Eps)), channelShape(x)...))
		}
		out := []*Tensor{dx, dg, db}
		if p.Bias {
			var dgb, dbb *Tensor
			if o.GammaBias.RequiresGrad() {
				dgb = Reshape(reduceTo(dg, channelShape(x)), o.GammaBias.shape...)
			}
			if o.BetaBias.RequiresGrad() {
				dbb = Reshape(reduceTo(db, channelShape(x)), o.BetaBias.shape...)
			}
			out = append(out, dgb, dbb)
		}
		return out
	})
}

// composedModulateWith is ModulateWith from BatchNorm, ModulateBias and
// the activation.
func composedModulateWith(x, gamma, beta *Tensor, o ModulateOpts) *Tensor {
	if o.Mean != nil {
		x = BatchNorm(x, o.Mean, o.Var, false, 0, o.Eps)
	}
	return o.Act.Apply(ModulateBias(x, gamma, beta, o.GammaBias, o.BetaBias, o.Offset))
}

// ModulateJoint is ModulateWith(x, gamma, beta, o) for gamma and beta
// given as the two channel halves of one tensor gb (N, 2C, ...) (per
// sample gamma's C channels, then beta's), as one convolution with 2C
// outputs computes them: SPADE's eval path, where gamma and beta come from
// one conv instead of two. With no gradient to record and a backend with
// backend.ActivatedModulation it is one backend call that reads both
// halves in place (ModAct.Joint); otherwise gb is split into gamma and
// beta (two copies) and ModulateWith runs on them, so gradients are
// exactly ModulateWith's.
func ModulateJoint(x, gb *Tensor, o ModulateOpts) *Tensor {
	if x.Rank() < 2 || gb.Rank() != x.Rank() || gb.shape[0] != x.shape[0] || gb.shape[1] != 2*x.shape[1] || !sameShape(gb.shape[2:], x.shape[2:]) {
		panic(fmt.Sprintf("nn: ModulateJoint: x %v with joint gamma and beta %v (want 2C channels)", x.shape, gb.shape))
	}
	if (o.Mean == nil) != (o.Var == nil) || o.Mean != nil && (o.Mean.Numel() != x.shape[1] || o.Var.Numel() != x.shape[1]) {
		panic(fmt.Sprintf("nn: ModulateJoint: x %v with statistics %s", x.shape, shapesString(o.Mean, o.Var)))
	}
	d := x.dev
	f := d.modAct()
	if f == nil || (o.GammaBias == nil) != (o.BetaBias == nil) || needsGrad(x, gb, o.GammaBias, o.BetaBias) {
		c := x.shape[1]
		h := Split(gb, 1, c, c)
		return ModulateWith(x, h[0], h[1], o)
	}
	p, _ := modLayout(x, x) // per element
	y, _, _ := fusedModulateAct("nn: ModulateJoint", f, x, gb, nil, p, o, true)
	return y
}

// fusedModulateAct is the one backend call of ModulateWith and
// ModulateJoint: o's offset, biases, statistics and activation on layout
// p, checked (op names the caller), run into a new tensor; beta is nil
// under joint, where gamma holds both halves.
func fusedModulateAct(op string, f backend.ActivatedModulation, x, gamma, beta *Tensor, p backend.Modulation, o ModulateOpts, joint bool) (*Tensor, backend.Modulation, backend.ModAct) {
	p.Offset, p.Bias = o.Offset, o.GammaBias != nil
	if p.Bias && (o.GammaBias.Numel() != p.C || o.BetaBias.Numel() != p.C) {
		panic(fmt.Sprintf("%s: x %v with biases %s", op, x.shape, shapesString(o.GammaBias, o.BetaBias)))
	}
	a := backend.ModAct{Norm: o.Mean != nil, Eps: o.Eps, Act: o.Act.Kind, Slope: o.Act.Slope, Joint: joint}
	a.Check(op, p, false)
	y := x.dev.alloc(x.shape)
	f.ModulateAct(y.buf(), x.buf(), bufOrNil(o.Mean), bufOrNil(o.Var), gamma.buf(), bufOrNil(beta), bufOrNil(o.GammaBias), bufOrNil(o.BetaBias), p, a)
	return y, p, a
}

// bufOrNil is t's buffer, nil for no tensor (an optional operand).
func bufOrNil(t *Tensor) backend.Buffer {
	if t == nil {
		return nil
	}
	return t.buf()
}
