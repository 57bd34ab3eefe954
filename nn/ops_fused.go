package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// fused returns the backend's fused kernels, or nil when it has none or
// the device is set to compose (the reference the fused path is tested
// against).
func (d *Device) fused() backend.Fused {
	if d.composeFused {
		return nil
	}
	f, _ := d.be.(backend.Fused)
	return f
}

// normLayout views x (N, C, ...) as backend.Norm's (N, C, S).
func normLayout(x *Tensor, groups int, acrossBatch bool, eps float32) backend.Norm {
	return backend.Norm{N: x.shape[0], C: x.shape[1], S: numel(x.shape[2:]), Groups: groups, AcrossBatch: acrossBatch, Eps: eps}
}

// fusedNormalize normalizes x over the statistics groups of p in one
// backend call; its backward is one NormalizeGrad.
func fusedNormalize(f backend.Fused, x *Tensor, p backend.Norm) *Tensor {
	y, _, _ := fusedNormalizeStats(f, x, p)
	return y
}

// fusedNormalizeStats is fusedNormalize that also returns the statistics
// (shape (p.Stats())), for the running update.
func fusedNormalizeStats(f backend.Fused, x *Tensor, p backend.Norm) (y, mean, variance *Tensor) {
	d := x.dev
	y = d.alloc(x.shape)
	mean, variance = d.alloc([]int{p.Stats()}), d.alloc([]int{p.Stats()})
	f.Normalize(y.buf(), mean.buf(), variance.buf(), x.buf(), p)
	y = record(y, "normalize", []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx := d.alloc(x.shape)
		f.NormalizeGrad(dx.buf(), g.buf(), x.buf(), mean.buf(), variance.buf(), p)
		return []*Tensor{dx}
	})
	return y, mean, variance
}

// fusedBatchNorm is BatchNorm on the fused kernels: in training one
// Normalize and one UpdateRunning, in eval one NormalizeWith.
func fusedBatchNorm(f backend.Fused, x, runMean, runVar *Tensor, training bool, momentum, eps float32) *Tensor {
	d := x.dev
	p := normLayout(x, x.shape[1], true, eps)
	if training {
		y, mean, variance := fusedNormalizeStats(f, x, p)
		p.Momentum = momentum
		f.UpdateRunning(runMean.buf(), runVar.buf(), mean.buf(), variance.buf(), p)
		return y
	}
	y := d.alloc(x.shape)
	f.NormalizeWith(y.buf(), x.buf(), runMean.buf(), runVar.buf(), p)
	return record(y, "normalize_with", []*Tensor{x}, func(g *Tensor) []*Tensor {
		// The statistics are constants: dx = dy * rsqrt(var + eps).
		return []*Tensor{Mul(g, Reshape(Rsqrt(AddScalar(runVar.Detach(), eps)), channelShape(x)...))}
	})
}

// modLayout says how gamma (and beta, of the same shape) lay over x
// (N, C, ...): x's own shape, one value per (sample, channel) with shape
// (N, C, 1, ...), or one per channel with shape (C) or (1, C, 1, ...).
// ok is false for anything else.
func modLayout(x, gamma *Tensor) (p backend.Modulation, ok bool) {
	if x.Rank() < 2 {
		return p, false
	}
	n, c := x.shape[0], x.shape[1]
	p = backend.Modulation{N: n, C: c, S: numel(x.shape[2:])}
	gs := gamma.shape
	ones := func(from int) bool {
		for _, v := range gs[from:] {
			if v != 1 {
				return false
			}
		}
		return true
	}
	switch {
	case sameShape(gs, x.shape):
		p.Per = backend.PerElement
	case len(gs) == x.Rank() && gs[0] == n && gs[1] == c && ones(2):
		p.Per = backend.PerSampleChannel
	case len(gs) == 1 && gs[0] == c, len(gs) == x.Rank() && gs[0] == 1 && gs[1] == c && ones(2):
		p.Per = backend.PerChannel
	default:
		return p, false
	}
	return p, true
}

// Modulate returns x * (gamma + offset) + beta for x (N, C, ...): the SPADE
// and CLADE modulation (offset 1), the diffusion scale-shift norm (gamma
// and beta (N, C, 1, 1), offset 1) and a norm's affine weight and bias
// (shape (C), offset 0). gamma and beta have one shape: x's, (N, C, 1, ...),
// (1, C, 1, ...) or (C). It is one backend call (and one for the backward)
// where the backend has the fused kernels, and composed from Mul and Add
// otherwise.
func Modulate(x, gamma, beta *Tensor, offset float32) *Tensor {
	p, ok := modLayout(x, gamma)
	if !ok || !sameShape(gamma.shape, beta.shape) {
		panic(fmt.Sprintf("nn: Modulate: x %v with gamma %v and beta %v", x.shape, gamma.shape, beta.shape))
	}
	p.Offset = offset
	d := x.dev
	f := d.fused()
	if f == nil {
		return composedModulate(x, gamma, beta, p)
	}
	y := d.alloc(x.shape)
	f.Modulate(y.buf(), x.buf(), gamma.buf(), beta.buf(), nil, nil, p)
	return record(y, "modulate", []*Tensor{x, gamma, beta}, func(g *Tensor) []*Tensor {
		dx, dg, db := d.alloc(x.shape), d.alloc(gamma.shape), d.alloc(beta.shape)
		f.ModulateGrad(dx.buf(), dg.buf(), db.buf(), g.buf(), x.buf(), gamma.buf(), nil, p)
		return []*Tensor{dx, dg, db}
	})
}

// ModulateBias is Modulate with gamma and beta of x's shape plus the
// per-channel biases gammaBias and betaBias (C): x * (gamma + gammaBias +
// offset) + beta + betaBias. SPADE predicts gamma and beta with biased
// convolutions; handing the biases here instead of to the convolutions
// saves their two broadcast additions. Either bias may be nil.
func ModulateBias(x, gamma, beta, gammaBias, betaBias *Tensor, offset float32) *Tensor {
	if gammaBias == nil || betaBias == nil {
		if gammaBias != nil {
			gamma = Add(gamma, Reshape(gammaBias, channelShape(x)...))
		}
		if betaBias != nil {
			beta = Add(beta, Reshape(betaBias, channelShape(x)...))
		}
		return Modulate(x, gamma, beta, offset)
	}
	p, ok := modLayout(x, gamma)
	if !ok || p.Per != backend.PerElement || !sameShape(beta.shape, x.shape) || gammaBias.Numel() != p.C || betaBias.Numel() != p.C {
		panic(fmt.Sprintf("nn: ModulateBias: x %v with gamma %v, beta %v, biases %s", x.shape, gamma.shape, beta.shape, shapesString(gammaBias, betaBias)))
	}
	p.Offset, p.Bias = offset, true
	d := x.dev
	f := d.fused()
	if f == nil {
		cs := channelShape(x)
		return Add(Mul(x, AddScalar(Add(gamma, Reshape(gammaBias, cs...)), offset)), Add(beta, Reshape(betaBias, cs...)))
	}
	y := d.alloc(x.shape)
	f.Modulate(y.buf(), x.buf(), gamma.buf(), beta.buf(), gammaBias.buf(), betaBias.buf(), p)
	return record(y, "modulate_bias", []*Tensor{x, gamma, beta, gammaBias, betaBias}, func(g *Tensor) []*Tensor {
		dx, dg, db := d.alloc(x.shape), d.alloc(gamma.shape), d.alloc(beta.shape)
		f.ModulateGrad(dx.buf(), dg.buf(), db.buf(), g.buf(), x.buf(), gamma.buf(), gammaBias.buf(), p)
		var dgb, dbb *Tensor
		if gammaBias.RequiresGrad() {
			dgb = Reshape(reduceTo(dg, channelShape(x)), gammaBias.shape...)
		}
		if betaBias.RequiresGrad() {
			dbb = Reshape(reduceTo(db, channelShape(x)), betaBias.shape...)
		}
		return []*Tensor{dx, dg, db, dgb, dbb}
	})
}

// composedModulate is Modulate from the primitives.
func composedModulate(x, gamma, beta *Tensor, p backend.Modulation) *Tensor {
	if p.Per == backend.PerChannel {
		cs := channelShape(x)
		gamma, beta = Reshape(gamma, cs...), Reshape(beta, cs...)
	}
	a := gamma
	if p.Offset != 0 {
		a = AddScalar(gamma, p.Offset)
	}
	return Add(Mul(x, a), beta)
}
