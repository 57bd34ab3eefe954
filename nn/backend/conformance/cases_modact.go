package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// The activated modulation of backend.ActivatedModulation against float64
// references written from its contract: the optional eval-mode
// normalisation, the modulation and the activation (refActivation).

// modActVariants pair per-element modulations with what ModulateAct adds:
// SPADE's eval path (normalisation, biases, leaky ReLU), its training path
// (biases, leaky ReLU), each other activation, no biases, offset 0, a batch
// of one and sizes that are not a multiple of a workgroup.
var modActVariants = []struct {
	p backend.Modulation
	a backend.ModAct
}{
	{backend.Modulation{N: 2, C: 3, S: 35, Offset: 1, Bias: true}, backend.ModAct{Norm: true, Eps: 1e-5, Act: backend.ActLeakyReLU, Slope: 0.2}},
	{backend.Modulation{N: 2, C: 3, S: 35, Offset: 1, Bias: true}, backend.ModAct{Act: backend.ActLeakyReLU, Slope: 0.2}},
	{backend.Modulation{N: 1, C: 5, S: 9, Offset: 0}, backend.ModAct{Norm: true, Eps: 1e-3}},
	{backend.Modulation{N: 3, C: 4, S: 13, Offset: 1}, backend.ModAct{Act: backend.ActReLU}},
	{backend.Modulation{N: 1, C: 4, S: 70, Offset: 1, Bias: true}, backend.ModAct{Norm: true, Eps: 1e-5, Act: backend.ActReLU6}},
	{backend.Modulation{N: 2, C: 2, S: 65, Offset: 0, Bias: true}, backend.ModAct{Act: backend.ActTanh}},
	{backend.Modulation{N: 1, C: 6, S: 11, Offset: 1}, backend.ModAct{Norm: true, Eps: 1e-5, Act: backend.ActLeakyReLU, Slope: 0.01}},
	// gamma and beta as the halves of one (N, 2C, S) buffer: SPADE's eval
	// path with its joint gamma/beta conv, without biases or the
	// normalisation, a batch of one and a batch of three (the per-sample
	// stride of the halves)
	{backend.Modulation{N: 2, C: 3, S: 35, Offset: 1, Bias: true}, backend.ModAct{Norm: true, Eps: 1e-5, Act: backend.ActLeakyReLU, Slope: 0.2, Joint: true}},
	{backend.Modulation{N: 3, C: 4, S: 13, Offset: 1}, backend.ModAct{Act: backend.ActReLU, Joint: true}},
	{backend.Modulation{N: 1, C: 5, S: 9, Offset: 0}, backend.ModAct{Norm: true, Eps: 1e-3, Joint: true}},
	{backend.Modulation{N: 3, C: 2, S: 65, Offset: 1, Bias: true}, backend.ModAct{Norm: true, Eps: 1e-5, Joint: true}},
}

func modActName(p backend.Modulation, a backend.ModAct) string {
	act := [...]string{"id", "relu", "leaky", "relu6", "tanh"}[a.Act]
	norm := ""
	if a.Norm {
		norm = "_norm"
	}
	if a.Joint {
		norm += "_joint"
	}
	return fmt.Sprintf("%s%s_%s", modName(p), norm, act)
}

func modActOf(e *env) backend.ActivatedModulation {
	f, ok := e.b.(backend.ActivatedModulation)
	if !ok {
		e.fatalf("%s does not implement backend.ActivatedModulation", e.b.Name())
	}
	return f
}

// refModAct is the float64 pre-activation z of every value, the
// normalised x, and the magnitude of z's terms; gb and bb are the biases
// (zeros without p.Bias), m and v the statistics (unused without a.Norm).
func refModAct(x, g, b, gb, bb, m, v []float32, p backend.Modulation, a backend.ModAct) (z, xn, scale []float64) {
	n := len(x)
	z, xn, scale = make([]float64, n), make([]float64, n), make([]float64, n)
	for i, xv := range x {
		c := i / p.S % p.C
		xi, xs := float64(xv), math.Abs(float64(xv))
		if a.Norm {
			r := 1 / math.Sqrt(float64(v[c])+float64(a.Eps))
			xi = (float64(xv) - float64(m[c])) * r
			// x's own rounding is relative to |x| and |mean|, not |x - mean|.
			xs = (math.Abs(float64(xv)) + math.Abs(float64(m[c]))) * r
		}
		ga := float64(g[i]) + float64(gb[c]) + float64(p.Offset)
		z[i], xn[i] = xi*ga+float64(b[i])+float64(bb[c]), xi
		scale[i] = xs*(math.Abs(float64(g[i]))+math.Abs(float64(gb[c]))+math.Abs(float64(p.Offset))) +
			math.Abs(float64(b[i])) + math.Abs(float64(bb[c]))
	}
	return z, xn, scale
}

// jointParams lays gamma and beta (N, C, S each) out as one (N, 2C, S)
// buffer, per sample gamma's C channels then beta's (ModAct.Joint).
func jointParams(g, b []float32, p backend.Modulation) []float32 {
	cs := p.C * p.S
	out := make([]float32, 0, 2*len(g))
	for n := range p.N {
		out = append(out, g[n*cs:(n+1)*cs]...)
		out = append(out, b[n*cs:(n+1)*cs]...)
	}
	return out
}

// refActGrad is act'(z) in float64, PyTorch's at the kinks.
func refActGrad(e backend.Epilogue, z float64) float64 {
	switch e.Act {
	case backend.ActReLU:
		if z > 0 {
			return 1
		}
		return 0
	case backend.ActLeakyReLU:
		if z > 0 {
			return 1
		}
		return float64(e.Slope)
	case backend.ActReLU6:
		if z > 0 && z < 6 {
			return 1
		}
		return 0
	case backend.ActTanh:
		t := math.Tanh(z)
		return 1 - t*t
	}
	return 1
}

func modActCases() []Case {
	var cs []Case
	for _, mv := range modActVariants {
		p, a := mv.p, mv.a
		n := p.N * p.C * p.S
		name := modActName(p, a)
		// draw returns the inputs, the biases (zeros and nil buffers without
		// p.Bias) and the statistics (nil buffers without a.Norm). x is
		// scaled so that relu6 clamps at 6 somewhere.
		draw := func(e *env) (x, g, b, gb, bb, m, v []float32, gbuf, bbuf, mbuf, vbuf backend.Buffer) {
			x, g, b = e.uniform(n, -4, 5), e.uniform(n, -1, 1.5), e.normal(n)
			gb, bb = make([]float32, p.C), make([]float32, p.C)
			if p.Bias {
				gb, bb = e.uniform(p.C, -1, 1), e.normal(p.C)
				gbuf, bbuf = e.upload(gb), e.upload(bb)
			}
			if a.Norm {
				m, v = e.uniform(p.C, -1, 1), e.uniform(p.C, 0.2, 3)
				mbuf, vbuf = e.upload(m), e.upload(v)
			}
			return
		}
		cs = append(cs, Case{Name: "modulate_act/" + name, run: func(e *env) []output {
			x, g, b, gb, bb, m, v, gbuf, bbuf, mbuf, vbuf := draw(e)
			y := e.alloc(n)
			gamma, beta := e.upload(g), e.upload(b)
			if a.Joint {
				gamma, beta = e.upload(jointParams(g, b, p)), nil
			}
			modActOf(e).ModulateAct(y, e.upload(x), mbuf, vbuf, gamma, beta, gbuf, bbuf, p, a)
			z, _, scale := refModAct(x, g, b, gb, bb, m, v, p, a)
			want := make([]float64, n) // scale bounds |y|'s terms too: |act'| <= 1
			for i := range z {
				want[i] = refActivation(a.Epilogue(), z[i])
			}
			return []output{{name: "y", got: e.download(y, n), want: want, scale: scale, tol: 2e-6}}
		}})
		if a.Norm || a.Joint {
			continue // the gradient takes the normalised x (no statistics) and separate buffers
		}
		cs = append(cs, Case{Name: "modulate_act_grad/" + name, run: func(e *env) []output {
			x, g, b, gb, bb, m, v, gbuf, _, _, _ := draw(e)
			dy := e.normal(n)
			z, _, _ := refModAct(x, g, b, gb, bb, m, v, p, a)
			y := make([]float32, n) // the forward's output, rounded as a backend stores it
			for i := range z {
				y[i] = float32(refActivation(a.Epilogue(), z[i]))
			}
			dx, dg, db := e.alloc(n), e.alloc(n), e.alloc(n)
			modActOf(e).ModulateActGrad(dx, dg, db, e.upload(dy), e.upload(y), e.upload(x), e.upload(g), gbuf, p, a)
			// tanh' = 1 - y*y from a float32 y cancels near |y| = 1: its
			// error is about |dy| * 2^-23 whatever the derivative's size.
			cancel := 0.0
			if a.Act == backend.ActTanh {
				cancel = 0.25
			}
			wdx, wdg, wdb := make([]float64, n), make([]float64, n), make([]float64, n)
			sdx, sdg, sdb := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range x {
				c := i / p.S % p.C
				d := refActGrad(a.Epilogue(), z[i])
				dz := float64(dy[i]) * d
				ga := float64(g[i]) + float64(gb[c]) + float64(p.Offset)
				wdx[i], wdg[i], wdb[i] = dz*ga, dz*float64(x[i]), dz
				sdb[i] = math.Abs(float64(dy[i])) * (math.Abs(d) + cancel)
				sdg[i] = sdb[i] * math.Abs(float64(x[i]))
				sdx[i] = sdb[i] * (math.Abs(float64(g[i])) + math.Abs(float64(gb[c])) + math.Abs(float64(p.Offset)))
			}
			return []output{
				{name: "dx", got: e.download(dx, n), want: wdx, scale: sdx, tol: 2e-6},
				{name: "dgamma", got: e.download(dg, n), want: wdg, scale: sdg, tol: 2e-6},
				{name: "dbeta", got: e.download(db, n), want: wdb, scale: sdb, tol: 2e-6},
			}
		}})
	}
	return cs
}
