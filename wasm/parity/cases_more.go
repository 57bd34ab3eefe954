package parity

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// moreCases covers the remaining primitives: strided copies, nearest
// resize, pooling, one-hot, Adam and unary gradients, with their backward
// passes where they have one.
func moreCases() []Case {
	var cs []Case
	cs = append(cs, copyCases()...)
	cs = append(cs, resizeCases()...)
	cs = append(cs, poolCases()...)
	cs = append(cs, oneHotCase(2, 5, 37), adamCase(301))
	cs = append(cs, unaryGradCases()...)
	return cs
}

func copyCases() []Case {
	var cs []Case
	for _, t := range []struct {
		name string
		p    backend.Strided
		src  int // source length
		dst  int // destination length
	}{
		{"transpose", backend.Strided{Shape: []int{5, 7}, SrcStrides: []int{1, 5}, DstStrides: []int{7, 1}}, 35, 35},
		{"into a slice", backend.Strided{Shape: []int{3, 4}, SrcStrides: []int{4, 1}, DstStrides: []int{9, 1}, DstOffset: 2}, 12, 27},
		{"permute 4d", backend.Strided{Shape: []int{2, 3, 4, 5}, SrcStrides: []int{60, 1, 15, 3}, DstStrides: []int{60, 20, 5, 1}}, 120, 120},
	} {
		cs = append(cs, Case{
			Name: fmt.Sprintf("copy %s %v", t.name, t.p.Shape), Inputs: []Input{in(t.src)}, Out: t.dst, Tol: Tol{},
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				b.Copy(out, x[0], t.p)
				return nil
			},
		})
	}
	return cs
}

func resizeCases() []Case {
	var cs []Case
	for _, p := range []backend.Resize{
		{Planes: 3, H: 5, W: 7, OH: 10, OW: 14},
		{Planes: 2, H: 9, W: 8, OH: 4, OW: 3},
	} {
		nx, ny := p.Planes*p.H*p.W, p.Planes*p.OH*p.OW
		name := fmt.Sprintf("%dx%dx%d to %dx%d", p.Planes, p.H, p.W, p.OH, p.OW)
		cs = append(cs,
			Case{
				Name: "resize " + name, Inputs: []Input{in(nx)}, Out: ny, Tol: Tol{},
				Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
					b.Resize(out, x[0], p)
					return nil
				},
			},
			Case{
				Name: "resize grad " + name, Inputs: []Input{in(ny)}, Out: nx, Tol: tolSum,
				Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
					b.ResizeGrad(out, x[0], p)
					return nil
				},
			})
	}
	return cs
}

func poolCases() []Case {
	var cs []Case
	for _, op := range []backend.PoolOp{backend.AvgPool, backend.MaxPool} {
		name := map[backend.PoolOp]string{backend.AvgPool: "avg", backend.MaxPool: "max"}[op]
		for _, p := range []backend.Pool{
			{Planes: 3, H: 9, W: 9, K: 3, Stride: 2, Pad: 1},
			{Planes: 2, H: 8, W: 6, K: 2, Stride: 2},
		} {
			nx, ny := p.Planes*p.H*p.W, p.Planes*p.OH()*p.OW()
			shape := fmt.Sprintf("%dx%dx%d k%d s%d p%d", p.Planes, p.H, p.W, p.K, p.Stride, p.Pad)
			cs = append(cs,
				Case{
					Name: "pool " + name + " " + shape, Inputs: []Input{in(nx)}, Out: ny, Tol: tolSum,
					Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
						b.Pool2D(op, out, x[0], p)
						return nil
					},
				},
				Case{
					Name: "pool grad " + name + " " + shape, Inputs: []Input{in(nx), in(ny)}, Out: nx, Tol: tolSum,
					Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
						t, free, err := temps(b, ny)
						if err != nil {
							return err
						}
						defer free()
						b.Pool2D(op, t[0], x[0], p)
						b.Pool2DGrad(op, out, x[0], t[0], x[1], p)
						return nil
					},
				})
		}
	}
	return cs
}

// oneHotCase expands class maps whose indices run from -1 to c, so both
// ends hold out-of-range (ignored) pixels.
func oneHotCase(n, c, inner int) Case {
	p := backend.OneHot{N: n, C: c, Inner: inner}
	return Case{
		Name:   fmt.Sprintf("one-hot n%d c%d inner%d", n, c, inner),
		Inputs: []Input{{N: n * inner, Lo: -1, Hi: float32(c + 1), Int: true}}, Out: n * c * inner, Tol: Tol{},
		Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
			b.OneHot(out, x[0], p)
			return nil
		},
	}
}

// adamCase runs two AdamW steps on a copy of the parameters; the output is
// the updated parameters.
func adamCase(n int) Case {
	step := func(t float64) backend.Adam {
		const b1, b2 = 0.9, 0.999
		return backend.Adam{LR: 1e-2, Beta1: b1, Beta2: b2, Eps: 1e-8, WeightDecay: 0.01,
			BiasCorr1: float32(1 - math.Pow(b1, t)), BiasCorr2: float32(1 - math.Pow(b2, t)), GradScale: 0.5}
	}
	return Case{
		Name: fmt.Sprintf("adamw 2 steps n%d", n),
		// param, grad, m (any sign), v (non-negative)
		Inputs: []Input{in(n), in(n), in(n), {N: n, Lo: 0, Hi: 1}}, Out: n, Tol: tolElem,
		Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
			b.Copy(out, x[0], backend.Strided{Shape: []int{n}, SrcStrides: []int{1}, DstStrides: []int{1}})
			b.Adam(out, x[1], x[2], x[3], n, step(1))
			b.Adam(out, x[1], x[2], x[3], n, step(2))
			return nil
		},
	}
}

// unaryGradCases check dx = dy * f'(x) for every unary op; y = f(x) is
// computed by the backend itself, as the autograd tape would keep it.
func unaryGradCases() []Case {
	const n = 517
	var cs []Case
	for _, t := range unaryDomains {
		if t.gradLo != 0 {
			t.lo = t.gradLo
		}
		cs = append(cs, Case{
			Name:   fmt.Sprintf("unary grad %s [%g, %g)", t.op, t.lo, t.hi),
			Inputs: []Input{{N: n, Lo: t.lo, Hi: t.hi}, in(n)}, Out: n, Tol: tolElem,
			Run: func(b backend.Backend, out backend.Buffer, x []backend.Buffer) error {
				y, free, err := temps(b, n)
				if err != nil {
					return err
				}
				defer free()
				b.Unary(t.op, y[0], x[0], n, t.args)
				b.UnaryGrad(t.op, out, x[0], y[0], x[1], n, t.args)
				return nil
			},
		})
	}
	return cs
}
