package cpu

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// Resize implements backend.Backend: out (i, j) reads in (i*H/OH, j*W/OW),
// rounded down as PyTorch's nearest mode.
func (be *Backend) Resize(dst, x backend.Buffer, p backend.Resize) {
	checkResize(p)
	in, out := p.H*p.W, p.OH*p.OW
	xs := need(x, p.Planes*in, "Resize x")
	ds := need(dst, p.Planes*out, "Resize dst")
	cols := resizeIndex(p.W, p.OW)
	parallelFor(p.Planes, max(1, elemGrain/max(out, 1)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src, d := xs[pl*in:][:in], ds[pl*out:][:out]
			for i := 0; i < p.OH; i++ {
				row, drow := src[i*p.H/p.OH*p.W:][:p.W], d[i*p.OW:][:p.OW]
				for j, c := range cols {
					drow[j] = row[c]
				}
			}
		}
	})
}

// ResizeGrad implements backend.Backend: dx (overwritten) sums the dy
// pixels that read each source pixel.
func (be *Backend) ResizeGrad(dx, dy backend.Buffer, p backend.Resize) {
	checkResize(p)
	in, out := p.H*p.W, p.OH*p.OW
	dxs := need(dx, p.Planes*in, "ResizeGrad dx")
	dys := need(dy, p.Planes*out, "ResizeGrad dy")
	cols := resizeIndex(p.W, p.OW)
	parallelFor(p.Planes, max(1, elemGrain/max(out, 1)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			d, g := dxs[pl*in:][:in], dys[pl*out:][:out]
			clear(d)
			for i := 0; i < p.OH; i++ {
				row, grow := d[i*p.H/p.OH*p.W:][:p.W], g[i*p.OW:][:p.OW]
				for j, c := range cols {
					row[c] += grow[j]
				}
			}
		}
	})
}

func checkResize(p backend.Resize) {
	if p.Planes < 0 || p.H < 1 || p.W < 1 || p.OH < 1 || p.OW < 1 {
		panic(fmt.Sprintf("cpu: invalid resize %+v", p))
	}
}

// resizeIndex maps each of the out positions to its source in [0, in).
func resizeIndex(in, out int) []int {
	idx := make([]int, out)
	for j := range idx {
		idx[j] = j * in / out
	}
	return idx
}

func checkPool(p backend.Pool) {
	if p.Planes < 0 || p.H < 1 || p.W < 1 || p.K < 1 || p.Stride < 1 || p.Pad < 0 ||
		2*p.Pad > p.K || p.OH() < 1 || p.OW() < 1 {
		panic(fmt.Sprintf("cpu: invalid pool %+v (padding must be at most K/2, as in PyTorch)", p))
	}
}

// Pool2D implements backend.Backend. Average pooling divides by K*K, counting
// padded positions as zeros; max pooling ignores them.
func (be *Backend) Pool2D(op backend.PoolOp, dst, x backend.Buffer, p backend.Pool) {
	checkPool(p)
	in, oh, ow := p.H*p.W, p.OH(), p.OW()
	out := oh * ow
	xs := need(x, p.Planes*in, "Pool2D x")
	ds := need(dst, p.Planes*out, "Pool2D dst")
	inv := 1 / float32(p.K*p.K)
	parallelFor(p.Planes, max(1, elemGrain/(out*p.K*p.K)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src, d := xs[pl*in:][:in], ds[pl*out:][:out]
			for i := 0; i < oh; i++ {
				h0, h1 := windowSpan(i, p.Stride, p.Pad, p.K, p.H)
				for j := 0; j < ow; j++ {
					w0, w1 := windowSpan(j, p.Stride, p.Pad, p.K, p.W)
					if op == backend.MaxPool {
						_, d[i*ow+j] = spanMax(src, p.W, h0, h1, w0, w1)
						continue
					}
					var acc float32
					for h := h0; h < h1; h++ {
						for _, v := range src[h*p.W+w0 : h*p.W+w1] {
							acc += v
						}
					}
					d[i*ow+j] = acc * inv
				}
			}
		}
	})
}

// Pool2DGrad implements backend.Backend. Max pooling routes each dy to the
// first maximum of its window in row-major order.
func (be *Backend) Pool2DGrad(op backend.PoolOp, dx, x, y, dy backend.Buffer, p backend.Pool) {
	checkPool(p)
	in, oh, ow := p.H*p.W, p.OH(), p.OW()
	out := oh * ow
	dxs := need(dx, p.Planes*in, "Pool2DGrad dx")
	xs := need(x, p.Planes*in, "Pool2DGrad x")
	need(y, p.Planes*out, "Pool2DGrad y")
	dys := need(dy, p.Planes*out, "Pool2DGrad dy")
	inv := 1 / float32(p.K*p.K)
	parallelFor(p.Planes, max(1, elemGrain/(out*p.K*p.K)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src, d, g := xs[pl*in:][:in], dxs[pl*in:][:in], dys[pl*out:][:out]
			clear(d)
			for i := 0; i < oh; i++ {
				h0, h1 := windowSpan(i, p.Stride, p.Pad, p.K, p.H)
				for j := 0; j < ow; j++ {
					w0, w1 := windowSpan(j, p.Stride, p.Pad, p.K, p.W)
					gv := g[i*ow+j]
					if op == backend.MaxPool {
						if pos, _ := spanMax(src, p.W, h0, h1, w0, w1); pos >= 0 {
							d[pos] += gv
						}
						continue
					}
					gv *= inv
					for h := h0; h < h1; h++ {
						row := d[h*p.W+w0 : h*p.W+w1]
						for k := range row {
							row[k] += gv
						}
					}
				}
			}
		}
	})
}

// windowSpan returns the in-bounds input rows (or columns) [lo, hi) of output
// row (or column) i's window: the window starts at i*stride-pad and is k long.
// Pool2D loops over these spans directly instead of testing every tap, in the
// same row-major order as before, so sums round identically.
func windowSpan(i, stride, pad, k, n int) (lo, hi int) {
	start := i*stride - pad
	return max(start, 0), min(start+k, n)
}

// spanMax returns the position and value of the first maximum (row-major
// scan, strict comparison) of src's rows [h0, h1) and columns [w0, w1), row
// length w; (-1, -Inf) for an empty span.
func spanMax(src []float32, w, h0, h1, w0, w1 int) (int, float32) {
	if h0 >= h1 || w0 >= w1 {
		return -1, float32(math.Inf(-1))
	}
	best, bv := h0*w+w0, src[h0*w+w0]
	for h := h0; h < h1; h++ {
		for c, v := range src[h*w+w0 : h*w+w1] {
			if v > bv {
				best, bv = h*w+w0+c, v
			}
		}
	}
	return best, bv
}

// OneHot implements backend.Backend.
func (be *Backend) OneHot(dst, idx backend.Buffer, p backend.OneHot) {
	if p.N < 0 || p.C < 0 || p.Inner < 0 {
		panic(fmt.Sprintf("cpu: invalid one-hot %+v", p))
	}
	ix := need(idx, p.N*p.Inner, "OneHot idx")
	ds := need(dst, p.N*p.C*p.Inner, "OneHot dst")[:p.N*p.C*p.Inner]
	clear(ds)
	for n := 0; n < p.N; n++ {
		for i, v := range ix[n*p.Inner : (n+1)*p.Inner] {
			if v >= 0 && v < float32(p.C) { // false for NaN too
				ds[(n*p.C+int(v))*p.Inner+i] = 1
			}
		}
	}
}

// Adam implements backend.Backend (AdamW with decoupled weight decay).
func (be *Backend) Adam(param, grad, m, v backend.Buffer, n int, p backend.Adam) {
	ps, gs := need(param, n, "Adam param")[:n], need(grad, n, "Adam grad")[:n]
	ms, vs := need(m, n, "Adam m")[:n], need(v, n, "Adam v")[:n]
	scale := p.GradScale
	if scale == 0 {
		scale = 1
	}
	parallelFor(n, elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := gs[i] * scale
			mi := p.Beta1*ms[i] + (1-p.Beta1)*g
			vi := p.Beta2*vs[i] + (1-p.Beta2)*g*g
			ms[i], vs[i] = mi, vi
			den := float32(math.Sqrt(float64(vi/p.BiasCorr2))) + p.Eps
			ps[i] -= p.LR*(mi/p.BiasCorr1)/den + p.LR*p.WeightDecay*ps[i]
		}
	})
}
