package nn

import (
	"math/rand/v2"
	"testing"
)

// fusedCase is a function of some inputs that runs on the fused kernels,
// compared with the same function composed from the primitives.
type fusedCase struct {
	name   string
	inputs []gradInput
	f      func(xs []*Tensor) *Tensor
}

func fusedCases(t *testing.T) []fusedCase {
	r, _ := testRNG(t)
	x := func(lo, hi float64, shape ...int) gradInput { return randInput(r, lo, hi, shape...) }
	runMean, runVar := randVals(r, 3, -1, 1), randVals(r, 3, 0.3, 2)
	return []fusedCase{
		{"groupnorm_g3_odd", []gradInput{x(-2, 3, 2, 6, 5, 3)},
			func(xs []*Tensor) *Tensor { return GroupNorm(xs[0], 3, nil, nil, 1e-5) }},
		{"groupnorm_g1_affine", []gradInput{x(-2, 3, 3, 5, 7, 1), x(0.5, 1.5, 5), x(-1, 1, 5)},
			func(xs []*Tensor) *Tensor { return GroupNorm(xs[0], 1, xs[1], xs[2], 1e-5) }},
		{"groupnorm_gC_weight_only", []gradInput{x(-2, 3, 2, 4, 3, 3), x(0.5, 1.5, 4)},
			func(xs []*Tensor) *Tensor { return GroupNorm(xs[0], 4, xs[1], nil, 1e-5) }},
		{"instancenorm_batch1", []gradInput{x(-1, 4, 1, 3, 9, 5)},
			func(xs []*Tensor) *Tensor { return InstanceNorm(xs[0], 1e-5) }},
		{"layernorm_affine", []gradInput{x(-2, 2, 3, 7), x(0.5, 1.5, 7), x(-1, 1, 7)},
			func(xs []*Tensor) *Tensor { return LayerNorm(xs[0], 1, xs[1], xs[2], 1e-5) }},
		{"batchnorm_train", []gradInput{x(-2, 3, 3, 4, 5, 3)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				return BatchNorm(xs[0], d.Zeros(4), d.Ones(4), true, 0.1, 1e-5)
			}},
		{"batchnorm_train_batch1", []gradInput{x(-2, 3, 1, 3, 4, 7)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				return BatchNorm(xs[0], d.Zeros(3), d.Ones(3), true, 0.1, 1e-5)
			}},
		{"batchnorm_eval", []gradInput{x(-2, 3, 2, 3, 5, 5)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				return BatchNorm(xs[0], d.FromData(runMean, 3), d.FromData(runVar, 3), false, 0.1, 1e-5)
			}},
		{"modulate_element", []gradInput{x(-2, 2, 2, 3, 5, 3), x(-1, 1, 2, 3, 5, 3), x(-1, 1, 2, 3, 5, 3)},
			func(xs []*Tensor) *Tensor { return Modulate(xs[0], xs[1], xs[2], 1) }},
		{"modulate_sample_channel", []gradInput{x(-2, 2, 3, 4, 3, 5), x(-1, 1, 3, 4, 1, 1), x(-1, 1, 3, 4, 1, 1)},
			func(xs []*Tensor) *Tensor { return Modulate(xs[0], xs[1], xs[2], 1) }},
		{"modulate_channel", []gradInput{x(-2, 2, 2, 5, 3, 3), x(-1, 1, 5), x(-1, 1, 5)},
			func(xs []*Tensor) *Tensor { return Modulate(xs[0], xs[1], xs[2], 0) }},
		{"modulate_channel_4d_batch1", []gradInput{x(-2, 2, 1, 3, 4, 5), x(-1, 1, 1, 3, 1, 1), x(-1, 1, 1, 3, 1, 1)},
			func(xs []*Tensor) *Tensor { return Modulate(xs[0], xs[1], xs[2], 1) }},
		{"modulate_bias", []gradInput{x(-2, 2, 2, 3, 5, 3), x(-1, 1, 2, 3, 5, 3), x(-1, 1, 2, 3, 5, 3), x(-1, 1, 3), x(-1, 1, 3)},
			func(xs []*Tensor) *Tensor { return ModulateBias(xs[0], xs[1], xs[2], xs[3], xs[4], 1) }},
		{"modulate_bias_batch1_off0", []gradInput{x(-2, 2, 1, 4, 3, 7), x(-1, 1, 1, 4, 3, 7), x(-1, 1, 1, 4, 3, 7), x(-1, 1, 4), x(-1, 1, 4)},
			func(xs []*Tensor) *Tensor { return ModulateBias(xs[0], xs[1], xs[2], xs[3], xs[4], 0) }},
		{"modulate_bias_gamma_only", []gradInput{x(-2, 2, 2, 3, 4, 3), x(-1, 1, 2, 3, 4, 3), x(-1, 1, 2, 3, 4, 3), x(-1, 1, 3)},
			func(xs []*Tensor) *Tensor { return ModulateBias(xs[0], xs[1], xs[2], xs[3], nil, 1) }},
		{"spade_chain", []gradInput{x(-2, 3, 2, 4, 5, 5), x(-1, 1, 2, 4, 5, 5), x(-1, 1, 2, 4, 5, 5)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				return Modulate(BatchNorm(xs[0], d.Zeros(4), d.Ones(4), true, 0.1, 1e-5), xs[1], xs[2], 1)
			}},
		// ModulateWith, smooth or with every value on one side of the
		// activation's kink (the finite differences of TestFusedGrad need it;
		// kinkedModulateCases mix both sides).
		{"modulate_with_norm_bias_tanh", []gradInput{x(-2, 3, 2, 3, 5, 3), x(-0.5, 0.5, 2, 3, 5, 3), x(-1, 1, 2, 3, 5, 3), x(-0.5, 0.5, 3), x(-1, 1, 3)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActTanh) }},
		{"modulate_with_norm_bias_leaky_negative", []gradInput{x(-1, 1, 2, 3, 4, 5), x(-0.2, 0.2, 2, 3, 4, 5), x(-0.2, 0.2, 2, 3, 4, 5), x(-0.2, 0.2, 3), x(-9, -8, 3)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActLeakyReLU(0.2)) }},
		{"modulate_with_bias_leaky_positive_batch1", []gradInput{x(-1, 1, 1, 3, 7, 3), x(-0.2, 0.2, 1, 3, 7, 3), x(-0.2, 0.2, 1, 3, 7, 3), x(-0.2, 0.2, 3), x(4, 5, 3)},
			func(xs []*Tensor) *Tensor { return modWith(xs, nil, nil, ActLeakyReLU(0.2)) }},
		{"modulate_with_norm_only", []gradInput{x(-2, 3, 2, 3, 3, 5), x(-1, 1, 2, 3, 3, 5), x(-1, 1, 2, 3, 3, 5)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActIdentity) }},
		{"spade_train_chain_leaky_negative", []gradInput{x(-2, 3, 2, 3, 5, 5), x(-0.2, 0.2, 2, 3, 5, 5), x(-0.2, 0.2, 2, 3, 5, 5), x(-0.2, 0.2, 3), x(-9, -8, 3)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				n := BatchNorm(xs[0], d.Zeros(3), d.Ones(3), true, 0.1, 1e-5)
				return modWith(append([]*Tensor{n}, xs[1:]...), nil, nil, ActLeakyReLU(0.2))
			}},
	}
}

// modWith is ModulateWith of xs = x, gamma, beta[, gamma bias[, beta
// bias]] with offset 1 (SPADE's), normalised with the running statistics
// runMean and runVar (C values each) unless they are nil.
func modWith(xs []*Tensor, runMean, runVar []float32, act Activation) *Tensor {
	o := ModulateOpts{Offset: 1, Act: act}
	if len(xs) > 3 {
		o.GammaBias = xs[3]
	}
	if len(xs) > 4 {
		o.BetaBias = xs[4]
	}
	if runMean != nil {
		d, c := xs[0].Device(), len(runMean)
		o.Mean, o.Var, o.Eps = d.FromData(runMean, c), d.FromData(runVar, c), 1e-5
	}
	return ModulateWith(xs[0], xs[1], xs[2], o)
}

// kinkedModulateCases are ModulateWith cases with values on both sides of
// the activation's kinks: compared with the composition only.
func kinkedModulateCases(t *testing.T) []fusedCase {
	r, _ := testRNG(t)
	x := func(lo, hi float64, shape ...int) gradInput { return randInput(r, lo, hi, shape...) }
	runMean, runVar := randVals(r, 4, -1, 1), randVals(r, 4, 0.3, 2)
	return []fusedCase{
		{"modulate_with_norm_bias_leaky", []gradInput{x(-2, 3, 2, 4, 5, 3), x(-1, 1, 2, 4, 5, 3), x(-1, 1, 2, 4, 5, 3), x(-1, 1, 4), x(-1, 1, 4)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActLeakyReLU(0.2)) }},
		{"modulate_with_bias_relu_batch1", []gradInput{x(-2, 2, 1, 4, 9, 7), x(-1, 1, 1, 4, 9, 7), x(-1, 1, 1, 4, 9, 7), x(-1, 1, 4), x(-1, 1, 4)},
			func(xs []*Tensor) *Tensor { return modWith(xs, nil, nil, ActReLU) }},
		{"modulate_with_norm_relu6", []gradInput{x(-6, 6, 2, 4, 3, 5), x(-1, 2, 2, 4, 3, 5), x(-3, 3, 2, 4, 3, 5)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActReLU6) }},
		{"modulate_with_gamma_bias_only_leaky", []gradInput{x(-2, 2, 2, 4, 3, 3), x(-1, 1, 2, 4, 3, 3), x(-1, 1, 2, 4, 3, 3), x(-1, 1, 4)},
			func(xs []*Tensor) *Tensor { return modWith(xs, runMean, runVar, ActLeakyReLU(0.1)) }},
		{"spade_train_chain_leaky", []gradInput{x(-2, 3, 2, 4, 5, 5), x(-1, 1, 2, 4, 5, 5), x(-1, 1, 2, 4, 5, 5), x(-1, 1, 4), x(-1, 1, 4)},
			func(xs []*Tensor) *Tensor {
				d := xs[0].Device()
				n := BatchNorm(xs[0], d.Zeros(4), d.Ones(4), true, 0.1, 1e-5)
				return modWith(append([]*Tensor{n}, xs[1:]...), nil, nil, ActLeakyReLU(0.2))
			}},
	}
}

// TestFusedMatchesComposed runs every case on the fused kernels and on the
// composition of primitives (the reference) with the same inputs and the
// same random loss weights, and compares outputs and input gradients.
func TestFusedMatchesComposed(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range append(fusedCases(t), kinkedModulateCases(t)...) {
		t.Run(c.name, func(t *testing.T) { checkFusedMatchesComposed(t, r, c) })
	}
}

// checkFusedMatchesComposed compares c's outputs and input gradients on the
// fused kernels with those on the composition.
func checkFusedMatchesComposed(t *testing.T, r *rand.Rand, c fusedCase) {
	run := func(compose bool, weights []float32) (out []float32, grads [][]float32) {
		d := testDevice()
		if d.fused() == nil {
			t.Skipf("backend %s has no fused kernels", d.Name())
		}
		d.composeFused = compose
		xs := make([]*Tensor, len(c.inputs))
		for i, in := range c.inputs {
			xs[i] = d.FromData(in.vals, in.shape...).SetRequiresGrad(true)
		}
		y := c.f(xs)
		out = mustData(t, y)
		SumAll(Mul(y, d.FromData(weights, y.shape...))).Backward()
		for _, x := range xs {
			if x.Grad() == nil {
				grads = append(grads, nil)
				continue
			}
			grads = append(grads, mustData(t, x.Grad()))
		}
		return out, grads
	}
	probe := testDevice()
	shape := c.f(func() []*Tensor {
		xs := make([]*Tensor, len(c.inputs))
		for i, in := range c.inputs {
			xs[i] = probe.FromData(in.vals, in.shape...)
		}
		return xs
	}()).shape
	w := randVals(r, numel(shape), -1, 1)
	wantY, wantG := run(true, w)
	gotY, gotG := run(false, w)
	assertClose(t, "y", gotY, to64(wantY), 2e-5, 2e-4)
	for i := range wantG {
		if (wantG[i] == nil) != (gotG[i] == nil) {
			t.Errorf("input %d: composed gradient present %v, fused %v", i, wantG[i] != nil, gotG[i] != nil)
			continue
		}
		if wantG[i] != nil {
			assertClose(t, "grad", gotG[i], to64(wantG[i]), 5e-5, 5e-4)
		}
	}
}

// TestFusedGrad checks the fused kernels' hand-written gradients against
// finite differences (the composed path's are checked by TestNormsGrad on
// a composing device; on the CPU device TestNormsGrad checks the fused ones
// too).
func TestFusedGrad(t *testing.T) {
	r, _ := testRNG(t)
	if testDevice().fused() == nil {
		t.Skip("backend has no fused kernels")
	}
	for _, c := range fusedCases(t) {
		gradcheck(t, c.name, r, c.f, c.inputs...)
	}
}

// TestFusedRunningStats checks that the fused batch norm updates the
// running statistics as the composed one does, over two steps.
func TestFusedRunningStats(t *testing.T) {
	r, _ := testRNG(t)
	x := randVals(r, 3*4*5*2, -2, 3)
	seed := r.Uint64()
	stats := func(compose bool) (m, v []float32) {
		r := rand.New(rand.NewPCG(seed, 1)) // the same draws for both runs
		d := testDevice()
		if d.fused() == nil {
			t.Skip("backend has no fused kernels")
		}
		d.composeFused = compose
		rm, rv := d.FromData(randVals(r, 4, -1, 1), 4), d.FromData(randVals(r, 4, 0.5, 2), 4)
		xt := d.FromData(x, 3, 4, 5, 2)
		BatchNorm(xt, rm, rv, true, 0.1, 1e-5)
		BatchNorm(xt, rm, rv, true, 0.3, 1e-5)
		return mustData(t, rm), mustData(t, rv)
	}
	wm, wv := stats(true)
	gm, gv := stats(false)
	assertClose(t, "running_mean", gm, to64(wm), 1e-6, 1e-5)
	assertClose(t, "running_var", gv, to64(wv), 1e-6, 1e-5)
}

// TestNormsGradComposed runs the norm gradient checks on the composition.
func TestNormsGradComposed(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range fusedCases(t) {
		gradcheck(t, c.name, r, func(xs []*Tensor) *Tensor {
			xs[0].Device().composeFused = true
			return c.f(xs)
		}, c.inputs...)
	}
}
