package cpu

import (
	"fmt"

	"catsynth/nn/backend"
)

// Convolutions lower to GEMM through im2col, one group and one chunk of
// output pixels at a time so that the column buffer stays small:
//
//	forward:     y_g[:, q]  = W_g (Og x Cg*KH*KW) * col(x)[:, q]
//	grad input:  col(dx)    = W_g^T * dy_g[:, q], scattered back (col2im)
//	grad weight: dW_g      += dy_g[:, q] * col(x)[:, q]^T
//
// 1x1 stride-1 unpadded convolutions use x itself as the column matrix, and
// depthwise convolutions (Groups == C == O) run direct loops.

// colBudget bounds the column buffer, in float32 values (16 MiB); a
// variable so that tests can force many small chunks.
var colBudget = 1 << 22

// convGeom holds a validated Conv with its derived sizes.
type convGeom struct {
	backend.Conv
	oh, ow, cg, og, kk, rows, hw, ohw int
}

func geom(p backend.Conv) convGeom {
	if p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.O < 1 || p.KH < 1 || p.KW < 1 ||
		p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 || p.Groups < 1 ||
		p.C%p.Groups != 0 || p.O%p.Groups != 0 || p.OH() < 1 || p.OW() < 1 {
		panic(fmt.Sprintf("cpu: invalid conv %+v", p))
	}
	g := convGeom{Conv: p, oh: p.OH(), ow: p.OW(), cg: p.C / p.Groups, og: p.O / p.Groups, kk: p.KH * p.KW}
	g.rows, g.hw, g.ohw = g.cg*g.kk, p.H*p.W, g.oh*g.ow
	return g
}

func (g convGeom) depthwise() bool { return g.Groups == g.C && g.Groups == g.O }

func (g convGeom) pointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0
}

// chunk is the number of output pixels per column buffer.
func (g convGeom) chunk() int { return max(16, min(g.ohw, colBudget/g.rows)) }

// owRange is the range [lo, hi) of output columns whose kernel column kw
// reads inside the input (the rest read zero padding).
func (g convGeom) owRange(kw int) (lo, hi int) {
	// iw = ow*StrideW - PadW + kw must lie in [0, W).
	lo = max(0, (g.PadW-kw+g.StrideW-1)/g.StrideW)
	hi = min(g.ow, max(lo, (g.W-1+g.PadW-kw)/g.StrideW+1))
	if g.W-1+g.PadW-kw < 0 {
		hi = lo
	}
	return lo, hi
}

// forSegments calls fn for each output row segment of the pixel chunk
// [q0, q1): output row oh, columns [ow0, ow1), at offset off in the chunk.
func (g convGeom) forSegments(q0, q1 int, fn func(oh, ow0, ow1, off int)) {
	for q := q0; q < q1; {
		oh, ow0 := q/g.ow, q%g.ow
		ow1 := min(g.ow, ow0+q1-q)
		fn(oh, ow0, ow1, q-q0)
		q += ow1 - ow0
	}
}

// im2col fills col (rows x (q1-q0)) from the group's input channels xg (Cg planes).
func (g convGeom) im2col(col, xg []float32, q0, q1 int) {
	l := q1 - q0
	parallelFor(g.cg, max(1, elemGrain/(g.kk*l)), func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			plane := xg[c*g.hw : (c+1)*g.hw]
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					dst := col[((c*g.KH+kh)*g.KW+kw)*l:][:l]
					lo, hi := g.owRange(kw)
					g.forSegments(q0, q1, func(oh, ow0, ow1, off int) {
						d := dst[off : off+ow1-ow0]
						ih := oh*g.StrideH - g.PadH + kh
						if ih < 0 || ih >= g.H {
							clear(d)
							return
						}
						row := plane[ih*g.W : (ih+1)*g.W]
						a, b := max(ow0, lo), min(ow1, hi)
						if a >= b {
							clear(d)
							return
						}
						clear(d[:a-ow0])
						clear(d[b-ow0:])
						if g.StrideW == 1 {
							copy(d[a-ow0:b-ow0], row[a-g.PadW+kw:])
							return
						}
						for ow := a; ow < b; ow++ {
							d[ow-ow0] = row[ow*g.StrideW-g.PadW+kw]
						}
					})
				}
			}
		}
	})
}

// col2im adds col (rows x (q1-q0)) onto the group's input-gradient planes dxg.
func (g convGeom) col2im(dxg, col []float32, q0, q1 int) {
	l := q1 - q0
	parallelFor(g.cg, max(1, elemGrain/(g.kk*l)), func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			plane := dxg[c*g.hw : (c+1)*g.hw]
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					src := col[((c*g.KH+kh)*g.KW+kw)*l:][:l]
					lo, hi := g.owRange(kw)
					g.forSegments(q0, q1, func(oh, ow0, ow1, off int) {
						ih := oh*g.StrideH - g.PadH + kh
						a, b := max(ow0, lo), min(ow1, hi)
						if ih < 0 || ih >= g.H || a >= b {
							return
						}
						row := plane[ih*g.W : (ih+1)*g.W]
						s := src[off : off+ow1-ow0]
						if g.StrideW == 1 {
							r := row[a-g.PadW+kw : b-g.PadW+kw]
							for i, v := range s[a-ow0 : b-ow0] {
								r[i] += v
							}
							return
						}
						for ow := a; ow < b; ow++ {
							row[ow*g.StrideW-g.PadW+kw] += s[ow-ow0]
						}
					})
				}
			}
		}
	})
}

// buffers checks the sizes of x, w and y for g.
func (g convGeom) buffers(x, w, y backend.Buffer) (xs, ws, ys []float32) {
	xs = need(x, g.N*g.C*g.hw, "Conv x/dx")[:g.N*g.C*g.hw]
	ws = need(w, g.O*g.rows, "Conv w/dw")[:g.O*g.rows]
	ys = need(y, g.N*g.O*g.ohw, "Conv y/dy")[:g.N*g.O*g.ohw]
	return
}

// Conv2D implements backend.Backend.
func (be *Backend) Conv2D(y, x, w backend.Buffer, p backend.Conv) {
	g := geom(p)
	xs, ws, ys := g.buffers(x, w, y)
	if g.depthwise() {
		g.depthwiseForward(ys, xs, ws)
		return
	}
	var colBuf *[]float32
	if !g.pointwise() {
		colBuf = getScratch(g.rows * g.chunk())
		defer scratch.Put(colBuf)
	}
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < g.Groups; gr++ {
			xg := xs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
			yg := ys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
			wg := ws[gr*g.og*g.rows:][:g.og*g.rows]
			if g.pointwise() {
				sgemm(false, false, g.og, g.ohw, g.cg, wg, g.cg, xg, g.hw, yg, g.ohw, false)
				continue
			}
			for q0 := 0; q0 < g.ohw; q0 += g.chunk() {
				q1 := min(g.ohw, q0+g.chunk())
				col := (*colBuf)[:g.rows*(q1-q0)]
				g.im2col(col, xg, q0, q1)
				sgemm(false, false, g.og, q1-q0, g.rows, wg, g.rows, col, q1-q0, yg[q0:], g.ohw, false)
			}
		}
	}
}

// Conv2DGradInput implements backend.Backend.
func (be *Backend) Conv2DGradInput(dx, dy, w backend.Buffer, p backend.Conv) {
	g := geom(p)
	dxs, ws, dys := g.buffers(dx, w, dy)
	if g.depthwise() {
		g.depthwiseGradInput(dxs, dys, ws)
		return
	}
	var colBuf *[]float32
	if !g.pointwise() {
		colBuf = getScratch(g.rows * g.chunk())
		defer scratch.Put(colBuf)
		clear(dxs)
	}
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < g.Groups; gr++ {
			dxg := dxs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
			dyg := dys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
			wg := ws[gr*g.og*g.rows:][:g.og*g.rows]
			if g.pointwise() {
				sgemm(true, false, g.cg, g.hw, g.og, wg, g.cg, dyg, g.ohw, dxg, g.hw, false)
				continue
			}
			for q0 := 0; q0 < g.ohw; q0 += g.chunk() {
				q1 := min(g.ohw, q0+g.chunk())
				col := (*colBuf)[:g.rows*(q1-q0)]
				sgemm(true, false, g.rows, q1-q0, g.og, wg, g.rows, dyg[q0:], g.ohw, col, q1-q0, false)
				g.col2im(dxg, col, q0, q1)
			}
		}
	}
}

// Conv2DGradWeight implements backend.Backend.
func (be *Backend) Conv2DGradWeight(dw, x, dy backend.Buffer, p backend.Conv) {
	g := geom(p)
	xs, dws, dys := g.buffers(x, dw, dy)
	if g.depthwise() {
		g.depthwiseGradWeight(dws, xs, dys)
		return
	}
	clear(dws)
	var colBuf *[]float32
	if !g.pointwise() {
		colBuf = getScratch(g.rows * g.chunk())
		defer scratch.Put(colBuf)
	}
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < g.Groups; gr++ {
			xg := xs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
			dyg := dys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
			dwg := dws[gr*g.og*g.rows:][:g.og*g.rows]
			if g.pointwise() {
				sgemm(false, true, g.og, g.cg, g.hw, dyg, g.ohw, xg, g.hw, dwg, g.cg, true)
				continue
			}
			for q0 := 0; q0 < g.ohw; q0 += g.chunk() {
				q1 := min(g.ohw, q0+g.chunk())
				col := (*colBuf)[:g.rows*(q1-q0)]
				g.im2col(col, xg, q0, q1)
				sgemm(false, true, g.og, g.rows, q1-q0, dyg[q0:], g.ohw, col, q1-q0, dwg, g.rows, true)
			}
		}
	}
}

// depthwiseForward runs one filter per plane: y[n,c] = x[n,c] (*) w[c].
func (g convGeom) depthwiseForward(ys, xs, ws []float32) {
	parallelFor(g.N*g.C, max(1, elemGrain/(g.ohw*g.kk)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % g.C
			x, y, w := xs[pl*g.hw:][:g.hw], ys[pl*g.ohw:][:g.ohw], ws[c*g.kk:][:g.kk]
			for oh := 0; oh < g.oh; oh++ {
				for ow := 0; ow < g.ow; ow++ {
					var acc float32
					for kh := 0; kh < g.KH; kh++ {
						ih := oh*g.StrideH - g.PadH + kh
						if ih < 0 || ih >= g.H {
							continue
						}
						for kw := 0; kw < g.KW; kw++ {
							iw := ow*g.StrideW - g.PadW + kw
							if iw >= 0 && iw < g.W {
								acc += w[kh*g.KW+kw] * x[ih*g.W+iw]
							}
						}
					}
					y[oh*g.ow+ow] = acc
				}
			}
		}
	})
}

// depthwiseGradInput scatters dy through each plane's filter into dx.
func (g convGeom) depthwiseGradInput(dxs, dys, ws []float32) {
	parallelFor(g.N*g.C, max(1, elemGrain/(g.ohw*g.kk)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % g.C
			dx, dy, w := dxs[pl*g.hw:][:g.hw], dys[pl*g.ohw:][:g.ohw], ws[c*g.kk:][:g.kk]
			clear(dx)
			for oh := 0; oh < g.oh; oh++ {
				for ow := 0; ow < g.ow; ow++ {
					d := dy[oh*g.ow+ow]
					for kh := 0; kh < g.KH; kh++ {
						ih := oh*g.StrideH - g.PadH + kh
						if ih < 0 || ih >= g.H {
							continue
						}
						for kw := 0; kw < g.KW; kw++ {
							iw := ow*g.StrideW - g.PadW + kw
							if iw >= 0 && iw < g.W {
								dx[ih*g.W+iw] += w[kh*g.KW+kw] * d
							}
						}
					}
				}
			}
		}
	})
}

// depthwiseGradWeight sums x * dy over batch and pixels for each channel's
// filter, accumulating in float64.
func (g convGeom) depthwiseGradWeight(dws, xs, dys []float32) {
	parallelFor(g.C, max(1, elemGrain/(g.N*g.ohw*g.kk)), func(lo, hi int) {
		acc := make([]float64, g.kk)
		for c := lo; c < hi; c++ {
			clear(acc)
			for n := 0; n < g.N; n++ {
				pl := n*g.C + c
				x, dy := xs[pl*g.hw:][:g.hw], dys[pl*g.ohw:][:g.ohw]
				for oh := 0; oh < g.oh; oh++ {
					for ow := 0; ow < g.ow; ow++ {
						d := float64(dy[oh*g.ow+ow])
						for kh := 0; kh < g.KH; kh++ {
							ih := oh*g.StrideH - g.PadH + kh
							if ih < 0 || ih >= g.H {
								continue
							}
							for kw := 0; kw < g.KW; kw++ {
								iw := ow*g.StrideW - g.PadW + kw
								if iw >= 0 && iw < g.W {
									acc[kh*g.KW+kw] += float64(x[ih*g.W+iw]) * d
								}
							}
						}
					}
				}
			}
			for i, v := range acc {
				dws[c*g.kk+i] = float32(v)
			}
		}
	})
}
