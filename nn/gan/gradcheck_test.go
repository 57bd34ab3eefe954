package gan

import (
	"math"
	"testing"

	"catsynth/nn"
)

// TestSPADEBlockGradcheck compares autograd gradients of a tiny SPADE
// residual block (learned shortcut, training-mode batch norm, spectral norm)
// with central finite differences, for the input x, the conditioning map and
// some weights. The spectral-norm vectors are converged first so that the
// power iteration of each forward leaves them (almost) unchanged.
func TestSPADEBlockGradcheck(t *testing.T) {
	r, _ := testRNG(t)
	for _, norm := range []string{NormSPADE, NormCLADE} {
		t.Run(norm, func(t *testing.T) {
			dev := cpuDevice()
			ps := nn.NewParams(dev, r.Uint64())
			cfg := GeneratorConfig{SPADEHidden: 5, Norm: norm}.withDefaults()
			const bsz, fin, fout, lnc, h, w = 2, 3, 2, 4, 4, 4
			blk := NewResBlock(ps, cfg, fin, fout, lnc)
			for _, c := range []*nn.Conv2d{blk.Conv0, blk.Conv1, blk.ConvS} {
				c.SN.PowerIteration(200)
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
				fdAt := func(i int, eps float32) float64 {
					orig := vals[i]
					vals[i] = orig + eps
					c.t.Upload(vals)
					lp := loss()
					vals[i] = orig - eps
					c.t.Upload(vals)
					lm := loss()
					vals[i] = orig
					c.t.Upload(vals)
					return (lp - lm) / (2 * float64(eps))
				}
				close := func(a, b float64) bool { return math.Abs(a-b) <= 2e-2+3e-2*math.Abs(b) }
				bad, kinks := 0, 0
				for probe := range min(len(vals), 12) {
					i := r.IntN(len(vals))
					if probe < 2 {
						i = probe
					}
					fd, fdHalf := fdAt(i, 2e-3), fdAt(i, 1e-3)
					if !close(fd, fdHalf) {
						kinks++ // a ReLU kink inside the step: differences disagree
						continue
					}
					if !close(float64(g[i]), fd) {
						bad++
						t.Errorf("%s[%d]: autograd %g, finite difference %g", c.name, i, g[i], fd)
					}
				}
				if kinks > 3 {
					t.Errorf("%s: %d of the probes straddle a kink", c.name, kinks)
				}
				t.Logf("%s: probed, %d off, %d skipped at kinks", c.name, bad, kinks)
			}
		})
	}
}
