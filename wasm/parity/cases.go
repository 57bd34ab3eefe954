package parity

import (
	"fmt"

	"catsynth/nn/backend"
)

// Tolerances. Inputs are O(1), so sums of up to a few hundred products stay
// far inside these; they leave room for the GPU's own summation order and
// its transcendental functions (WGSL exp/inverseSqrt are a few ULP).
var (
	tolSum  = Tol{Abs: 1e-4, Rel: 1e-4} // matmul, conv, reductions, composites
	tolElem = Tol{Abs: 1e-5, Rel: 1e-4} // element-wise
)

// Cases returns the default case list: matmul (plain, transposed, batched
// with a broadcast operand), conv2d forward and both backward passes
// (3x3, strided, 1x1, grouped, depthwise), reductions, broadcasting binary
// ops, every unary op, and softmax and group norm composed from those
// primitives as package nn composes them; then the remaining primitives
// (see moreCases). Shapes are small and odd-sized so
// that kernels' tails are exercised and a software adapter finishes in
// seconds.
func Cases() []Case {
	var cs []Case
	cs = append(cs, matmulCases()...)
	cs = append(cs, convCases()...)
	cs = append(cs, reduceCases()...)
	cs = append(cs, binaryCases()...)
	cs = append(cs, unaryCases()...)
	cs = append(cs, softmaxCase(7, 33), groupNormCase(2, 6, 3, 5, 4))
	cs = append(cs, moreCases()...)
	return cs
}

func in(n int) Input { return Input{N: n, Lo: -1, Hi: 1} }

func matmulCases() []Case {
	type mm struct {
		name        string
		batch, m, n int
		k           int
		transA      bool
		transB      bool
		broadcastB  bool
	}
	var cs []Case
	for _, t := range []mm{
		{name: "plain", batch: 1, m: 33, n: 47, k: 29},
		{name: "transA", batch: 1, m: 16, n: 24, k: 40, transA: true},
		{name: "transB", batch: 1, m: 20, n: 12, k: 64, transB: true},
		{name: "transAB", batch: 2, m: 13, n: 11, k: 9, transA: true, transB: true},
		{name: "batched, B broadcast", batch: 3, m: 9, n: 17, k: 13, broadcastB: true},
		{name: "tiles", batch: 1, m: 96, n: 160, k: 128},
	} {
		p := backend.MatMul{Batch: t.batch, M: t.m, N: t.n, K: t.k, TransA: t.transA, TransB: t.transB,
			StrideA: t.m * t.k, StrideB: t.k * t.n, StrideC: t.m * t.n}
		nb := t.batch
		if t.broadcastB {
			p.StrideB, nb = 0, 1
		}
		cs = append(cs, Case{
			Name:   fmt.Sprintf("matmul %s %dx%dx%dx%d", t.name, t.batch, t.m, t.n, t.k),
			Inputs: []Input{in(t.batch * t.m * t.k), in(nb * t.k * t.n)},
			Out:    t.batch * t.m * t.n,
			Tol:    tolSum,
			Flops:  p.Flops(),
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				b.MatMul(out, x[0], x[1], p)
				return nil
			},
		})
	}
	return cs
}

func convCases() []Case {
	var cs []Case
	for _, t := range []struct {
		name string
		p    backend.Conv
	}{
		{"3x3", backend.Conv{N: 2, C: 3, H: 9, W: 11, O: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}},
		{"3x3 s2 odd", backend.Conv{N: 1, C: 4, H: 9, W: 9, O: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1}},
		{"4x4 s2", backend.Conv{N: 1, C: 4, H: 12, W: 12, O: 6, KH: 4, KW: 4, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1}},
		{"1x1", backend.Conv{N: 2, C: 8, H: 5, W: 7, O: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
		{"grouped", backend.Conv{N: 1, C: 4, H: 7, W: 7, O: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 2}},
		{"depthwise", backend.Conv{N: 2, C: 6, H: 8, W: 8, O: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 6}},
	} {
		p := t.p
		nx := p.N * p.C * p.H * p.W
		nw := p.O * (p.C / p.Groups) * p.KH * p.KW
		ny := p.N * p.O * p.OH() * p.OW()
		shape := fmt.Sprintf("x%dx%dx%dx%d w%dx%dx%dx%d g%d", p.N, p.C, p.H, p.W, p.O, p.C/p.Groups, p.KH, p.KW, p.Groups)
		cs = append(cs,
			Case{
				Name: "conv2d " + t.name + " " + shape, Inputs: []Input{in(nx), in(nw)}, Out: ny,
				Tol: tolSum, Flops: p.Flops(),
				Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
					b.Conv2D(out, x[0], x[1], p)
					return nil
				},
			},
			Case{
				Name: "conv2d grad input " + t.name + " " + shape, Inputs: []Input{in(ny), in(nw)}, Out: nx,
				Tol: tolSum, Flops: p.Flops(),
				Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
					b.Conv2DGradInput(out, x[0], x[1], p)
					return nil
				},
			},
			Case{
				Name: "conv2d grad weight " + t.name + " " + shape, Inputs: []Input{in(nx), in(ny)}, Out: nw,
				Tol: tolSum, Flops: p.Flops(),
				Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
					b.Conv2DGradWeight(out, x[0], x[1], p)
					return nil
				},
			})
	}
	return cs
}

func reduceCases() []Case {
	var cs []Case
	for _, t := range []struct {
		op    backend.ReduceOp
		shape []int
		axes  []bool
	}{
		{backend.Sum, []int{6, 37}, []bool{false, true}},
		{backend.Sum, []int{64, 3}, []bool{true, false}},
		{backend.Sum, []int{3, 5, 7}, []bool{true, false, true}},
		{backend.Sum, []int{2, 4, 75}, []bool{false, false, true}},
		{backend.Sum, []int{5, 9}, []bool{true, true}},
		{backend.MaxReduce, []int{4, 50}, []bool{false, true}},
		{backend.MaxReduce, []int{3, 5, 7}, []bool{false, true, false}},
	} {
		p := backend.Reduction{Shape: t.shape, Axes: t.axes}
		n, kept := 1, 1
		for i, d := range t.shape {
			n *= d
			if !t.axes[i] {
				kept *= d
			}
		}
		cs = append(cs, Case{
			Name:   fmt.Sprintf("reduce %s %v over %v", t.op, t.shape, t.axes),
			Inputs: []Input{in(n)}, Out: kept, Tol: tolSum,
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				b.Reduce(t.op, out, x[0], p)
				return nil
			},
		})
	}
	return cs
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

func binaryCases() []Case {
	var cs []Case
	pos := func(n int) Input { return Input{N: n, Lo: 0.5, Hi: 2} }
	for _, t := range []struct {
		op         backend.BinaryOp
		name       string
		shape      []int
		aStr, bStr []int // nil: contiguous
		positiveB  bool
	}{
		{op: backend.Add, name: "same shape", shape: []int{3, 4, 5}},
		{op: backend.Mul, name: "per-channel b", shape: []int{2, 3, 4, 5}, bStr: []int{0, 1, 0, 0}},
		{op: backend.Sub, name: "row b", shape: []int{6, 10}, bStr: []int{1, 0}},
		{op: backend.Div, name: "row b", shape: []int{6, 10}, bStr: []int{1, 0}, positiveB: true},
		{op: backend.Add, name: "outer", shape: []int{7, 9}, aStr: []int{1, 0}, bStr: []int{0, 1}},
		{op: backend.Max, name: "same shape", shape: []int{101}},
		{op: backend.Min, name: "scalar b", shape: []int{4, 25}, bStr: []int{0, 0}},
	} {
		aStr, bStr := t.aStr, t.bStr
		if aStr == nil {
			aStr = contiguous(t.shape)
		}
		if bStr == nil {
			bStr = contiguous(t.shape)
		}
		p := backend.Broadcast{Shape: t.shape, AStrides: aStr, BStrides: bStr}
		bIn := in(span(t.shape, bStr))
		if t.positiveB {
			bIn = pos(bIn.N)
		}
		cs = append(cs, Case{
			Name:   fmt.Sprintf("binary %s %s %v", t.op, t.name, t.shape),
			Inputs: []Input{in(span(t.shape, aStr)), bIn},
			Out:    span(t.shape, contiguous(t.shape)), Tol: tolElem,
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				b.Binary(t.op, out, x[0], x[1], p)
				return nil
			},
		})
	}
	return cs
}

// unaryDomains are the ops with arguments and input ranges inside their
// domains; gradLo, when set, is a tighter lower bound for the gradient
// cases (sqrt's derivative is unbounded at 0).
var unaryDomains = []struct {
	op     backend.UnaryOp
	args   backend.Args
	lo, hi float32
	gradLo float32
}{
	{backend.Affine, backend.Args{Alpha: 2.5, Beta: -0.75}, -2, 2, 0},
	{backend.Relu, backend.Args{}, -2, 2, 0},
	{backend.LeakyRelu, backend.Args{Alpha: 0.2}, -2, 2, 0},
	{backend.Clamp, backend.Args{Alpha: -0.5, Beta: 0.25}, -2, 2, 0},
	{backend.Silu, backend.Args{}, -6, 6, 0},
	{backend.Gelu, backend.Args{}, -4, 4, 0},
	{backend.Tanh, backend.Args{}, -4, 4, 0},
	{backend.Sigmoid, backend.Args{}, -8, 8, 0},
	{backend.Exp, backend.Args{}, -6, 4, 0},
	{backend.Log, backend.Args{}, 0.05, 20, 0},
	{backend.Sqrt, backend.Args{}, 0, 20, 0.05},
	{backend.Rsqrt, backend.Args{}, 0.05, 20, 0},
	{backend.Square, backend.Args{}, -3, 3, 0},
	{backend.Abs, backend.Args{}, -3, 3, 0},
	{backend.Recip, backend.Args{}, 0.25, 4, 0},
	{backend.Pow, backend.Args{Alpha: 1.5}, 0.05, 4, 0},
}

func unaryCases() []Case {
	const n = 1003 // not a multiple of any workgroup size
	var cs []Case
	for _, t := range unaryDomains {
		cs = append(cs, Case{
			Name:   fmt.Sprintf("unary %s [%g, %g)", t.op, t.lo, t.hi),
			Inputs: []Input{{N: n, Lo: t.lo, Hi: t.hi}}, Out: n, Tol: tolElem,
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				b.Unary(t.op, out, x[0], n, t.args)
				return nil
			},
		})
	}
	return cs
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
