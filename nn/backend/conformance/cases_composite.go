package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// compositeCases chain primitives as package nn composes softmax and group
// norm: queues of dependent dispatches with temporaries, checked at the end
// against float64 references of the whole function.
func compositeCases() []Case {
	return []Case{softmaxCase(7, 33), groupNormCase(2, 6, 3, 5, 4)}
}

// softmaxCase is softmax over the last axis of rows x cols, composed as
// y = exp(x - max(x)) / sum(exp(x - max(x))).
func softmaxCase(rows, cols int) Case {
	shape := []int{rows, cols}
	full, row := contiguous(shape), []int{1, 0}
	last := backend.Reduction{Shape: shape, Axes: []bool{false, true}}
	bc := backend.Broadcast{Shape: shape, AStrides: full, BStrides: row}
	return Case{Name: fmt.Sprintf("softmax/%dx%d", rows, cols), run: func(e *env) []output {
		x := e.uniform(rows*cols, -5, 5)
		xb := e.upload(x)
		m, d, ex, s, y := e.alloc(rows), e.alloc(rows*cols), e.alloc(rows*cols), e.alloc(rows), e.alloc(rows*cols)
		e.b.Reduce(backend.MaxReduce, m, xb, last)
		e.b.Binary(backend.Sub, d, xb, m, bc)
		e.b.Unary(backend.Exp, ex, d, rows*cols, backend.Args{})
		e.b.Reduce(backend.Sum, s, ex, last)
		e.b.Binary(backend.Div, y, ex, s, bc)
		want := make([]float64, rows*cols)
		for r := 0; r < rows; r++ {
			sum := 0.0
			for c := 0; c < cols; c++ {
				want[r*cols+c] = math.Exp(float64(x[r*cols+c]))
				sum += want[r*cols+c]
			}
			for c := 0; c < cols; c++ {
				want[r*cols+c] /= sum
			}
		}
		return []output{{name: "y", got: e.download(y, rows*cols), want: want, tol: 1e-4}}
	}}
}

// groupNormCase is group norm without affine parameters over x (n, c, h, w)
// with g groups, composed as y = (x - mean) * rsqrt(var + eps) per
// (sample, group).
func groupNormCase(n, c, g, h, w int) Case {
	const eps = 1e-5
	inner := c / g * h * w
	shape := []int{n * g, inner}
	full, row := contiguous(shape), []int{1, 0}
	last := backend.Reduction{Shape: shape, Axes: []bool{false, true}}
	bc := backend.Broadcast{Shape: shape, AStrides: full, BStrides: row}
	total, groups := n*c*h*w, n*g
	return Case{Name: fmt.Sprintf("groupnorm/x%dx%dx%dx%d_g%d", n, c, h, w, g), run: func(e *env) []output {
		x := e.uniform(total, -2, 3)
		xb := e.upload(x)
		sum, mean, xc, sq, ss, v, rstd, y := e.alloc(groups), e.alloc(groups), e.alloc(total), e.alloc(total),
			e.alloc(groups), e.alloc(groups), e.alloc(groups), e.alloc(total)
		e.b.Reduce(backend.Sum, sum, xb, last)
		e.b.Unary(backend.Affine, mean, sum, groups, backend.Args{Alpha: 1 / float32(inner)})
		e.b.Binary(backend.Sub, xc, xb, mean, bc)
		e.b.Unary(backend.Square, sq, xc, total, backend.Args{})
		e.b.Reduce(backend.Sum, ss, sq, last)
		e.b.Unary(backend.Affine, v, ss, groups, backend.Args{Alpha: 1 / float32(inner), Beta: eps})
		e.b.Unary(backend.Rsqrt, rstd, v, groups, backend.Args{})
		e.b.Binary(backend.Mul, y, xc, rstd, bc)
		want := make([]float64, total)
		for k := 0; k < groups; k++ {
			xs := f64(x[k*inner : (k+1)*inner])
			mu, vr := 0.0, 0.0
			for _, v := range xs {
				mu += v
			}
			mu /= float64(inner)
			for _, v := range xs {
				vr += (v - mu) * (v - mu)
			}
			r := 1 / math.Sqrt(vr/float64(inner)+eps)
			for i, v := range xs {
				want[k*inner+i] = (v - mu) * r
			}
		}
		return []output{{name: "y", got: e.download(y, total), want: want, tol: 1e-4}}
	}}
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
