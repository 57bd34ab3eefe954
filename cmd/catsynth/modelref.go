package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"catsynth/modelref"
	"catsynth/transfer"

	"catsynth/models"
	"catsynth/nn"
	"catsynth/weights/ganmodels"
)

// Every command names a model the same way: a file path (.safetensors or
// .safetensors.zst, of any family, adapted in the page or transferred by the
// CLI), "embedded:NAME" for a model inside the binary, or nothing for the
// embedded default (package modelref resolves them).

// modelHelp is the flag text of a model argument.
var modelHelp = "model file (.safetensors[.zst]) or embedded:NAME (embedded: " + strings.Join(ganmodels.Names(), ", ") +
	"; default " + strings.Join(ganmodels.Preference, " > ") + ")"

// isModelSpec reports whether spec names a model (rather than a dataset
// spec or a classes file).
func isModelSpec(spec string) bool {
	low := strings.ToLower(spec)
	return spec == "" || strings.HasPrefix(spec, modelref.EmbeddedPrefix) ||
		strings.HasSuffix(low, ".safetensors") || strings.HasSuffix(low, ".safetensors.zst")
}

// loadModel builds the model a spec names on dev (see modelref.Read).
func loadModel(dev *nn.Device, spec string) (models.Conditioned, string, error) {
	ck, name, err := modelref.Read(spec)
	if err != nil {
		return models.Conditioned{}, "", err
	}
	m, err := models.LoadCheckpoint(dev, ck)
	return m, name, err
}

// modelClasses are the classes a model's network reads (its source
// classes; for an adapted model, the network's behind its label layer).
func modelClasses(spec string) ([]string, error) {
	ck, name, err := modelref.Read(spec)
	if err != nil {
		return nil, err
	}
	if ck.Metadata[models.MetaKind] == models.KindAdapted {
		sp, err := models.Inspect(ck)
		if err != nil {
			return nil, err
		}
		return sp.Classes, nil
	}
	if len(ck.ClassNames) == 0 {
		return nil, fmt.Errorf("%s: checkpoint has no %q metadata: give the source classes as a classes.txt", name, nn.MetaClassNames)
	}
	return ck.ClassNames, nil
}

// checkOutput refuses to write out where that would destroy the user's
// files: an existing model (or its training state) unless force or a
// resumed run, and any of the inputs. What names the flag in the message.
func checkOutput(out string, force, resuming bool, inputs ...string) error {
	same := func(a, b string) bool {
		if a == "" || b == "" {
			return false
		}
		fa, ea := os.Stat(a)
		fb, eb := os.Stat(b)
		if ea == nil && eb == nil {
			return os.SameFile(fa, fb)
		}
		aa, _ := filepath.Abs(a)
		bb, _ := filepath.Abs(b)
		return aa == bb
	}
	for _, in := range inputs {
		if same(out, in) || (isModelSpec(in) && same(out, transfer.StatePath(in))) {
			return fmt.Errorf("%w: --out %s is also an input (%s): it would be overwritten; write elsewhere", errUsage, out, in)
		}
	}
	if force || resuming {
		return nil
	}
	for _, p := range []string{out, transfer.StatePath(out)} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%w: %s exists: --resume continues its run, --force replaces it", errUsage, p)
		}
	}
	return nil
}
