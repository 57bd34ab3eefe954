package gan

import (
	"fmt"
	"math/rand/v2"

	"catsynth/models"
	"catsynth/nn"
)

// TrainConfig holds the training hyperparameters (models.TrainConfig).
// Zero values take OASIS's defaults (see trainDefaults): batch 4, lr G 1e-4,
// lr D 4e-4, Adam (0, 0.999), LabelMix weight 10, EMA decay 0.999 (OASIS:
// 0.9999, meant for 200k+ steps); NoLabelMix turns LabelMix off.
type TrainConfig = models.TrainConfig

func trainDefaults(c TrainConfig) TrainConfig {
	if c.BatchSize == 0 {
		c.BatchSize = 4
	}
	if c.LRG == 0 {
		c.LRG = 1e-4
	}
	if c.LRD == 0 {
		c.LRD = 4e-4
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.LambdaLabelMix == 0 {
		c.LambdaLabelMix = 10
	}
	if c.EMADecay == 0 {
		c.EMADecay = 0.999
	}
	return c
}

// adam is the optimizer setting of OASIS for learning rate lr.
func adam(c TrainConfig, lr float32) nn.AdamConfig {
	return nn.AdamConfig{LR: lr, Beta1: c.Beta1, Beta2: c.Beta2, Eps: 1e-8}
}

// Loss names of a GAN step (models.Losses keys).
const (
	LossG        = "g"         // generator adversarial (N+1, class balanced)
	LossDReal    = "d_real"    // discriminator on real images
	LossDFake    = "d_fake"    // discriminator on generated images
	LossLabelMix = "label_mix" // lambda * LabelMix consistency
	LossModeSeek = "mode_seek" // lambda * the mode-seeking term (ModeSeekLoss)
)

// DLoss is the discriminator's total loss of a step.
func DLoss(l models.Losses) float32 { return l[LossDReal] + l[LossDFake] + l[LossLabelMix] }

// ErrNonFinite is models.ErrNonFinite.
var ErrNonFinite = models.ErrNonFinite

// Trainer holds a generator, a discriminator, their Adam optimizers and the
// EMA of the generator, and runs OASIS training steps.
type Trainer struct {
	Dev    *nn.Device
	G      *Generator
	D      *Discriminator
	EMA    *nn.EMA
	Config TrainConfig
	Steps  int // steps done

	optG, optD *nn.Adam
	rng        *rand.Rand
}

// NewTrainer builds G and D on dev (weights from cfg.Seed) and the
// optimizers. The discriminator's class count must be G's label channels.
func NewTrainer(dev *nn.Device, gc GeneratorConfig, dc DiscriminatorConfig, cfg TrainConfig) (*Trainer, error) {
	cfg = trainDefaults(cfg)
	if dc.NumClasses != gc.LabelNC {
		return nil, fmt.Errorf("gan: discriminator has %d classes but the generator %d label channels", dc.NumClasses, gc.LabelNC)
	}
	if err := dc.Validate(); err != nil {
		return nil, err
	}
	if err := dc.CheckSize(gc.H, gc.W); err != nil {
		return nil, err
	}
	g, err := NewGenerator(dev, gc, cfg.Seed)
	if err != nil {
		return nil, err
	}
	d, err := NewDiscriminator(dev, dc, cfg.Seed+1)
	if err != nil {
		g.Release()
		return nil, err
	}
	t := &Trainer{Dev: dev, G: g, D: d, Config: cfg, rng: newStream(cfg.Seed, 0)}
	err = nn.Catch(func() {
		t.optG = nn.NewAdam(g.Params().Trainable(), adam(cfg, cfg.LRG))
		t.optD = nn.NewAdam(d.Params.Trainable(), adam(cfg, cfg.LRD))
		t.EMA = nn.NewEMA(g.Params(), cfg.EMADecay)
	})
	if err != nil {
		t.Release()
		return nil, fmt.Errorf("gan: trainer: %w", err)
	}
	return t, nil
}

// newStream is the random stream (noise, LabelMix masks) of a run with seed,
// restarted at step k for resumed runs (so they do not replay the noise of
// the first steps).
func newStream(seed, k uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x7a11+k)) }

// Release frees every tensor of the trainer.
func (t *Trainer) Release() {
	if t.optG != nil {
		t.optG.Release()
	}
	if t.optD != nil {
		t.optD.Release()
	}
	if t.EMA != nil {
		t.EMA.Release()
	}
	t.G.Release()
	t.D.Release()
}

// Step runs one OASIS iteration on b (see iteration.run) with labels of G's
// own classes.
func (t *Trainer) Step(b models.Batch) (models.Losses, error) {
	it := iteration{G: t.G, D: t.D, classes: t.G.Config.LabelNC, optG: t.optG, optD: t.optD,
		ema: t.EMA, lambda: labelMixWeight(t.Config), modeSeek: t.Config.LambdaModeSeek, rng: t.rng, what: "gan"}
	if t.Steps < t.Config.DWarmup {
		it.optG = nil // D learns the current G first (a warm-started G with a fresh D)
	}
	l, err := it.run(b)
	if err == nil {
		t.Steps++
	}
	return l, err
}

func labelMixWeight(c TrainConfig) float32 {
	if c.NoLabelMix {
		return 0
	}
	return c.LambdaLabelMix
}

// iteration is one OASIS training step: plain training (Trainer) and
// finetuning behind a label layer (finetuner) run the same code.
type iteration struct {
	G *Generator
	D *Discriminator
	// layer maps the batch's one-hot labels (B, classes, H, W) to G's
	// input; nil when G reads them directly.
	layer   models.LabelLayer
	classes int
	// optG and optA (the label layer's) step after the generator loss; a
	// nil optD keeps D frozen (no discriminator half, no EMA).
	optG, optA, optD *nn.Adam
	ema              *nn.EMA
	// emaDecay, when > 0, is set on ema before its update (a ramp).
	emaDecay float32
	// softHead reads D's source head through the layer: a real pixel of
	// class t has the soft target (0, layer(onehot(t))).
	softHead bool
	lambda   float32 // LabelMix weight, 0: off
	modeSeek float32 // mode-seeking weight, 0: off (see ModeSeekLoss)
	rng      *rand.Rand
	what     string // message prefix
}

// run is the step:
//
//  1. generator update (G's trained parameters and the layer's): the N+1
//     loss of D on G's images as if real, class balanced;
//  2. discriminator update (when D trains): real pixels -> their class,
//     fake -> "fake", plus LabelMix;
//  3. EMA update (when D trains).
//
// Losses are read back before each optimizer step; a non-finite one stops
// the step (ErrNonFinite) before the optimizer step it would feed (a NaN in
// the discriminator's losses comes after the generator's update).
func (it iteration) run(b models.Batch) (models.Losses, error) {
	l := models.Losses{}
	gc := it.G.Config
	if err := b.Check(gc.H, gc.W, it.what); err != nil {
		return l, err
	}
	weights, err := models.ClassBalance(b.Labels, it.classes)
	if err != nil {
		return l, fmt.Errorf("%s: %w", it.what, err)
	}
	dev := it.G.Params().Device()
	s := dev.Scope()
	defer s.Close()
	n, h, w := b.N, b.H, b.W
	y, err := models.OneHotLabels(dev, b.Labels, n, h, w, it.classes)
	if err != nil {
		return l, err
	}
	input := func() *nn.Tensor {
		if it.layer == nil {
			return y
		}
		return it.layer.Forward(y)
	}
	real := dev.FromData(b.Images, n, 3, h, w)
	wt := dev.FromData(weights, n, h, w)
	realLoss := it.realLoss(y, b.Labels, wt)
	noise := func() *nn.Tensor {
		if gc.ZDim == 0 {
			return nil
		}
		return it.G.trainingNoise(n, h, w, it.rng.Uint64())
	}
	trainD := it.optD != nil

	// Generator (and layer) update; D's weights need no gradient here.
	if it.optG != nil || it.optA != nil {
		if trainD {
			setRequiresGrad(it.D.Params.Trainable(), false)
		}
		var lossG *nn.Tensor
		if it.modeSeek > 0 && gc.ZDim > 0 {
			// Every map twice, with two noise draws, in one forward of G and
			// D: the adversarial loss of each half averaged (the mean over
			// all 2B images) plus the mode-seeking term between the pairs.
			x := input()
			z1, z2 := noise(), noise()
			fake := it.G.Forward(nn.Concat([]*nn.Tensor{x, x}, 0), nn.Concat([]*nn.Tensor{z1, z2}, 0))
			logits := it.D.Forward(fake)
			adv := nn.MulScalar(nn.Add(realLoss(nn.Narrow(logits, 0, 0, n)), realLoss(nn.Narrow(logits, 0, n, n))), 0.5)
			ms := nn.MulScalar(ModeSeekLoss(nn.Narrow(fake, 0, 0, n), nn.Narrow(fake, 0, n, n), z1, z2), it.modeSeek)
			lossG = nn.Add(adv, ms)
			if v, err := models.Finite(ms, "mode seeking"); err == nil {
				l[LossModeSeek] = v
			}
		} else {
			lossG = realLoss(it.D.Forward(it.G.Forward(input(), noise())))
		}
		lossG.Backward()
		if trainD {
			setRequiresGrad(it.D.Params.Trainable(), true)
		}
		v, err := models.Finite(lossG, "generator")
		if err != nil {
			for _, o := range []*nn.Adam{it.optG, it.optA} {
				if o != nil {
					o.ZeroGrad()
				}
			}
			return l, fmt.Errorf("%s: %w", it.what, err)
		}
		l[LossG] = v
		for _, o := range []*nn.Adam{it.optG, it.optA} {
			if o != nil {
				o.Step()
				o.ZeroGrad()
			}
		}
	}
	if !trainD {
		return l, dev.Flush()
	}

	// Discriminator update on a fresh fake batch.
	var fake *nn.Tensor
	dev.NoGrad(func() { fake = it.G.Forward(input(), noise()).Detach() })
	if err := DiscriminatorStep(it.D, it.optD, fake, real, b.Labels, realLoss, it.lambda, it.rng, l); err != nil {
		return l, fmt.Errorf("%s: %w", it.what, err)
	}
	if it.emaDecay > 0 {
		it.ema.Decay = it.emaDecay
	}
	it.ema.Update()
	return l, dev.Flush()
}

// ModeSeekLoss is the mode-seeking term of Mao et al. (CVPR 2019) for two
// images x1, x2 of the same maps from noise z1, z2:
//
//	1 / (mean|x1 - x2| / mean|z1 - z2| + 1e-5)
//
// small when the images differ as much as their noise does, so a generator
// that ignores its noise (the same image for every seed) pays for it. The
// noise distance (floored at 1e-8) is detached: no gradient reaches z, and
// nothing is read back to the host mid-step.
func ModeSeekLoss(x1, x2, z1, z2 *nn.Tensor) *nn.Tensor {
	dz := nn.MaxScalar(nn.L1(z1, z2), 1e-8).Detach()
	return nn.Recip(nn.AddScalar(nn.Div(nn.L1(x1, x2), dz), 1e-5))
}

// realLoss returns the discriminator loss of "these pixels are real and of
// their class" for logits (B, N+1, H, W), class balanced by wt (B, H, W):
// the N+1 cross-entropy against class+1, or with softHead the soft-label
// cross-entropy against (0, layer(y)) (unlabelled pixels: 0; the layer
// detached, so the discriminator's loss does not train it).
func (it iteration) realLoss(y *nn.Tensor, labels []int32, wt *nn.Tensor) func(*nn.Tensor) *nn.Tensor {
	dev := y.Device()
	n, h, w := y.Dim(0), y.Dim(2), y.Dim(3)
	if !it.softHead {
		tgt := dev.FromData(N1Targets(labels, true), n, h, w)
		return func(logits *nn.Tensor) *nn.Tensor { return AdvLoss(logits, tgt, wt) }
	}
	var soft *nn.Tensor
	dev.NoGrad(func() {
		src := it.layer.Forward(y) // (B, S, H, W)
		soft = nn.Concat([]*nn.Tensor{dev.Zeros(n, 1, h, w), src}, 1).Detach()
	})
	return func(logits *nn.Tensor) *nn.Tensor { return SoftAdvLoss(logits, soft, wt) }
}

func setRequiresGrad(ts []*nn.Tensor, on bool) {
	for _, x := range ts {
		x.SetRequiresGrad(on)
	}
}

// DiscriminatorStep runs the discriminator's half of an OASIS iteration
// and its optimizer step: D on fake images (B, 3, H, W) is pulled toward
// "fake", D on the real images toward realLoss (the N+1 class targets, or
// soft ones), plus LabelMix with weight lambda (0: off) on a per-class mix
// of real and fake drawn from rng. It fills l's d_fake, d_real and
// label_mix; a non-finite loss stops before the optimizer step
// (ErrNonFinite) with the gradients dropped.
func DiscriminatorStep(d *Discriminator, opt *nn.Adam, fake, real *nn.Tensor, labels []int32,
	realLoss func(logits *nn.Tensor) *nn.Tensor, lambda float32, rng *rand.Rand, l models.Losses) error {
	dev, shape := real.Device(), real.Shape()
	n, h, w := shape[0], shape[2], shape[3]
	dFake := d.Forward(fake)
	lossFake := AdvLoss(dFake, dev.Zeros(n, h, w), nil)
	dReal := d.Forward(real)
	lossReal := realLoss(dReal)
	lossD := nn.Add(lossFake, lossReal)
	var lossLM *nn.Tensor
	if lambda > 0 {
		mask := dev.FromData(LabelMixMask(labels, rng), n, 1, h, w)
		dMix := d.Forward(MixImages(mask, real, fake))
		lossLM = nn.MulScalar(LabelMixLoss(mask, dMix, dFake, dReal), lambda)
		lossD = nn.Add(lossD, lossLM)
	}
	lossD.Backward()
	for _, p := range []struct {
		x          *nn.Tensor
		key, label string
	}{{lossFake, LossDFake, "discriminator (fake)"}, {lossReal, LossDReal, "discriminator (real)"}, {lossLM, LossLabelMix, "LabelMix"}} {
		if p.x == nil {
			continue
		}
		v, err := models.Finite(p.x, p.label)
		if err != nil {
			opt.ZeroGrad()
			return err
		}
		l[p.key] = v
	}
	opt.Step()
	opt.ZeroGrad()
	return nil
}

// reseed restarts the trainer's random stream at step k.
func (t *Trainer) reseed(k uint64) { t.rng = newStream(t.Config.Seed, k) }
