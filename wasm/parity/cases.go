package parity

import (
	"fmt"

	"catsynth/nn/backend"
)

// tolSum is the tolerance of the composed cases: inputs are O(1), so sums
// of up to a few hundred products stay far inside it; it leaves room for
// the GPU's own summation order and its transcendental functions.
var tolSum = Tol{Abs: 1e-4, Rel: 1e-4}

// Composites are the cases the conformance suite has no need of natively:
// softmax and group norm composed from primitives as package nn composes
// them, each a queue of dependent dispatches (which is where the browser's
// WebGPU scheduling could go wrong while every primitive alone is right).
func Composites() []Case {
	return []Case{softmaxCase(7, 33), groupNormCase(2, 6, 3, 5, 4)}
}

// contiguous returns the row-major strides of shape.
func contiguous(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// span is the number of values a strided operand reads.
func span(shape, strides []int) int {
	n := 1
	for i, d := range shape {
		n += (d - 1) * strides[i]
	}
	return n
}

// temps allocates scratch buffers of the given lengths; free releases them.
func temps(b backend.Backend, lens ...int) (bufs []backend.Buffer, free func(), err error) {
	free = func() {
		for _, t := range bufs {
			b.Free(t)
		}
	}
	for _, n := range lens {
		t, err := b.Alloc(n)
		if err != nil {
			free()
			return nil, nil, err
		}
		bufs = append(bufs, t)
	}
	return bufs, free, nil
}

// softmaxCase is softmax over the last axis of rows x cols, composed as
// y = exp(x - max(x)) / sum(exp(x - max(x))).
func softmaxCase(rows, cols int) Case {
	shape := []int{rows, cols}
	full, row := contiguous(shape), []int{1, 0}
	last := backend.Reduction{Shape: shape, Axes: []bool{false, true}}
	return Case{
		Name:   fmt.Sprintf("softmax (max, sub, exp, sum, div) %v", shape),
		Inputs: []Input{{N: rows * cols, Lo: -5, Hi: 5}}, Out: rows * cols, Tol: tolSum,
		Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
			t, free, err := temps(b, rows, rows*cols, rows*cols, rows)
			if err != nil {
				return err
			}
			defer free()
			m, d, e, s := t[0], t[1], t[2], t[3]
			b.Reduce(backend.MaxReduce, m, x[0], last)
			b.Binary(backend.Sub, d, x[0], m, backend.Broadcast{Shape: shape, AStrides: full, BStrides: row})
			b.Unary(backend.Exp, e, d, rows*cols, backend.Args{})
			b.Reduce(backend.Sum, s, e, last)
			b.Binary(backend.Div, out, e, s, backend.Broadcast{Shape: shape, AStrides: full, BStrides: row})
			return nil
		},
	}
}

// groupNormCase is group norm without affine parameters over x (n, c, h, w)
// with g groups, composed as y = (x - mean) * rsqrt(var + eps) per
// (sample, group): the chain of reductions, broadcasts and unary ops that
// package nn builds, run as one queue of dependent dispatches.
func groupNormCase(n, c, g, h, w int) Case {
	inner := c / g * h * w
	shape := []int{n * g, inner}
	full, row := contiguous(shape), []int{1, 0}
	last := backend.Reduction{Shape: shape, Axes: []bool{false, true}}
	total, groups := n*c*h*w, n*g
	return Case{
		Name:   fmt.Sprintf("group norm (sum, affine, sub, square, rsqrt, mul) x%dx%dx%dx%d g%d", n, c, h, w, g),
		Inputs: []Input{{N: total, Lo: -2, Hi: 3}}, Out: total, Tol: tolSum,
		Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
			t, free, err := temps(b, groups, groups, total, total, groups, groups)
			if err != nil {
				return err
			}
			defer free()
			sum, mean, xc, sq, ss, rstd := t[0], t[1], t[2], t[3], t[4], t[5]
			bc := backend.Broadcast{Shape: shape, AStrides: full, BStrides: row}
			b.Reduce(backend.Sum, sum, x[0], last)
			b.Unary(backend.Affine, mean, sum, groups, backend.Args{Alpha: 1 / float32(inner)})
			b.Binary(backend.Sub, xc, x[0], mean, bc)
			b.Unary(backend.Square, sq, xc, total, backend.Args{})
			b.Reduce(backend.Sum, ss, sq, last)
			b.Unary(backend.Affine, sum, ss, groups, backend.Args{Alpha: 1 / float32(inner), Beta: 1e-5}) // var + eps
			b.Unary(backend.Rsqrt, rstd, sum, groups, backend.Args{})
			b.Binary(backend.Mul, out, xc, rstd, bc)
			return nil
		},
	}
}
