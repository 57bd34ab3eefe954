package diffusion

import (
	"fmt"
	"strings"

	"catsynth/models"
	"catsynth/nn"
)

// finetuner trains a source U-Net behind a label layer on target images
// (models.Finetuner) with the diffusion training loss: the layer feeds
// every SPADE group norm. A diffusion model has no critic, so
// spec.TrainCritic and spec.SourceHead have nothing to act on; the EMA is
// kept whenever the U-Net itself trains.
type finetuner struct {
	spec  models.FinetuneSpec
	tr    *Trainer
	model *Model // the U-Net being trained, as a models.Model
	count int
}

// newFinetuner builds the U-Net for spec (the source's classes, or the
// target's for Scratch) and its label layer, with fresh weights and no
// optimizers yet (setup makes them once the weights are in).
func newFinetuner(dev *nn.Device, c Config, spec models.FinetuneSpec) (*finetuner, error) {
	if spec.Scratch {
		c.NumClasses, c.ClassNames = len(spec.Target), append([]string(nil), spec.Target...)
	}
	tc := TrainConfig{LR: spec.Config.LRG, EMADecay: spec.Config.EMADecay, DropRate: DefaultTrainConfig().DropRate, Seed: spec.Config.Seed}
	u, err := NewUNet(dev, c, tc.Seed)
	if err != nil {
		return nil, err
	}
	tr, err := newTrainer(u, tc)
	if err != nil {
		u.Release()
		return nil, err
	}
	f := &finetuner{spec: spec, tr: tr, model: NewModel(u)}
	if spec.NewLayer != nil && !spec.Scratch {
		if tr.Layer, err = spec.NewLayer(u.Params); err != nil {
			f.Release()
			return nil, err
		}
	}
	return f, nil
}

// setup freezes what is not trained and makes the optimizers and the EMA.
func (f *finetuner) setup() error {
	spec, tr := f.spec, f.tr
	var net, layer []*nn.Tensor
	for _, p := range tr.Model.Params.All() {
		if !p.Trainable {
			continue
		}
		switch {
		case spec.IsLayerParam != nil && spec.IsLayerParam(p.Name):
			layer = append(layer, p.T)
		case !spec.FreezeNet || (spec.TrainLabelPath && isLabelPath(p.Name)):
			net = append(net, p.T)
		default:
			p.T.SetRequiresGrad(false)
		}
	}
	f.count = numel(net) + numel(layer)
	return nn.Catch(func() {
		if len(net) > 0 {
			tr.Opt = nn.NewAdam(net, tr.adam(tr.Config.LR))
		}
		if len(layer) > 0 {
			tr.OptLayer = nn.NewAdam(layer, tr.adam(spec.LRLayer))
		}
		if !spec.FreezeNet {
			tr.EMA = nn.NewEMA(tr.Model.Params, tr.Config.EMADecay)
		}
	})
}

// isLabelPath reports whether a U-Net parameter belongs to a SPADE group
// norm's convolutions, which turn the label map into scale and shift.
func isLabelPath(name string) bool {
	return strings.Contains(name, ".mlp_shared.") || strings.Contains(name, ".mlp_gamma.") || strings.Contains(name, ".mlp_beta.")
}

func numel(ts []*nn.Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Numel()
	}
	return n
}

func (f *finetuner) Net() models.Model          { return f.model }
func (f *finetuner) Layer() models.LabelLayer   { return f.tr.Layer }
func (f *finetuner) Steps() int                 { return f.tr.Steps }
func (f *finetuner) TrainableCount() (int, int) { return f.count, 0 }

// SetSteps sets the step count of a resumed run and restarts the random
// stream there.
func (f *finetuner) SetSteps(k int) {
	f.tr.Steps = k
	f.tr.reseed(uint64(k))
	for _, o := range []*nn.Adam{f.tr.Opt, f.tr.OptLayer} {
		if o != nil {
			o.SetSteps(k)
		}
	}
}

// Step runs one training step on target images and target label maps;
// the EMA's decay ramps when spec.RampEMA.
func (f *finetuner) Step(b models.Batch) (models.Losses, error) {
	T := len(f.spec.Target)
	if f.spec.Scratch || f.tr.Layer == nil {
		T = f.tr.Model.Config.NumClasses
	}
	if f.spec.RampEMA && f.tr.EMA != nil {
		k := float32(f.tr.Steps)
		f.tr.EMA.Decay = min(f.tr.Config.EMADecay, (1+k)/(10+k))
	}
	return f.tr.stepBatch(b, T)
}

// Averaged runs fn with the EMA weights (when kept) in eval mode.
func (f *finetuner) Averaged(fn func() error) error {
	if f.tr.EMA != nil {
		f.tr.EMA.Swap()
		defer f.tr.EMA.Swap()
	}
	ps := f.tr.Model.Params
	was := ps.Training()
	ps.SetTraining(false)
	defer ps.SetTraining(was)
	return fn()
}

// State is the U-Net with the label layer (model.*) and the EMA (ema.*).
func (f *finetuner) State() []*nn.Param {
	ps := nn.Prefixed(prefixModel, f.tr.Model.Params.All())
	if f.tr.EMA != nil {
		ps = append(ps, nn.Prefixed(prefixEMA, f.tr.EMA.Shadow())...)
	}
	return ps
}

// StateMeta holds the U-Net's config.
func (f *finetuner) StateMeta() (map[string]string, error) {
	c, err := MarshalConfig(f.tr.Model.Config)
	if err != nil {
		return nil, err
	}
	return map[string]string{nn.MetaConfig: string(c)}, nil
}

// Release frees every tensor of the finetuner.
func (f *finetuner) Release() {
	if f.tr != nil {
		f.tr.Release()
		f.tr.Model.Release()
	}
}

// stepBatch runs one step on a batch of class-index label maps over
// classes channels (negative indices: no class).
func (tr *Trainer) stepBatch(b models.Batch, classes int) (models.Losses, error) {
	h, w := b.H, b.W
	if err := b.Check(h, w, "diffusion"); err != nil {
		return nil, err
	}
	maps, err := oneHotPlanes(b.Labels, b.N, h*w, classes)
	if err != nil {
		return nil, err
	}
	l, err := tr.StepMaps(Batch{N: b.N, H: h, W: w, Images: b.Images, Labels: maps})
	if err != nil {
		return nil, err
	}
	return models.Losses{"loss": l.Loss, "mse": l.MSE, "vb": l.VB}, nil
}

// oneHotPlanes turns n maps of px class indices into (n, classes, px)
// one-hot planes; indices beyond the classes are an error.
func oneHotPlanes(labels []int32, n, px, classes int) ([]float32, error) {
	out := make([]float32, n*classes*px)
	for i := range n {
		for j, c := range labels[i*px : (i+1)*px] {
			if int(c) >= classes {
				return nil, fmt.Errorf("diffusion: label %d in a map of %d classes", c, classes)
			}
			if c >= 0 {
				out[(i*classes+int(c))*px+j] = 1
			}
		}
	}
	return out, nil
}
