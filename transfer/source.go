package transfer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"catsynth/models"
	"catsynth/nn"
)

// StatePath is the training-state file kept beside a model file, as
// `catsynth train` writes it: m.safetensors.zst -> m.state.safetensors.zst.
func StatePath(model string) string {
	return SidePath(model, ".state.safetensors.zst")
}

// SidePath replaces a model file's .safetensors[.zst] extension by suffix.
func SidePath(model, suffix string) string {
	return strings.TrimSuffix(strings.TrimSuffix(model, ".zst"), ".safetensors") + suffix
}

// LoadSource reads a source model for transfer. path is a model file with
// its training state beside it (M.state.safetensors.zst, written by
// `catsynth train`), or the state file itself. The state is needed
// because transfer starts from more than the model file holds (a GAN's
// discriminator).
func LoadSource(path string) (models.Source, error) {
	state := path
	if !strings.Contains(path, ".state.safetensors") {
		state = StatePath(path)
	}
	if _, err := os.Stat(state); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if src, ok := modelFileSource(path); ok {
				return src, nil
			}
			return nil, fmt.Errorf("transfer: %s: no training state beside the model (%s): transfer needs the source discriminator, which `catsynth train gan` stores there", path, state)
		}
		return nil, err
	}
	ck, err := nn.ReadCheckpoint(state)
	if err != nil {
		return nil, err
	}
	return LoadSourceCheckpoint(ck)
}

// LoadSourceCheckpoint opens a training state already read (an embedded
// one, a file the page was given).
func LoadSourceCheckpoint(ck *nn.Checkpoint) (models.Source, error) {
	src, err := models.OpenSource(ck)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	return src, nil
}

// modelFileSource opens a model file as a source when its family finetunes
// from model files alone (models.ModelSourcer: diffusion); false otherwise,
// and the caller says a state is missing.
func modelFileSource(path string) (models.Source, bool) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, false
	}
	src, err := models.OpenSource(ck)
	return src, err == nil
}
