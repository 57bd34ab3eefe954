package cpu

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// unaryFunc returns f for op (backend.Unaries), computed in float64 and
// rounded once, so the reference is as exact as float32 output allows.
func unaryFunc(op backend.UnaryOp, a backend.Args) func(x float64) float64 {
	if op < 0 || op >= backend.NumUnaryOps {
		panic(fmt.Sprintf("cpu: unknown unary op %v", op))
	}
	f := backend.Unaries[op].F
	return func(x float64) float64 { return f(x, a) }
}

// unaryDeriv returns f'(x) given x and y = f(x) (backend.Unaries).
func unaryDeriv(op backend.UnaryOp, a backend.Args) func(x, y float64) float64 {
	if op < 0 || op >= backend.NumUnaryOps {
		panic(fmt.Sprintf("cpu: unknown unary op %v", op))
	}
	d := backend.Unaries[op].D
	return func(x, y float64) float64 { return d(x, y, a) }
}

// Unary implements backend.Backend.
func (be *Backend) Unary(op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
	d, xs := need(dst, n, "Unary dst")[:n], need(x, n, "Unary x")[:n]
	switch op { // the hottest ops get plain float32 loops
	case backend.Affine:
		parallelFor(n, elemGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = a.Alpha*xs[i] + a.Beta
			}
		})
		return
	case backend.Relu:
		parallelFor(n, elemGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = max(xs[i], 0)
			}
		})
		return
	}
	f := unaryFunc(op, a)
	parallelFor(n, elemGrain/8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = float32(f(float64(xs[i])))
		}
	})
}

// UnaryGrad implements backend.Backend: dx = dy * f'(x).
func (be *Backend) UnaryGrad(op backend.UnaryOp, dx, x, y, dy backend.Buffer, n int, a backend.Args) {
	d := need(dx, n, "UnaryGrad dx")[:n]
	xs, ys, g := need(x, n, "UnaryGrad x")[:n], need(y, n, "UnaryGrad y")[:n], need(dy, n, "UnaryGrad dy")[:n]
	fp := unaryDeriv(op, a)
	parallelFor(n, elemGrain/8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = float32(float64(g[i]) * fp(float64(xs[i]), float64(ys[i])))
		}
	})
}

// binaryRow computes n outputs d[j] = a[j*as] op b[j*bs].
func binaryRow(op backend.BinaryOp, d, a []float32, as int, b []float32, bs int, n int) {
	switch op {
	case backend.Add:
		if as == 1 && bs == 1 {
			a, b = a[:n], b[:n]
			for j := range d[:n] {
				d[j] = a[j] + b[j]
			}
			return
		}
		for j := 0; j < n; j++ {
			d[j] = a[j*as] + b[j*bs]
		}
	case backend.Sub:
		for j := 0; j < n; j++ {
			d[j] = a[j*as] - b[j*bs]
		}
	case backend.Mul:
		if as == 1 && bs == 1 {
			a, b = a[:n], b[:n]
			for j := range d[:n] {
				d[j] = a[j] * b[j]
			}
			return
		}
		for j := 0; j < n; j++ {
			d[j] = a[j*as] * b[j*bs]
		}
	case backend.Div:
		for j := 0; j < n; j++ {
			d[j] = a[j*as] / b[j*bs]
		}
	case backend.Max:
		for j := 0; j < n; j++ {
			d[j] = max(a[j*as], b[j*bs])
		}
	case backend.Min:
		for j := 0; j < n; j++ {
			d[j] = min(a[j*as], b[j*bs])
		}
	default:
		panic(fmt.Sprintf("cpu: unknown binary op %v", op))
	}
}

// Binary implements backend.Backend: dst (contiguous over p.Shape) = a op b.
func (be *Backend) Binary(op backend.BinaryOp, dst, a, b backend.Buffer, p backend.Broadcast) {
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
			binaryRow(op, d[r.off[0]:], as[r.off[1]:], sa, bs[r.off[2]:], sb, n)
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
