package gan

import (
	"math"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/nn"
)

// TestSPADEBlockGradcheck compares autograd gradients of a tiny SPADE
// residual block (learned shortcut, training-mode batch norm, spectral norm)
// with central finite differences, for the input x, the conditioning map and
// some weights. The spectral-norm vectors are converged first so that the
// power iteration of each forward leaves them (almost) unchanged.
func TestSPADEBlockGradcheck(t *testing.T) {
	r, _ := testscenes.RNG(t)
	for _, tc := range []struct {
		norm string
		eval bool // running statistics: batch norm folded into the modulation
	}{{NormSPADE, false}, {NormCLADE, false}, {NormSPADE, true}, {NormCLADE, true}} {
		norm, name := tc.norm, tc.norm
		if tc.eval {
			name += "_eval"
		}
		t.Run(name, func(t *testing.T) {
			dev := testscenes.CPU()
			ps := nn.NewParams(dev, r.Uint64())
			cfg := GeneratorConfig{SPADEHidden: 5, Norm: norm}.withDefaults()
			const bsz, fin, fout, lnc, h, w = 2, 3, 2, 4, 4, 4
			blk := NewResBlock(ps, cfg, fin, fout, lnc)
			// Give each spectrally normalized weight a dominant rank-one part,
			// so that its top singular value is well separated: power
			// iteration then converges, and the one step each forward takes
			// does not move sigma by more than the finite differences see.
			for _, c := range []*nn.Conv2d{blk.Conv0, blk.Conv1, blk.ConvS} {
				vals, _ := c.SN.Orig.Data()
				o := c.SN.Orig.Dim(0)
				k := len(vals) / o
				for i := range vals {
					vals[i] += 5 * float32(1+i/k) * float32(1+i%k%3) / float32(k)
				}
				c.SN.Orig.Upload(vals)
				c.SN.PowerIteration(200)
			}
			if tc.eval {
				ps.SetTraining(false)
				for _, n := range []*nn.SPADE{blk.Norm0, blk.Norm1, blk.NormS} {
					c := n.Norm.RunningMean.Numel()
					m, v := make([]float32, c), make([]float32, c)
					for i := range m {
						m[i], v[i] = float32(r.NormFloat64()), float32(0.3+r.Float64())
					}
					n.Norm.RunningMean.Upload(m)
					n.Norm.RunningVar.Upload(v)
				}
			}
			rnd := func(n int) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(r.NormFloat64())
				}
				return v
			}
			x := dev.FromData(rnd(bsz*fin*h*w), bsz, fin, h, w).SetRequiresGrad(true)
			seg := dev.FromData(rnd(bsz*lnc*h*w), bsz, lnc, h, w).SetRequiresGrad(true)
			proj := rnd(bsz * fout * h * w)
			pr := dev.FromData(proj, bsz, fout, h, w)
			loss := func() float64 { // sum(out * proj) in float64, no tape
				var v float64
				dev.NoGrad(func() {
					s := dev.Scope()
					out, _ := blk.Forward(x, seg).Data()
					s.Close()
					for i, o := range out {
						v += float64(o) * float64(proj[i])
					}
				})
				return v
			}
			s := dev.Scope()
			nn.SumAll(nn.Mul(blk.Forward(x, seg), pr)).Backward()
			s.Close()
			checks := []struct {
				name string
				t    *nn.Tensor
			}{{"x", x}, {"seg", seg}, {"conv_0.weight_orig", blk.Conv0.SN.Orig},
				{"norm_0.mlp_gamma.weight", blk.Norm0.Gamma.W}, {"norm_s.mlp_beta.bias", blk.NormS.Beta.B}}
			if blk.Norm1.Shared != nil {
				checks = append(checks, struct {
					name string
					t    *nn.Tensor
				}{"norm_1.mlp_shared.0.weight", blk.Norm1.Shared.W})
			}
			for _, c := range checks {
				g, err := c.t.Grad().Data()
				if err != nil {
					t.Fatal(err)
				}
				vals, _ := c.t.Data()
				// One-sided differences around the point: they agree (to
				// O(eps)) where the function is smooth and differ by the jump
				// in slope where a ReLU kink lies within eps, which central
				// differences alone cannot tell from an autograd error.
				const eps = 1e-3
				at := func(i int, d float32) float64 {
					orig := vals[i]
					vals[i] = orig + d
					c.t.Upload(vals)
					l := loss()
					vals[i] = orig
					c.t.Upload(vals)
					return l
				}
				close := func(a, b, atol float64) bool { return math.Abs(a-b) <= atol+3e-2*math.Abs(b) }
				bad, kinks := 0, 0
				for probe := range min(len(vals), 12) {
					i := r.IntN(len(vals))
					if probe < 2 {
						i = probe
					}
					l0, lp, lm := at(i, 0), at(i, eps), at(i, -eps)
					fwd, bwd, fd := (lp-l0)/eps, (l0-lm)/eps, (lp-lm)/(2*eps)
					if math.Abs(fwd-bwd) > 2e-2+5e-2*math.Abs(fd) {
						kinks++
						continue
					}
					if !close(float64(g[i]), fd, 2e-2) {
						bad++
						t.Errorf("%s[%d]: autograd %g, finite difference %g", c.name, i, g[i], fd)
					}
				}
				if kinks > 6 {
					t.Errorf("%s: %d of the probes straddle a kink", c.name, kinks)
				}
				t.Logf("%s: probed, %d off, %d skipped at kinks", c.name, bad, kinks)
			}
		})
	}
}
