package gan

import (
	"encoding/json"
	"fmt"
	"strconv"

	"catsynth/models"
	"catsynth/nn"
)

// The GAN registers itself as a model family: a program that links this
// package reads its model files (KindGenerator, and files without a kind:
// converted official checkpoints) and its training states through
// models.Load and models.OpenSource.
func init() { models.Register(family{}) }

type family struct{}

func (family) Kind() string      { return KindGenerator }
func (family) StateKind() string { return KindTrainState }

// ReadsUnkinded: model files without a kind are GAN generators (the
// converted official OASIS checkpoints, and files older than the kinds).
func (family) ReadsUnkinded() bool { return true }

func (family) Inspect(ck *nn.Checkpoint) (models.Spec, error) {
	cfg, err := configOf(ck)
	if err != nil {
		return models.Spec{}, err
	}
	g := &Generator{Config: cfg}
	return models.Spec{Kind: KindGenerator, Classes: g.Classes(), H: cfg.H, W: cfg.W,
		Buffers: func(batch int) (int64, string) { return LargestBuffer(cfg, batch) }}, nil
}

func (family) Load(dev *nn.Device, ck *nn.Checkpoint) (models.Model, error) {
	return generatorFrom(dev, ck)
}

func (family) OpenSource(ck *nn.Checkpoint) (models.Source, error) { return openSource(ck) }

func (family) ResumeFinetuner(dev *nn.Device, ck *nn.Checkpoint, spec models.FinetuneSpec) (models.Finetuner, error) {
	return resumeFinetuner(dev, ck, spec)
}

// Source is a trained GAN for finetuning: the configs of its generator and
// discriminator and its training-state checkpoint (netG.*, netD.*,
// netEMA.*), from which finetuners copy the weights.
type Source struct {
	Path  string // the state file read
	G     GeneratorConfig
	D     DiscriminatorConfig
	Names []string // the S source class names
	Step  int
	ck    *nn.Checkpoint
}

// openSource reads a GAN training state for finetuning.
func openSource(ck *nn.Checkpoint) (*Source, error) {
	path := ck.Path
	if k := ck.Metadata[MetaKind]; k != KindTrainState {
		return nil, fmt.Errorf("gan: %s is a %q file, not a GAN training state", path, k)
	}
	s := &Source{Path: path, ck: ck}
	if ck.Config == nil || ck.Metadata[MetaDConfig] == "" {
		return nil, fmt.Errorf("gan: %s lacks the generator or discriminator config", path)
	}
	if err := json.Unmarshal(ck.Config, &s.G); err != nil {
		return nil, fmt.Errorf("gan: %s: config: %w", path, err)
	}
	if err := json.Unmarshal([]byte(ck.Metadata[MetaDConfig]), &s.D); err != nil {
		return nil, fmt.Errorf("gan: %s: %s: %w", path, MetaDConfig, err)
	}
	fmt.Sscan(ck.Metadata[MetaStep], &s.Step)
	s.Names = s.G.ClassNames
	if len(s.Names) == 0 {
		s.Names = ck.ClassNames
	}
	if len(s.Names) != s.G.LabelNC {
		return nil, fmt.Errorf("gan: %s: %d source class names for %d label channels (the estimators need the names)", path, len(s.Names), s.G.LabelNC)
	}
	if err := s.G.Validate(); err != nil {
		return nil, fmt.Errorf("gan: %s: %w", path, err)
	}
	if err := s.D.Validate(); err != nil {
		return nil, fmt.Errorf("gan: %s: %w", path, err)
	}
	return s, nil
}

func (s *Source) Kind() string               { return KindGenerator }
func (s *Source) Classes() []string          { return s.Names }
func (s *Source) Size() (h, w int)           { return s.G.H, s.G.W }
func (s *Source) Steps() int                 { return s.Step }
func (s *Source) String() string             { return s.Path + " (step " + strconv.Itoa(s.Step) + ")" }
func (s *Source) Checkpoint() *nn.Checkpoint { return s.ck }

// LoadDiscriminator builds the source discriminator (S+1 head) with its
// trained weights, in eval mode.
func (s *Source) LoadDiscriminator(dev *nn.Device) (*Discriminator, error) {
	d, err := NewDiscriminator(dev, s.D, 0)
	if err != nil {
		return nil, err
	}
	if err := s.ck.LoadInto(nn.Prefixed("netD.", d.Params.All()), nn.LoadOptions{AllowUnknown: true}); err != nil {
		d.Release()
		return nil, err
	}
	d.Params.SetTraining(false)
	return d, nil
}

// Segmenter returns the source discriminator as the source-class segmenter
// of the segmentation estimator.
func (s *Source) Segmenter(dev *nn.Device) (models.Segmenter, error) {
	d, err := s.LoadDiscriminator(dev)
	if err != nil {
		return nil, err
	}
	return &Segmenter{D: d, Size: s.G.H}, nil
}

// Segmenter is a discriminator used as a source-class segmenter: its N+1
// logits with the "fake" channel 0 dropped, (B, S, H, W). OASIS's
// discriminator is trained as exactly such a segmenter on real images.
type Segmenter struct {
	D *Discriminator
	// Size is the side the source was trained at; the estimators should
	// feed images of that size (InputSize).
	Size int
}

// InputSize is the square image side the segmenter works best at.
func (s *Segmenter) InputSize() int { return s.Size }

// Segment returns source-class logits (B, S, H, W) for images
// (B, 3, H, W) in [-1, 1]; sides must be multiples of 2^NumBlocks.
func (s *Segmenter) Segment(images *nn.Tensor) (out *nn.Tensor, err error) {
	if images.Rank() != 4 || images.Dim(1) != 3 {
		return nil, fmt.Errorf("gan: segmenter input %v, want (B, 3, H, W)", images.Shape())
	}
	if err := s.D.Config.CheckSize(images.Dim(2), images.Dim(3)); err != nil {
		return nil, err
	}
	err = nn.Catch(func() {
		logits := s.D.Forward(images)
		out = nn.Narrow(logits, 1, 1, logits.Dim(1)-1)
	})
	return out, err
}

// Release frees the discriminator.
func (s *Segmenter) Release() { s.D.Release() }
