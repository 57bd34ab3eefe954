package diffusion

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"strconv"

	"catsynth/models"
	"catsynth/nn"
)

// Metadata keys of diffusion training states (besides models' and nn's).
const (
	MetaTrain     = "train"  // TrainConfig JSON
	MetaLossTrace = "losses" // JSON array of the steps' losses
)

// The Trainer is a models.Learner: `catsynth train diffusion` runs it in
// models.Train, with checkpoints, sample grids and the loss curve.

// Step runs one training step on a batch of class-index label maps.
func (tr *Trainer) Step(b models.Batch) (models.Losses, error) {
	return tr.stepBatch(b, tr.Model.Config.NumClasses)
}

// StepsDone is the number of steps taken (resumed ones included).
func (tr *Trainer) StepsDone() int { return tr.Steps }

// SaveModel writes the EMA U-Net as a model file.
func (tr *Trainer) SaveModel(path string, f16 bool) error {
	params := tr.Model.Params.All()
	if tr.EMA != nil {
		params = tr.EMA.Shadow()
	}
	return saveModel(path, tr.Model, params, f16, map[string]string{models.MetaStep: strconv.Itoa(tr.Steps)})
}

// SampleSteps is how many DDIM steps the training grids take (few: the
// grids are for watching a run, and sampling is most of their cost).
const SampleSteps = 20

// Sample draws images with the EMA weights (SampleSteps DDIM steps,
// guidance 1.5) for the grids.
func (tr *Trainer) Sample(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	if tr.EMA != nil {
		tr.EMA.Swap()
		defer tr.EMA.Swap()
	}
	ps := tr.Model.Params
	was := ps.Training()
	ps.SetTraining(false)
	defer ps.SetTraining(was)
	m := NewModel(tr.Model)
	s := DefaultSampling()
	s.Steps = min(SampleSteps, tr.Model.Config.DiffusionSteps)
	if err := m.SetSampling(s); err != nil {
		return nil, err
	}
	return models.Conditioned{Net: m}.Generate(context.Background(), labels, h, w, seeds, nil)
}

func (tr *Trainer) stateParams() []*nn.Param {
	ps := nn.Prefixed(prefixModel, tr.Model.Params.All())
	if tr.EMA != nil {
		ps = append(ps, nn.Prefixed(prefixEMA, tr.EMA.Shadow())...)
	}
	return ps
}

// optimizerParams are Adam's moments, opt.m.<param> and opt.v.<param>.
func (tr *Trainer) optimizerParams() []*nn.Param {
	if tr.Opt == nil {
		return nil
	}
	var names []string
	for _, p := range tr.Model.Params.All() {
		if p.Trainable {
			names = append(names, p.Name)
		}
	}
	return tr.Opt.State("opt.", names)
}

// SaveState writes the whole training state: the U-Net (model.*), its
// EMA (ema.*), Adam's moments (opt.*), the config, the step, the train
// config and the loss trace.
func (tr *Trainer) SaveState(path string, trace []models.Losses) error {
	meta := map[string]string{models.MetaKind: KindState, models.MetaStep: strconv.Itoa(tr.Steps)}
	for k, v := range map[string]any{MetaTrain: tr.Config, MetaLossTrace: trace} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		meta[k] = string(b)
	}
	ps := append(tr.stateParams(), tr.optimizerParams()...)
	return nn.SaveParams(path, ps, nn.SaveOptions{Config: tr.Model.Config, ClassNames: tr.Model.Config.ClassNames, Metadata: meta})
}

// ResumeTrainer rebuilds a trainer from a SaveState file on dev and
// returns it with the loss trace so far. override, when non-nil, replaces
// the saved TrainConfig except its seed.
func ResumeTrainer(dev *nn.Device, path string, override *TrainConfig) (*Trainer, []models.Losses, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	if k := ck.Metadata[models.MetaKind]; k != KindState {
		return nil, nil, fmt.Errorf("diffusion: %s is a %q file, not a diffusion training state (%q)", path, k, KindState)
	}
	c, err := configOf(ck, nil)
	if err != nil {
		return nil, nil, err
	}
	var tc TrainConfig
	var trace []models.Losses
	for key, dst := range map[string]any{MetaTrain: &tc, MetaLossTrace: &trace} {
		if err := json.Unmarshal([]byte(ck.Metadata[key]), dst); err != nil {
			return nil, nil, fmt.Errorf("diffusion: %s: metadata %q: %w", path, key, err)
		}
	}
	step, err := strconv.Atoi(ck.Metadata[models.MetaStep])
	if err != nil || step < 0 {
		return nil, nil, fmt.Errorf("diffusion: %s: bad step %q", path, ck.Metadata[models.MetaStep])
	}
	if override != nil {
		o := *override
		o.Seed = tc.Seed
		tc = o
	}
	u, err := NewUNet(dev, c, tc.Seed)
	if err != nil {
		return nil, nil, err
	}
	tr, err := NewTrainer(u, tc)
	if err != nil {
		u.Release()
		return nil, nil, err
	}
	if err := ck.LoadInto(append(tr.stateParams(), tr.optimizerParams()...), nn.LoadOptions{}); err != nil {
		tr.Release()
		u.Release()
		return nil, nil, err
	}
	tr.Opt.SetSteps(step)
	tr.Steps = step
	tr.reseed(uint64(step))
	return tr, trace, nil
}
