package gan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"catsynth/nn"
)

// TrainConfig holds the training hyperparameters. Zero values take OASIS's
// defaults (see withDefaults); NoLabelMix turns LabelMix off.
type TrainConfig struct {
	BatchSize      int     `json:"batch_size"`
	LRG            float32 `json:"lr_g"`            // 1e-4
	LRD            float32 `json:"lr_d"`            // 4e-4
	Beta1          float32 `json:"beta1"`           // 0 (taken literally once LRG is set)
	Beta2          float32 `json:"beta2"`           // 0.999
	LambdaLabelMix float32 `json:"lambda_labelmix"` // 10
	NoLabelMix     bool    `json:"no_labelmix"`
	EMADecay       float32 `json:"ema_decay"` // 0.999 (OASIS: 0.9999, meant for 200k+ steps)
	Seed           uint64  `json:"seed"`
}

func (c TrainConfig) withDefaults() TrainConfig {
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

// Batch is one training batch, laid out as dataset.Batch: Images N*3*H*W in
// [-1, 1] (NCHW), Labels N*H*W class indices (negative: ignored).
type Batch struct {
	N, H, W int
	Images  []float32
	Labels  []int32
}

// Losses are one step's loss values.
type Losses struct {
	G        float32 `json:"g"`         // generator adversarial (N+1, class balanced)
	DReal    float32 `json:"d_real"`    // discriminator on real images
	DFake    float32 `json:"d_fake"`    // discriminator on generated images
	LabelMix float32 `json:"label_mix"` // lambda * LabelMix consistency
}

// D is the discriminator's total loss.
func (l Losses) D() float32 { return l.DReal + l.DFake + l.LabelMix }

// ErrNonFinite is returned (wrapped) by Step when a loss is NaN or infinite;
// the weights are left as they were before the step.
var ErrNonFinite = errors.New("non-finite loss")

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
	cfg = cfg.withDefaults()
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
	t := &Trainer{Dev: dev, G: g, D: d, Config: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7a11))}
	err = nn.Catch(func() {
		t.optG = nn.NewAdam(g.Params.Trainable(), nn.AdamConfig{LR: cfg.LRG, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: 1e-8})
		t.optD = nn.NewAdam(d.Params.Trainable(), nn.AdamConfig{LR: cfg.LRD, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: 1e-8})
		t.EMA = nn.NewEMA(g.Params, cfg.EMADecay)
	})
	if err != nil {
		t.Release()
		return nil, fmt.Errorf("gan: trainer: %w", err)
	}
	return t, nil
}

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

func setRequiresGrad(ts []*nn.Tensor, on bool) {
	for _, x := range ts {
		x.SetRequiresGrad(on)
	}
}

// Step runs one OASIS iteration on b: a generator update (class-balanced
// N+1 loss of D on G's images, as if real), then a discriminator update
// (real pixels -> their class, fake -> "fake", plus LabelMix), then the EMA
// update. Losses are read back before each optimizer step; a non-finite one
// stops the step (ErrNonFinite) before the optimizer step it would feed (a
// NaN in the discriminator's losses comes after the generator's update).
func (t *Trainer) Step(b Batch) (Losses, error) {
	var l Losses
	gc := t.G.Config
	if b.H != gc.H || b.W != gc.W || b.N < 1 || len(b.Images) != b.N*3*b.H*b.W || len(b.Labels) != b.N*b.H*b.W {
		return l, fmt.Errorf("gan: batch of %d %dx%d images (%d values, %d labels) for a %dx%d model",
			b.N, b.W, b.H, len(b.Images), len(b.Labels), gc.W, gc.H)
	}
	weights, err := ClassBalance(b.Labels, gc.LabelNC)
	if err != nil {
		return l, err
	}
	dev := t.Dev
	s := dev.Scope()
	defer s.Close()
	n, h, w := b.N, b.H, b.W
	idx := make([]float32, len(b.Labels))
	for i, c := range b.Labels {
		idx[i] = float32(c)
	}
	y := nn.OneHot(dev.FromData(idx, n, h, w), gc.LabelNC) // ignored pixels: all zeros
	real := dev.FromData(b.Images, n, 3, h, w)
	wt := dev.FromData(weights, n, h, w)
	tReal := dev.FromData(N1Targets(b.Labels, true), n, h, w)
	noise := func() *nn.Tensor {
		if gc.ZDim == 0 {
			return nil
		}
		return Noise(dev, n, gc.ZDim, t.rng.Uint64())
	}

	// Generator update; D's weights need no gradient here.
	dParams := t.D.Params.Trainable()
	setRequiresGrad(dParams, false)
	lossG := AdvLoss(t.D.Forward(t.G.Forward(y, noise())), tReal, wt)
	lossG.Backward()
	setRequiresGrad(dParams, true)
	if l.G, err = finite(lossG, "generator"); err != nil {
		t.optG.ZeroGrad()
		return l, err
	}
	t.optG.Step()
	t.optG.ZeroGrad()

	// Discriminator update on a fresh fake batch.
	var fake *nn.Tensor
	dev.NoGrad(func() { fake = t.G.Forward(y, noise()).Detach() })
	lambda := t.Config.LambdaLabelMix
	if t.Config.NoLabelMix {
		lambda = 0
	}
	realLoss := func(logits *nn.Tensor) *nn.Tensor { return AdvLoss(logits, tReal, wt) }
	if err := DiscriminatorStep(t.D, t.optD, fake, real, b.Labels, realLoss, lambda, t.rng, &l); err != nil {
		return l, err
	}
	t.EMA.Update()
	t.Steps++
	return l, dev.Flush()
}

// DiscriminatorStep runs the discriminator's half of an OASIS iteration
// and its optimizer step: D on fake images (B, 3, H, W) is pulled toward
// "fake", D on the real images toward realLoss (the N+1 class targets; class
// affinity transfer passes soft ones), plus LabelMix with weight lambda
// (0: off) on a per-class mix of real and fake drawn from rng. It fills
// l.DFake, l.DReal and l.LabelMix; a non-finite loss stops before the
// optimizer step (ErrNonFinite) with the gradients dropped.
func DiscriminatorStep(d *Discriminator, opt *nn.Adam, fake, real *nn.Tensor, labels []int32,
	realLoss func(logits *nn.Tensor) *nn.Tensor, lambda float32, rng *rand.Rand, l *Losses) error {
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
		x    *nn.Tensor
		dst  *float32
		name string
	}{{lossFake, &l.DFake, "discriminator (fake)"}, {lossReal, &l.DReal, "discriminator (real)"}, {lossLM, &l.LabelMix, "LabelMix"}} {
		if p.x == nil {
			continue
		}
		var err error
		if *p.dst, err = finite(p.x, p.name); err != nil {
			opt.ZeroGrad()
			return err
		}
	}
	opt.Step()
	opt.ZeroGrad()
	return nil
}

// reseed restarts the trainer's random stream (noise, LabelMix masks) at a
// point derived from the seed and k.
func (t *Trainer) reseed(k uint64) { t.rng = rand.New(rand.NewPCG(t.Config.Seed, 0x7a11+k)) }

// finite reads a one-element loss and checks it.
func finite(x *nn.Tensor, what string) (float32, error) {
	v, err := x.Item()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return v, fmt.Errorf("gan: %s loss is %v: %w", what, v, ErrNonFinite)
	}
	return v, nil
}
