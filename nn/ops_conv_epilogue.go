package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// Activation is a pointwise function that may follow a convolution in its
// epilogue. The zero value is the identity.
type Activation struct {
	Kind  backend.Activation
	Slope float32 // leaky ReLU's negative slope
}

// The activations ConvEpilogue can fuse.
var (
	ActIdentity = Activation{}
	ActReLU     = Activation{Kind: backend.ActReLU}
	ActReLU6    = Activation{Kind: backend.ActReLU6}
	ActTanh     = Activation{Kind: backend.ActTanh}
)

// ActLeakyReLU is the leaky ReLU with the given negative slope.
func ActLeakyReLU(slope float32) Activation {
	return Activation{Kind: backend.ActLeakyReLU, Slope: slope}
}

// Apply computes the activation as its own op (the composed path).
func (a Activation) Apply(x *Tensor) *Tensor {
	switch a.Kind {
	case backend.ActReLU:
		return Relu(x)
	case backend.ActLeakyReLU:
		return LeakyRelu(x, a.Slope)
	case backend.ActReLU6:
		return Clamp(x, 0, 6)
	case backend.ActTanh:
		return Tanh(x)
	}
	return x
}

// unaryOp is the backend op whose gradient, evaluated at the activation's
// output, is the activation's derivative (see backend.Epilogue.Derivative),
// and false when there is none (relu6 and the identity).
func (a Activation) unaryOp() (backend.UnaryOp, backend.Args, bool) {
	switch a.Kind {
	case backend.ActReLU:
		return backend.Relu, backend.Args{}, true
	case backend.ActLeakyReLU:
		return backend.LeakyRelu, backend.Args{Alpha: a.Slope}, true
	case backend.ActTanh:
		return backend.Tanh, backend.Args{}, true
	}
	return 0, backend.Args{}, false
}

// ConvEpilogue is act(Conv2D(x, w) * scale + shift) with scale and shift
// per output channel (each nil or O values, any shape); shift is
// typically the conv's bias and scale a folded batch norm's. On a backend
// with backend.ConvEpilogue the whole chain is one op (one pass, one
// dispatch); otherwise, or when the scale or a relu6 needs a gradient, it
// is composed of Conv2D, Mul, Add and the activation, the reference the
// fused op is tested against.
func ConvEpilogue(x, w, scale, shift *Tensor, o ConvOpts, act Activation) *Tensor {
	p := o.params(x, w)
	for _, t := range []struct {
		name string
		v    *Tensor
	}{{"scale", scale}, {"shift", shift}} {
		if t.v != nil && t.v.Numel() != p.O {
			panic(fmt.Sprintf("nn: ConvEpilogue: %s %v for %d output channels", t.name, t.v.shape, p.O))
		}
	}
	e := backend.Epilogue{Scale: scale != nil, Shift: shift != nil, Act: act.Kind, Slope: act.Slope}
	e.Check("nn: ConvEpilogue")
	d := x.dev
	f, ok := d.be.(backend.ConvEpilogue)
	_, _, hasGrad := act.unaryOp()
	grads := needsGrad(x, w, scale, shift)
	if !ok || d.composeFused || grads && (needsGrad(scale) || act.Kind != backend.ActNone && !hasGrad) {
		return composeConvEpilogue(x, w, scale, shift, o, act)
	}
	y := d.alloc([]int{p.N, p.O, p.OH(), p.OW()})
	var sb, hb backend.Buffer
	if scale != nil {
		sb = scale.buf()
	}
	if shift != nil {
		hb = shift.buf()
	}
	f.Conv2DEpilogue(y.buf(), x.buf(), w.buf(), sb, hb, p, e)
	parents := []*Tensor{x, w}
	if shift != nil {
		parents = append(parents, shift)
	}
	return record(y, "conv2d_epilogue", parents, func(g *Tensor) []*Tensor {
		// dz = dy * act'(z), read from y; the conv sees dz * scale.
		dz := g
		if op, a, ok := act.unaryOp(); ok {
			dz = d.alloc(y.shape)
			d.be.UnaryGrad(op, dz.buf(), y.buf(), y.buf(), g.buf(), y.Numel(), a)
		}
		out := make([]*Tensor, len(parents))
		if shift != nil && shift.RequiresGrad() {
			out[2] = Reshape(Sum(dz, []int{0, 2, 3}, false), shift.shape...)
		}
		dc := dz
		if scale != nil {
			dc = Mul(dz, Reshape(scale, 1, p.O, 1, 1))
		}
		if x.RequiresGrad() {
			out[0] = d.alloc(x.shape)
			d.be.Conv2DGradInput(out[0].buf(), dc.buf(), w.buf(), p)
		}
		if w.RequiresGrad() {
			out[1] = d.alloc(w.shape)
			d.be.Conv2DGradWeight(out[1].buf(), x.buf(), dc.buf(), p)
		}
		return out
	})
}

// composeConvEpilogue is ConvEpilogue from the primitives.
func composeConvEpilogue(x, w, scale, shift *Tensor, o ConvOpts, act Activation) *Tensor {
	y := Conv2D(x, w, nil, o)
	c := y.shape[1]
	if scale != nil {
		y = Mul(y, Reshape(scale, 1, c, 1, 1))
	}
	if shift != nil {
		y = Add(y, Reshape(shift, 1, c, 1, 1))
	}
	return act.Apply(y)
}
