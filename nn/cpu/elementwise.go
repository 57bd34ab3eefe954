package cpu

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// Unary implements backend.Backend with the op's kernel from the op table
// (backend.UnaryDef.Eval), called once per chunk.
func (be *Backend) Unary(op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
	def := op.Def()
	d, xs := need(dst, n, "Unary dst")[:n], need(x, n, "Unary x")[:n]
	parallelFor(n, unaryGrain(def), func(lo, hi int) { def.Eval(d[lo:hi], xs[lo:hi], a) })
}

// UnaryGrad implements backend.Backend: dx = dy * f'(x), by the op's
// gradient kernel (backend.UnaryDef.Grad).
func (be *Backend) UnaryGrad(op backend.UnaryOp, dx, x, y, dy backend.Buffer, n int, a backend.Args) {
	def := op.Def()
	d := need(dx, n, "UnaryGrad dx")[:n]
	xs, ys, g := need(x, n, "UnaryGrad x")[:n], need(y, n, "UnaryGrad y")[:n], need(dy, n, "UnaryGrad dy")[:n]
	parallelFor(n, elemGrain/8, func(lo, hi int) { def.Grad(d[lo:hi], xs[lo:hi], ys[lo:hi], g[lo:hi], a) })
}

// unaryGrain is the chunk size of an op: cheap ops are worth a goroutine
// only on larger chunks.
func unaryGrain(def *backend.UnaryDef) int {
	if def.Cheap {
		return elemGrain
	}
	return elemGrain / 8
}

// Binary implements backend.Backend: dst (contiguous over p.Shape) = a op b.
func (be *Backend) Binary(op backend.BinaryOp, dst, a, b backend.Buffer, p backend.Broadcast) {
	def := op.Def()
	total := numel(p.Shape)
	d := need(dst, total, "Binary dst")
	as, bs := data(a), data(b)
	checkSpan("Binary a", p.Shape, 0, p.AStrides, len(as))
	checkSpan("Binary b", p.Shape, 0, p.BStrides, len(bs))
	if total == 0 {
		return
	}
	proto := newRows(p.Shape, []int{0, 0, 0}, contiguous(p.Shape), p.AStrides, p.BStrides)
	n, nr := proto.rowLen(), proto.numRows()
	sa, sb := proto.stride(1), proto.stride(2)
	parallelFor(nr, max(1, elemGrain/max(n, 1)), func(lo, hi int) {
		r := *proto
		r.seek(lo)
		for i := lo; i < hi; i++ {
			def.Eval(d[r.off[0]:][:n], as[r.off[1]:], sa, bs[r.off[2]:], sb)
			r.next()
		}
	})
}

// Reduce implements backend.Backend. Sums accumulate in float64.
func (be *Backend) Reduce(op backend.ReduceOp, dst, x backend.Buffer, p backend.Reduction) {
	if len(p.Axes) != len(p.Shape) {
		panic(fmt.Sprintf("cpu: Reduce: %d axes flags for a rank-%d shape", len(p.Axes), len(p.Shape)))
	}
	if op != backend.Sum && op != backend.MaxReduce {
		panic(fmt.Sprintf("cpu: unknown reduce op %v", op))
	}
	total := numel(p.Shape)
	xs := need(x, total, "Reduce x")
	strides := contiguous(p.Shape)
	var keptShape, keptStrides, redShape, redStrides []int
	for k, s := range p.Shape {
		if p.Axes[k] {
			redShape, redStrides = append(redShape, s), append(redStrides, strides[k])
		} else {
			keptShape, keptStrides = append(keptShape, s), append(keptStrides, strides[k])
		}
	}
	nout, nred := numel(keptShape), numel(redShape)
	d := need(dst, nout, "Reduce dst")
	if nout == 0 {
		return
	}
	// Each output gathers its reduced sub-space: a walk over the reduced axes
	// from the output's base offset.
	red := newRows(redShape, []int{0}, redStrides)
	rn, rnr, rs := red.rowLen(), red.numRows(), red.stride(0)
	kept := contiguous(keptShape)
	parallelFor(nout, max(1, elemGrain/max(nred, 1)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			base, rem := 0, o
			for k := range keptShape {
				base += rem / kept[k] * keptStrides[k]
				rem %= kept[k]
			}
			r := *red
			r.base[0] = base
			r.seek(0)
			if op == backend.Sum {
				var acc float64
				for i := 0; i < rnr && nred > 0; i++ {
					for j := 0; j < rn; j++ {
						acc += float64(xs[r.off[0]+j*rs])
					}
					r.next()
				}
				d[o] = float32(acc)
			} else {
				acc := float32(math.Inf(-1))
				for i := 0; i < rnr && nred > 0; i++ {
					for j := 0; j < rn; j++ {
						acc = max(acc, xs[r.off[0]+j*rs])
					}
					r.next()
				}
				d[o] = acc
			}
		}
	})
}
