package gan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"catsynth/models"
	"catsynth/nn"
)

// finetuner trains a source GAN behind a label layer (models.Finetuner):
// G conditioned on the source classes with the layer in front, D with the
// source head read through the layer or a new head for the target classes.
type finetuner struct {
	spec   models.FinetuneSpec
	cfg    TrainConfig
	G      *Generator
	D      *Discriminator
	layer  models.LabelLayer
	ema    *nn.EMA // nil when D is frozen
	steps  int
	countG int
	countD int

	optG, optD, optA *nn.Adam
	rng              *rand.Rand
}

// NewFinetuner builds a finetuner with the source's weights: G from its
// EMA generator, D from its discriminator (except a new head unless
// spec.SourceHead), unless spec.Scratch.
func (s *Source) NewFinetuner(dev *nn.Device, spec models.FinetuneSpec) (models.Finetuner, error) {
	f, err := buildFinetuner(dev, s.G, s.D, spec)
	if err != nil {
		return nil, err
	}
	if !spec.Scratch {
		if err := f.loadSource(s.ck); err != nil {
			f.Release()
			return nil, err
		}
	}
	if err := f.setup(); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

// resumeFinetuner rebuilds the finetuner a state file's StateMeta
// describes; the caller loads State from the file.
func resumeFinetuner(dev *nn.Device, ck *nn.Checkpoint, spec models.FinetuneSpec) (models.Finetuner, error) {
	var gc GeneratorConfig
	var dc DiscriminatorConfig
	if err := json.Unmarshal(ck.Config, &gc); err != nil {
		return nil, fmt.Errorf("gan: %s: config: %w", ck.Path, err)
	}
	if err := json.Unmarshal([]byte(ck.Metadata[MetaDConfig]), &dc); err != nil {
		return nil, fmt.Errorf("gan: %s: %s: %w", ck.Path, MetaDConfig, err)
	}
	f, err := buildFinetuner(dev, gc, dc, spec)
	if err != nil {
		return nil, err
	}
	if err := f.setup(); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

// buildFinetuner creates G, D and the label layer with fresh weights.
func buildFinetuner(dev *nn.Device, gc GeneratorConfig, dc DiscriminatorConfig, spec models.FinetuneSpec) (*finetuner, error) {
	T := len(spec.Target)
	if spec.Scratch {
		gc.LabelNC, gc.ClassNames = T, append([]string(nil), spec.Target...)
	}
	if spec.SourceHead {
		dc.NumClasses = gc.LabelNC
	} else {
		dc.NumClasses = T
	}
	if err := dc.CheckSize(gc.H, gc.W); err != nil {
		return nil, err
	}
	cfg := trainDefaults(spec.Config)
	f := &finetuner{spec: spec, cfg: cfg, rng: newStream(cfg.Seed, 0)}
	g, err := NewGenerator(dev, gc, cfg.Seed)
	if err != nil {
		return nil, err
	}
	f.G = g
	d, err := NewDiscriminator(dev, dc, cfg.Seed+1)
	if err != nil {
		g.Release()
		return nil, err
	}
	f.D = d
	if spec.NewLayer != nil && !spec.Scratch {
		if f.layer, err = spec.NewLayer(g.Params()); err != nil {
			f.Release()
			return nil, err
		}
	}
	if spec.SourceHead && f.layer == nil {
		f.Release()
		return nil, fmt.Errorf("gan: the source head is read through a label layer, and there is none")
	}
	return f, nil
}

// loadSource copies the source weights: G from netEMA.* (the label layer
// excepted), D from netD.* (the head excepted when it is new).
func (f *finetuner) loadSource(ck *nn.Checkpoint) error {
	var gp []*nn.Param
	for _, p := range f.G.Params().All() {
		if f.spec.IsLayerParam == nil || !f.spec.IsLayerParam(p.Name) {
			gp = append(gp, p)
		}
	}
	if err := ck.LoadInto(nn.Prefixed("netEMA.", gp), nn.LoadOptions{AllowUnknown: true}); err != nil {
		return err
	}
	var dp []*nn.Param
	for _, p := range f.D.Params.All() {
		if !f.spec.SourceHead && strings.HasPrefix(p.Name, "layer_up_last.") {
			continue
		}
		dp = append(dp, p)
	}
	return ck.LoadInto(nn.Prefixed("netD.", dp), nn.LoadOptions{AllowUnknown: true})
}

// setup freezes what is not trained and creates the optimizers and EMA.
func (f *finetuner) setup() error {
	spec, cfg := f.spec, f.cfg
	var gTrain, aTrain []*nn.Tensor
	for _, p := range f.G.Params().All() {
		if !p.Trainable {
			continue
		}
		switch {
		case spec.IsLayerParam != nil && spec.IsLayerParam(p.Name):
			aTrain = append(aTrain, p.T)
		case !spec.FreezeNet || (spec.TrainLabelPath && isLabelPath(p.Name)):
			gTrain = append(gTrain, p.T)
		default:
			p.T.SetRequiresGrad(false)
		}
	}
	f.countG = numel(gTrain) + numel(aTrain)
	if spec.TrainCritic {
		f.countD = numel(f.D.Params.Trainable())
	} else {
		for _, t := range f.D.Params.Trainable() {
			t.SetRequiresGrad(false)
		}
	}
	return nn.Catch(func() {
		if len(gTrain) > 0 {
			f.optG = nn.NewAdam(gTrain, adam(cfg, cfg.LRG))
		}
		if len(aTrain) > 0 {
			f.optA = nn.NewAdam(aTrain, adam(cfg, spec.LRLayer))
		}
		if spec.TrainCritic {
			f.optD = nn.NewAdam(f.D.Params.Trainable(), adam(cfg, cfg.LRD))
			f.ema = nn.NewEMA(f.G.Params(), cfg.EMADecay)
		}
	})
}

func numel(ts []*nn.Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Numel()
	}
	return n
}

func (f *finetuner) Net() models.Model          { return f.G }
func (f *finetuner) Layer() models.LabelLayer   { return f.layer }
func (f *finetuner) Steps() int                 { return f.steps }
func (f *finetuner) TrainableCount() (int, int) { return f.countG, f.countD }

// SetSteps sets the step count of a resumed run and restarts the random
// stream there.
func (f *finetuner) SetSteps(k int) {
	f.steps = k
	f.rng = newStream(f.cfg.Seed, uint64(k))
}

// Step runs one OASIS iteration with the target labels through the layer;
// the EMA's decay ramps when spec.RampEMA.
func (f *finetuner) Step(b models.Batch) (models.Losses, error) {
	it := iteration{G: f.G, D: f.D, layer: f.layer, classes: len(f.spec.Target), optG: f.optG, optA: f.optA,
		optD: f.optD, ema: f.ema, softHead: f.spec.SourceHead, lambda: labelMixWeight(f.cfg), rng: f.rng, what: "transfer"}
	if f.spec.Scratch {
		it.layer = nil
	}
	if f.spec.RampEMA && f.ema != nil {
		k := float32(f.steps)
		it.emaDecay = min(f.cfg.EMADecay, (1+k)/(10+k))
	}
	l, err := it.run(b)
	if err == nil {
		f.steps++
	}
	return l, err
}

// Averaged runs fn with the EMA weights (when kept) in eval mode.
func (f *finetuner) Averaged(fn func() error) error {
	if f.ema != nil {
		f.ema.Swap()
		defer f.ema.Swap()
	}
	ps := f.G.Params()
	was := ps.Training()
	ps.SetTraining(false)
	defer ps.SetTraining(was)
	return fn()
}

// State is G (with the label layer), D and the EMA, as netG.*, netD.*,
// netEMA.*. Adam's moments are not kept.
func (f *finetuner) State() []*nn.Param {
	ps := nn.Prefixed("netG.", f.G.Params().All())
	ps = append(ps, nn.Prefixed("netD.", f.D.Params.All())...)
	if f.ema != nil {
		ps = append(ps, nn.Prefixed("netEMA.", f.ema.Shadow())...)
	}
	return ps
}

// StateMeta holds the generator config (nn's "config") and the
// discriminator config.
func (f *finetuner) StateMeta() (map[string]string, error) {
	g, err := json.Marshal(f.G.Config)
	if err != nil {
		return nil, err
	}
	d, err := json.Marshal(f.D.Config)
	if err != nil {
		return nil, err
	}
	return map[string]string{nn.MetaConfig: string(g), MetaDConfig: string(d)}, nil
}

// Release frees every tensor of the finetuner.
func (f *finetuner) Release() {
	for _, o := range []*nn.Adam{f.optG, f.optD, f.optA} {
		if o != nil {
			o.Release()
		}
	}
	if f.ema != nil {
		f.ema.Release()
	}
	if f.G != nil {
		f.G.Release()
	}
	if f.D != nil {
		f.D.Release()
	}
}

// isLabelPath reports whether a generator parameter belongs to a SPADE or
// CLADE layer's convolutions, which turn the label map into scale and shift.
func isLabelPath(name string) bool {
	return strings.Contains(name, ".mlp_shared.") || strings.Contains(name, ".mlp_gamma.") || strings.Contains(name, ".mlp_beta.")
}

// Critic is the discriminator being finetuned (for tests and tools that
// look inside a GAN finetuner: models.Finetuner does not expose it).
func (f *finetuner) Critic() *Discriminator { return f.D }
