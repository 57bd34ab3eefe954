package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// reduceAxes normalizes axes (empty = all) into a per-axis flag set.
func reduceAxes(op string, rank int, axes []int) []bool {
	flags := make([]bool, rank)
	if len(axes) == 0 {
		for i := range flags {
			flags[i] = true
		}
		return flags
	}
	for _, a := range axes {
		flags[normAxis(a, rank, op)] = true
	}
	return flags
}

// reducedShape returns the output shape of a reduction with or without keepdim.
func reducedShape(shape []int, flags []bool, keepdim bool) []int {
	out := []int{}
	for i, d := range shape {
		switch {
		case !flags[i]:
			out = append(out, d)
		case keepdim:
			out = append(out, 1)
		}
	}
	return out
}

// reduceInto runs a backend reduction of x over flags into dst, merging
// adjacent axes with equal flags so any rank fits backend.MaxRank.
func reduceInto(op backend.ReduceOp, dst, x *Tensor, flags []bool) {
	var sh []int
	var fl []bool
	for i, d := range x.shape {
		if d == 1 {
			continue
		}
		if n := len(sh); n > 0 && fl[n-1] == flags[i] {
			sh[n-1] *= d
			continue
		}
		sh = append(sh, d)
		fl = append(fl, flags[i])
	}
	if len(sh) == 0 {
		sh, fl = []int{1}, []bool{true}
	}
	if len(sh) > backend.MaxRank {
		panic(fmt.Sprintf("nn: reduce %v of %v: rank %d > %d after merging axes", op, x.shape, len(sh), backend.MaxRank))
	}
	x.dev.be.Reduce(op, dst.buf(), x.buf(), backend.Reduction{Shape: sh, Axes: fl})
}

// Sum sums x over axes (all axes when empty); keepdim keeps them with size 1.
func Sum(x *Tensor, axes []int, keepdim bool) *Tensor {
	flags := reduceAxes("Sum", x.Rank(), axes)
	y := x.dev.alloc(reducedShape(x.shape, flags, keepdim))
	reduceInto(backend.Sum, y, x, flags)
	return record(y, "sum", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{Expand(Reshape(g, reducedShape(x.shape, flags, true)...), x.shape...)}
	})
}

// Mean averages x over axes (all axes when empty).
func Mean(x *Tensor, axes []int, keepdim bool) *Tensor {
	flags := reduceAxes("Mean", x.Rank(), axes)
	n := 1
	for i, f := range flags {
		if f {
			n *= x.shape[i]
		}
	}
	return MulScalar(Sum(x, axes, keepdim), 1/float32(n))
}

// SumAll sums every element into a tensor of shape [1].
func SumAll(x *Tensor) *Tensor { return Reshape(Sum(x, nil, false), 1) }

// MeanAll averages every element into a tensor of shape [1].
func MeanAll(x *Tensor) *Tensor { return Reshape(Mean(x, nil, false), 1) }

// MaxReduce returns the maximum of x over axes. It is not differentiable:
// the result never requires grad (softmax uses it as a constant shift).
func MaxReduce(x *Tensor, axes []int, keepdim bool) *Tensor {
	flags := reduceAxes("MaxReduce", x.Rank(), axes)
	y := x.dev.alloc(reducedShape(x.shape, flags, keepdim))
	reduceInto(backend.MaxReduce, y, x, flags)
	return y
}

// Var is the variance over axes; unbiased divides by n-1 instead of n.
func Var(x *Tensor, axes []int, keepdim, unbiased bool) *Tensor {
	flags := reduceAxes("Var", x.Rank(), axes)
	n := 1
	for i, f := range flags {
		if f {
			n *= x.shape[i]
		}
	}
	xc := Sub(x, Mean(x, axes, true))
	div := float32(n)
	if unbiased && n > 1 {
		div = float32(n - 1)
	}
	return MulScalar(Sum(Square(xc), axes, keepdim), 1/div)
}

// Expand broadcasts x to shape (numpy rules: size-1 or missing leading axes
// repeat). The result is a new contiguous tensor.
func Expand(x *Tensor, shape ...int) *Tensor {
	if out, ok := broadcastShape(x.shape, shape); !ok || !sameShape(out, shape) {
		panic(fmt.Sprintf("nn: Expand: %v cannot broadcast to %v", x.shape, shape))
	}
	if sameShape(x.shape, shape) {
		return x
	}
	y := x.dev.alloc(shape)
	sh, st := collapse(shape, broadcastStrides(x.shape, shape), contiguousStrides(shape))
	if len(sh) > backend.MaxRank {
		panic(fmt.Sprintf("nn: Expand %v to %v: rank too high", x.shape, shape))
	}
	x.dev.be.Copy(y.buf(), x.buf(), backend.Strided{Shape: sh, SrcStrides: st[0], DstStrides: st[1]})
	return record(y, "expand", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{reduceTo(g, x.shape)}
	})
}
