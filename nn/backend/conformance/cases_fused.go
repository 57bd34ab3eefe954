package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// The fused normalisation and modulation kernels of backend.Fused, against
// float64 references written from its contract. A backend without them
// fails these cases: the ones that run the suite (cpu, gpu) have them.

// normPatterns cover group norm, instance norm (Groups = C), one group,
// batch norm across the batch (also with one sample), odd sizes, groups
// shorter and much longer than a GPU workgroup, and a large mean.
func normPatterns() []struct {
	name   string
	p      backend.Norm
	offset float64 // added to the inputs
} {
	type pat = struct {
		name   string
		p      backend.Norm
		offset float64
	}
	return []pat{
		{"group_n2c6s15g3", backend.Norm{N: 2, C: 6, S: 15, Groups: 3, Eps: 1e-5}, 0},
		{"instance_n3c4s5", backend.Norm{N: 3, C: 4, S: 5, Groups: 4, Eps: 1e-5}, 0},
		{"onegroup_n2c5s7", backend.Norm{N: 2, C: 5, S: 7, Groups: 1, Eps: 1e-5}, 0},
		{"batch_n3c4s7", backend.Norm{N: 3, C: 4, S: 7, Groups: 4, AcrossBatch: true, Eps: 1e-5, Momentum: 0.1}, 0},
		{"batch_n1c3s9", backend.Norm{N: 1, C: 3, S: 9, Groups: 3, AcrossBatch: true, Eps: 1e-5, Momentum: 0.3}, 0},
		{"batch_n2c3s561", backend.Norm{N: 2, C: 3, S: 561, Groups: 3, AcrossBatch: true, Eps: 1e-5, Momentum: 0.1}, 0},
		{"group_n1c8s300g2_mean40", backend.Norm{N: 1, C: 8, S: 300, Groups: 2, Eps: 1e-3}, 40},
		{"instance_n2c3s1", backend.Norm{N: 2, C: 3, S: 1, Groups: 3, Eps: 1e-2}, 0},
	}
}

// refNormStats returns the float64 mean and biased variance of every
// statistics group of x.
func refNormStats(x []float64, p backend.Norm) (mean, variance []float64) {
	k := p.Stats()
	mean, variance = make([]float64, k), make([]float64, k)
	cnt := float64(p.Count())
	for i, v := range x {
		mean[normStat(i, p)] += v / cnt
	}
	for i, v := range x {
		s := normStat(i, p)
		variance[s] += (v - mean[s]) * (v - mean[s]) / cnt
	}
	return mean, variance
}

// normStat is the statistics group of value i of x, straight from the
// layout's definition.
func normStat(i int, p backend.Norm) int {
	n, c := i/(p.C*p.S), i/p.S%p.C
	g := c / (p.C / p.Groups)
	if p.AcrossBatch {
		return g
	}
	return n*p.Groups + g
}

func fusedOf(e *env) backend.Fused {
	f, ok := e.b.(backend.Fused)
	if !ok {
		e.fatalf("%s does not implement backend.Fused", e.b.Name())
	}
	return f
}

func fusedCases() []Case {
	var cs []Case
	for _, pt := range normPatterns() {
		p := pt.p
		n, k := p.N*p.C*p.S, p.Stats()
		draw := func(e *env) []float32 {
			x := e.uniform(n, -2, 3)
			for i := range x {
				x[i] += float32(pt.offset)
			}
			return x
		}
		cs = append(cs, Case{Name: "normalize/" + pt.name, run: func(e *env) []output {
			x := draw(e)
			y, mean, variance := e.alloc(n), e.alloc(k), e.alloc(k)
			fusedOf(e).Normalize(y, mean, variance, e.upload(x), p)
			m, v := refNormStats(f64(x), p)
			want, scale := make([]float64, n), make([]float64, n)
			for i, xv := range x {
				s := normStat(i, p)
				r := 1 / math.Sqrt(v[s]+float64(p.Eps))
				want[i] = (float64(xv) - m[s]) * r
				// The subtraction's conditioning: x's own float32 rounding is
				// relative to |x| (and |mean|), not to |x - mean| (the
				// offset-40 pattern: an exact y near 0 from inputs near 40).
				scale[i] = (math.Abs(float64(xv)) + math.Abs(m[s])) * r
			}
			return []output{
				{name: "y", got: e.download(y, n), want: want, scale: scale, tol: 1e-4},
				{name: "mean", got: e.download(mean, k), want: m, scale: plus(abs(m), 1), tol: 1e-5},
				{name: "variance", got: e.download(variance, k), want: v, tol: 1e-4},
			}
		}})
		cs = append(cs, Case{Name: "normalize_with/" + pt.name, run: func(e *env) []output {
			x, m, v := draw(e), e.uniform(k, -1, 1), e.uniform(k, 0.2, 3)
			y := e.alloc(n)
			fusedOf(e).NormalizeWith(y, e.upload(x), e.upload(m), e.upload(v), p)
			want := make([]float64, n)
			for i, xv := range x {
				s := normStat(i, p)
				want[i] = (float64(xv) - float64(m[s])) / math.Sqrt(float64(v[s])+float64(p.Eps))
			}
			return []output{{name: "y", got: e.download(y, n), want: want, tol: 1e-5}}
		}})
		cs = append(cs, Case{Name: "normalize_grad/" + pt.name, run: func(e *env) []output {
			x, dy := draw(e), e.normal(n)
			m, v := refNormStats(f64(x), p)
			m32, v32 := f32s(m), f32s(v)
			dx := e.alloc(n)
			fusedOf(e).NormalizeGrad(dx, e.upload(dy), e.upload(x), e.upload(m32), e.upload(v32), p)
			want, scale := refNormGrad(f64(x), f64(dy), f64(m32), f64(v32), p)
			return []output{{name: "dx", got: e.download(dx, n), want: want, scale: scale, tol: 1e-4}}
		}})
		cs = append(cs, Case{Name: "update_running/" + pt.name, run: func(e *env) []output {
			rm, rv, m, v := e.uniform(k, -1, 1), e.uniform(k, 0.5, 2), e.uniform(k, -1, 1), e.uniform(k, 0, 2)
			rmb, rvb := e.upload(rm), e.upload(rv)
			fusedOf(e).UpdateRunning(rmb, rvb, e.upload(m), e.upload(v), p)
			c := float64(p.Count())
			unbias := c / math.Max(c-1, 1)
			mom := float64(p.Momentum)
			wm, wv := make([]float64, k), make([]float64, k)
			for i := range wm {
				wm[i] = (1-mom)*float64(rm[i]) + mom*float64(m[i])
				wv[i] = (1-mom)*float64(rv[i]) + mom*unbias*float64(v[i])
			}
			return []output{
				{name: "running_mean", got: e.download(rmb, k), want: wm, scale: plus(abs(wm), 1), tol: 1e-6},
				{name: "running_var", got: e.download(rvb, k), want: wv, tol: 1e-6},
			}
		}})
	}
	for _, mp := range modPatterns() {
		p := mp
		n, np := p.N*p.C*p.S, p.ParamLen()
		name := modName(p)
		// biases draws the per-channel biases (zeros without p.Bias, so the
		// references below hold for both).
		biases := func(e *env) (gb, bb []float32, gbuf, bbuf backend.Buffer) {
			if !p.Bias {
				return make([]float32, p.C), make([]float32, p.C), nil, nil
			}
			gb, bb = e.uniform(p.C, -1, 1), e.normal(p.C)
			return gb, bb, e.upload(gb), e.upload(bb)
		}
		cs = append(cs, Case{Name: "modulate/" + name, run: func(e *env) []output {
			x, g, b := e.normal(n), e.uniform(np, -1, 1), e.normal(np)
			gb, bb, gbuf, bbuf := biases(e)
			y := e.alloc(n)
			fusedOf(e).Modulate(y, e.upload(x), e.upload(g), e.upload(b), gbuf, bbuf, p)
			want, scale := make([]float64, n), make([]float64, n)
			for i, xv := range x {
				j, c := modParam(i, p), i/p.S%p.C
				a := float64(g[j]) + float64(gb[c]) + float64(p.Offset)
				sh := float64(b[j]) + float64(bb[c])
				want[i] = float64(xv)*a + sh
				scale[i] = math.Abs(float64(xv))*(math.Abs(float64(g[j]))+math.Abs(float64(gb[c]))+math.Abs(float64(p.Offset))) +
					math.Abs(float64(b[j])) + math.Abs(float64(bb[c]))
			}
			return []output{{name: "y", got: e.download(y, n), want: want, scale: scale, tol: 1e-6}}
		}})
		cs = append(cs, Case{Name: "modulate_grad/" + name, run: func(e *env) []output {
			x, g, dy := e.normal(n), e.uniform(np, -1, 1), e.normal(n)
			gb, _, gbuf, _ := biases(e)
			dx, dg, db := e.alloc(n), e.alloc(np), e.alloc(np)
			fusedOf(e).ModulateGrad(dx, dg, db, e.upload(dy), e.upload(x), e.upload(g), gbuf, p)
			wdx, wdg, wdb := make([]float64, n), make([]float64, np), make([]float64, np)
			sdg, sdb := make([]float64, np), make([]float64, np)
			sdx := make([]float64, n)
			for i := range x {
				j := modParam(i, p)
				gc := float64(gb[i/p.S%p.C])
				wdx[i] = float64(dy[i]) * (float64(g[j]) + gc + float64(p.Offset))
				sdx[i] = math.Abs(float64(dy[i])) * (math.Abs(float64(g[j])) + math.Abs(gc) + math.Abs(float64(p.Offset)))
				wdg[j] += float64(dy[i]) * float64(x[i])
				sdg[j] += math.Abs(float64(dy[i]) * float64(x[i]))
				wdb[j] += float64(dy[i])
				sdb[j] += math.Abs(float64(dy[i]))
			}
			return []output{
				{name: "dx", got: e.download(dx, n), want: wdx, scale: sdx, tol: 1e-6},
				{name: "dgamma", got: e.download(dg, np), want: wdg, scale: sdg, tol: 1e-5},
				{name: "dbeta", got: e.download(db, np), want: wdb, scale: sdb, tol: 1e-5},
			}
		}})
	}
	return cs
}

// refNormGrad is dx of the normalisation with the given statistics, and the
// magnitude of its terms.
func refNormGrad(x, dy, mean, variance []float64, p backend.Norm) (dx, scale []float64) {
	k := p.Stats()
	cnt := float64(p.Count())
	r := make([]float64, k)
	for s := range r {
		r[s] = 1 / math.Sqrt(variance[s]+float64(p.Eps))
	}
	sg, sgx, mag := make([]float64, k), make([]float64, k), make([]float64, k)
	for i := range x {
		s := normStat(i, p)
		xhat := (x[i] - mean[s]) * r[s]
		sg[s] += dy[i]
		sgx[s] += dy[i] * xhat
		mag[s] += math.Abs(dy[i]) * (1 + math.Abs(xhat))
	}
	dx, scale = make([]float64, len(x)), make([]float64, len(x))
	for i := range x {
		s := normStat(i, p)
		xhat := (x[i] - mean[s]) * r[s]
		dx[i] = r[s] * (dy[i] - sg[s]/cnt - xhat*sgx[s]/cnt)
		scale[i] = r[s] * (math.Abs(dy[i]) + mag[s]/cnt*(1+math.Abs(xhat)))
	}
	return dx, scale
}

// modPatterns cover the three layouts, with and without the SPADE offset,
// a batch of one and odd sizes.
func modPatterns() []backend.Modulation {
	return []backend.Modulation{
		{N: 2, C: 3, S: 35, Per: backend.PerElement, Offset: 1},
		{N: 1, C: 5, S: 9, Per: backend.PerElement, Offset: 0},
		{N: 2, C: 3, S: 35, Per: backend.PerElement, Offset: 1, Bias: true},
		{N: 1, C: 4, S: 70, Per: backend.PerElement, Offset: 0, Bias: true},
		{N: 3, C: 4, S: 13, Per: backend.PerSampleChannel, Offset: 1},
		{N: 2, C: 7, S: 300, Per: backend.PerSampleChannel, Offset: 1},
		{N: 2, C: 6, S: 11, Per: backend.PerChannel, Offset: 0},
		{N: 1, C: 3, S: 700, Per: backend.PerChannel, Offset: 1},
	}
}

func modName(p backend.Modulation) string {
	per := [...]string{"element", "sample_channel", "channel"}[p.Per]
	bias := ""
	if p.Bias {
		bias = "_bias"
	}
	return fmt.Sprintf("%s_n%dc%ds%d_off%g%s", per, p.N, p.C, p.S, p.Offset, bias)
}

// modParam is the index into gamma and beta of value i of x.
func modParam(i int, p backend.Modulation) int {
	switch p.Per {
	case backend.PerSampleChannel:
		return i / p.S
	case backend.PerChannel:
		return i / p.S % p.C
	}
	return i
}

func abs(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Abs(v)
	}
	return y
}

func plus(x []float64, c float64) []float64 {
	for i := range x {
		x[i] += c
	}
	return x
}

func f32s(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}
