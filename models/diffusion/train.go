package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"catsynth/models"
	"catsynth/nn"
)

// Batch is one training batch, row-major: Images (N, 3, H, W) in [-1, 1]
// and Labels, the label input (N, T, H, W), one-hot or soft.
type Batch struct {
	N, H, W        int
	Images, Labels []float32
}

// TrainConfig holds the training hyperparameters. Zero LR and EMADecay take
// SDM's values; DropRate and WeightDecay are taken literally
// (DefaultTrainConfig has SDM's guidance finetuning values).
type TrainConfig struct {
	LR          float32 // AdamW learning rate (0: 1e-4)
	WeightDecay float32 // decoupled weight decay (SDM: 0)
	EMADecay    float32 // EMA of the weights (0: 0.9999)
	// DropRate is the share of samples whose whole label map is zeroed, so
	// that the model also learns the unconditional epsilon that
	// classifier-free guidance needs (SDM: 0.2 when finetuning for it).
	DropRate float64
	Seed     uint64 // timesteps, noise and label drops
}

// DefaultTrainConfig is SDM's: lr 1e-4, EMA 0.9999, label drop 0.2.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LR: 1e-4, EMADecay: 0.9999, DropRate: 0.2}
}

// Losses are one step's batch means: Loss = MSE + VB.
type Losses struct {
	Loss, MSE, VB float32
}

// Trainer trains a U-Net with the epsilon MSE loss (plus, with a learned
// sigma, the variational bound term for the variance channels only, as
// guided_diffusion's LossType.MSE with LEARNED_RANGE), uniform timesteps,
// AdamW and an EMA of the weights. With a Layer (class affinity transfer)
// the batches' label maps are target maps that the layer turns into the
// U-Net's label input; a dropped label map is zeroed before the layer, so
// the null map stays the null map.
type Trainer struct {
	Model    *UNet
	Schedule *Schedule
	Opt      *nn.Adam // the U-Net's trained parameters (nil: none)
	OptLayer *nn.Adam // the label layer's (nil: none, or it is frozen)
	EMA      *nn.EMA  // nil when the U-Net is frozen
	Layer    models.LabelLayer
	Config   TrainConfig
	// Steps counts the steps done (resumed ones included).
	Steps int
	rng   *rand.Rand
}

// NewTrainer prepares the optimizer and the EMA for u: every trainable
// parameter trains.
func NewTrainer(u *UNet, cfg TrainConfig) (*Trainer, error) {
	tr, err := newTrainer(u, cfg)
	if err != nil {
		return nil, err
	}
	if err := nn.Catch(func() {
		tr.Opt = nn.NewAdam(u.Params.Trainable(), tr.adam(tr.Config.LR))
		tr.EMA = nn.NewEMA(u.Params, tr.Config.EMADecay)
	}); err != nil {
		tr.Release()
		return nil, err
	}
	return tr, nil
}

// newTrainer checks cfg and builds a trainer without optimizers.
func newTrainer(u *UNet, cfg TrainConfig) (*Trainer, error) {
	if cfg.LR == 0 {
		cfg.LR = 1e-4
	}
	if cfg.EMADecay == 0 {
		cfg.EMADecay = 0.9999
	}
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	if bad(float64(cfg.LR)) || bad(float64(cfg.WeightDecay)) || bad(float64(cfg.EMADecay)) || cfg.EMADecay > 1 || bad(cfg.DropRate) || cfg.DropRate > 1 {
		return nil, fmt.Errorf("diffusion: train config out of range: lr %g, weight decay %g, EMA decay %g (0..1), label drop %g (0..1)",
			cfg.LR, cfg.WeightDecay, cfg.EMADecay, cfg.DropRate)
	}
	s, err := ConfigSchedule(u.Config)
	if err != nil {
		return nil, err
	}
	tr := &Trainer{Model: u, Schedule: s, Config: cfg}
	tr.reseed(0)
	return tr, nil
}

func (tr *Trainer) adam(lr float32) nn.AdamConfig {
	a := nn.DefaultAdam(lr)
	a.WeightDecay = tr.Config.WeightDecay
	return a
}

// reseed restarts the random stream (timesteps, noise, label drops) for a
// run resumed after k steps, so that it does not replay the first steps.
func (tr *Trainer) reseed(k uint64) {
	tr.rng = rand.New(rand.NewPCG(tr.Config.Seed^(k*0x9e3779b97f4a7c15), 0x7a1a))
}

// Release frees the optimizer state and the EMA (not the model).
func (tr *Trainer) Release() {
	for _, o := range []*nn.Adam{tr.Opt, tr.OptLayer} {
		if o != nil {
			o.Release()
		}
	}
	if tr.EMA != nil {
		tr.EMA.Release()
	}
}

func (tr *Trainer) check(b Batch) error {
	cfg := tr.Model.Config
	in := cfg.NumClasses
	if b.N <= 0 || b.H <= 0 || b.W <= 0 || b.H%cfg.Factor() != 0 || b.W%cfg.Factor() != 0 {
		return fmt.Errorf("diffusion: batch %dx%dx%d: sizes must be positive multiples of %d", b.N, b.H, b.W, cfg.Factor())
	}
	if len(b.Images) != b.N*cfg.InChannels*b.H*b.W {
		return fmt.Errorf("diffusion: batch has %d image values, want %d", len(b.Images), b.N*cfg.InChannels*b.H*b.W)
	}
	if tr.Layer == nil && len(b.Labels) != b.N*in*b.H*b.W {
		return fmt.Errorf("diffusion: batch has %d label values, want %d (%d channels)", len(b.Labels), b.N*in*b.H*b.W, in)
	}
	if len(b.Labels)%(b.N*b.H*b.W) != 0 {
		return fmt.Errorf("diffusion: batch has %d label values, not a whole number of channels", len(b.Labels))
	}
	return nil
}

// StepMaps runs one training step on b (label maps as channel planes) and
// returns its losses.
func (tr *Trainer) StepMaps(b Batch) (Losses, error) {
	if err := tr.check(b); err != nil {
		return Losses{}, err
	}
	dev := tr.Model.Params.Device()
	var l Losses
	var lossErr error
	err := nn.Catch(func() {
		sc := dev.Scope()
		defer sc.Close()
		var loss *nn.Tensor
		loss, l, lossErr = tr.loss(b, tr.rng, tr.Config.DropRate)
		if lossErr == nil {
			loss.Backward()
		}
	})
	if err == nil {
		err = lossErr
	}
	if err != nil {
		tr.zeroGrad()
		return Losses{}, fmt.Errorf("diffusion: training step: %w", err)
	}
	if math.IsNaN(float64(l.Loss)) || math.IsInf(float64(l.Loss), 0) {
		tr.zeroGrad()
		return l, fmt.Errorf("diffusion: training step: loss is %g: %w", l.Loss, models.ErrNonFinite)
	}
	for _, o := range []*nn.Adam{tr.Opt, tr.OptLayer} {
		if o != nil {
			o.Step()
		}
	}
	tr.zeroGrad()
	if tr.EMA != nil {
		tr.EMA.Update()
	}
	tr.Steps++
	return l, nil
}

func (tr *Trainer) zeroGrad() {
	for _, o := range []*nn.Adam{tr.Opt, tr.OptLayer} {
		if o != nil {
			o.ZeroGrad()
		}
	}
}

// loss draws timesteps, noise and label drops (rate drop) from rng and
// returns the batch's training loss with its graph; a dropped label map is
// zeroed before the label layer.
func (tr *Trainer) loss(b Batch, rng *rand.Rand, drop float64) (*nn.Tensor, Losses, error) {
	d := tr.draw(b, rng)
	labels := append([]float32(nil), b.Labels...)
	lper := len(labels) / b.N
	for i := range b.N {
		if rng.Float64() < drop {
			clear(labels[i*lper : (i+1)*lper])
		}
	}
	dev := tr.Model.Params.Device()
	y := dev.FromData(labels, b.N, lper/(b.H*b.W), b.H, b.W)
	if tr.Layer != nil {
		y = tr.Layer.Forward(y)
	}
	return tr.lossWith(b, y, d)
}

// lossOn is loss for a label input y (B, S, H, W) already made, without
// label drop.
func (tr *Trainer) lossOn(b Batch, y *nn.Tensor, rng *rand.Rand) (*nn.Tensor, Losses, error) {
	return tr.lossWith(b, y, tr.draw(b, rng))
}

// noising is one batch's forward process: timesteps, noise and x_t.
type noising struct {
	ts        []int
	noise, xt []float32
}

func (tr *Trainer) draw(b Batch, rng *rand.Rand) noising {
	s := tr.Schedule
	per := tr.Model.Config.InChannels * b.H * b.W
	d := noising{ts: make([]int, b.N), noise: make([]float32, len(b.Images)), xt: make([]float32, len(b.Images))}
	for i := range b.N {
		d.ts[i] = rng.IntN(s.Len())
		ab := s.AlphasCumprod[d.ts[i]]
		for j := range per {
			k := i*per + j
			d.noise[k] = float32(rng.NormFloat64())
			d.xt[k] = float32(math.Sqrt(ab)*float64(b.Images[k]) + math.Sqrt(1-ab)*float64(d.noise[k]))
		}
	}
	return d
}

func (tr *Trainer) lossWith(b Batch, y *nn.Tensor, d noising) (*nn.Tensor, Losses, error) {
	u, s := tr.Model, tr.Schedule
	dev := u.Params.Device()
	tf := make([]float64, b.N)
	for i, t := range d.ts {
		tf[i] = float64(s.Timesteps[t])
	}
	out := u.Forward(dev.FromData(d.xt, b.N, u.Config.InChannels, b.H, b.W), tf, y)
	return s.trainingLoss(out, b.Images, d.xt, d.noise, d.ts, u.Config.LearnSigma)
}

// trainingLoss is guided_diffusion's training_losses for epsilon
// prediction: the per-sample mean squared epsilon error, plus (learnSigma)
// the variational bound in bits of p(x_{t-1} | x_t) whose mean uses the
// detached epsilon, so the bound trains the variance channels only: the KL
// to the posterior for t > 0, the discretized Gaussian decoder NLL at t = 0.
// out is (B, 3 or 6, H, W); x0, xt, noise are the host batch. It returns
// the batch-mean loss (graph attached) and the losses' values.
func (s *Schedule) trainingLoss(out *nn.Tensor, x0, xt, noise []float32, ts []int, learnSigma bool) (*nn.Tensor, Losses, error) {
	dev := out.Device()
	b, h, w := out.Dim(0), out.Dim(2), out.Dim(3)
	c := len(x0) / (b * h * w)
	eps := nn.Narrow(out, 1, 0, c)
	axes := []int{1, 2, 3}
	mse := nn.Mean(nn.Square(nn.Sub(eps, dev.FromData(noise, b, c, h, w))), axes, false) // (B)
	total := mse
	var vb *nn.Tensor
	if learnSigma {
		epsv, err := eps.Data()
		if err != nil {
			return nil, Losses{}, err
		}
		vb = s.vbTerm(nn.Narrow(out, 1, c, c), epsv, x0, xt, ts)
		total = nn.Add(mse, vb)
	}
	loss := nn.MeanAll(total)
	var l Losses
	var err error
	read := func(dst *float32, t *nn.Tensor) {
		if err == nil {
			*dst, err = t.Item()
		}
	}
	read(&l.Loss, loss)
	read(&l.MSE, nn.MeanAll(mse))
	if vb != nil {
		read(&l.VB, nn.MeanAll(vb))
	}
	return loss, l, err
}

// vbTerm is _vb_terms_bpd with the model mean frozen: v (B, 3, H, W) are
// the variance values in [-1, 1] (learned range), epsv the predicted
// epsilon on the host. Result (B), in bits.
func (s *Schedule) vbTerm(v *nn.Tensor, epsv, x0, xt []float32, ts []int) *nn.Tensor {
	dev := v.Device()
	shape := v.Shape()
	b := shape[0]
	per := len(x0) / b
	meanModel := make([]float32, len(x0)) // posterior mean from the predicted x_0 (constant)
	meanDiff2 := make([]float32, len(x0)) // (true mean - model mean)^2
	centered := make([]float32, len(x0))  // x_0 - model mean
	lo, hi, mid := make([]float32, len(x0)), make([]float32, len(x0)), make([]float32, len(x0))
	minLog, dLog, trueLog := make([]float32, b), make([]float32, b), make([]float32, b)
	isZero := make([]float32, b)
	for i, t := range ts {
		ab := s.AlphasCumprod[t]
		ra, rm := math.Sqrt(1/ab), math.Sqrt(1/ab-1)
		c1, c2 := s.PosteriorMeanCoef1[t], s.PosteriorMeanCoef2[t]
		minLog[i] = float32(s.PosteriorLogVarClipped[t])
		dLog[i] = float32(math.Log(s.Betas[t]) - s.PosteriorLogVarClipped[t])
		trueLog[i] = minLog[i]
		if t == 0 {
			isZero[i] = 1
		}
		for j := range per {
			k := i*per + j
			x0p := ra*float64(xt[k]) - rm*float64(epsv[k])
			mm := c1*x0p + c2*float64(xt[k])
			tm := c1*float64(x0[k]) + c2*float64(xt[k])
			meanModel[k] = float32(mm)
			meanDiff2[k] = float32((tm - mm) * (tm - mm))
			centered[k] = float32(float64(x0[k]) - mm)
			switch {
			case x0[k] < -0.999:
				lo[k] = 1
			case x0[k] > 0.999:
				hi[k] = 1
			default:
				mid[k] = 1
			}
		}
	}
	col := func(vals []float32) *nn.Tensor { return dev.FromData(vals, b, 1, 1, 1) }
	full := func(vals []float32) *nn.Tensor { return dev.FromData(vals, shape...) }
	// log variance = frac*log(beta) + (1-frac)*posterior log var, frac = (v+1)/2.
	logVar := nn.Add(nn.Mul(nn.MulScalar(nn.AddScalar(v, 1), 0.5), col(dLog)), col(minLog))
	tl := col(trueLog)
	// KL(N(true mean, e^tl) || N(model mean, e^logVar)).
	kl := nn.MulScalar(nn.Add(nn.Add(nn.AddScalar(nn.Sub(logVar, tl), -1), nn.Exp(nn.Sub(tl, logVar))),
		nn.Mul(full(meanDiff2), nn.Exp(nn.Neg(logVar)))), 0.5)
	axes := []int{1, 2, 3}
	ln2 := float32(math.Ln2)
	klBits := nn.DivScalar(nn.Mean(kl, axes, false), ln2)
	// Decoder NLL of x_0 under a Gaussian discretised to 256 levels.
	inv := nn.Exp(nn.MulScalar(logVar, -0.5))
	cdf := func(z *nn.Tensor) *nn.Tensor {
		inner := nn.MulScalar(nn.Add(z, nn.MulScalar(nn.Mul(z, nn.Square(z)), 0.044715)), float32(math.Sqrt(2/math.Pi)))
		return nn.MulScalar(nn.AddScalar(nn.Tanh(inner), 1), 0.5)
	}
	cen := full(centered)
	cdfPlus := cdf(nn.Mul(inv, nn.AddScalar(cen, 1.0/255)))
	cdfMin := cdf(nn.Mul(inv, nn.AddScalar(cen, -1.0/255)))
	logPlus := nn.Log(nn.MaxScalar(cdfPlus, 1e-12))
	logOneMinus := nn.Log(nn.MaxScalar(nn.RSubScalar(1, cdfMin), 1e-12))
	logDelta := nn.Log(nn.MaxScalar(nn.Sub(cdfPlus, cdfMin), 1e-12))
	logP := nn.Add(nn.Add(nn.Mul(full(lo), logPlus), nn.Mul(full(hi), logOneMinus)), nn.Mul(full(mid), logDelta))
	nllBits := nn.DivScalar(nn.Neg(nn.Mean(logP, axes, false)), ln2)
	z := dev.FromData(isZero, b)
	return nn.Add(nn.Mul(nllBits, z), nn.Mul(klBits, nn.RSubScalar(1, z)))
}

// Train runs steps training steps on the batches next returns (given the
// step index, from 0), calling progress (if set) after each. It stops
// with ctx's error between steps.
func (tr *Trainer) Train(ctx context.Context, steps int, next func(step int) (Batch, error), progress func(step int, l Losses)) error {
	for i := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := next(i)
		if err != nil {
			return err
		}
		l, err := tr.StepMaps(b)
		if err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if progress != nil {
			progress(i, l)
		}
	}
	return nil
}
