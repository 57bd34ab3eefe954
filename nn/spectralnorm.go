package nn

import (
	"math"
	"math/rand/v2"
)

// SpectralNorm is PyTorch's torch.nn.utils.spectral_norm as a weight
// parametrization: the effective weight is weight_orig / sigma, where sigma
// estimates the largest singular value of weight_orig reshaped to
// (O, C*KH*KW) by power iteration. It registers the names PyTorch uses, so
// converted checkpoints load: "<prefix>.weight_orig" (trainable),
// "<prefix>.weight_u" (O) and "<prefix>.weight_v" (C*KH*KW) (buffers).
//
// In training mode each Weight call runs one power iteration step, updating
// u and v in place (no gradient flows through them); in eval mode the stored
// u and v are used as they are, and the effective weight is cached (see
// Weight).
type SpectralNorm struct {
	Orig, U, V *Tensor
	Eps        float32 // normalization floor, PyTorch's 1e-12
	ps         *Params

	// cache is the eval-mode weight Orig / Sigma, recomputed when
	// weight_orig, u or v change (Eps only enters the power iteration,
	// whose writes to u and v are versioned).
	cache derivedCache
}

// NewSpectralNorm registers weight_orig of shape (initialized by init) and
// its u, v buffers (random unit vectors, as PyTorch initializes them) under
// ps, which is the layer's view (e.g. ps.Sub("conv_0")).
func NewSpectralNorm(ps *Params, init Init, shape ...int) *SpectralNorm {
	o := shape[0]
	k := numel(shape) / o
	sn := &SpectralNorm{Eps: 1e-12, ps: ps}
	sn.Orig = ps.New("weight_orig", init, shape...)
	sn.U = ps.NewBuffer("weight_u", unitNormal, o)
	sn.V = ps.NewBuffer("weight_v", unitNormal, k)
	ps.own(sn.Release)
	return sn
}

// unitNormal draws a random unit vector (PyTorch: normalize(randn(n))).
func unitNormal(r *rand.Rand, shape []int) []float32 {
	v := Normal(0, 1)(r, shape)
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(max(math.Sqrt(s), 1e-12))
	for i := range v {
		v[i] /= n
	}
	return v
}

// normalizeVec returns v / max(||v||, eps) without autograd.
func normalizeVec(v *Tensor, eps float32) *Tensor {
	return Div(v, MaxScalar(Sqrt(SumAll(Square(v))), eps))
}

// PowerIteration runs n steps of v = normalize(W^T u), u = normalize(W v)
// on the stored vectors, in place, without autograd.
func (sn *SpectralNorm) PowerIteration(n int) {
	d := sn.Orig.dev
	o := sn.U.Numel()
	k := sn.V.Numel()
	d.NoGrad(func() {
		s := d.Scope()
		w := Reshape(sn.Orig.Detach(), o, k)
		for range n {
			v := normalizeVec(MatMul(w, Reshape(sn.U, o, 1), true, false), sn.Eps)
			u := normalizeVec(MatMul(w, v, false, false), sn.Eps)
			sn.V.CopyFrom(v)
			sn.U.CopyFrom(u)
		}
		s.Close()
	})
}

// Sigma returns u^T W v (shape [1]); the gradient flows into weight_orig.
func (sn *SpectralNorm) Sigma() *Tensor {
	o, k := sn.U.Numel(), sn.V.Numel()
	wv := MatMul(Reshape(sn.Orig, o, k), Reshape(sn.V, k, 1), false, false)
	return SumAll(Mul(Reshape(sn.U, o, 1), wv))
}

// Weight returns the normalized weight (same shape as weight_orig), after one
// power-iteration step in training mode.
//
// In eval mode, when no gradient is wanted (autograd off, or none of
// weight_orig, u, v requires one), it returns a view of a cached weight
// computed once: a second call dispatches nothing. The cache is recomputed
// whenever the Version of weight_orig, u, v or of the cached tensor itself
// differs from the one it was computed from, or weight_orig's shape
// changed. Every in-place write in package nn (Upload, CopyFrom, optimizer
// steps, EMA Update and Swap, checkpoint loading, PowerIteration) gives the
// tensor a new Version (see Tensor.Version), so a stale weight cannot be
// returned. A returned weight is a snapshot, as an uncached one is: while a
// view from an earlier call is alive, a recomputation goes to a new buffer
// rather than overwriting it.
func (sn *SpectralNorm) Weight() *Tensor {
	if sn.ps.Training() {
		sn.Release() // stale from the first power iteration on
		sn.PowerIteration(1)
		return Div(sn.Orig, sn.Sigma())
	}
	d := sn.Orig.dev
	if d.GradEnabled() && (sn.Orig.RequiresGrad() || sn.U.RequiresGrad() || sn.V.RequiresGrad()) {
		return Div(sn.Orig, sn.Sigma())
	}
	return sn.cache.get(sn.Orig.shape, []*Tensor{sn.Orig, sn.U, sn.V}, func(dst *Tensor) {
		d.NoGrad(func() {
			s := d.Scope()
			binaryInto(dst, divOp, sn.Orig, sn.Sigma())
			s.Close()
		})
	})
}

// Release frees the cached eval weight (views of it handed out stay valid
// until released). The registry's Release calls it; a later eval Weight
// computes the cache again.
func (sn *SpectralNorm) Release() { sn.cache.release() }
