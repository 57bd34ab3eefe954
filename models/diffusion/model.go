package diffusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"catsynth/models"
	"catsynth/nn"
)

// File kinds of the diffusion family (the "catsynth_kind" metadata).
const (
	KindModel = "sdm-unet"        // a model file: the (EMA) U-Net
	KindState = "sdm-train-state" // a training state: weights, EMA, Adam moments
)

// Limits of the sampler settings a user can choose.
const (
	MaxGuidance = 20.0
	MaxEta      = 1.0
)

// Model is a U-Net with its sampler settings: the diffusion family's
// models.Model. Generate samples with DDIM or DDPM and classifier-free
// guidance; a label layer in front (models.Conditioned) feeds every SPADE
// group norm, the only place the U-Net reads labels.
type Model struct {
	U        *UNet
	sampling models.Sampling
	loss     *Trainer // TrainingLoss's schedule and stream (no optimizer), made once
}

// NewModel wraps u with the default sampler settings (25 DDIM steps, eta
// 0, SDM's guidance 1.5).
func NewModel(u *UNet) *Model {
	return &Model{U: u, sampling: DefaultSampling()}
}

// DefaultSampling is what Generate uses unless told otherwise: 25 DDIM
// steps (the middle of the 10-50 that interactive use takes), eta 0,
// guidance 1.5.
func DefaultSampling() models.Sampling {
	return models.Sampling{Method: MethodDDIM, Steps: 25, Guidance: DefaultGuidance, Eta: 0}
}

// Kind is KindModel.
func (m *Model) Kind() string { return KindModel }

// Classes names the S label channels ("class N" where the file has no
// names).
func (m *Model) Classes() []string { return classNames(m.U.Config) }

func classNames(c Config) []string {
	if len(c.ClassNames) == c.NumClasses {
		return append([]string(nil), c.ClassNames...)
	}
	out := make([]string, c.NumClasses)
	for i := range out {
		out[i] = "class " + strconv.Itoa(i)
	}
	return out
}

// Size is the training size (square).
func (m *Model) Size() (h, w int) { return m.U.Config.ImageSize, m.U.Config.ImageSize }

// CheckSize accepts sizes that are positive multiples of the U-Net's
// down-sampling factor.
func (m *Model) CheckSize(h, w int) error { return checkSize(m.U.Config, h, w) }

func checkSize(c Config, h, w int) error {
	f := c.Factor()
	if h <= 0 || w <= 0 || h%f != 0 || w%f != 0 {
		return fmt.Errorf("a %dx%d label map: this diffusion model needs sides that are positive multiples of %d", w, h, f)
	}
	return nil
}

// Params are the U-Net's parameters under the official names.
func (m *Model) Params() *nn.Params { return m.U.Params }

// Release frees the parameters.
func (m *Model) Release() { m.U.Release() }

// Sampling returns the sampler settings Generate uses.
func (m *Model) Sampling() models.Sampling { return m.sampling }

// SetSampling checks and sets the sampler settings; zero Steps and
// Method take the defaults, Guidance 0 means 1 (no guidance).
func (m *Model) SetSampling(s models.Sampling) error {
	d := DefaultSampling()
	if s.Method == "" {
		s.Method = d.Method
	}
	if s.Steps == 0 {
		s.Steps = d.Steps
	}
	if s.Guidance == 0 {
		s.Guidance = 1
	}
	if err := CheckSampling(s, m.U.Config.DiffusionSteps); err != nil {
		return err
	}
	m.sampling = s
	return nil
}

// SamplingLimits implements models.SamplingLimiter: the ranges
// SetSampling accepts (CheckSampling).
func (m *Model) SamplingLimits() models.SamplingLimits {
	return models.SamplingLimits{Steps: m.U.Config.DiffusionSteps, Guidance: MaxGuidance, Eta: MaxEta}
}

// CheckSampling reports settings out of range for a process of T steps.
func CheckSampling(s models.Sampling, T int) error {
	switch {
	case s.Method != MethodDDIM && s.Method != MethodDDPM:
		return fmt.Errorf("sampling method %q: want %q or %q", s.Method, MethodDDIM, MethodDDPM)
	case s.Steps < 1 || s.Steps > T:
		return fmt.Errorf("%d sampling steps: want 1 to %d (the model's diffusion steps)", s.Steps, T)
	case math.IsNaN(s.Guidance) || s.Guidance < 1 || s.Guidance > MaxGuidance:
		return fmt.Errorf("guidance %g: want 1 (off) to %g", s.Guidance, MaxGuidance)
	case math.IsNaN(s.Eta) || s.Eta < 0 || s.Eta > MaxEta:
		return fmt.Errorf("eta %g: want 0 (deterministic DDIM) to %g", s.Eta, MaxEta)
	case s.Method == MethodDDPM && s.Eta != 0:
		return fmt.Errorf("eta %g is a DDIM setting; DDPM draws its own noise", s.Eta)
	}
	return nil
}

// Generate samples one image per label map (B, S, H, W), image i from
// seeds[i], with the current settings. progress gets every step with the
// current x0 prediction. Sampling never records a tape: a diffusion model
// trains through TrainingLoss, not through its sampler.
func (m *Model) Generate(ctx context.Context, labels *nn.Tensor, seeds []uint64, progress func(models.Progress)) (*nn.Tensor, error) {
	if labels.Rank() != 4 || labels.Dim(0) != len(seeds) {
		return nil, fmt.Errorf("diffusion: Generate: label map %v for %d seeds", labels.Shape(), len(seeds))
	}
	s, err := m.U.Sampler()
	if err != nil {
		return nil, err
	}
	dev := labels.Device()
	b, h, w := labels.Dim(0), labels.Dim(2), labels.Dim(3)
	o := SampleOptions{Method: m.sampling.Method, Steps: m.sampling.Steps, Eta: m.sampling.Eta,
		Guidance: m.sampling.Guidance, Seeds: seeds}
	if progress != nil {
		o.Progress = func(step, total int, x0 []float32) {
			var prev *nn.Tensor
			dev.NoGrad(func() { prev = dev.FromData(x0, b, 3, h, w) })
			progress(models.Progress{Step: step, Steps: total, Preview: prev})
			prev.Release()
		}
	}
	var y *nn.Tensor
	dev.NoGrad(func() { y = labels.Detach() })
	out, err := s.Sample(ctx, y, o)
	if err != nil {
		return nil, err
	}
	return dev.FromData(out, b, 3, h, w), nil
}

// TrainingLoss is the epsilon (+ variational bound) loss of images given
// the label input, timesteps and noise drawn from seed, no label drop
// (models.ObjectiveModel): light finetuning of a label layer minimises it.
func (m *Model) TrainingLoss(labels, images *nn.Tensor, seed uint64) (*nn.Tensor, error) {
	if m.loss == nil {
		tr, err := newTrainer(m.U, TrainConfig{})
		if err != nil {
			return nil, err
		}
		m.loss = tr
	}
	tr := m.loss
	data, err := images.Data()
	if err != nil {
		return nil, err
	}
	b := Batch{N: images.Dim(0), H: images.Dim(2), W: images.Dim(3), Images: data}
	tr.reseed(seed)
	loss, _, err := tr.lossOn(b, labels, tr.rng)
	return loss, err
}

// LabelConvs are the first convolutions of every SPADE group norm
// (mlp_shared.0), the only layers that read the label map; no extra
// channels.
func (m *Model) LabelConvs() ([]string, int) {
	var names []string
	for _, p := range m.U.Params.All() {
		if strings.HasSuffix(p.Name, ".mlp_shared.0.weight") {
			names = append(names, p.Name)
		}
	}
	return names, 0
}

// LargestBuffer estimates the largest single buffer of a training step on
// batch maps of the training size; see LargestBuffer.
func (m *Model) LargestBuffer(batch int) (int64, string) { return LargestBuffer(m.U.Config, batch) }

// LargestBuffer is the biggest of: a level's widest activation (the
// decoder's concatenation of features and skip), the SPADE hidden maps, and
// the attention weights (B*heads, HW, HW) where a level has attention.
func LargestBuffer(c Config, batch int) (int64, string) {
	var best int64
	var what string
	consider := func(n int64, desc string) {
		if n*4 > best {
			best, what = n*4, desc
		}
	}
	last := len(c.ChannelMult) - 1
	for level, mult := range c.ChannelMult {
		side := int64(c.ImageSize >> level)
		ch := int64(mult * c.NumChannels)
		px := side * side
		consider(int64(batch)*2*ch*px, fmt.Sprintf("the level-%d decoder activations (%d x %d x %dx%d floats)", level, batch, 2*ch, side, side))
		consider(int64(batch)*int64(c.SPADEHidden)*px, fmt.Sprintf("the level-%d SPADE hidden maps (%d x %d x %dx%d floats)", level, batch, c.SPADEHidden, side, side))
		if (c.attentionAt(1<<level) || level == last) && c.NumHeadChannels > 0 {
			heads := ch / int64(c.NumHeadChannels)
			consider(int64(batch)*heads*px*px, fmt.Sprintf("the level-%d attention weights (%d x %d heads x %d x %d floats)", level, batch, heads, px, px))
		}
	}
	return best, what
}

// WithClasses builds an untrained U-Net of the same architecture reading
// len(classes) label channels.
func (m *Model) WithClasses(dev *nn.Device, classes []string, seed uint64) (models.Model, error) {
	c := m.U.Config
	c.NumClasses, c.ClassNames = len(classes), append([]string(nil), classes...)
	u, err := NewUNet(dev, c, seed)
	if err != nil {
		return nil, err
	}
	out := NewModel(u)
	out.sampling = m.sampling
	return out, nil
}

// ConfigJSON is the config the model file stores.
func (m *Model) ConfigJSON() ([]byte, error) { return json.Marshal(m.U.Config) }

// Save writes the U-Net's own parameters (a label layer registered among
// them is left out) as a model file of KindModel.
func (m *Model) Save(path string, f16 bool, meta map[string]string) error {
	return saveModel(path, m.U, m.U.Params.All(), f16, meta)
}

// saveModel writes params (the U-Net's, or its EMA's shadow, in the same
// order) as a model file, dropping names that are not the U-Net's own.
func saveModel(path string, u *UNet, params []*nn.Param, f16 bool, meta map[string]string) error {
	var keep []*nn.Param
	for _, p := range params {
		if u.own[p.Name] {
			keep = append(keep, p)
		}
	}
	md := map[string]string{models.MetaKind: KindModel}
	for k, v := range meta {
		md[k] = v
	}
	return nn.SaveParams(path, keep, nn.SaveOptions{Config: u.Config, ClassNames: u.Config.ClassNames, Metadata: md, F16: f16})
}
