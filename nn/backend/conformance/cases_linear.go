package conformance

import (
	"fmt"

	"catsynth/nn/backend"
)

// contractionTol is the tolerance of matmul and convolution outputs, relative
// to sum |a*b| over the terms: float32 accumulation in any order over the
// small reductions used here stays well inside it.
const contractionTol = 2e-5

// matmulPattern is a batched product; extra pads the batch strides.
type matmulPattern struct {
	batch, m, n, k   int
	transA, transB   bool
	bcastA, bcastB   bool // stride 0
	padA, padB, padC int  // added to the packed batch strides
}

func (m matmulPattern) params() backend.MatMul {
	p := backend.MatMul{Batch: m.batch, M: m.m, N: m.n, K: m.k, TransA: m.transA, TransB: m.transB,
		StrideA: m.m*m.k + m.padA, StrideB: m.k*m.n + m.padB, StrideC: m.m*m.n + m.padC}
	if m.bcastA {
		p.StrideA = 0
	}
	if m.bcastB {
		p.StrideB = 0
	}
	return p
}

func (m matmulPattern) name() string {
	s := fmt.Sprintf("b%d_%dx%dx%d", m.batch, m.m, m.n, m.k)
	if m.transA {
		s += "_tA"
	}
	if m.transB {
		s += "_tB"
	}
	if m.bcastA {
		s += "_bcastA"
	}
	if m.bcastB {
		s += "_bcastB"
	}
	if m.padA+m.padB+m.padC > 0 {
		s += "_padded"
	}
	return s
}

func matmulPatterns() []matmulPattern {
	var ps []matmulPattern
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {33, 65, 17}, {70, 20, 129}} {
			ps = append(ps, matmulPattern{batch: 1, m: s[0], n: s[1], k: s[2], transA: tr[0], transB: tr[1]})
		}
	}
	return append(ps,
		matmulPattern{batch: 3, m: 5, n: 7, k: 9},
		matmulPattern{batch: 3, m: 5, n: 7, k: 9, bcastA: true},
		matmulPattern{batch: 4, m: 6, n: 3, k: 11, transB: true, bcastB: true},
		matmulPattern{batch: 2, m: 9, n: 17, k: 5, transA: true, padA: 3, padB: 1, padC: 4},
		matmulPattern{batch: 2, m: 4, n: 4, k: 0},
	)
}

func matmulCases() []Case {
	var cs []Case
	for _, m := range matmulPatterns() {
		cs = append(cs, Case{Name: "matmul/" + m.name(), run: func(e *env) []output {
			p := m.params()
			a := e.normal(max(1, (p.Batch-1)*p.StrideA+p.M*p.K))
			b := e.normal(max(1, (p.Batch-1)*p.StrideB+p.K*p.N))
			nc := (p.Batch-1)*p.StrideC + p.M*p.N
			c := e.alloc(nc)
			e.b.MatMul(c, e.upload(a), e.upload(b), p)
			want, scale := refMatMul(f64(a), f64(b), p)
			all := e.download(c, nc)
			got := make([]float32, 0, len(want))
			for bt := 0; bt < p.Batch; bt++ {
				got = append(got, all[bt*p.StrideC:bt*p.StrideC+p.M*p.N]...)
			}
			return []output{{name: "C", got: got, want: want, scale: scale, tol: contractionTol}}
		}})
	}
	return cs
}

// convPatterns are the convolution configurations of the suite: every kernel
// shape the models use (1x1, 3x3, 5x5, 7x7, 7x1, 1x7, 4x4 down-sampling),
// strides, paddings, groups and depthwise, on odd sizes.
func convPatterns() []struct {
	name string
	p    backend.Conv
} {
	c := func(n, ch, h, w, o, kh, kw, sh, sw, ph, pw, g int) backend.Conv {
		return backend.Conv{N: n, C: ch, H: h, W: w, O: o, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
			PadH: ph, PadW: pw, Groups: g}
	}
	return []struct {
		name string
		p    backend.Conv
	}{
		{"1x1", c(2, 3, 5, 4, 4, 1, 1, 1, 1, 0, 0, 1)},
		{"1x1_stride2", c(1, 3, 7, 6, 2, 1, 1, 2, 2, 0, 0, 1)},
		{"3x3_pad1", c(2, 3, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1)},
		{"3x3_nopad", c(1, 2, 6, 9, 3, 3, 3, 1, 1, 0, 0, 1)},
		{"3x3_stride2_pad1", c(1, 4, 9, 8, 3, 3, 3, 2, 2, 1, 1, 1)},
		{"4x4_stride2_pad1", c(1, 3, 8, 10, 4, 4, 4, 2, 2, 1, 1, 1)},
		{"5x5_pad2", c(1, 2, 8, 7, 3, 5, 5, 1, 1, 2, 2, 1)},
		{"7x7_pad3", c(1, 2, 9, 8, 2, 7, 7, 1, 1, 3, 3, 1)},
		{"7x1_pad3x0", c(1, 3, 9, 5, 2, 7, 1, 1, 1, 3, 0, 1)},
		{"1x7_pad0x3", c(1, 3, 5, 9, 2, 1, 7, 1, 1, 0, 3, 1)},
		{"3x3_stride2x1", c(1, 2, 7, 7, 3, 3, 3, 2, 1, 1, 1, 1)},
		{"groups2_3x3", c(2, 4, 6, 5, 6, 3, 3, 1, 1, 1, 1, 2)},
		{"groups3_1x1", c(1, 6, 4, 5, 3, 1, 1, 1, 1, 0, 0, 3)},
		{"depthwise_3x3", c(2, 5, 6, 7, 5, 3, 3, 1, 1, 1, 1, 5)},
		{"depthwise_3x3_stride2", c(1, 4, 9, 8, 4, 3, 3, 2, 2, 1, 1, 4)},
		{"depthwise_7x7", c(1, 3, 9, 10, 3, 7, 7, 1, 1, 3, 3, 3)},
		{"depthwise_multiplier2", c(1, 3, 5, 6, 6, 3, 3, 1, 1, 1, 1, 3)},
		{"wide_channels", c(1, 24, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1)},
	}
}

func convCases() []Case {
	var cs []Case
	for _, pc := range convPatterns() {
		p := pc.p
		nx, nw, ny := convSizes(p)
		cs = append(cs,
			Case{Name: "conv2d/" + pc.name, run: func(e *env) []output {
				x, w := e.normal(nx), e.normal(nw)
				y := e.alloc(ny)
				e.b.Conv2D(y, e.upload(x), e.upload(w), p)
				want, scale := refConv(f64(x), f64(w), p)
				return []output{{name: "y", got: e.download(y, ny), want: want, scale: scale, tol: contractionTol}}
			}},
			Case{Name: "conv2d_grad_input/" + pc.name, run: func(e *env) []output {
				dy, w := e.normal(ny), e.normal(nw)
				dx := e.alloc(nx)
				e.b.Conv2DGradInput(dx, e.upload(dy), e.upload(w), p)
				want, scale := refConvGradInput(f64(dy), f64(w), p)
				return []output{{name: "dx", got: e.download(dx, nx), want: want, scale: scale, tol: contractionTol}}
			}},
			Case{Name: "conv2d_grad_weight/" + pc.name, run: func(e *env) []output {
				x, dy := e.normal(nx), e.normal(ny)
				dw := e.alloc(nw)
				e.b.Conv2DGradWeight(dw, e.upload(x), e.upload(dy), p)
				want, scale := refConvGradWeight(f64(x), f64(dy), p)
				return []output{{name: "dw", got: e.download(dw, nw), want: want, scale: scale, tol: contractionTol}}
			}},
		)
	}
	return cs
}
