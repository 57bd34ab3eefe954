package gan

import (
	"fmt"
	"sort"
	"strings"
)

// Preset is a named model size: generator and discriminator configs for a
// given number of label classes (filled in by Configs).
type Preset struct {
	Name string
	G    GeneratorConfig // LabelNC left 0
	D    DiscriminatorConfig
	Note string
}

// Presets are the model sizes `catsynth train gan --preset` knows. The
// "source" ones are the embedded default models (f16 files well under
// 25 MB); "tiny" is for tests; "oasis" is the official architecture.
var Presets = map[string]Preset{
	"tiny": {Name: "tiny", Note: "tests: 32 px, a few thousand parameters",
		G: GeneratorConfig{ZDim: 8, Channels: 4, NumBlocks: 3, H: 32, W: 32, SPADEHidden: 16},
		D: DiscriminatorConfig{Channels: 4, NumBlocks: 3}},
	"source64": {Name: "source64", Note: "default 64 px model: fast tests and demos",
		G: GeneratorConfig{ZDim: 64, Channels: 16, NumBlocks: 5, H: 64, W: 64, SPADEHidden: 64},
		D: DiscriminatorConfig{Channels: 32, NumBlocks: 5}},
	// source128 is source64's network at twice the size (an 8x8 first
	// latent map instead of 4x4), so it can start from source64's weights
	// (train gan --init) instead of from scratch.
	"source128": {Name: "source128", Note: "default 128 px model for the apps (source64's network, 128 px)",
		G: GeneratorConfig{ZDim: 64, Channels: 16, NumBlocks: 5, H: 128, W: 128, SPADEHidden: 64},
		D: DiscriminatorConfig{Channels: 32, NumBlocks: 5}},
	"oasis": {Name: "oasis", Note: "the official OASIS architecture (256 px, 74M generator parameters)",
		G: GeneratorConfig{ZDim: 64, Channels: 64, NumBlocks: 6, H: 256, W: 256, SPADEHidden: 128},
		D: DiscriminatorConfig{Channels: 64, NumBlocks: 6}},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	var n []string
	for k := range Presets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Configs returns the preset's configs for classes label classes at
// h x w pixels (0 keeps the preset's size) with the given norm ("" keeps
// spade).
func (p Preset) Configs(classes []string, h, w int, norm string) (GeneratorConfig, DiscriminatorConfig, error) {
	g, d := p.G, p.D
	g.LabelNC, d.NumClasses = len(classes), len(classes)
	g.ClassNames = append([]string(nil), classes...)
	if h > 0 {
		g.H, g.W = h, w
	}
	if norm != "" {
		g.Norm = norm
	}
	if err := g.Validate(); err != nil {
		return g, d, err
	}
	if err := d.CheckSize(g.H, g.W); err != nil {
		return g, d, err
	}
	return g, d, d.Validate()
}

// LookupPreset returns the named preset or an error listing them.
func LookupPreset(name string) (Preset, error) {
	p, ok := Presets[name]
	if !ok {
		return p, fmt.Errorf("gan: unknown preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	return p, nil
}
