package cpu

import "catsynth/nn/backend"

// The conv epilogue: y = act(conv(x, w) * scale[o] + shift[o]) applied to
// each group's output right after its GEMM (or while the stride-1 path
// copies it off the padded grid, or per plane in the depthwise loop), while
// it is still in cache, instead of in separate passes over y.

var _ backend.ConvEpilogue = (*Backend)(nil)

// epilogue is a validated backend.Epilogue with its per-channel operands.
type epilogue struct {
	backend.Epilogue
	scale, shift []float32 // O values each, or nil
}

// channel applies the epilogue in place to row, all of output channel o.
func (e *epilogue) channel(row []float32, o int) {
	var sc, sh float32
	if e.scale != nil {
		sc = e.scale[o]
	}
	if e.shift != nil {
		sh = e.shift[o]
	}
	e.row(row, row, sc, sh)
}

// row writes dst[i] = epilogue(src[i]) for one channel's scale and shift;
// the common cases run without a switch per value.
func (e *epilogue) row(dst, src []float32, sc, sh float32) {
	dst = dst[:len(src)]
	switch {
	case e.Act == backend.ActNone && !e.Scale:
		for i, v := range src {
			dst[i] = v + sh
		}
	case e.Act == backend.ActLeakyReLU && !e.Scale:
		for i, v := range src {
			v += sh
			if v < 0 {
				v *= e.Slope
			}
			dst[i] = v
		}
	case e.Act == backend.ActReLU:
		if !e.Scale {
			sc = 1
		}
		for i, v := range src {
			dst[i] = max(v*sc+sh, 0)
		}
	default:
		for i, v := range src {
			dst[i] = e.Apply(v, sc, sh)
		}
	}
}

// finish applies g's epilogue, if any, to yg, the output of group gr of one
// batch item (O/G channels of OH*OW values).
func (g convGeom) finish(yg []float32, gr int) {
	if g.epi == nil {
		return
	}
	parallelFor(g.og, max(1, elemGrain/g.ohw), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			g.epi.channel(yg[o*g.ohw:][:g.ohw], gr*g.og+o)
		}
	})
}

// copyOut copies group gr's output off the padded grid yp (rows wp apart,
// channels n apart) into yg, applying the epilogue on the way.
func (g convGeom) copyOut(yg, yp []float32, n, wp, gr int) {
	if g.epi == nil {
		for o := 0; o < g.og; o++ {
			for h := 0; h < g.oh; h++ {
				copy(yg[o*g.ohw+h*g.ow:][:g.ow], yp[o*n+h*wp:])
			}
		}
		return
	}
	e := g.epi
	parallelFor(g.og, max(1, elemGrain/g.ohw), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			c := gr*g.og + o
			var sc, sh float32
			if e.scale != nil {
				sc = e.scale[c]
			}
			if e.shift != nil {
				sh = e.shift[c]
			}
			for h := 0; h < g.oh; h++ {
				e.row(yg[o*g.ohw+h*g.ow:][:g.ow], yp[o*n+h*wp:][:g.ow], sc, sh)
			}
		}
	})
}

// Conv2DEpilogue implements backend.ConvEpilogue.
func (be *Backend) Conv2DEpilogue(y, x, w, scale, shift backend.Buffer, p backend.Conv, e backend.Epilogue) {
	e.Check("cpu: Conv2DEpilogue")
	g := geom(p)
	xs, ws, ys := g.buffers(x, w, y)
	epi := &epilogue{Epilogue: e}
	if e.Scale {
		epi.scale = need(scale, p.O, "Conv2DEpilogue scale")[:p.O]
	}
	if e.Shift {
		epi.shift = need(shift, p.O, "Conv2DEpilogue shift")[:p.O]
	}
	if e != (backend.Epilogue{}) {
		g.epi = epi
	}
	g.forward(ys, xs, ws)
}
