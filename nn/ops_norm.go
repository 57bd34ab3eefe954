package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// The norms run on the backend's fused kernels (backend.Fused: one pass for
// the statistics and the normalisation, one for the backward) when it has
// them. Otherwise, and as the reference the fused path is tested against,
// they are composed from Mean, Sub, Square and Rsqrt, so autograd follows
// without hand-written backward code. Variances are biased (divide by n),
// as PyTorch normalizes.

// normalize returns (x - mean) / sqrt(var + eps) over axes, with the mean and
// biased variance computed over those axes (kept as size-1 axes).
func normalize(x *Tensor, axes []int, eps float32) (y, mean, variance *Tensor) {
	mean = Mean(x, axes, true)
	xc := Sub(x, mean)
	variance = Mean(Square(xc), axes, true)
	return Mul(xc, Rsqrt(AddScalar(variance, eps))), mean, variance
}

// channelShape is (1, C, 1, ...) for broadcasting per-channel values over x.
func channelShape(x *Tensor) []int {
	s := make([]int, x.Rank())
	for i := range s {
		s[i] = 1
	}
	s[1] = x.shape[1]
	return s
}

// BatchNorm normalizes x (N, C, ...) per channel, without affine parameters.
// In training it uses the batch statistics and updates runMean and runVar
// (shape (C)) in place: run = (1-momentum)*run + momentum*batch, with the
// unbiased batch variance, as PyTorch does. In eval it uses the running
// statistics. eps is added to the variance.
func BatchNorm(x, runMean, runVar *Tensor, training bool, momentum, eps float32) *Tensor {
	if x.Rank() < 2 || runMean.Numel() != x.shape[1] || runVar.Numel() != x.shape[1] {
		panic(fmt.Sprintf("nn: BatchNorm: x %v, running stats %s", x.shape, shapesString(runMean, runVar)))
	}
	if training {
		// the fused UpdateRunning writes them in place (the composed path
		// below goes through CopyFrom, which stamps them again)
		runMean.written()
		runVar.written()
	}
	if f := x.dev.fused(); f != nil {
		return fusedBatchNorm(f, x, runMean, runVar, training, momentum, eps)
	}
	cs := channelShape(x)
	if !training {
		return Mul(Sub(x, Reshape(runMean, cs...)), Rsqrt(AddScalar(Reshape(runVar, cs...), eps)))
	}
	axes := []int{0}
	for i := 2; i < x.Rank(); i++ {
		axes = append(axes, i)
	}
	y, mean, variance := normalize(x, axes, eps)
	n := x.Numel() / x.shape[1]
	d := x.dev
	d.NoGrad(func() {
		s := d.Scope()
		unbias := float32(n) / float32(max(n-1, 1))
		nm := Add(MulScalar(runMean, 1-momentum), MulScalar(Reshape(mean.Detach(), runMean.shape...), momentum))
		nv := Add(MulScalar(runVar, 1-momentum), MulScalar(Reshape(variance.Detach(), runVar.shape...), momentum*unbias))
		runMean.CopyFrom(nm)
		runVar.CopyFrom(nv)
		s.Close()
	})
	return y
}

// perChannelAffine applies y*weight + bias with weight and bias of shape (C)
// (either may be nil).
func perChannelAffine(y, weight, bias *Tensor) *Tensor {
	cs := channelShape(y)
	if weight != nil {
		y = Mul(y, Reshape(weight, cs...))
	}
	if bias != nil {
		y = Add(y, Reshape(bias, cs...))
	}
	return y
}

// GroupNorm normalizes x (N, C, ...) over groups of C/groups channels and
// all spatial positions, then applies the optional per-channel weight and
// bias (shape (C)).
func GroupNorm(x *Tensor, groups int, weight, bias *Tensor, eps float32) *Tensor {
	if x.Rank() < 2 || groups <= 0 || x.shape[1]%groups != 0 {
		panic(fmt.Sprintf("nn: GroupNorm: x %v with %d groups", x.shape, groups))
	}
	if f := x.dev.fused(); f != nil {
		y := fusedNormalize(f, x, normLayout(x, groups, false, eps))
		if weight != nil && bias != nil {
			return Modulate(y, weight, bias, 0)
		}
		return perChannelAffine(y, weight, bias)
	}
	y, _, _ := normalize(Reshape(x, x.shape[0], groups, -1), []int{2}, eps)
	return perChannelAffine(Reshape(y, x.shape...), weight, bias)
}

// InstanceNorm normalizes each (n, c) plane of x (N, C, ...) over its
// spatial positions, without affine parameters and without running stats.
func InstanceNorm(x *Tensor, eps float32) *Tensor {
	if x.Rank() < 3 {
		panic(fmt.Sprintf("nn: InstanceNorm: x %v has no spatial axes", x.shape))
	}
	if f := x.dev.fused(); f != nil {
		return fusedNormalize(f, x, normLayout(x, x.shape[1], false, eps))
	}
	y, _, _ := normalize(Reshape(x, x.shape[0], x.shape[1], -1), []int{2}, eps)
	return Reshape(y, x.shape...)
}

// LayerNorm normalizes x over its last ndims axes and applies the optional
// weight and bias, whose shape is those axes (PyTorch's normalized_shape).
func LayerNorm(x *Tensor, ndims int, weight, bias *Tensor, eps float32) *Tensor {
	if ndims <= 0 || ndims > x.Rank() {
		panic(fmt.Sprintf("nn: LayerNorm: x %v over last %d axes", x.shape, ndims))
	}
	lead := x.shape[:x.Rank()-ndims]
	var y *Tensor
	if f := x.dev.fused(); f != nil {
		inner := numel(x.shape[x.Rank()-ndims:])
		y = fusedNormalize(f, x, backend.Norm{N: numel(lead), C: 1, S: inner, Groups: 1, Eps: eps})
	} else {
		y, _, _ = normalize(Reshape(x, append(append([]int(nil), lead...), -1)...), []int{-1}, eps)
		y = Reshape(y, x.shape...)
	}
	if weight != nil {
		y = Mul(y, weight)
	}
	if bias != nil {
		y = Add(y, bias)
	}
	return y
}
