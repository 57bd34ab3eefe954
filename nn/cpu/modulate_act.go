package cpu

import (
	"math"

	"catsynth/nn/backend"
)

var _ backend.ActivatedModulation = (*Backend)(nil)

// ModulateAct implements backend.ActivatedModulation: per (n, c) row, the
// normalisation's mean and rsqrt, then per value the modulation and the
// activation, in float32 in the order of the composed ops (NormalizeWith,
// Modulate, the activation). Under a.Joint the row's gamma and beta are
// read from their halves of the one buffer; the arithmetic is the same.
func (be *Backend) ModulateAct(y, x, mean, variance, gamma, beta, gbias, bbias backend.Buffer, p backend.Modulation, a backend.ModAct) {
	a.Check("cpu: ModulateAct", p, false)
	n := p.N * p.C * p.S
	xs, ys := need(x, n, "ModulateAct x"), need(y, n, "ModulateAct y")
	var gs, bs []float32
	if a.Joint {
		gs = need(gamma, 2*n, "ModulateAct joint gamma and beta")
		bs = gs
	} else {
		gs, bs = need(gamma, n, "ModulateAct gamma"), need(beta, n, "ModulateAct beta")
	}
	gb, bb := modBiases(p, gbias, bbias)
	var ms, vs []float32
	if a.Norm {
		ms, vs = need(mean, p.C, "ModulateAct mean"), need(variance, p.C, "ModulateAct variance")
	}
	e, s := a.Epilogue(), p.S
	modRows(p, func(r, _ int) {
		c := r % p.C
		lo, hi := r*s, (r+1)*s
		gl, bl := lo, lo
		if a.Joint {
			gl, bl = p.JointRow(r)
		}
		xo, yo, g, b := xs[lo:hi], ys[lo:hi], gs[gl:gl+s], bs[bl:bl+s]
		ga, ba := p.Offset, float32(0)
		if gb != nil {
			ga, ba = p.Offset+gb[c], bb[c]
		}
		if a.Norm {
			m, rs := ms[c], float32(1/math.Sqrt(float64(vs[c])+float64(a.Eps)))
			for j, v := range xo {
				v = (v - m) * rs
				yo[j] = v*(g[j]+ga) + (b[j] + ba)
			}
		} else {
			for j, v := range xo {
				yo[j] = v*(g[j]+ga) + (b[j] + ba)
			}
		}
		actRow(yo, e)
	})
}

// actRow applies e's activation in place on one row (still in cache), with
// the switch outside the loops; the values are Epilogue.Apply's.
func actRow(y []float32, e backend.Epilogue) {
	switch e.Act {
	case backend.ActNone:
	case backend.ActLeakyReLU:
		for j, v := range y {
			if v < 0 {
				y[j] = e.Slope * v
			}
		}
	case backend.ActReLU:
		for j, v := range y {
			y[j] = max(v, 0)
		}
	default:
		for j, v := range y {
			y[j] = e.Apply(v, 0, 0)
		}
	}
}

// ModulateActGrad implements backend.ActivatedModulation (element-wise).
func (be *Backend) ModulateActGrad(dx, dgamma, dbeta, dy, y, x, gamma, gbias backend.Buffer, p backend.Modulation, a backend.ModAct) {
	a.Check("cpu: ModulateActGrad", p, true)
	n := p.N * p.C * p.S
	xs, ys, gs := need(x, n, "ModulateActGrad x"), need(y, n, "ModulateActGrad y"), need(dy, n, "ModulateActGrad dy")
	gam := need(gamma, n, "ModulateActGrad gamma")
	ds, dg, db := need(dx, n, "ModulateActGrad dx"), need(dgamma, n, "ModulateActGrad dgamma"), need(dbeta, n, "ModulateActGrad dbeta")
	gb, _ := modBiases(p, gbias, gbias)
	e, s := a.Epilogue(), p.S
	parallelFor(n, elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := gs[i] * e.Derivative(ys[i])
			ga := p.Offset
			if gb != nil {
				ga += gb[i/s%p.C]
			}
			ds[i] = g * (gam[i] + ga)
			dg[i] = g * xs[i]
			db[i] = g
		}
	})
}
