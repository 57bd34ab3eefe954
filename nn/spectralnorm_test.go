package nn

import (
	"math"
	"testing"
)

// refSigma is the largest singular value of w (o x k) by a long float64
// power iteration on w^T w.
func refSigma(w []float32, o, k int) float64 {
	v := make([]float64, k)
	for i := range v {
		v[i] = 1 / math.Sqrt(float64(k)) * float64(1+i%3)
	}
	var sigma float64
	for it := 0; it < 5000; it++ {
		u := make([]float64, o)
		for i := 0; i < o; i++ {
			for j := 0; j < k; j++ {
				u[i] += float64(w[i*k+j]) * v[j]
			}
		}
		nv := make([]float64, k)
		for j := 0; j < k; j++ {
			for i := 0; i < o; i++ {
				nv[j] += float64(w[i*k+j]) * u[i]
			}
		}
		n := 0.0
		for _, x := range nv {
			n += x * x
		}
		n = math.Sqrt(n)
		sigma = math.Sqrt(n) // ||W^T W v|| -> sigma^2 for unit v
		for j := range nv {
			v[j] = nv[j] / n
		}
	}
	return sigma
}

func TestSpectralNormConverges(t *testing.T) {
	dev := testDevice()
	r, seed := testRNG(t)
	ps := NewParams(dev, seed)
	conv := NewSNConv2d(ps.Sub("conv"), 4, 6, 3, 1, 1, true)
	sn := conv.SN
	w := mustData(t, sn.Orig)
	want := refSigma(w, 6, 36)
	sn.PowerIteration(2000)
	got, err := sn.Sigma().Item()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(got)-want) > 1e-3*want {
		t.Errorf("sigma after 2000 iterations %g, float64 reference %g", got, want)
	}
	// The normalized weight has spectral norm 1.
	nw := mustData(t, sn.Weight())
	if s := refSigma(nw, 6, 36); math.Abs(s-1) > 1e-3 {
		t.Errorf("spectral norm of the normalized weight = %g", s)
	}
	// Eval mode runs no power iteration: u stays.
	ps.SetTraining(false)
	u0 := mustData(t, sn.U)
	sn.Weight()
	u1 := mustData(t, sn.U)
	for i := range u0 {
		if u0[i] != u1[i] {
			t.Fatal("eval-mode Weight changed u")
		}
	}
	// Training mode runs one step: from fresh random u, u changes.
	sn.U.Upload(randVals(r, 6, -1, 1))
	ps.SetTraining(true)
	u0 = mustData(t, sn.U)
	sn.Weight()
	u1 = mustData(t, sn.U)
	changed := false
	for i := range u0 {
		changed = changed || u0[i] != u1[i]
	}
	if !changed {
		t.Error("training-mode Weight did not update u")
	}
}

func TestSpectralNormGrad(t *testing.T) {
	r, _ := testRNG(t)
	// Fixed u, v from a converged power iteration on the input weight, as in
	// eval mode after training: sigma is then the top singular value and the
	// check is well conditioned (random u, v can make u^T W v nearly 0).
	in := randInput(r, -1, 1, 3, 2, 2, 2)
	dev := testDevice()
	ps := NewParams(dev, 1)
	sn := &SpectralNorm{Orig: dev.FromData(in.vals, in.shape...), U: dev.FromData(randVals(r, 3, -1, 1), 3),
		V: dev.Zeros(8), Eps: 1e-12, ps: ps}
	sn.PowerIteration(100)
	u, v := mustData(t, sn.U), mustData(t, sn.V)
	gradcheck(t, "spectral_norm", r, func(xs []*Tensor) *Tensor {
		d := xs[0].Device()
		ps := NewParams(d, 1)
		ps.SetTraining(false)
		sn := &SpectralNorm{Orig: xs[0], U: d.FromData(u, 3), V: d.FromData(v, 8), Eps: 1e-12, ps: ps}
		return sn.Weight()
	}, in)
}
