package cpu

import (
	"fmt"
	"sync"

	"catsynth/nn/backend"
)

// Convolutions are GEMMs over the column matrix col(x) (Cg*KH*KW rows, one
// column per output pixel), one batch item and group at a time:
//
//	forward:     y_g  = W_g (Og x Cg*KH*KW) * col(x_g)
//	grad weight: dW_g += dy_g * col(x_g)^T
//	grad input:  stride 1: the forward convolution of dy with the flipped,
//	             transposed filters (padding K-1-P); otherwise
//	             col(dx) = W_g^T * dy_g, scattered back (col2im).
//
// col(x) is never stored: the GEMM's B packer reads it straight from the
// NCHW image into the micro-kernel's strips (implicit GEMM), which saves the
// im2col copy, as much memory traffic as the arithmetic. 1x1 stride-1
// unpadded convolutions use x itself as B, and depthwise convolutions
// (Groups == C == O) run direct loops.

// colBudget bounds the column buffer of the strided grad-input path, in
// float32 values (16 MiB); a variable so that tests can force many small
// chunks.
var colBudget = 1 << 22

// convGeom holds a validated Conv with its derived sizes.
type convGeom struct {
	backend.Conv
	oh, ow, cg, og, kk, rows, hw, ohw int
	owLo, owHi                        []int     // owRange(kw) for each kw
	epi                               *epilogue // applied to the forward output, or nil
	// serial is set on the parts of a batch shared out by splitBatch:
	// their GEMMs stay on the calling goroutine.
	serial bool
}

func geom(p backend.Conv) convGeom {
	if p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.O < 1 || p.KH < 1 || p.KW < 1 ||
		p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 || p.Groups < 1 ||
		p.C%p.Groups != 0 || p.O%p.Groups != 0 || p.OH() < 1 || p.OW() < 1 {
		panic(fmt.Sprintf("cpu: invalid conv %+v", p))
	}
	g := convGeom{Conv: p, oh: p.OH(), ow: p.OW(), cg: p.C / p.Groups, og: p.O / p.Groups, kk: p.KH * p.KW}
	g.rows, g.hw, g.ohw = g.cg*g.kk, p.H*p.W, g.oh*g.ow
	g.owLo, g.owHi = make([]int, p.KW), make([]int, p.KW)
	for kw := range g.owLo {
		g.owLo[kw], g.owHi[kw] = g.owRange(kw)
	}
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

// segment is a run of output pixels within one output row: row oh, columns
// [ow0, ow1), at offset off from the start of the run of pixels asked for.
type segment struct{ oh, ow0, ow1, off int }

// segments appends to dst the output-row segments of pixels [q0, q1).
func (g convGeom) segments(dst []segment, q0, q1 int) []segment {
	for q := q0; q < q1; {
		oh, ow0 := q/g.ow, q%g.ow
		ow1 := min(g.ow, ow0+q1-q)
		dst = append(dst, segment{oh, ow0, ow1, q - q0})
		q += ow1 - ow0
	}
	return dst
}

// colRow writes row (c, kh, kw) of col(x) for the pixels of segs into
// d[off*step], d[(off+1)*step], ...: step 1 for a row of a B strip, nr for
// a column of a transposed strip. plane is input channel c; lo and hi are
// g.owRange(kw). It runs once per 32 packed values, so it avoids divisions.
func (g convGeom) colRow(d, plane []float32, kh, kw, lo, hi int, segs []segment, step int) {
	for _, sg := range segs {
		n := sg.ow1 - sg.ow0
		ih := sg.oh*g.StrideH - g.PadH + kh
		a, b := max(sg.ow0, lo), min(sg.ow1, hi)
		if ih < 0 || ih >= g.H || a >= b {
			a, b = sg.ow1, sg.ow1 // all padding
		}
		if step == 1 {
			out := d[sg.off : sg.off+n]
			if a > sg.ow0 {
				clear(out[:a-sg.ow0])
			}
			if b < sg.ow1 {
				clear(out[b-sg.ow0:])
			}
			if a == b {
				continue
			}
			row := plane[ih*g.W : (ih+1)*g.W]
			if g.StrideW == 1 {
				copy(out[a-sg.ow0:b-sg.ow0], row[a-g.PadW+kw:])
				continue
			}
			for ow := a; ow < b; ow++ {
				out[ow-sg.ow0] = row[ow*g.StrideW-g.PadW+kw]
			}
			continue
		}
		for t := sg.off; t < sg.off+a-sg.ow0; t++ {
			d[t*step] = 0
		}
		for t := sg.off + b - sg.ow0; t < sg.off+n; t++ {
			d[t*step] = 0
		}
		if a == b {
			continue
		}
		row := plane[ih*g.W : (ih+1)*g.W]
		t := sg.off + a - sg.ow0
		if g.StrideW == 1 {
			src := row[a-g.PadW+kw : b-g.PadW+kw]
			out := d[t*step : (t+len(src)-1)*step+1]
			for i, v := range src {
				out[i*step] = v
			}
			continue
		}
		for ow := a; ow < b; ow++ {
			d[t*step] = row[ow*g.StrideW-g.PadW+kw]
			t++
		}
	}
}

// colRows walks rows [r0, r0+n) of col(x): it calls fn(i, plane, kh, kw,
// lo, hi) for row r0+i, stepping (c, kh, kw) without divisions.
func (g convGeom) colRows(xg []float32, r0, n int, fn func(i int, plane []float32, kh, kw, lo, hi int)) {
	c, kh, kw := r0/g.kk, (r0%g.kk)/g.KW, r0%g.KW
	for i := 0; i < n; i++ {
		fn(i, xg[c*g.hw:(c+1)*g.hw], kh, kw, g.owLo[kw], g.owHi[kw])
		if kw++; kw == g.KW {
			kw = 0
			if kh++; kh == g.KH {
				kh = 0
				c++
			}
		}
	}
}

// colPacker packs strips of col(xg) (rows: Cg*KH*KW, columns: pixels).
func (g convGeom) colPacker(xg []float32) stripPacker {
	return func(dst []float32, pc, kc, j0, w, nr int) {
		var buf [40]segment
		segs := g.segments(buf[:0], j0, j0+w)
		g.colRows(xg, pc, kc, func(p int, plane []float32, kh, kw, lo, hi int) {
			d := dst[p*nr : p*nr+nr]
			g.colRow(d, plane, kh, kw, lo, hi, segs, 1)
			if w < nr {
				clear(d[w:])
			}
		})
	}
}

// colTPacker packs strips of col(xg)^T (rows: pixels, columns: Cg*KH*KW).
func (g convGeom) colTPacker(xg []float32) stripPacker {
	return func(dst []float32, pc, kc, j0, w, nr int) {
		var buf [40]segment
		segs := g.segments(buf[:0], pc, pc+kc)
		g.colRows(xg, j0, w, func(j int, plane []float32, kh, kw, lo, hi int) {
			g.colRow(dst[j:], plane, kh, kw, lo, hi, segs, nr)
		})
		for j := w; j < nr; j++ {
			for p := 0; p < kc; p++ {
				dst[p*nr+j] = 0
			}
		}
	}
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

// A stride-1 convolution is computed on the padded grid: with x zero-padded
// to Hp x Wp planes, output pixel (oh, ow) is taken at q = oh*Wp + ow, and
// row (c, kh, kw) of col(x) at q is xpad[c*Hp*Wp + kh*Wp + kw + q]: every
// row is a contiguous run at its own offset, so packing is a plain copy.
// The Wp-OW extra columns per output row cost (Wp-OW)/OW more arithmetic.

// batchParts is how many parts the stride-1 paths share the batch out in,
// for per-item GEMM work m*n*k: the workers when the items split evenly (or
// are many) and there is enough work, else 1 (the GEMMs share out their
// tiles instead). Parts need no barrier per KC block, and the padding and
// copying around the GEMMs run in parallel too.
func (g convGeom) batchParts(mnk int) int {
	nw := workers()
	if nw > 1 && g.N >= nw && (g.N%nw == 0 || g.N >= 4*nw) && mnk*g.N >= 2*gemmParallel {
		return nw
	}
	return 1
}

// splitBatch calls fn for each of parts parts of the batch at once, with
// the part's index, geometry (its N, serial when parts > 1) and first item.
func (g convGeom) splitBatch(parts int, fn func(part int, gp convGeom, n0 int)) {
	if parts <= 1 {
		fn(0, g, 0)
		return
	}
	var wg sync.WaitGroup
	for i := range parts {
		n0, n1 := g.N*i/parts, g.N*(i+1)/parts
		gp := g
		gp.N, gp.serial = n1-n0, true
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, gp, n0)
		}()
	}
	wg.Wait()
}

// parallelGemm says whether a GEMM of g's shares out its tiles.
func (g convGeom) parallelGemm(m, n, k int) bool {
	return !g.serial && m*n*k >= gemmParallel && workers() > 1
}

// padded is the stride-1 geometry on the padded grid.
type padded struct {
	hp, wp int
	n      int   // pixels on the padded grid: OH*Wp
	off    []int // start of each row of col(x) in a padded group
	size   int   // floats per padded group, with slack for the last row's tail
}

func (g convGeom) padded() padded {
	hp, wp := g.H+2*g.PadH, g.W+2*g.PadW
	pd := padded{hp: hp, wp: wp, n: g.oh * wp, off: make([]int, g.rows)}
	for r := range pd.off {
		c, kh, kw := r/g.kk, (r%g.kk)/g.KW, r%g.KW
		pd.off[r] = c*hp*wp + kh*wp + kw
	}
	// Slack past the last plane: the last row's tail (KW-1) and a kernel's
	// full-width reads past the last pixel (up to one 32-wide strip).
	pd.size = g.cg*hp*wp + g.KW + 64
	return pd
}

// pad copies the group's planes xg into xp (zeroed borders and slack).
// Only the borders are cleared: clearing all of xp first would write it
// twice.
func (g convGeom) pad(xp, xg []float32, pd padded) {
	plane := pd.hp * pd.wp
	for c := 0; c < g.cg; c++ {
		p := xp[c*plane : (c+1)*plane]
		clear(p[:g.PadH*pd.wp])
		for h := 0; h < g.H; h++ {
			row := p[(h+g.PadH)*pd.wp:][:pd.wp]
			clear(row[:g.PadW])
			copy(row[g.PadW:], xg[c*g.hw+h*g.W:][:g.W])
			clear(row[g.PadW+g.W:])
		}
		clear(p[(g.H+g.PadH)*pd.wp:])
	}
	clear(xp[g.cg*plane : pd.size])
}

// offsetPacker packs from a matrix whose row r starts at base[off[r]] with
// unit column stride: op(B) itself, or its transpose when trans.
func offsetPacker(trans bool, base []float32, off []int) stripPacker {
	if trans {
		return func(dst []float32, pc, kc, j0, w, nr int) {
			for j := 0; j < nr; j++ {
				if j >= w {
					for p := 0; p < kc; p++ {
						dst[p*nr+j] = 0
					}
					continue
				}
				src := base[off[j0+j]+pc : off[j0+j]+pc+kc]
				out := dst[j : (kc-1)*nr+j+1]
				for p, v := range src {
					out[p*nr] = v
				}
			}
		}
	}
	return func(dst []float32, pc, kc, j0, w, nr int) {
		for p := 0; p < kc; p++ {
			row := dst[p*nr : p*nr+nr]
			o := off[pc+p] + j0
			copy(row, base[o:o+w])
			if w < nr {
				clear(row[w:])
			}
		}
	}
}

// forwardPadded is the stride-1 forward convolution on the padded grid.
func (g convGeom) forwardPadded(ys, xs, ws []float32) {
	pd := g.padded()
	xp, yp := getScratch(pd.size), getScratch(g.og*pd.n)
	defer putScratch(xp)
	defer putScratch(yp)
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < g.Groups; gr++ {
			xg := xs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
			yg := ys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
			wg := ws[gr*g.og*g.rows:][:g.og*g.rows]
			g.pad(*xp, xg, pd)
			sgemmPackedOn(g.parallelGemm(g.og, pd.n, g.rows), kernel, false, g.og, pd.n, g.rows, wg, g.rows, nil, bSource{rows: *xp, off: pd.off}, *yp, pd.n, false)
			g.copyOut(yg, *yp, pd.n, pd.wp, gr)
		}
	}
}

// gradWeightPadded is the stride-1 weight gradient on the padded grid, as
// dW^T = col(x) * dy^T: col(x) is the A operand, whose rows the AVX-512
// kernel reads in place from the padded input (other kernels pack them with
// sequential reads and writes), and only the small dy^T (spread onto the
// grid with zeros in the extra columns) is packed transposed. When the batch
// is shared out (batchParts), each part sums its items' products into its
// own dW^T, added up at the end.
func (g convGeom) gradWeightPadded(dws, xs, dys []float32) {
	pd := g.padded()
	parts := g.batchParts(g.rows * g.og * pd.n)
	dwt := make([]*[]float32, parts)
	for i := range dwt {
		dwt[i] = getScratch(g.rows * g.og)
		defer putScratch(dwt[i])
	}
	for gr := 0; gr < g.Groups; gr++ {
		g.splitBatch(parts, func(part int, gp convGeom, n0 int) {
			xp, dyp := getScratch(pd.size), getScratch(g.og*pd.n)
			defer putScratch(xp)
			defer putScratch(dyp)
			clear(*dyp)
			for n := n0; n < n0+gp.N; n++ {
				xg := xs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
				dyg := dys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
				g.pad(*xp, xg, pd)
				for o := 0; o < g.og; o++ {
					for h := 0; h < g.oh; h++ {
						copy((*dyp)[o*pd.n+h*pd.wp:], dyg[o*g.ohw+h*g.ow:][:g.ow])
					}
				}
				sgemmPackedOn(gp.parallelGemm(g.rows, g.og, pd.n), kernel, false, g.rows, g.og, pd.n,
					*xp, 0, pd.off, bSource{pack: matrixPacker(true, *dyp, pd.n)}, *dwt[part], g.og, n > n0)
			}
		})
		dwg := dws[gr*g.og*g.rows:][:g.og*g.rows]
		for r := 0; r < g.rows; r++ {
			for o, v := range (*dwt[0])[r*g.og : (r+1)*g.og] {
				for _, d := range dwt[1:] {
					v += (*d)[r*g.og+o]
				}
				dwg[o*g.rows+r] = v
			}
		}
	}
}

// Conv2D implements backend.Backend.
func (be *Backend) Conv2D(y, x, w backend.Buffer, p backend.Conv) {
	g := geom(p)
	xs, ws, ys := g.buffers(x, w, y)
	g.forward(ys, xs, ws)
}

// forward is y = conv(x, w) for the validated geometry g.
func (g convGeom) forward(ys, xs, ws []float32) {
	if g.depthwise() {
		g.depthwiseForward(ys, xs, ws)
		return
	}
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < g.Groups; gr++ {
			xg := xs[(n*g.C+gr*g.cg)*g.hw:][:g.cg*g.hw]
			yg := ys[(n*g.O+gr*g.og)*g.ohw:][:g.og*g.ohw]
			wg := ws[gr*g.og*g.rows:][:g.og*g.rows]
			if g.pointwise() {
				sgemm(false, false, g.og, g.ohw, g.cg, wg, g.cg, xg, g.hw, yg, g.ohw, false)
				g.finish(yg, gr)
				continue
			}
			if g.StrideH == 1 && g.StrideW == 1 {
				g.splitBatch(g.batchParts(g.og*g.oh*(g.W+2*g.PadW)*g.rows), func(_ int, gp convGeom, n0 int) {
					gp.forwardPadded(ys[n0*g.O*g.ohw:], xs[n0*g.C*g.hw:], ws)
				})
				return
			}
			sgemmPacked(kernel, false, g.og, g.ohw, g.rows, wg, g.rows, nil, bSource{pack: g.colPacker(xg)}, yg, g.ohw, false)
			g.finish(yg, gr)
		}
	}
}

// transposed returns the stride-1 convolution whose forward pass is g's
// gradient with respect to its input, and whether g has one (stride 1,
// padding below the kernel size): dy, padded by K-1-P, convolved with the
// filters flipped in space and with input and output channels swapped.
func (g convGeom) transposed() (convGeom, bool) {
	if g.StrideH != 1 || g.StrideW != 1 || g.PadH > g.KH-1 || g.PadW > g.KW-1 {
		return convGeom{}, false
	}
	return geom(backend.Conv{N: g.N, C: g.O, H: g.oh, W: g.ow, O: g.C, KH: g.KH, KW: g.KW,
		StrideH: 1, StrideW: 1, PadH: g.KH - 1 - g.PadH, PadW: g.KW - 1 - g.PadW, Groups: g.Groups}), true
}

// flipFilters writes into wt the filters of g.transposed() from g's ws.
func (g convGeom) flipFilters(wt, ws []float32) {
	for gr := 0; gr < g.Groups; gr++ {
		for o := 0; o < g.og; o++ {
			for c := 0; c < g.cg; c++ {
				src := ws[((gr*g.og+o)*g.cg+c)*g.kk:][:g.kk]
				dst := wt[((gr*g.cg+c)*g.og+o)*g.kk:][:g.kk]
				for i, v := range src {
					dst[g.kk-1-i] = v
				}
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
	if !g.pointwise() {
		if gt, ok := g.transposed(); ok {
			wt := getScratch(len(ws))
			defer putScratch(wt)
			g.flipFilters(*wt, ws)
			gt.forward(dxs, dys, *wt)
			return
		}
	}
	var colBuf *[]float32
	if !g.pointwise() {
		colBuf = getScratch(g.rows * g.chunk())
		defer putScratch(colBuf)
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
	if g.StrideH == 1 && g.StrideW == 1 && !g.pointwise() {
		g.gradWeightPadded(dws, xs, dys)
		return
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
			sgemmPacked(kernel, false, g.og, g.rows, g.ohw, dyg, g.ohw, nil, bSource{pack: g.colTPacker(xg)}, dwg, g.rows, true)
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
			if g.epi != nil {
				g.epi.channel(y, c)
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
