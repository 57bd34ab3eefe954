// Package ganmodels embeds the default OASIS-style generators trained on
// the synthetic "source" domain with `catsynth train gan` (see docs/GAN.md):
//
//	source128.safetensors.zst  128 px, for the apps      (preset source128)
//	source64.safetensors.zst   64 px, for fast use       (preset source64)
//	tiny32.safetensors.zst     32 px, a few steps only: for tests
//
// Any *.safetensors.zst file in this folder is embedded at build time, so
// adding a trained model is dropping the file here.
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

const ext = ".safetensors.zst"

// Preference is the order Default picks models in.
var Preference = []string{"source128", "source64", "tiny32"}

// Names lists the embedded models (file names without the extension).
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ext) {
			out = append(out, strings.TrimSuffix(e.Name(), ext))
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
