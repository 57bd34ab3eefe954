package cpu

import (
	"math"

	"catsynth/nn/backend"
)

var _ backend.Fused = (*Backend)(nil)

// normGroups runs fn for every statistics group k of p, in parallel over
// groups. seg(i) is the i-th run [lo, hi) of the group's values in x (and in
// every buffer laid out as x); hi is -1 past the last run.
func normGroups(p backend.Norm, fn func(k int, seg func(i int) (lo, hi int))) {
	segs, segLen, stride := p.Segments()
	parallelFor(p.Stats(), max(1, elemGrain/max(p.Count(), 1)), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			base := p.Base(k)
			fn(k, func(i int) (int, int) {
				if i >= segs {
					return 0, -1
				}
				o := base + i*stride
				return o, o + segLen
			})
		}
	})
}

// groupStats returns the mean and biased variance of one group in float64,
// two passes (the second over deviations, which keeps the variance exact to
// rounding even when the mean is large against the spread).
func groupStats(xs []float32, seg func(i int) (int, int), count int) (mean, variance float64) {
	if count == 0 {
		return 0, 0
	}
	var s float64
	for i := 0; ; i++ {
		lo, hi := seg(i)
		if hi < 0 {
			break
		}
		for _, v := range xs[lo:hi] {
			s += float64(v)
		}
	}
	mean = s / float64(count)
	var ss float64
	for i := 0; ; i++ {
		lo, hi := seg(i)
		if hi < 0 {
			break
		}
		for _, v := range xs[lo:hi] {
			d := float64(v) - mean
			ss += d * d
		}
	}
	return mean, ss / float64(count)
}

// normLen checks p and returns the length of x.
func normLen(op string, p backend.Norm) int {
	p.Check("cpu: " + op)
	return p.N * p.C * p.S
}

// Normalize implements backend.Fused.
func (be *Backend) Normalize(y, mean, variance, x backend.Buffer, p backend.Norm) {
	n := normLen("Normalize", p)
	xs, ys := need(x, n, "Normalize x"), need(y, n, "Normalize y")
	ms, vs := need(mean, p.Stats(), "Normalize mean"), need(variance, p.Stats(), "Normalize variance")
	count := p.Count()
	normGroups(p, func(k int, seg func(int) (int, int)) {
		mu, v := groupStats(xs, seg, count)
		ms[k], vs[k] = float32(mu), float32(v)
		m, r := float32(mu), float32(1/math.Sqrt(v+float64(p.Eps)))
		normalizeSegments(ys, xs, seg, m, r)
	})
}

// normalizeSegments writes y = (x - m) * r over the segments of one
// statistics group.
func normalizeSegments(ys, xs []float32, seg func(int) (int, int), m, r float32) {
	for i := 0; ; i++ {
		lo, hi := seg(i)
		if hi < 0 {
			return
		}
		yo, xo := ys[lo:hi], xs[lo:hi]
		for j, v := range xo {
			yo[j] = (v - m) * r
		}
	}
}

// NormalizeWith implements backend.Fused.
func (be *Backend) NormalizeWith(y, x, mean, variance backend.Buffer, p backend.Norm) {
	n := normLen("NormalizeWith", p)
	xs, ys := need(x, n, "NormalizeWith x"), need(y, n, "NormalizeWith y")
	ms, vs := need(mean, p.Stats(), "NormalizeWith mean"), need(variance, p.Stats(), "NormalizeWith variance")
	normGroups(p, func(k int, seg func(int) (int, int)) {
		m, r := ms[k], float32(1/math.Sqrt(float64(vs[k])+float64(p.Eps)))
		normalizeSegments(ys, xs, seg, m, r)
	})
}

// NormalizeGrad implements backend.Fused; the two group sums accumulate in
// float64.
func (be *Backend) NormalizeGrad(dx, dy, x, mean, variance backend.Buffer, p backend.Norm) {
	n := normLen("NormalizeGrad", p)
	xs, gs, ds := need(x, n, "NormalizeGrad x"), need(dy, n, "NormalizeGrad dy"), need(dx, n, "NormalizeGrad dx")
	ms, vs := need(mean, p.Stats(), "NormalizeGrad mean"), need(variance, p.Stats(), "NormalizeGrad variance")
	count := float64(max(p.Count(), 1))
	normGroups(p, func(k int, seg func(int) (int, int)) {
		m, r := float64(ms[k]), 1/math.Sqrt(float64(vs[k])+float64(p.Eps))
		var sg, sgx float64
		for i := 0; ; i++ {
			lo, hi := seg(i)
			if hi < 0 {
				break
			}
			for j, g := range gs[lo:hi] {
				sg += float64(g)
				sgx += float64(g) * (float64(xs[lo+j]) - m) * r
			}
		}
		mg, mgx := float32(sg/count), float32(sgx/count)
		m32, r32 := float32(m), float32(r)
		for i := 0; ; i++ {
			lo, hi := seg(i)
			if hi < 0 {
				break
			}
			do, xo := ds[lo:hi], xs[lo:hi]
			for j, g := range gs[lo:hi] {
				xhat := (xo[j] - m32) * r32
				do[j] = r32 * (g - mg - xhat*mgx)
			}
		}
	})
}

// UpdateRunning implements backend.Fused.
func (be *Backend) UpdateRunning(runMean, runVar, mean, variance backend.Buffer, p backend.Norm) {
	p.Check("cpu: UpdateRunning")
	k := p.Stats()
	rm, rv := need(runMean, k, "UpdateRunning runMean"), need(runVar, k, "UpdateRunning runVar")
	ms, vs := need(mean, k, "UpdateRunning mean"), need(variance, k, "UpdateRunning variance")
	c := p.Count()
	unbias := float32(c) / float32(max(c-1, 1))
	m := p.Momentum
	for i := 0; i < k; i++ {
		rm[i] = (1-m)*rm[i] + m*ms[i]
		rv[i] = (1-m)*rv[i] + m*unbias*vs[i]
	}
}

// modRows runs fn over the (n, c) rows of x (length S) in parallel, with
// the index of the row's gamma value (per-element layouts get the row's
// first element's index).
func modRows(p backend.Modulation, fn func(row, pi int)) {
	rows := p.N * p.C
	parallelFor(rows, max(1, elemGrain/max(p.S, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			pi := r * p.S
			switch p.Per {
			case backend.PerSampleChannel:
				pi = r
			case backend.PerChannel:
				pi = r % p.C
			}
			fn(r, pi)
		}
	})
}

// modLens checks p and returns the lengths of x and of gamma.
func modLens(op string, p backend.Modulation) (int, int) {
	p.Check("cpu: " + op)
	return p.N * p.C * p.S, p.ParamLen()
}

// Modulate implements backend.Fused.
func (be *Backend) Modulate(y, x, gamma, beta, gbias, bbias backend.Buffer, p backend.Modulation) {
	n, np := modLens("Modulate", p)
	xs, ys := need(x, n, "Modulate x"), need(y, n, "Modulate y")
	gs, bs := need(gamma, np, "Modulate gamma"), need(beta, np, "Modulate beta")
	gb, bb := modBiases(p, gbias, bbias)
	off, s := p.Offset, p.S
	modRows(p, func(r, pi int) {
		xo, yo := xs[r*s:(r+1)*s], ys[r*s:(r+1)*s]
		if p.Per == backend.PerElement {
			g, b := gs[pi:pi+s], bs[pi:pi+s]
			ga, ba := off, float32(0)
			if gb != nil {
				ga, ba = off+gb[r%p.C], bb[r%p.C]
			}
			for j, v := range xo {
				yo[j] = v*(g[j]+ga) + (b[j] + ba)
			}
			return
		}
		a, b := gs[pi]+off, bs[pi]
		for j, v := range xo {
			yo[j] = v*a + b
		}
	})
}

// modBiases returns the per-channel biases under p.Bias, else nil.
func modBiases(p backend.Modulation, gbias, bbias backend.Buffer) (gb, bb []float32) {
	if !p.Bias {
		return nil, nil
	}
	return need(gbias, p.C, "Modulate gamma bias"), need(bbias, p.C, "Modulate beta bias")
}

// ModulateGrad implements backend.Fused; sums over broadcast axes
// accumulate in float64.
func (be *Backend) ModulateGrad(dx, dgamma, dbeta, dy, x, gamma, gbias backend.Buffer, p backend.Modulation) {
	n, np := modLens("ModulateGrad", p)
	gb, _ := modBiases(p, gbias, gbias)
	xs, gs, ds := need(x, n, "ModulateGrad x"), need(dy, n, "ModulateGrad dy"), need(dx, n, "ModulateGrad dx")
	gam := need(gamma, np, "ModulateGrad gamma")
	dg, db := need(dgamma, np, "ModulateGrad dgamma"), need(dbeta, np, "ModulateGrad dbeta")
	off, s := p.Offset, p.S
	rowSums := func(r int, a float32) (sgx, sg float64) {
		xo, go_, do := xs[r*s:(r+1)*s], gs[r*s:(r+1)*s], ds[r*s:(r+1)*s]
		for j, g := range go_ {
			do[j] = g * a
			sgx += float64(g) * float64(xo[j])
			sg += float64(g)
		}
		return sgx, sg
	}
	switch p.Per {
	case backend.PerElement:
		parallelFor(n, elemGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				g, a := gs[i], off
				if gb != nil {
					a = off + gb[i/s%p.C]
				}
				ds[i] = g * (gam[i] + a)
				dg[i] = g * xs[i]
				db[i] = g
			}
		})
	case backend.PerSampleChannel:
		modRows(p, func(r, pi int) {
			sgx, sg := rowSums(r, gam[pi]+off)
			dg[pi], db[pi] = float32(sgx), float32(sg)
		})
	case backend.PerChannel:
		parallelFor(p.C, max(1, elemGrain/max(p.N*s, 1)), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				var tgx, tg float64
				for b := 0; b < p.N; b++ {
					sgx, sg := rowSums(b*p.C+c, gam[c]+off)
					tgx, tg = tgx+sgx, tg+sg
				}
				dg[c], db[c] = float32(tgx), float32(tg)
			}
		})
	}
}
