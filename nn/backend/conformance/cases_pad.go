package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// The reflect and replicate padding of backend.EdgePad against references
// written from Pad.Source: the generator's 3x3 case, wider borders, a
// padding of one axis only, the smallest axes reflect allows and planes
// that are not a multiple of a workgroup.
var padPatterns = []backend.Pad{
	{Planes: 3, H: 5, W: 6, PadH: 1, PadW: 1, Mode: backend.PadReflect},
	{Planes: 3, H: 5, W: 6, PadH: 1, PadW: 1, Mode: backend.PadReplicate},
	{Planes: 2, H: 4, W: 7, PadH: 3, PadW: 2, Mode: backend.PadReflect},
	{Planes: 2, H: 4, W: 7, PadH: 3, PadW: 2, Mode: backend.PadReplicate},
	{Planes: 5, H: 2, W: 2, PadH: 1, PadW: 1, Mode: backend.PadReflect},
	{Planes: 4, H: 1, W: 3, PadH: 2, PadW: 0, Mode: backend.PadReplicate},
	{Planes: 1, H: 9, W: 5, PadH: 0, PadW: 4, Mode: backend.PadReflect},
	{Planes: 7, H: 11, W: 13, PadH: 1, PadW: 1, Mode: backend.PadReflect},
}

func padName(p backend.Pad) string {
	mode := "reflect"
	if p.Mode == backend.PadReplicate {
		mode = "replicate"
	}
	return fmt.Sprintf("%s_%dx%d_by_%dx%d", mode, p.H, p.W, p.PadH, p.PadW)
}

func edgePadOf(e *env) backend.EdgePad {
	f, ok := e.b.(backend.EdgePad)
	if !ok {
		e.fatalf("%s does not implement backend.EdgePad", e.b.Name())
	}
	return f
}

// refPad is the padded x, and refPadGrad the gradient of the padding
// (every padded pixel's dy added onto the pixel it shows) with the sum of
// the magnitudes added as its scale.
func refPad(x []float64, p backend.Pad) []float64 {
	oh, ow := p.OH(), p.OW()
	out := make([]float64, 0, p.Planes*oh*ow)
	for pl := range p.Planes {
		for i := range oh {
			for j := range ow {
				out = append(out, x[(pl*p.H+p.Source(i, p.H, p.PadH))*p.W+p.Source(j, p.W, p.PadW)])
			}
		}
	}
	return out
}

func refPadGrad(dy []float64, p backend.Pad) (dx, scale []float64) {
	oh, ow := p.OH(), p.OW()
	dx, scale = make([]float64, p.Planes*p.H*p.W), make([]float64, p.Planes*p.H*p.W)
	for pl := range p.Planes {
		for i := range oh {
			for j := range ow {
				k := (pl*p.H+p.Source(i, p.H, p.PadH))*p.W + p.Source(j, p.W, p.PadW)
				v := dy[(pl*oh+i)*ow+j]
				dx[k] += v
				scale[k] += math.Abs(v)
			}
		}
	}
	return dx, scale
}

func padCases() []Case {
	var cs []Case
	for _, p := range padPatterns {
		in, out := p.Planes*p.H*p.W, p.Planes*p.OH()*p.OW()
		cs = append(cs,
			Case{Name: "pad/" + padName(p), run: func(e *env) []output {
				x := e.normal(in)
				dst := e.alloc(out)
				edgePadOf(e).PadEdges(dst, e.upload(x), p)
				return []output{{name: "dst", got: e.download(dst, out), want: refPad(f64(x), p)}}
			}},
			Case{Name: "pad_grad/" + padName(p), run: func(e *env) []output {
				dy := e.normal(out)
				dx := e.alloc(in)
				edgePadOf(e).PadEdgesGrad(dx, e.upload(dy), p)
				want, scale := refPadGrad(f64(dy), p)
				return []output{{name: "dx", got: e.download(dx, in), want: want, scale: scale, tol: 1e-6}}
			}})
	}
	return cs
}
