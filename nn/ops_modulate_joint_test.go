package nn

import (
	"fmt"
	"testing"
)

// TestModulateJointMatchesModulateWith: ModulateJoint on (N, 2C, ...)
// equals ModulateWith on its two channel halves, forward on the fused
// backend call and on the composition, and backward (where it splits gb):
// the gradients of x, gb and the biases are ModulateWith's, gb's being
// gamma's and beta's side by side.
func TestModulateJointMatchesModulateWith(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	const n, c, h, w = 3, 4, 5, 3
	for _, compose := range []bool{false, true} {
		for _, norm := range []bool{false, true} {
			t.Run(fmt.Sprintf("compose=%v/norm=%v", compose, norm), func(t *testing.T) {
				dev.composeFused = compose
				defer func() { dev.composeFused = false }()
				s := dev.Scope()
				defer s.Close()
				x := dev.FromData(randVals(r, n*c*h*w, -2, 2), n, c, h, w).SetRequiresGrad(true)
				gb := dev.FromData(randVals(r, n*2*c*h*w, -1, 1), n, 2*c, h, w).SetRequiresGrad(true)
				o := ModulateOpts{Offset: 1, Act: ActLeakyReLU(0.2),
					GammaBias: dev.FromData(randVals(r, c, -1, 1), c).SetRequiresGrad(true),
					BetaBias:  dev.FromData(randVals(r, c, -1, 1), c).SetRequiresGrad(true)}
				if norm {
					o.Mean, o.Var, o.Eps = dev.FromData(randVals(r, c, -1, 1), c), dev.FromData(randVals(r, c, 0.5, 2), c), 1e-5
				}
				halves := Split(gb.Detach(), 1, c, c)
				var fwd []float32
				dev.NoGrad(func() { fwd = mustData(t, ModulateJoint(x, gb, o)) })
				want := ModulateWith(x, halves[0], halves[1], o)
				if i := closeTo(fwd, mustData(t, want), 0); i >= 0 {
					t.Fatalf("no-grad forward [%d] = %g, ModulateWith %g", i, fwd[i], mustData(t, want)[i])
				}
				// backward through both, with the same upstream gradient
				dy := dev.FromData(randVals(r, n*c*h*w, -1, 1), n, c, h, w)
				y := ModulateJoint(x, gb, o)
				if i := closeTo(mustData(t, y), fwd, 0); i >= 0 {
					t.Fatalf("forward with grad [%d] differs from without", i)
				}
				y.BackwardWith(dy)
				gx, ggb := mustData(t, x.Grad()), mustData(t, gb.Grad())
				gbias, bbias := mustData(t, o.GammaBias.Grad()), mustData(t, o.BetaBias.Grad())
				for _, p := range []*Tensor{x, gb, o.GammaBias, o.BetaBias} {
					p.ZeroGrad()
				}
				gh := []*Tensor{halves[0].SetRequiresGrad(true), halves[1].SetRequiresGrad(true)}
				ModulateWith(x, gh[0], gh[1], o).BackwardWith(dy)
				wgb := mustData(t, Concat([]*Tensor{gh[0].Grad(), gh[1].Grad()}, 1))
				for _, cmp := range []struct {
					name      string
					got, want []float32
				}{
					{"dx", gx, mustData(t, x.Grad())},
					{"dgb", ggb, wgb},
					{"dgamma_bias", gbias, mustData(t, o.GammaBias.Grad())},
					{"dbeta_bias", bbias, mustData(t, o.BetaBias.Grad())},
				} {
					if i := closeTo(cmp.got, cmp.want, 0); i >= 0 {
						t.Errorf("%s [%d] = %g, ModulateWith's %g", cmp.name, i, cmp.got[i], cmp.want[i])
					}
				}
			})
		}
	}
}
