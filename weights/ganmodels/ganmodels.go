// Package ganmodels embeds the default OASIS-style generators trained on
// the synthetic "source" domain with `catsynth train gan` (see docs/GAN.md):
//
//	source128.safetensors.zst  128 px, for the apps      (preset source128, started from source64)
//	source64.safetensors.zst   64 px, for fast use       (preset source64)
//	tiny32.safetensors.zst     32 px, a few steps only: for tests
//	source128.source.safetensors.zst  source128's discriminator (finetuning source)
//	source64.source.safetensors.zst   source64's discriminator (finetuning source)
//	tiny32.source.safetensors.zst     tiny32's discriminator (finetuning source)
//	diffusion32.safetensors.zst  the 32 px diffusion model (sdm32, catsynth train diffusion, step 5100; early: docs/DIFFUSION.md)
//
// Despite the package's name every family's defaults live here: the file's
// kind says which family reads it.
//
// Any *.safetensors.zst file in this folder is embedded at build time, so
// adding a trained model is dropping the file here. NAME.prototypes.safetensors
// beside a model holds its source classes' feature prototypes (made by
// `catsynth affinity prototypes --model`), which the vision affinity
// estimator compares target images with. NAME.source.safetensors.zst beside
// a model holds what finetuning needs beyond it (its discriminator, and the
// generator weights it was trained with: the slim training state `catsynth
// train gan --export-source` writes), so that `catsynth transfer` and the
// segmentation estimator work on an embedded model. A diffusion model needs
// none: its weights are all finetuning starts from, and the segmentation
// estimator uses the embedded source-domain segmenter.
package ganmodels

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.safetensors.zst
var files embed.FS

//go:embed *.prototypes.safetensors
var prototypes embed.FS

// PrototypesExt ends the name of a model's stored source prototypes.
const PrototypesExt = ".prototypes.safetensors"

// Prototypes returns the stored source prototypes of the named model, or
// an error when it has none.
func Prototypes(name string) ([]byte, error) {
	b, err := prototypes.ReadFile(name + PrototypesExt)
	if err != nil {
		return nil, fmt.Errorf("ganmodels: model %q has no stored prototypes (make them with catsynth affinity prototypes --model)", name)
	}
	return b, nil
}

const ext = ".safetensors.zst"

// Preference is the order Default picks models in.
var Preference = []string{"source128", "source64", "tiny32"}

// Names lists the embedded models (file names without the extension).
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ext); ok && !strings.Contains(name, ".") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Bytes returns the compressed safetensors file of the named model.
func Bytes(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ext)
	if err != nil {
		return nil, fmt.Errorf("ganmodels: no embedded model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Default returns the best embedded model by Preference.
func Default() (name string, data []byte, err error) {
	for _, n := range Preference {
		if b, err := files.ReadFile(n + ext); err == nil {
			return n, b, nil
		}
	}
	return "", nil, fmt.Errorf("ganmodels: no default model embedded (have %s)", strings.Join(Names(), ", "))
}

// SourceExt is the extension of a model's finetuning source.
const SourceExt = ".source.safetensors.zst"

// Source returns the finetuning source of the named model (see the package
// comment), or an error naming what is missing.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(name + SourceExt)
	if err != nil {
		return nil, fmt.Errorf("ganmodels: embedded model %q ships without its finetuning source (%s%s)", name, name, SourceExt)
	}
	return b, nil
}
