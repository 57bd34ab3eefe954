package gpu

import (
	"catsynth/nn/backend"
)

var _ backend.Fused = (*Backend)(nil)

// normUniforms is norm.wgsl's NormParams for p.
func normUniforms(p backend.Norm) []uint32 {
	segs, segLen, stride := p.Segments()
	batch := uint32(0)
	if p.AcrossBatch {
		batch = 1
	}
	return []uint32{
		uint32(p.Stats()), uint32(p.Count()), uint32(segs), uint32(segLen),
		uint32(stride), uint32(p.Groups), uint32(p.C), uint32(p.S),
		batch, f32(p.Eps), f32(p.Momentum), uint32(p.N * p.C * p.S),
	}
}

// normBuffers checks p and the lengths of x-shaped and statistics buffers.
func normBuffers(op string, p backend.Norm, xs []backend.Buffer, stats []backend.Buffer, b *Backend) ([]*Buffer, []*Buffer) {
	p.Check("gpu: " + op)
	n, k := p.N*p.C*p.S, p.Stats()
	var gx, gs []*Buffer
	for _, x := range xs {
		g := b.buf(x)
		checkLen(op, "x-shaped buffer", g, n)
		gx = append(gx, g)
	}
	for _, s := range stats {
		g := b.buf(s)
		checkLen(op, "statistics buffer", g, k)
		gs = append(gs, g)
	}
	return gx, gs
}

// Normalize implements backend.Fused: one workgroup per statistics group.
func (b *Backend) Normalize(y, mean, variance, x backend.Buffer, p backend.Norm) {
	bx, bs := normBuffers("Normalize", p, []backend.Buffer{x, y}, []backend.Buffer{mean, variance}, b)
	if p.Stats() == 0 {
		return
	}
	k := b.kernel("norm.wgsl", "normalize", 1, 3, nil)
	b.dispatch(k, normUniforms(p), groups1D(p.Stats(), 1), bx[0], bx[1], bs[0], bs[1])
}

// NormalizeWith implements backend.Fused: element-wise.
func (b *Backend) NormalizeWith(y, x, mean, variance backend.Buffer, p backend.Norm) {
	bx, bs := normBuffers("NormalizeWith", p, []backend.Buffer{x, y}, []backend.Buffer{mean, variance}, b)
	k := b.kernel("norm.wgsl", "normalize_with", 3, 1, nil)
	b.dispatch(k, normUniforms(p), groups1D(p.N*p.C*p.S, wgSize), bx[0], bs[0], bs[1], bx[1])
}

// NormalizeGrad implements backend.Fused: one workgroup per statistics group.
func (b *Backend) NormalizeGrad(dx, dy, x, mean, variance backend.Buffer, p backend.Norm) {
	bx, bs := normBuffers("NormalizeGrad", p, []backend.Buffer{dy, x, dx}, []backend.Buffer{mean, variance}, b)
	if p.Stats() == 0 {
		return
	}
	k := b.kernel("norm.wgsl", "normalize_grad", 4, 1, nil)
	b.dispatch(k, normUniforms(p), groups1D(p.Stats(), 1), bx[0], bx[1], bs[0], bs[1], bx[2])
}

// UpdateRunning implements backend.Fused (in place on the running statistics).
func (b *Backend) UpdateRunning(runMean, runVar, mean, variance backend.Buffer, p backend.Norm) {
	_, bs := normBuffers("UpdateRunning", p, nil, []backend.Buffer{mean, variance, runMean, runVar}, b)
	k := b.kernel("norm.wgsl", "update_running", 2, 2, nil)
	b.dispatch(k, normUniforms(p), groups1D(p.Stats(), wgSize), bs[0], bs[1], bs[2], bs[3])
}

// modUniforms is modulate.wgsl's ModParams for p.
func modUniforms(p backend.Modulation) []uint32 {
	segs, stride := 1, 0
	if p.Per == backend.PerChannel {
		segs, stride = p.N, p.C*p.S
	}
	return []uint32{uint32(p.N * p.C * p.S), uint32(p.C), uint32(p.S), uint32(p.ParamLen()),
		f32(p.Offset), uint32(segs), uint32(stride), 0}
}

func (b *Backend) modBuffers(op string, p backend.Modulation, xs, params []backend.Buffer) []*Buffer {
	p.Check("gpu: " + op)
	var out []*Buffer
	for _, x := range xs {
		g := b.buf(x)
		checkLen(op, "x-shaped buffer", g, p.N*p.C*p.S)
		out = append(out, g)
	}
	for _, x := range params {
		g := b.buf(x)
		checkLen(op, "gamma-shaped buffer", g, p.ParamLen())
		out = append(out, g)
	}
	return out
}

// modBias returns a per-channel bias buffer of p after checking its length.
func (b *Backend) modBias(op string, p backend.Modulation, x backend.Buffer) *Buffer {
	g := b.buf(x)
	checkLen(op, "bias", g, p.C)
	return g
}

// Modulate implements backend.Fused: element-wise.
func (b *Backend) Modulate(y, x, gamma, beta, gbias, bbias backend.Buffer, p backend.Modulation) {
	bs := b.modBuffers("Modulate", p, []backend.Buffer{x, y}, []backend.Buffer{gamma, beta})
	if p.Bias {
		gb, bb := b.modBias("Modulate", p, gbias), b.modBias("Modulate", p, bbias)
		k := b.kernel("modulate.wgsl", "modulate_bias", 5, 1, nil)
		b.dispatch(k, modUniforms(p), groups1D(p.N*p.C*p.S, wgSize), bs[0], bs[2], bs[3], gb, bb, bs[1])
		return
	}
	k := b.kernel("modulate.wgsl", "modulate", 3, 1, map[string]float64{"PER": float64(p.Per)})
	b.dispatch(k, modUniforms(p), groups1D(p.N*p.C*p.S, wgSize), bs[0], bs[2], bs[3], bs[1])
}

// ModulateGrad implements backend.Fused: element-wise for per-element
// gamma, one workgroup per gamma value otherwise.
func (b *Backend) ModulateGrad(dx, dgamma, dbeta, dy, x, gamma, gbias backend.Buffer, p backend.Modulation) {
	bs := b.modBuffers("ModulateGrad", p, []backend.Buffer{dy, x, dx}, []backend.Buffer{gamma, dgamma, dbeta})
	consts := map[string]float64{"PER": float64(p.Per)}
	u := modUniforms(p)
	if p.Bias {
		k := b.kernel("modulate.wgsl", "modulate_grad_full_bias", 4, 3, nil)
		gb := b.modBias("ModulateGrad", p, gbias)
		b.dispatch(k, u, groups1D(p.N*p.C*p.S, wgSize), bs[0], bs[1], bs[3], gb, bs[2], bs[4], bs[5])
		return
	}
	if p.Per == backend.PerElement {
		k := b.kernel("modulate.wgsl", "modulate_grad_full", 3, 3, consts)
		b.dispatch(k, u, groups1D(p.N*p.C*p.S, wgSize), bs[0], bs[1], bs[3], bs[2], bs[4], bs[5])
		return
	}
	if p.ParamLen() == 0 {
		return
	}
	k := b.kernel("modulate.wgsl", "modulate_grad_reduce", 3, 3, consts)
	b.dispatch(k, u, groups1D(p.ParamLen(), 1), bs[0], bs[1], bs[3], bs[2], bs[4], bs[5])
}
