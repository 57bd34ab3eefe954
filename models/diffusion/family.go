package diffusion

import (
	"fmt"
	"strconv"

	"catsynth/models"
	"catsynth/nn"
)

// The diffusion family registers itself: a program that links this
// package reads its model files (KindModel) and training states
// (KindState) through models.Load and models.OpenSource.
func init() { models.Register(family{}) }

type family struct{}

func (family) Kind() string      { return KindModel }
func (family) StateKind() string { return KindState }

func (family) Inspect(ck *nn.Checkpoint) (models.Spec, error) {
	c, err := configOf(ck, nil)
	if err != nil {
		return models.Spec{}, err
	}
	return models.Spec{Kind: KindModel, Classes: classNames(c), H: c.ImageSize, W: c.ImageSize,
		Buffers: func(batch int) (int64, string) { return LargestBuffer(c, batch) }}, nil
}

func (family) Load(dev *nn.Device, ck *nn.Checkpoint) (models.Model, error) {
	u, err := loadUNet(dev, ck, nil)
	if err != nil {
		return nil, err
	}
	return NewModel(u), nil
}

func (family) OpenSource(ck *nn.Checkpoint) (models.Source, error) { return openSource(ck) }

// OpenModelSource finetunes from a model file itself (its weights are the
// EMA weights a state's finetuner would start from): an embedded default
// ships without its 50 MB training state.
func (family) OpenModelSource(ck *nn.Checkpoint) (models.Source, error) { return openSource(ck) }

func (family) ResumeFinetuner(dev *nn.Device, ck *nn.Checkpoint, spec models.FinetuneSpec) (models.Finetuner, error) {
	c, err := configOf(ck, nil)
	if err != nil {
		return nil, err
	}
	f, err := newFinetuner(dev, c, spec)
	if err != nil {
		return nil, err
	}
	if err := f.setup(); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

// Source is a trained diffusion model for finetuning: its training state
// (model.*, ema.*), from whose EMA weights finetuners start, or a model
// file, whose weights are those EMA weights.
type Source struct {
	Path   string
	Config Config
	Step   int
	ck     *nn.Checkpoint
	prefix string // of the weights finetuners start from
}

func openSource(ck *nn.Checkpoint) (*Source, error) {
	prefix := prefixEMA
	switch k := ck.Metadata[models.MetaKind]; k {
	case KindState:
	case KindModel:
		prefix = ""
	default:
		return nil, fmt.Errorf("diffusion: %s is a %q file, not a diffusion model or training state", ck.Path, k)
	}
	c, err := configOf(ck, nil)
	if err != nil {
		return nil, err
	}
	if len(c.ClassNames) != c.NumClasses {
		return nil, fmt.Errorf("diffusion: %s: %d source class names for %d label channels (the estimators need the names)", ck.Path, len(c.ClassNames), c.NumClasses)
	}
	s := &Source{Path: ck.Path, Config: c, ck: ck, prefix: prefix}
	s.Step, _ = strconv.Atoi(ck.Metadata[models.MetaStep])
	return s, nil
}

func (s *Source) Kind() string      { return KindModel }
func (s *Source) Classes() []string { return classNames(s.Config) }
func (s *Source) Size() (h, w int)  { return s.Config.ImageSize, s.Config.ImageSize }
func (s *Source) Steps() int        { return s.Step }
func (s *Source) String() string    { return s.Path + " (step " + strconv.Itoa(s.Step) + ")" }

// Segmenter: a diffusion model has no source-class segmenter of its own
// (a GAN's discriminator is one); the segmentation estimator needs one
// trained on the source classes.
func (s *Source) Segmenter(*nn.Device) (models.Segmenter, error) {
	return nil, fmt.Errorf("diffusion: %s has no source-class segmenter (a GAN's discriminator is one): estimate with --method text or vision, or give a segmenter of the same source classes", s.Path)
}

// NewFinetuner builds a finetuner starting from the source's EMA weights
// (spec.Scratch: fresh weights for the target classes).
func (s *Source) NewFinetuner(dev *nn.Device, spec models.FinetuneSpec) (models.Finetuner, error) {
	f, err := newFinetuner(dev, s.Config, spec)
	if err != nil {
		return nil, err
	}
	if !spec.Scratch {
		var own []*nn.Param
		for _, p := range f.tr.Model.Params.All() {
			if f.tr.Model.own[p.Name] {
				own = append(own, p)
			}
		}
		if err := s.ck.LoadInto(nn.Prefixed(s.prefix, own), nn.LoadOptions{AllowUnknown: true}); err != nil {
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

// Prefixes of the networks in training-state files.
const (
	prefixModel = "model."
	prefixEMA   = "ema."
)
