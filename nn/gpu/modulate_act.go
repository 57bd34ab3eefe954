package gpu

import (
	"catsynth/nn/backend"
)

var _ backend.ActivatedModulation = (*Backend)(nil)

// modActUniforms is modulate_act.wgsl's ModActParams.
func modActUniforms(p backend.Modulation, a backend.ModAct) []uint32 {
	return []uint32{uint32(p.N * p.C * p.S), uint32(p.C), uint32(p.S), f32(p.Offset), f32(a.Eps), 0, 0, 0}
}

// modActKernel is the modulate_act.wgsl entry with its template constants.
func (b *Backend) modActKernel(entry string, reads, writes int, p backend.Modulation, a backend.ModAct) *kernel {
	consts := map[string]float64{"NORM": boolF(a.Norm), "BIAS": boolF(p.Bias), "JOINT": boolF(a.Joint), "ACT": float64(a.Act), "SLOPE": float64(a.Slope)}
	return b.kernelFiles([]string{"modulate_act.wgsl", "epilogue_act.wgsl"}, entry, reads, writes, consts)
}

// ModulateAct implements backend.ActivatedModulation: one element-wise dispatch.
func (b *Backend) ModulateAct(y, x, mean, variance, gamma, beta, gbias, bbias backend.Buffer, p backend.Modulation, a backend.ModAct) {
	a.Check("gpu: ModulateAct", p, false)
	var bs []*Buffer
	if a.Joint {
		// gamma and beta are the halves of one buffer: beta's binding is
		// a placeholder
		bs = b.modBuffers("ModulateAct", p, []backend.Buffer{x, y}, nil)
		g := b.buf(gamma)
		checkLen("ModulateAct", "joint gamma and beta", g, 2*p.N*p.C*p.S)
		bs = append(bs, g, bs[0])
	} else {
		bs = b.modBuffers("ModulateAct", p, []backend.Buffer{x, y}, []backend.Buffer{gamma, beta})
	}
	bx := bs[0]
	m, v, gb, bb := bx, bx, bx, bx // placeholders for what a and p leave out
	if a.Norm {
		m, v = b.modBias("ModulateAct mean", p, mean), b.modBias("ModulateAct variance", p, variance)
	}
	if p.Bias {
		gb, bb = b.modBias("ModulateAct", p, gbias), b.modBias("ModulateAct", p, bbias)
	}
	k := b.modActKernel("modulate_act", 7, 1, p, a)
	b.dispatch(k, modActUniforms(p, a), groups1D(p.N*p.C*p.S, wgSize), bx, m, v, bs[2], bs[3], gb, bb, bs[1])
}

// ModulateActGrad implements backend.ActivatedModulation: one element-wise dispatch.
func (b *Backend) ModulateActGrad(dx, dgamma, dbeta, dy, y, x, gamma, gbias backend.Buffer, p backend.Modulation, a backend.ModAct) {
	a.Check("gpu: ModulateActGrad", p, true)
	bs := b.modBuffers("ModulateActGrad", p, []backend.Buffer{dy, y, x, dx}, []backend.Buffer{gamma, dgamma, dbeta})
	gb := bs[2]
	if p.Bias {
		gb = b.modBias("ModulateActGrad", p, gbias)
	}
	k := b.modActKernel("modulate_act_grad", 5, 3, p, a)
	b.dispatch(k, modActUniforms(p, a), groups1D(p.N*p.C*p.S, wgSize), bs[0], bs[1], bs[2], bs[4], gb, bs[3], bs[5], bs[6])
}
