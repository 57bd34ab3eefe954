package transfer

import (
	"fmt"
	"image"
	"math"

	"catsynth/models/gan"
	"catsynth/nn"
)

// T is the number of target classes.
func (m *Model) T() int { return len(m.Target) }

// Step runs one finetuning iteration on a batch of target images and target
// label maps (labels in [0, T) or negative = unlabelled):
//
//  1. generator update (G's trained parameters and A): the N+1 loss of D on
//     G's images as if real;
//  2. discriminator update (TrainAll only): real pixels -> their class,
//     fake -> "fake", plus LabelMix;
//  3. EMA update (TrainAll only), with the decay ramped up as
//     min(EMADecay, (1+k)/(10+k)).
//
// With HeadAffinity the "class" of a real pixel is the soft source
// distribution A[t, :] (A detached: the discriminator's loss does not train
// A). A non-finite loss stops the step before the optimizer step it would
// feed and returns an error wrapping gan.ErrNonFinite.
func (m *Model) Step(b gan.Batch) (gan.Losses, error) {
	var l gan.Losses
	gc := m.G.Config
	if b.H != gc.H || b.W != gc.W || b.N < 1 || len(b.Images) != b.N*3*b.H*b.W || len(b.Labels) != b.N*b.H*b.W {
		return l, fmt.Errorf("transfer: batch of %d %dx%d images (%d values, %d labels) for a %dx%d model",
			b.N, b.W, b.H, len(b.Images), len(b.Labels), gc.W, gc.H)
	}
	T := m.T()
	weights, err := gan.ClassBalance(b.Labels, T)
	if err != nil {
		return l, fmt.Errorf("transfer: %w", err)
	}
	dev := m.Dev
	s := dev.Scope()
	defer s.Close()
	n, h, w := b.N, b.H, b.W
	y, err := gan.OneHotLabels(dev, b.Labels, n, h, w, T)
	if err != nil {
		return l, err
	}
	real := dev.FromData(b.Images, n, 3, h, w)
	wt := dev.FromData(weights, n, h, w)
	realLoss := m.realLoss(y, b.Labels, wt)
	noise := func() *nn.Tensor {
		if gc.ZDim == 0 {
			return nil
		}
		return gan.Noise(dev, n, gc.ZDim, m.rng.Uint64())
	}

	// Generator (and A) update; D's weights need no gradient here.
	if m.optG != nil || m.optA != nil {
		if m.trainD {
			setRequiresGrad(m.D.Params.Trainable(), false)
		}
		lossG := realLoss(m.D.Forward(m.G.Forward(y, noise())))
		lossG.Backward()
		if m.trainD {
			setRequiresGrad(m.D.Params.Trainable(), true)
		}
		if l.G, err = finite(lossG, "generator"); err != nil {
			m.zeroGrad()
			return l, err
		}
		for _, o := range []*nn.Adam{m.optG, m.optA} {
			if o != nil {
				o.Step()
				o.ZeroGrad()
			}
		}
	}
	if !m.trainD {
		m.Steps++
		return l, dev.Flush()
	}

	// Discriminator update on a fresh fake batch.
	var fake *nn.Tensor
	dev.NoGrad(func() { fake = m.G.Forward(y, noise()).Detach() })
	lambda := float32(0)
	if !m.Options.GAN.NoLabelMix {
		lambda = orDefault(m.Options.GAN.LambdaLabelMix, 10)
	}
	if err := gan.DiscriminatorStep(m.D, m.optD, fake, real, b.Labels, realLoss, lambda, m.rng, &l); err != nil {
		return l, err
	}
	k := float32(m.Steps)
	m.EMA.Decay = min(orDefault(m.Options.GAN.EMADecay, 0.999), (1+k)/(10+k))
	m.EMA.Update()
	m.Steps++
	return l, dev.Flush()
}

// realLoss returns the discriminator loss of "these pixels are real and of
// their class" for logits (B, N+1, H, W), class balanced by wt (B, H, W).
// HeadReinit: N = T and the usual N+1 cross-entropy against class+1.
// HeadAffinity: N = S and the soft-label cross-entropy against
// (0, A[t, 0..S-1]) for a pixel of target class t (unlabelled pixels: 0).
func (m *Model) realLoss(y *nn.Tensor, labels []int32, wt *nn.Tensor) func(*nn.Tensor) *nn.Tensor {
	dev := m.Dev
	n, h, w := y.Dim(0), y.Dim(2), y.Dim(3)
	if m.Options.Head == HeadReinit {
		tgt := dev.FromData(gan.N1Targets(labels, true), n, h, w)
		return func(logits *nn.Tensor) *nn.Tensor { return gan.AdvLoss(logits, tgt, wt) }
	}
	var soft *nn.Tensor
	dev.NoGrad(func() {
		src := m.G.LabelMap(y) // (B, S, H, W), A detached
		soft = nn.Concat([]*nn.Tensor{dev.Zeros(n, 1, h, w), src}, 1).Detach()
	})
	return func(logits *nn.Tensor) *nn.Tensor { return SoftAdvLoss(logits, soft, wt) }
}

// SoftAdvLoss is the N+1 loss with soft targets: per pixel
// -sum_c target[c] * log softmax(logits)[c], times weights (B, H, W) when
// non-nil, averaged over all B*H*W pixels (as gan.AdvLoss). logits and
// target are (B, N+1, H, W); a target that sums to 1 per pixel and is
// one-hot gives exactly gan.AdvLoss. Shape [1].
func SoftAdvLoss(logits, target, weights *nn.Tensor) *nn.Tensor {
	px := nn.Neg(nn.Sum(nn.Mul(target, nn.LogSoftmax(logits, 1)), []int{1}, false)) // (B, H, W)
	if weights != nil {
		px = nn.Mul(px, weights)
	}
	return nn.MeanAll(px)
}

func (m *Model) zeroGrad() {
	for _, o := range []*nn.Adam{m.optG, m.optA, m.optD} {
		if o != nil {
			o.ZeroGrad()
		}
	}
}

func setRequiresGrad(ts []*nn.Tensor, on bool) {
	for _, x := range ts {
		x.SetRequiresGrad(on)
	}
}

func finite(x *nn.Tensor, what string) (float32, error) {
	v, err := x.Item()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return v, fmt.Errorf("transfer: %s loss is %v: %w", what, v, gan.ErrNonFinite)
	}
	return v, nil
}

// Generate makes one image per seed from target label maps (B*H*W indices
// in [0, T) or negative) with the averaged weights (when kept) in eval
// mode; the training weights and mode are restored afterwards.
func (m *Model) Generate(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	if m.EMA != nil {
		m.EMA.Swap()
		defer m.EMA.Swap()
	}
	m.G.Params.SetTraining(false)
	defer m.G.Params.SetTraining(true)
	return m.G.Generate(labels, h, w, seeds)
}
