// Package modelref resolves the model references every front end takes
// (the CLI's flags, the desktop app's path field): a file path
// (.safetensors or .safetensors.zst, of any family), "embedded:NAME" for
// a model inside the binary, or "" for the embedded default. It also opens
// a reference as a finetuning source, which needs more than the model file
// holds (a GAN's discriminator): the training state beside a file, or the
// finetuning source shipped beside an embedded model.
package modelref

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/transfer"
	"catsynth/weights/ganmodels"
)

// EmbeddedPrefix starts the reference of an embedded model.
const EmbeddedPrefix = "embedded:"

// EmbeddedName returns NAME of "embedded:NAME" (the default's name for
// ""), and whether ref names an embedded model.
func EmbeddedName(ref string) (string, bool) {
	if ref == "" {
		name, _, err := ganmodels.Default()
		return name, err == nil
	}
	name, ok := strings.CutPrefix(ref, EmbeddedPrefix)
	return name, ok
}

// Bytes returns the file a reference names (compressed or not, as stored)
// and a display name: "embedded:NAME", or the path.
func Bytes(ref string) ([]byte, string, error) {
	name, embedded := EmbeddedName(ref)
	if !embedded {
		if ref == "" {
			_, _, err := ganmodels.Default()
			return nil, "", err
		}
		data, err := os.ReadFile(ref)
		return data, ref, err
	}
	data, err := ganmodels.Bytes(name)
	return data, EmbeddedPrefix + name, err
}

// Read reads the checkpoint a reference names (not its weights onto a
// device) and a display name (see Bytes).
func Read(ref string) (*nn.Checkpoint, string, error) {
	if _, embedded := EmbeddedName(ref); !embedded {
		ck, err := nn.ReadCheckpoint(ref)
		return ck, ref, err
	}
	data, name, err := Bytes(ref)
	if err != nil {
		return nil, "", err
	}
	ck, err := nn.DecodeCheckpoint(data, name)
	return ck, name, err
}

// ErrNoSource marks a reference without a finetuning source (no training
// state beside the file, or an embedded model shipped without one).
var ErrNoSource = errors.New("no finetuning source")

// Source opens a reference as a transfer source: for a file, its training
// state beside it (M.state.safetensors.zst, as `catsynth train` writes it)
// or the state file itself; for an embedded model, the finetuning source
// shipped beside it (completed with the model file's generator when it was
// shipped without one). An error wrapping ErrNoSource says there is none.
func Source(ref string) (models.Source, error) {
	if name, ok := EmbeddedName(ref); ok && (ref == "" || strings.HasPrefix(ref, EmbeddedPrefix)) {
		if _, err := ganmodels.Bytes(name); err != nil {
			return nil, err // no such model: say that, not that its source is missing
		}
		data, err := ganmodels.Source(name)
		if err != nil {
			if model, _, err2 := Read(ref); err2 == nil {
				if src, err2 := transfer.LoadSourceCheckpoint(model); err2 == nil {
					return src, nil // a family that finetunes from its model file (diffusion)
				}
			}
			return nil, fmt.Errorf("%w: %v (the discriminator that transfer and the seg estimator start from); give a model file with its .state file beside it, as catsynth train gan writes them", ErrNoSource, err)
		}
		ck, err := nn.DecodeCheckpoint(data, EmbeddedPrefix+name+ganmodels.SourceExt)
		if err != nil {
			return nil, err
		}
		if _, ok := ck.File.Get("netEMA.fc.weight"); !ok { // shipped without its generator: the model file is it
			model, _, err := Read(ref)
			if err != nil {
				return nil, err
			}
			if ck, err = gan.WithGenerator(ck, model); err != nil {
				return nil, err
			}
		}
		return transfer.LoadSourceCheckpoint(ck)
	}
	isState := strings.Contains(ref, ".state.")
	if !isState {
		// A broken model file is the first thing to report, before its
		// (maybe missing) state beside it.
		if _, _, err := Read(ref); err != nil {
			return nil, err
		}
		if _, err := os.Stat(transfer.StatePath(ref)); err != nil {
			return nil, fmt.Errorf("%w: the source model has no training state beside it (%s), so there is no discriminator to start from", ErrNoSource, transfer.StatePath(ref))
		}
	}
	return transfer.LoadSource(ref)
}
