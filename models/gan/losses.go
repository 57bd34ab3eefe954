package gan

import (
	"math/rand/v2"

	"catsynth/nn"
)

// Label slices in this file are B*H*W class indices, row-major per image
// (labels[(b*H+y)*W+x]), each in [0, n) or negative for an ignored pixel,
// as dataset.Batch holds them. Class balance is models.ClassBalance.

// N1Targets returns the N+1 cross-entropy targets as float-coded indices:
// for real images (and for the generator's loss) class c becomes c+1 and an
// ignored pixel -1 (no loss); for fake images every pixel is 0 ("fake").
func N1Targets(labels []int32, real bool) []float32 {
	t := make([]float32, len(labels))
	if !real {
		return t
	}
	for i, c := range labels {
		if c >= 0 {
			t[i] = float32(c + 1)
		} else {
			t[i] = -1
		}
	}
	return t
}

// LabelMixMask draws OASIS's LabelMix mask: every class present in the batch
// (the ignored pixels form one more group) gets one random bit, shared by
// all images of the batch, and each pixel takes its class's bit. Returns
// B*H*W values in {0, 1}.
func LabelMixMask(labels []int32, r *rand.Rand) []float32 {
	bit := map[int32]float32{}
	m := make([]float32, len(labels))
	for i, c := range labels {
		if c < 0 {
			c = -1
		}
		v, ok := bit[c]
		if !ok {
			v = float32(r.IntN(2))
			bit[c] = v
		}
		m[i] = v
	}
	return m
}

// AdvLoss is OASIS's N+1 loss: the per-pixel cross-entropy of logits
// (B, N+1, H, W) against targets (B, H, W) (see N1Targets), multiplied by
// weights (B, H, W) when non-nil (see ClassBalance), averaged over all
// B*H*W pixels (torch.mean, ignored pixels counting as 0). Shape [1].
func AdvLoss(logits, targets, weights *nn.Tensor) *nn.Tensor {
	loss, _ := nn.CrossEntropyPixels(logits, targets, nn.CEOpts{Weights: weights, IgnoreIndex: -1})
	return nn.MeanAll(loss)
}

// LabelMixLoss is OASIS's LabelMix consistency: the MSE between D's output
// on the mixed image and the same mix of its outputs on the real and fake
// images, mask*dReal + (1-mask)*dFake, with mask (B, 1, H, W) in {0, 1}.
// Gradients flow into all three outputs, as in OASIS. Shape [1].
func LabelMixLoss(mask, dMixed, dFake, dReal *nn.Tensor) *nn.Tensor {
	mixed := nn.Add(dFake, nn.Mul(mask, nn.Sub(dReal, dFake)))
	return nn.MSE(mixed, dMixed)
}

// MixImages returns mask*real + (1-mask)*fake for images (B, 3, H, W) and a
// mask (B, 1, H, W).
func MixImages(mask, real, fake *nn.Tensor) *nn.Tensor {
	return nn.Add(fake, nn.Mul(mask, nn.Sub(real, fake)))
}

// SoftAdvLoss is the N+1 loss with soft targets: per pixel
// -sum_c target[c] * log softmax(logits)[c], times weights (B, H, W) when
// non-nil, averaged over all B*H*W pixels (as AdvLoss). logits and target
// are (B, N+1, H, W); a target that sums to 1 per pixel and is one-hot
// gives exactly AdvLoss. Shape [1].
func SoftAdvLoss(logits, target, weights *nn.Tensor) *nn.Tensor {
	px := nn.Neg(nn.Sum(nn.Mul(target, nn.LogSoftmax(logits, 1)), []int{1}, false)) // (B, H, W)
	if weights != nil {
		px = nn.Mul(px, weights)
	}
	return nn.MeanAll(px)
}
