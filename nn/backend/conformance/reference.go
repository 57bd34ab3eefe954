package conformance

import (
	"math"

	"catsynth/nn/backend"
)

// The float64 references: plain loops written straight from the contract in
// package backend, independent of any backend's code. The element-wise
// functions come from the op table (backend.UnaryDef.Ref, BinaryDef.Ref),
// written there apart from the CPU kernels.

// refUnary is f(x) of op in float64, from the op table.
func refUnary(op backend.UnaryOp, x float64, a backend.Args) float64 { return op.Def().Ref(x, a) }

// refUnaryFD is f'(x) by central differences of refUnary.
func refUnaryFD(op backend.UnaryOp, x float64, a backend.Args) float64 {
	h := 1e-5 * math.Max(1, math.Abs(x))
	return (refUnary(op, x+h, a) - refUnary(op, x-h, a)) / (2 * h)
}

func refBinary(op backend.BinaryOp, a, b float64) float64 { return op.Def().Ref(a, b) }

// unravel returns the multi-index of linear index i in a row-major shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		idx[k] = i % shape[k]
		i /= shape[k]
	}
	return idx
}

func dot(idx, strides []int) int {
	o := 0
	for k := range idx {
		o += idx[k] * strides[k]
	}
	return o
}

func prod(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// refCopy applies a strided copy to dst (a copy of the destination's prior contents).
func refCopy(dst, src []float64, p backend.Strided) {
	for i := 0; i < prod(p.Shape); i++ {
		idx := unravel(i, p.Shape)
		dst[p.DstOffset+dot(idx, p.DstStrides)] = src[p.SrcOffset+dot(idx, p.SrcStrides)]
	}
}

func refBroadcast(op backend.BinaryOp, a, b []float64, p backend.Broadcast) []float64 {
	out := make([]float64, prod(p.Shape))
	for i := range out {
		idx := unravel(i, p.Shape)
		out[i] = refBinary(op, a[dot(idx, p.AStrides)], b[dot(idx, p.BStrides)])
	}
	return out
}

// refReduce returns the reduction and, for sums, sum |x| per output (the scale).
func refReduce(op backend.ReduceOp, x []float64, p backend.Reduction) (out, scale []float64) {
	var kept []int
	for k, s := range p.Shape {
		if !p.Axes[k] {
			kept = append(kept, s)
		}
	}
	out, scale = make([]float64, prod(kept)), make([]float64, prod(kept))
	if op == backend.MaxReduce {
		for i := range out {
			out[i] = math.Inf(-1)
		}
	}
	for i, v := range x {
		idx := unravel(i, p.Shape)
		o := 0
		for k, s := range p.Shape {
			if !p.Axes[k] {
				o = o*s + idx[k]
			}
		}
		if op == backend.Sum {
			out[o] += v
			scale[o] += math.Abs(v)
		} else {
			out[o] = math.Max(out[o], v)
		}
	}
	if op == backend.MaxReduce {
		return out, nil
	}
	return out, scale
}

// refMatMul returns C for every batch item (Batch*M*N values, packed) and sum
// |a*b| per element.
func refMatMul(a, b []float64, p backend.MatMul) (c, scale []float64) {
	c, scale = make([]float64, p.Batch*p.M*p.N), make([]float64, p.Batch*p.M*p.N)
	for bt := 0; bt < p.Batch; bt++ {
		for i := 0; i < p.M; i++ {
			for j := 0; j < p.N; j++ {
				var s, m float64
				for k := 0; k < p.K; k++ {
					ai := bt*p.StrideA + i*p.K + k
					if p.TransA {
						ai = bt*p.StrideA + k*p.M + i
					}
					bi := bt*p.StrideB + k*p.N + j
					if p.TransB {
						bi = bt*p.StrideB + j*p.K + k
					}
					s += a[ai] * b[bi]
					m += math.Abs(a[ai] * b[bi])
				}
				c[(bt*p.M+i)*p.N+j], scale[(bt*p.M+i)*p.N+j] = s, m
			}
		}
	}
	return c, scale
}

// convTerms calls fn(xi, wi, yi) for every product x[xi]*w[wi] that enters
// y[yi] in a forward convolution; the three references below are all built on it.
func convTerms(p backend.Conv, fn func(xi, wi, yi int)) {
	cg, og := p.C/p.Groups, p.O/p.Groups
	oh, ow := p.OH(), p.OW()
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					yi := ((n*p.O+o)*oh+i)*ow + j
					for c := 0; c < cg; c++ {
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								h, w := i*p.StrideH-p.PadH+kh, j*p.StrideW-p.PadW+kw
								if h < 0 || h >= p.H || w < 0 || w >= p.W {
									continue
								}
								xi := ((n*p.C+g*cg+c)*p.H+h)*p.W + w
								wi := ((o*cg+c)*p.KH+kh)*p.KW + kw
								fn(xi, wi, yi)
							}
						}
					}
				}
			}
		}
	}
}

func convSizes(p backend.Conv) (nx, nw, ny int) {
	return p.N * p.C * p.H * p.W, p.O * (p.C / p.Groups) * p.KH * p.KW, p.N * p.O * p.OH() * p.OW()
}

// refConv returns y and sum |x*w| per output.
func refConv(x, w []float64, p backend.Conv) (y, scale []float64) {
	_, _, ny := convSizes(p)
	y, scale = make([]float64, ny), make([]float64, ny)
	convTerms(p, func(xi, wi, yi int) {
		y[yi] += x[xi] * w[wi]
		scale[yi] += math.Abs(x[xi] * w[wi])
	})
	return y, scale
}

// refConvGradInput returns dx and its scale.
func refConvGradInput(dy, w []float64, p backend.Conv) (dx, scale []float64) {
	nx, _, _ := convSizes(p)
	dx, scale = make([]float64, nx), make([]float64, nx)
	convTerms(p, func(xi, wi, yi int) {
		dx[xi] += dy[yi] * w[wi]
		scale[xi] += math.Abs(dy[yi] * w[wi])
	})
	return dx, scale
}

// refConvGradWeight returns dw and its scale.
func refConvGradWeight(x, dy []float64, p backend.Conv) (dw, scale []float64) {
	_, nw, _ := convSizes(p)
	dw, scale = make([]float64, nw), make([]float64, nw)
	convTerms(p, func(xi, wi, yi int) {
		dw[wi] += x[xi] * dy[yi]
		scale[wi] += math.Abs(x[xi] * dy[yi])
	})
	return dw, scale
}

// resizeTerms calls fn(src, dst) for every output pixel and the input it reads.
func resizeTerms(p backend.Resize, fn func(src, dst int)) {
	for pl := 0; pl < p.Planes; pl++ {
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				h := int(math.Floor(float64(i) * float64(p.H) / float64(p.OH)))
				w := int(math.Floor(float64(j) * float64(p.W) / float64(p.OW)))
				fn((pl*p.H+h)*p.W+w, (pl*p.OH+i)*p.OW+j)
			}
		}
	}
}

func refResize(x []float64, p backend.Resize) []float64 {
	y := make([]float64, p.Planes*p.OH*p.OW)
	resizeTerms(p, func(s, d int) { y[d] = x[s] })
	return y
}

func refResizeGrad(dy []float64, p backend.Resize) (dx, scale []float64) {
	dx, scale = make([]float64, p.Planes*p.H*p.W), make([]float64, p.Planes*p.H*p.W)
	resizeTerms(p, func(s, d int) {
		dx[s] += dy[d]
		scale[s] += math.Abs(dy[d])
	})
	return dx, scale
}

// poolWindow returns the in-bounds input indices of output (pl, i, j)'s window, row-major.
func poolWindow(p backend.Pool, pl, i, j int) []int {
	var idx []int
	for kh := 0; kh < p.K; kh++ {
		for kw := 0; kw < p.K; kw++ {
			h, w := i*p.Stride-p.Pad+kh, j*p.Stride-p.Pad+kw
			if h >= 0 && h < p.H && w >= 0 && w < p.W {
				idx = append(idx, (pl*p.H+h)*p.W+w)
			}
		}
	}
	return idx
}

// refPool returns y and, for each output, the input index its gradient goes
// to (max: the first maximum) or -1 (average), and the scale of y (average:
// the mean of |x| over the window; max: nil, as max is exact).
func refPool(op backend.PoolOp, x []float64, p backend.Pool) (y []float64, arg []int, scale []float64) {
	oh, ow := p.OH(), p.OW()
	y, arg = make([]float64, p.Planes*oh*ow), make([]int, p.Planes*oh*ow)
	if op == backend.AvgPool {
		scale = make([]float64, len(y))
	}
	for pl := 0; pl < p.Planes; pl++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				o := (pl*oh+i)*ow + j
				win := poolWindow(p, pl, i, j)
				if op == backend.AvgPool {
					for _, k := range win {
						y[o] += x[k]
						scale[o] += math.Abs(x[k])
					}
					y[o] /= float64(p.K * p.K)
					scale[o] /= float64(p.K * p.K)
					arg[o] = -1
					continue
				}
				arg[o] = win[0]
				for _, k := range win {
					if x[k] > x[arg[o]] {
						arg[o] = k
					}
				}
				y[o] = x[arg[o]]
			}
		}
	}
	return y, arg, scale
}

func refPoolGrad(op backend.PoolOp, x, dy []float64, p backend.Pool) (dx, scale []float64) {
	_, arg, _ := refPool(op, x, p)
	oh, ow := p.OH(), p.OW()
	dx, scale = make([]float64, len(x)), make([]float64, len(x))
	for pl := 0; pl < p.Planes; pl++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				o := (pl*oh+i)*ow + j
				if op == backend.MaxPool {
					dx[arg[o]] += dy[o]
					scale[arg[o]] += math.Abs(dy[o])
					continue
				}
				for _, k := range poolWindow(p, pl, i, j) {
					dx[k] += dy[o] / float64(p.K*p.K)
					scale[k] += math.Abs(dy[o]) / float64(p.K*p.K)
				}
			}
		}
	}
	return dx, scale
}

func refOneHot(idx []float64, p backend.OneHot) []float64 {
	out := make([]float64, p.N*p.C*p.Inner)
	for n := 0; n < p.N; n++ {
		for i := 0; i < p.Inner; i++ {
			v := idx[n*p.Inner+i]
			if v >= 0 && v < float64(p.C) {
				out[(n*p.C+int(v))*p.Inner+i] = 1
			}
		}
	}
	return out
}

// refAdam applies one Adam step in float64 and returns param, m, v and the
// scales of param (|old param| + LR*(|update| + WeightDecay*|param|)) and of
// m (|Beta1*m| + |(1-Beta1)*g|).
func refAdam(param, grad, m, v []float64, p backend.Adam) (np, nm, nv, pscale, mscale []float64) {
	n := len(param)
	np, nm, nv = make([]float64, n), make([]float64, n), make([]float64, n)
	pscale, mscale = make([]float64, n), make([]float64, n)
	gs := float64(p.GradScale)
	if gs == 0 {
		gs = 1
	}
	b1, b2, lr, wd := float64(p.Beta1), float64(p.Beta2), float64(p.LR), float64(p.WeightDecay)
	for i := range param {
		g := grad[i] * gs
		nm[i] = b1*m[i] + (1-b1)*g
		mscale[i] = math.Abs(b1*m[i]) + math.Abs((1-b1)*g)
		nv[i] = b2*v[i] + (1-b2)*g*g
		upd := (nm[i] / float64(p.BiasCorr1)) / (math.Sqrt(nv[i]/float64(p.BiasCorr2)) + float64(p.Eps))
		np[i] = param[i] - lr*upd - lr*wd*param[i]
		pscale[i] = math.Abs(param[i]) + lr*(math.Abs(upd)+wd*math.Abs(param[i]))
	}
	return
}
