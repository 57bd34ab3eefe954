package main

import (
	"fmt"
	"strings"

	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/safetensors"
	"catsynth/weights/ganmodels"
)

// Every command names a model the same way: a file path (.safetensors or
// .safetensors.zst, of any family, adapted in the page or transferred by the
// CLI), "embedded:NAME" for a model inside the binary, or nothing for the
// embedded default.

const embeddedPrefix = "embedded:"

// modelHelp is the flag text of a model argument.
var modelHelp = "model file (.safetensors[.zst]) or embedded:NAME (embedded: " + strings.Join(ganmodels.Names(), ", ") +
	"; default " + strings.Join(ganmodels.Preference, " > ") + ")"

// isModelSpec reports whether spec names a model (rather than a dataset
// spec or a classes file).
func isModelSpec(spec string) bool {
	low := strings.ToLower(spec)
	return spec == "" || strings.HasPrefix(spec, embeddedPrefix) ||
		strings.HasSuffix(low, ".safetensors") || strings.HasSuffix(low, ".safetensors.zst")
}

// embeddedName returns NAME of "embedded:NAME" (the default's name for ""),
// and whether spec names an embedded model.
func embeddedName(spec string) (string, bool) {
	if spec == "" {
		name, _, err := ganmodels.Default()
		return name, err == nil
	}
	name, ok := strings.CutPrefix(spec, embeddedPrefix)
	return name, ok
}

// readModel reads the checkpoint a model spec names (not its weights onto
// a device) and a display name.
func readModel(spec string) (*nn.Checkpoint, string, error) {
	name, embedded := embeddedName(spec)
	if !embedded {
		ck, err := nn.ReadCheckpoint(spec)
		return ck, spec, err
	}
	data, err := ganmodels.Bytes(name)
	if err != nil {
		return nil, "", err
	}
	f, err := safetensors.Decode(data, embeddedPrefix+name)
	if err != nil {
		return nil, "", err
	}
	ck, err := nn.CheckpointOf(f, embeddedPrefix+name)
	return ck, embeddedPrefix + name, err
}

// loadModel builds the model a spec names on dev (see readModel).
func loadModel(dev *nn.Device, spec string) (models.Conditioned, string, error) {
	ck, name, err := readModel(spec)
	if err != nil {
		return models.Conditioned{}, "", err
	}
	m, err := models.LoadCheckpoint(dev, ck)
	return m, name, err
}

// modelClasses are the classes a model's network reads (its source
// classes; for an adapted model, the network's behind its label layer).
func modelClasses(spec string) ([]string, error) {
	ck, name, err := readModel(spec)
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
