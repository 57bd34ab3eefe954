package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"catsynth/models/gan"
	"catsynth/nn"
)

// StatePath is the training-state file kept beside a model file, as
// `catsynth train gan` writes it: m.safetensors.zst -> m.state.safetensors.zst.
func StatePath(model string) string {
	return SidePath(model, ".state.safetensors.zst")
}

// SidePath replaces a model file's .safetensors[.zst] extension by suffix.
func SidePath(model, suffix string) string {
	return strings.TrimSuffix(strings.TrimSuffix(model, ".zst"), ".safetensors") + suffix
}

// Source is a trained source GAN: the configs of its generator and
// discriminator and its training-state checkpoint (netG.*, netD.*,
// netEMA.*), from which New copies the weights.
type Source struct {
	Path    string // the state file read
	G       gan.GeneratorConfig
	D       gan.DiscriminatorConfig
	Classes []string // the S source class names
	Step    int
	ck      *nn.Checkpoint
}

// LoadSource reads a source model for transfer. path is a model file with
// its training state beside it (M.state.safetensors.zst, written by
// `catsynth train gan`), or the state file itself. The state is needed
// because transfer starts the discriminator from the source's.
func LoadSource(path string) (*Source, error) {
	state := path
	if !strings.Contains(path, ".state.safetensors") {
		state = StatePath(path)
	}
	if _, err := os.Stat(state); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("transfer: %s: no training state beside the model (%s): transfer needs the source discriminator, which `catsynth train gan` stores there", path, state)
		}
		return nil, err
	}
	ck, err := nn.ReadCheckpoint(state)
	if err != nil {
		return nil, err
	}
	if k := ck.Metadata[gan.MetaKind]; k != gan.KindTrainState {
		return nil, fmt.Errorf("transfer: %s is a %q file, not a GAN training state", state, k)
	}
	s := &Source{Path: state, ck: ck}
	if ck.Config == nil || ck.Metadata[gan.MetaDConfig] == "" {
		return nil, fmt.Errorf("transfer: %s lacks the generator or discriminator config", state)
	}
	if err := json.Unmarshal(ck.Config, &s.G); err != nil {
		return nil, fmt.Errorf("transfer: %s: config: %w", state, err)
	}
	if err := json.Unmarshal([]byte(ck.Metadata[gan.MetaDConfig]), &s.D); err != nil {
		return nil, fmt.Errorf("transfer: %s: %s: %w", state, gan.MetaDConfig, err)
	}
	fmt.Sscan(ck.Metadata[gan.MetaStep], &s.Step)
	s.Classes = s.G.ClassNames
	if len(s.Classes) == 0 {
		s.Classes = ck.ClassNames
	}
	if len(s.Classes) != s.G.LabelNC {
		return nil, fmt.Errorf("transfer: %s: %d source class names for %d label channels (the estimators need the names)", state, len(s.Classes), s.G.LabelNC)
	}
	if err := s.G.Validate(); err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", state, err)
	}
	if err := s.D.Validate(); err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", state, err)
	}
	return s, nil
}

// LoadDiscriminator builds the source discriminator (S+1 head) with its
// trained weights, in eval mode: the source-class segmenter of the
// segmentation estimator.
func (s *Source) LoadDiscriminator(dev *nn.Device) (*gan.Discriminator, error) {
	d, err := gan.NewDiscriminator(dev, s.D, 0)
	if err != nil {
		return nil, err
	}
	if err := s.ck.LoadInto(prefixed("netD.", d.Params.All()), nn.LoadOptions{AllowUnknown: true}); err != nil {
		d.Release()
		return nil, err
	}
	d.Params.SetTraining(false)
	return d, nil
}

// prefixed returns params renamed with a prefix ("netG."), sharing tensors.
func prefixed(prefix string, params []*nn.Param) []*nn.Param {
	out := make([]*nn.Param, len(params))
	for i, p := range params {
		out[i] = &nn.Param{Name: prefix + p.Name, T: p.T, Trainable: p.Trainable}
	}
	return out
}
