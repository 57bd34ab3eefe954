package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// resizePatterns go up, down, by non-integer ratios and to the same size.
func resizePatterns() []backend.Resize {
	return []backend.Resize{
		{Planes: 3, H: 4, W: 4, OH: 8, OW: 8},
		{Planes: 3, H: 8, W: 8, OH: 4, OW: 4},
		{Planes: 2, H: 5, W: 7, OH: 7, OW: 5},
		{Planes: 2, H: 3, W: 3, OH: 8, OW: 8},
		{Planes: 2, H: 7, W: 7, OH: 3, OW: 3},
		{Planes: 1, H: 6, W: 6, OH: 6, OW: 6},
		{Planes: 4, H: 1, W: 1, OH: 3, OW: 2},
		{Planes: 1, H: 10, W: 3, OH: 4, OW: 9},
	}
}

func resizeName(p backend.Resize) string {
	return fmt.Sprintf("%dx%d_to_%dx%d", p.H, p.W, p.OH, p.OW)
}

// poolPatterns are the pooling configurations (padding at most K/2).
func poolPatterns() []backend.Pool {
	return []backend.Pool{
		{Planes: 3, H: 6, W: 6, K: 2, Stride: 2},
		{Planes: 2, H: 7, W: 7, K: 2, Stride: 2},
		{Planes: 2, H: 5, W: 6, K: 3, Stride: 1, Pad: 1},
		{Planes: 2, H: 7, W: 8, K: 3, Stride: 2, Pad: 1},
		{Planes: 1, H: 9, W: 9, K: 4, Stride: 4, Pad: 2},
		{Planes: 2, H: 4, W: 3, K: 1, Stride: 1},
	}
}

func poolName(op backend.PoolOp, p backend.Pool) string {
	kind := "avg"
	if op == backend.MaxPool {
		kind = "max"
	}
	return fmt.Sprintf("%s_%dx%d_k%d_s%d_p%d", kind, p.H, p.W, p.K, p.Stride, p.Pad)
}

// poolInput draws x; ties makes values whole numbers in [0, 3) so that windows
// hold repeated maxima and the first-maximum rule is exercised.
func (e *env) poolInput(n int, ties bool) []float32 {
	if !ties {
		return e.normal(n)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(e.rng.Intn(3))
	}
	return x
}

func imageCases() []Case {
	var cs []Case
	for _, p := range resizePatterns() {
		in, out := p.Planes*p.H*p.W, p.Planes*p.OH*p.OW
		cs = append(cs,
			Case{Name: "resize/" + resizeName(p), run: func(e *env) []output {
				x := e.normal(in)
				dst := e.alloc(out)
				e.b.Resize(dst, e.upload(x), p)
				return []output{{name: "dst", got: e.download(dst, out), want: refResize(f64(x), p)}}
			}},
			Case{Name: "resize_grad/" + resizeName(p), run: func(e *env) []output {
				dy := e.normal(out)
				dx := e.alloc(in)
				e.b.ResizeGrad(dx, e.upload(dy), p)
				want, scale := refResizeGrad(f64(dy), p)
				return []output{{name: "dx", got: e.download(dx, in), want: want, scale: scale, tol: 1e-6}}
			}})
	}
	for _, op := range []backend.PoolOp{backend.AvgPool, backend.MaxPool} {
		tol := 1e-6
		if op == backend.MaxPool {
			tol = 0
		}
		for _, p := range poolPatterns() {
			for _, ties := range []bool{false, true} {
				if ties && op == backend.AvgPool {
					continue
				}
				name := poolName(op, p)
				if ties {
					name += "_ties"
				}
				in, out := p.Planes*p.H*p.W, p.Planes*p.OH()*p.OW()
				cs = append(cs,
					Case{Name: "pool2d/" + name, run: func(e *env) []output {
						x := e.poolInput(in, ties)
						dst := e.alloc(out)
						e.b.Pool2D(op, dst, e.upload(x), p)
						want, _, scale := refPool(op, f64(x), p)
						return []output{{name: "dst", got: e.download(dst, out), want: want, scale: scale, tol: tol}}
					}},
					Case{Name: "pool2d_grad/" + name, run: func(e *env) []output {
						x := e.poolInput(in, ties)
						dy := e.normal(out)
						yref, _, _ := refPool(op, f64(x), p)
						y := make([]float32, out)
						for i, v := range yref {
							y[i] = float32(v)
						}
						dx := e.alloc(in)
						e.b.Pool2DGrad(op, dx, e.upload(x), e.upload(y), e.upload(dy), p)
						want, scale := refPoolGrad(op, f64(x), f64(dy), p)
						return []output{{name: "dx", got: e.download(dx, in), want: want, scale: scale, tol: 1e-6}}
					}})
			}
		}
	}
	for _, p := range []backend.OneHot{{N: 2, C: 5, Inner: 37}, {N: 1, C: 1, Inner: 4}, {N: 3, C: 12, Inner: 65}} {
		cs = append(cs, Case{Name: fmt.Sprintf("onehot/n%d_c%d_inner%d", p.N, p.C, p.Inner), run: func(e *env) []output {
			idx := make([]float32, p.N*p.Inner)
			for i := range idx {
				switch r := e.rng.Intn(p.C + 2); {
				case r == p.C:
					idx[i] = 255 // the ignore index of the label maps
				case r == p.C+1:
					idx[i] = -1
				default:
					idx[i] = float32(r)
				}
			}
			n := p.N * p.C * p.Inner
			dst := e.alloc(n)
			e.b.OneHot(dst, e.upload(idx), p)
			return []output{{name: "dst", got: e.download(dst, n), want: refOneHot(f64(idx), p)}}
		}})
	}
	return cs
}

func adamCases() []Case {
	steps := []struct {
		name string
		p    backend.Adam
		t    int
	}{
		{"plain", backend.Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, 3},
		{"adamw_gradscale", backend.Adam{LR: 2e-4, Beta1: 0.5, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01,
			GradScale: 0.25}, 1},
		{"zero_beta1", backend.Adam{LR: 1e-2, Beta1: 0, Beta2: 0.9, Eps: 1e-8, WeightDecay: 0.1}, 10},
	}
	var cs []Case
	for _, s := range steps {
		p := s.p
		p.BiasCorr1 = float32(1 - math.Pow(float64(p.Beta1), float64(s.t)))
		p.BiasCorr2 = float32(1 - math.Pow(float64(p.Beta2), float64(s.t)))
		cs = append(cs, Case{Name: "adam/" + s.name, run: func(e *env) []output {
			const n = 1013
			param, grad := e.normal(n), e.normal(n)
			m := e.uniform(n, -0.1, 0.1)
			v := e.uniform(n, 0, 0.05)
			pb, gb, mb, vb := e.upload(param), e.upload(grad), e.upload(m), e.upload(v)
			e.b.Adam(pb, gb, mb, vb, n, p)
			wp, wm, wv, ps, ms := refAdam(f64(param), f64(grad), f64(m), f64(v), p)
			return []output{
				{name: "param", got: e.download(pb, n), want: wp, scale: ps, tol: 1e-5},
				{name: "m", got: e.download(mb, n), want: wm, scale: ms, tol: 1e-5},
				{name: "v", got: e.download(vb, n), want: wv, tol: 1e-5},
			}
		}})
	}
	return cs
}
