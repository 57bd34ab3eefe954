package nn

import "fmt"

// Softmax returns exp(x) / sum(exp(x)) over axis. It subtracts the maximum
// over the axis first (a constant for autograd) so large logits do not
// overflow.
func Softmax(x *Tensor, axis int) *Tensor {
	ax := normAxis(axis, x.Rank(), "Softmax")
	e := Exp(Sub(x, MaxReduce(x, []int{ax}, true)))
	return Div(e, Sum(e, []int{ax}, true))
}

// LogSoftmax returns x - log(sum(exp(x))) over axis, computed stably as
// z - log(sum(exp(z))) with z = x - max(x).
func LogSoftmax(x *Tensor, axis int) *Tensor {
	ax := normAxis(axis, x.Rank(), "LogSoftmax")
	z := Sub(x, MaxReduce(x, []int{ax}, true))
	return Sub(z, Log(Sum(Exp(z), []int{ax}, true)))
}

// CEOpts configures CrossEntropy. The zero value means no weights and
// ignore index -1 (any index outside [0, C) is ignored anyway).
type CEOpts struct {
	// Weights (N, H, W) scales each pixel's loss; nil means 1.
	Weights *Tensor
	// IgnoreIndex marks pixels without a label; they contribute nothing and
	// are not counted in the mean. Indices outside [0, C) are always ignored.
	IgnoreIndex int
}

// CrossEntropyPixels returns the per-pixel loss -w * log_softmax(logits)[target]
// over the channel axis: logits (N, C, ...), target (N, ...) class indices
// stored as floats. Ignored pixels give 0. Also returns the valid-pixel mask
// (1 where the target is a real class), same shape as target.
func CrossEntropyPixels(logits, target *Tensor, o CEOpts) (loss, valid *Tensor) {
	if logits.Rank() < 2 || target.Rank() != logits.Rank()-1 || target.shape[0] != logits.shape[0] ||
		!sameShape(target.shape[1:], logits.shape[2:]) {
		panic(fmt.Sprintf("nn: CrossEntropy: logits %v (N,C,...), target %v (N,...)", logits.shape, target.shape))
	}
	if o.Weights != nil && !sameShape(o.Weights.shape, target.shape) {
		panic(fmt.Sprintf("nn: CrossEntropy: weights %v for target %v", o.Weights.shape, target.shape))
	}
	c := logits.shape[1]
	oh := OneHot(target, c) // zeros on indices outside [0, C)
	if o.IgnoreIndex >= 0 && o.IgnoreIndex < c {
		// Drop the ignored class's channel from the one-hot map.
		keep := make([]float32, c)
		for i := range keep {
			keep[i] = 1
		}
		keep[o.IgnoreIndex] = 0
		cs := channelShape(oh)
		oh = Mul(oh, logits.dev.FromData(keep, cs...))
	}
	valid = Sum(oh, []int{1}, false)
	loss = Neg(Sum(Mul(LogSoftmax(logits, 1), oh), []int{1}, false))
	if o.Weights != nil {
		loss = Mul(loss, o.Weights)
	}
	return loss, valid
}

// CrossEntropy is the mean of CrossEntropyPixels over the non-ignored pixels
// (shape [1]); 0 when every pixel is ignored. Weighted pixels count once in
// the denominator, so weights scale their pixel's share of the mean.
func CrossEntropy(logits, target *Tensor, o CEOpts) *Tensor {
	loss, valid := CrossEntropyPixels(logits, target, o)
	count := MaxScalar(SumAll(valid), 1)
	return Div(SumAll(loss), count)
}

// MSE is the mean squared error over all elements (shape [1]).
func MSE(a, b *Tensor) *Tensor { return MeanAll(Square(Sub(a, b))) }

// L1 is the mean absolute error over all elements (shape [1]).
func L1(a, b *Tensor) *Tensor { return MeanAll(Abs(Sub(a, b))) }
