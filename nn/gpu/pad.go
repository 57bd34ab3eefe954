package gpu

import "catsynth/nn/backend"

var _ backend.EdgePad = (*Backend)(nil)

func padUniforms(p backend.Pad) []uint32 {
	return []uint32{uint32(p.Planes), uint32(p.H), uint32(p.W), uint32(p.PadH), uint32(p.PadW)}
}

// PadEdges implements backend.EdgePad: one gather dispatch.
func (b *Backend) PadEdges(dst, x backend.Buffer, p backend.Pad) {
	p.Check("gpu: PadEdges")
	d, s := b.buf(dst), b.buf(x)
	checkLen("PadEdges", "x", s, p.Planes*p.H*p.W)
	checkLen("PadEdges", "dst", d, p.Planes*p.OH()*p.OW())
	if p.Planes == 0 {
		return
	}
	k := b.kernel("pad.wgsl", "pad", 1, 1, map[string]float64{"MODE": float64(p.Mode)})
	b.dispatch(k, padUniforms(p), groups1D(p.Planes*p.OH()*p.OW(), wgSize), s, d)
}

// PadEdgesGrad implements backend.EdgePad: one gather dispatch per input pixel.
func (b *Backend) PadEdgesGrad(dx, dy backend.Buffer, p backend.Pad) {
	p.Check("gpu: PadEdgesGrad")
	d, s := b.buf(dx), b.buf(dy)
	checkLen("PadEdgesGrad", "dy", s, p.Planes*p.OH()*p.OW())
	checkLen("PadEdgesGrad", "dx", d, p.Planes*p.H*p.W)
	if p.Planes == 0 {
		return
	}
	k := b.kernel("pad.wgsl", "pad_grad", 1, 1, map[string]float64{"MODE": float64(p.Mode)})
	b.dispatch(k, padUniforms(p), groups1D(p.Planes*p.H*p.W, wgSize), s, d)
}
