package gan

import (
	"encoding/json"
	"fmt"
	"image"
	"sort"
	"strconv"
	"strings"

	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// Checkpoint metadata keys written by this package (besides nn's "config"
// and "class_names").
const (
	MetaKind      = models.MetaKind // KindGenerator or KindTrainState
	MetaStep      = models.MetaStep // training steps done
	MetaDConfig   = "config_d"      // DiscriminatorConfig JSON (state files)
	MetaTrain     = "config_train"  // TrainConfig JSON (state files)
	MetaLossTrace = "losses"        // JSON array of Losses (state files)

	KindGenerator  = "oasis-generator"
	KindTrainState = "oasis-train-state"
)

// SaveGenerator writes params (a generator's Params().All(), or an EMA's
// Shadow()) with cfg as a model file that LoadGenerator reads, with meta
// added (e.g. the step, or a transfer's provenance). f16 halves the file
// (for shipping; training state stays f32).
func SaveGenerator(path string, params []*nn.Param, cfg GeneratorConfig, meta map[string]string, f16 bool) error {
	m := map[string]string{}
	for k, v := range meta {
		m[k] = v
	}
	m[MetaKind] = KindGenerator
	return nn.SaveParams(path, params, nn.SaveOptions{Config: cfg, ClassNames: cfg.ClassNames, Metadata: m, F16: f16})
}

// stepMeta is the metadata of a file written at step k.
func stepMeta(k int) map[string]string { return map[string]string{MetaStep: strconv.Itoa(k)} }

// LoadGenerator builds the generator described by a model file's config
// and loads its weights (plain or .zst safetensors), in eval mode.
func LoadGenerator(dev *nn.Device, path string) (*Generator, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return generatorFrom(dev, ck)
}

// LoadGeneratorBytes is LoadGenerator for a file held in memory (an
// embedded model); name is used in messages.
func LoadGeneratorBytes(dev *nn.Device, data []byte, name string) (*Generator, error) {
	ck, err := nn.DecodeCheckpoint(data, name)
	if err != nil {
		return nil, err
	}
	return generatorFrom(dev, ck)
}

// configOf reads and checks a model file's generator config.
func configOf(ck *nn.Checkpoint) (GeneratorConfig, error) {
	var cfg GeneratorConfig
	if k := ck.Metadata[MetaKind]; k != "" && k != KindGenerator {
		return cfg, fmt.Errorf("gan: %s is a %q file, not a generator model", ck.Path, k)
	}
	if ck.Config == nil {
		return cfg, fmt.Errorf("gan: %s has no %q metadata: add the GeneratorConfig JSON when converting (docs/GAN.md)", ck.Path, nn.MetaConfig)
	}
	if err := json.Unmarshal(ck.Config, &cfg); err != nil {
		return cfg, fmt.Errorf("gan: %s: config: %w", ck.Path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("gan: %s: %w", ck.Path, err)
	}
	return cfg, nil
}

func generatorFrom(dev *nn.Device, ck *nn.Checkpoint) (*Generator, error) {
	cfg, err := configOf(ck)
	if err != nil {
		return nil, err
	}
	if err := ck.CheckFinite(); err != nil {
		return nil, err
	}
	g, err := NewGenerator(dev, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("gan: %s: %w", ck.Path, err)
	}
	if err := ck.LoadInto(g.ps.All(), nn.LoadOptions{}); err != nil {
		g.Release()
		return nil, err
	}
	g.ps.SetTraining(false)
	return g, nil
}

func (t *Trainer) stateParams() []*nn.Param {
	ps := nn.Prefixed("netG.", t.G.Params().All())
	ps = append(ps, nn.Prefixed("netD.", t.D.Params.All())...)
	return append(ps, nn.Prefixed("netEMA.", t.EMA.Shadow())...)
}

// optimizerParams are the Adam moments of G and D, named optG.m.<param>,
// optG.v.<param>, optD.m.<param>, optD.v.<param>.
func (t *Trainer) optimizerParams() []*nn.Param {
	ps := t.optG.State("optG.", trainableNames(t.G.Params().All()))
	return append(ps, t.optD.State("optD.", trainableNames(t.D.Params.All()))...)
}

// trainableNames lists the names of the trainable parameters, in the order
// Params.Trainable gives their tensors (the order the optimizers hold).
func trainableNames(all []*nn.Param) []string {
	var names []string
	for _, p := range all {
		if p.Trainable {
			names = append(names, p.Name)
		}
	}
	return names
}

// SaveState writes the whole training state (G, D and EMA weights as
// netG.*, netD.*, netEMA.*, configs, step and the loss trace) for Resume.
// Adam's moments are saved too (optG.*, optD.*), so a resumed run continues
// exactly; state files written before they were saved still resume, with
// fresh moments.
func (t *Trainer) SaveState(path string, trace []models.Losses) error {
	meta := map[string]string{MetaKind: KindTrainState, MetaStep: strconv.Itoa(t.Steps)}
	for k, v := range map[string]any{MetaDConfig: t.D.Config, MetaTrain: t.Config, MetaLossTrace: trace} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		meta[k] = string(b)
	}
	ps := append(t.stateParams(), t.optimizerParams()...)
	return nn.SaveParams(path, ps, nn.SaveOptions{Config: t.G.Config, Metadata: meta})
}

// ResumeTrainer rebuilds a trainer from a SaveState file and returns it
// with the loss trace so far. override, when non-nil, replaces the saved
// TrainConfig (e.g. new learning rates); the model configs are the saved ones.
func ResumeTrainer(dev *nn.Device, path string, override *TrainConfig) (*Trainer, []models.Losses, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	if k := ck.Metadata[MetaKind]; k != KindTrainState {
		return nil, nil, fmt.Errorf("gan: %s is not a training state file (kind %q)", path, k)
	}
	var gc GeneratorConfig
	var dc DiscriminatorConfig
	var tc TrainConfig
	var trace []models.Losses
	for _, x := range []struct {
		key string
		raw string
		dst any
	}{{nn.MetaConfig, string(ck.Config), &gc}, {MetaDConfig, ck.Metadata[MetaDConfig], &dc},
		{MetaTrain, ck.Metadata[MetaTrain], &tc}, {MetaLossTrace, ck.Metadata[MetaLossTrace], &trace}} {
		if x.raw == "" {
			return nil, nil, fmt.Errorf("gan: %s: metadata %q missing", path, x.key)
		}
		if err := json.Unmarshal([]byte(x.raw), x.dst); err != nil {
			return nil, nil, fmt.Errorf("gan: %s: metadata %q: %w", path, x.key, err)
		}
	}
	step, err := strconv.Atoi(ck.Metadata[MetaStep])
	if err != nil {
		return nil, nil, fmt.Errorf("gan: %s: bad step %q", path, ck.Metadata[MetaStep])
	}
	if override != nil {
		o := *override
		o.Seed = tc.Seed
		tc = o
	}
	t, err := NewTrainer(dev, gc, dc, tc)
	if err != nil {
		return nil, nil, err
	}
	opt := t.optimizerParams()
	optNames := map[string]bool{}
	for _, p := range opt {
		optNames[p.Name] = true
	}
	hasOpt := false
	for _, st := range ck.File.Tensors {
		hasOpt = hasOpt || optNames[st.Name]
	}
	load := t.stateParams()
	if hasOpt {
		load = append(load, opt...)
	}
	if err := ck.LoadInto(load, nn.LoadOptions{}); err != nil {
		t.Release()
		return nil, nil, err
	}
	t.optG.SetSteps(step)
	t.optD.SetSteps(step)
	t.Steps = step
	// A fresh random stream per resumed step count: resumed runs do not
	// replay the noise of the first steps.
	t.reseed(uint64(step))
	return t, trace, nil
}

// WarmStart loads the G, D and EMA weights of a SaveState file into a new
// trainer whose networks have the same parameter shapes; the output size may
// differ, since both networks are fully convolutional. This is progressive
// training: the 128 px default starts from the 64 px one. Adam's moments and
// the step count start fresh. A state file of another architecture is
// refused with every mismatching name.
func (t *Trainer) WarmStart(path string) error {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return err
	}
	if k := ck.Metadata[MetaKind]; k != KindTrainState {
		return fmt.Errorf("gan: %s is not a training state file (kind %q); --init needs the .state file written beside a model", path, k)
	}
	var gc GeneratorConfig
	if err := json.Unmarshal(ck.Config, &gc); err != nil {
		return fmt.Errorf("gan: %s: generator config: %w", path, err)
	}
	if gc.LabelNC != t.G.Config.LabelNC {
		return fmt.Errorf("gan: %s has %d label classes, the new model %d", path, gc.LabelNC, t.G.Config.LabelNC)
	}
	if gc.withDefaults().Norm != t.G.Config.withDefaults().Norm {
		return fmt.Errorf("gan: %s uses %s normalization, the new model %s", path, gc.withDefaults().Norm, t.G.Config.withDefaults().Norm)
	}
	load := t.stateParams()
	names := map[string]bool{}
	for _, p := range load {
		names[p.Name] = true
	}
	var extra []string
	for _, st := range ck.File.Tensors {
		if !names[st.Name] && !strings.HasPrefix(st.Name, "optG.") && !strings.HasPrefix(st.Name, "optD.") {
			extra = append(extra, st.Name)
		}
	}
	if len(extra) > 0 {
		return &nn.LoadError{Path: path, Unknown: extra}
	}
	// Adam's moments (optG.*, optD.*) are the only tensors left unloaded.
	return ck.LoadInto(load, nn.LoadOptions{AllowUnknown: true})
}

// StepsDone implements models.Learner.
func (t *Trainer) StepsDone() int { return t.Steps }

// Sample implements models.Learner with the EMA weights.
func (t *Trainer) Sample(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	return t.SampleEMA(labels, h, w, seeds)
}

// SaveModel writes the EMA generator as a model file.
func (t *Trainer) SaveModel(path string, f16 bool) error {
	return SaveGenerator(path, t.EMA.Shadow(), t.G.Config, stepMeta(t.Steps), f16)
}

// SampleEMA generates images for labels with the EMA weights in eval mode
// (the training weights and mode are restored afterwards).
func (t *Trainer) SampleEMA(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	t.EMA.Swap()
	defer t.EMA.Swap()
	t.G.Params().SetTraining(false)
	defer t.G.Params().SetTraining(true)
	return t.G.GenerateLabels(labels, h, w, seeds)
}

// WarmStartGenerator loads a generator model file's weights into G and its
// EMA; D keeps its fresh weights and Adam starts anew. This continues
// training a shipped model, which carries no discriminator: train D alone
// first (TrainConfig.DWarmup) so that G does not learn from a random D.
// The model must have G's architecture (any output size).
func (t *Trainer) WarmStartGenerator(ck *nn.Checkpoint) error {
	cfg, err := configOf(ck)
	if err != nil {
		return err
	}
	arch := func(c GeneratorConfig) string { // noise and padding change what the weights read, not the weights
		c = c.withDefaults()
		c.H, c.W, c.ClassNames, c.Noise, c.Padding = 0, 0, nil, "", ""
		return fmt.Sprintf("%+v", c)
	}
	if a, b := arch(cfg), arch(t.G.Config); a != b {
		return fmt.Errorf("gan: %s is another architecture (%s) than the model being trained (%s)", ck.Path, a, b)
	}
	if err := ck.LoadInto(t.G.Params().All(), nn.LoadOptions{}); err != nil {
		return err
	}
	return ck.LoadInto(t.EMA.Shadow(), nn.LoadOptions{})
}

// MetaSlim marks a training state that holds only what finetuning needs.
const MetaSlim = "slim"

// ExportSource writes the part of a training state that finetuning and the
// segmentation estimator need, the averaged generator (netEMA.*) and the
// discriminator (netD.*), as float16 with the state's configs: a source to
// ship beside a model file (a third of the state's size). It reads as a
// Source; it cannot resume training (no live G, no optimizer moments).
//
// With discriminatorOnly the generator is left out, for a source shipped
// beside the very model file its netEMA equals (WithGenerator puts it back).
func ExportSource(statePath, out string, discriminatorOnly bool) error {
	ck, err := nn.ReadCheckpoint(statePath)
	if err != nil {
		return err
	}
	if _, err := openSource(ck); err != nil {
		return err
	}
	var keep []safetensors.Tensor
	for _, t := range ck.File.Tensors {
		if (strings.HasPrefix(t.Name, "netEMA.") && !discriminatorOnly) || strings.HasPrefix(t.Name, "netD.") {
			keep = append(keep, t)
		}
	}
	meta := map[string]string{MetaSlim: "netEMA and netD only"}
	for _, k := range []string{nn.MetaFormat, nn.MetaConfig, nn.MetaClassNames, MetaKind, MetaStep, MetaDConfig} {
		if v, ok := ck.Metadata[k]; ok {
			meta[k] = v
		}
	}
	return safetensors.WriteFile(out, keep, meta, safetensors.WriteOptions{F16: true, Digest: true})
}

// WithGenerator completes a discriminator-only source with the generator
// of a model file (its weights as netEMA.*), checking they are the same
// architecture.
func WithGenerator(source, model *nn.Checkpoint) (*nn.Checkpoint, error) {
	sc, err := configOf(&nn.Checkpoint{Path: source.Path, Config: source.Config, Metadata: map[string]string{}})
	if err != nil {
		return nil, err
	}
	mc, err := configOf(model)
	if err != nil {
		return nil, err
	}
	sc.ClassNames, mc.ClassNames = nil, nil
	if fmt.Sprintf("%+v", sc.withDefaults()) != fmt.Sprintf("%+v", mc.withDefaults()) {
		return nil, fmt.Errorf("gan: %s is the source of another generator than %s", source.Path, model.Path)
	}
	f := &safetensors.File{Metadata: source.Metadata}
	for _, t := range source.File.Tensors {
		if !strings.HasPrefix(t.Name, "netEMA.") {
			f.Tensors = append(f.Tensors, t)
		}
	}
	for _, t := range model.File.Tensors {
		t.Name = "netEMA." + t.Name
		f.Tensors = append(f.Tensors, t)
	}
	sort.Slice(f.Tensors, func(i, j int) bool { return f.Tensors[i].Name < f.Tensors[j].Name })
	return nn.CheckpointOf(f, source.Path)
}
