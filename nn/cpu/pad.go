package cpu

import "catsynth/nn/backend"

var _ backend.EdgePad = (*Backend)(nil)

// PadEdges implements backend.EdgePad: a gather, row by row.
func (b *Backend) PadEdges(dst, x backend.Buffer, p backend.Pad) {
	p.Check("cpu: PadEdges")
	d, s := data(dst), data(x)
	oh, ow := p.OH(), p.OW()
	src := make([]int, ow)
	for j := range src {
		src[j] = p.Source(j, p.W, p.PadW)
	}
	for pl := range p.Planes {
		for i := range oh {
			row := s[(pl*p.H+p.Source(i, p.H, p.PadH))*p.W:][:p.W]
			out := d[(pl*oh+i)*ow:][:ow]
			for j, sj := range src {
				out[j] = row[sj]
			}
		}
	}
}

// PadEdgesGrad implements backend.EdgePad: the interior of dy, then each
// border pixel added onto the pixel it shows, in row-major order.
func (b *Backend) PadEdgesGrad(dx, dy backend.Buffer, p backend.Pad) {
	p.Check("cpu: PadEdgesGrad")
	d, s := data(dx), data(dy)
	oh, ow := p.OH(), p.OW()
	clear(d[:p.Planes*p.H*p.W])
	for pl := range p.Planes {
		for i := range oh {
			si := p.Source(i, p.H, p.PadH)
			in := s[(pl*oh+i)*ow:][:ow]
			out := d[(pl*p.H+si)*p.W:][:p.W]
			for j, v := range in {
				out[p.Source(j, p.W, p.PadW)] += v
			}
		}
	}
}
