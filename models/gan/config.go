// Package gan is catsynth's OASIS-style semantic image synthesis GAN: a
// SPADE (or CLADE) residual generator with 3D noise, a U-Net segmentation
// discriminator with N+1 outputs, the OASIS losses (class-balanced N+1
// cross-entropy, LabelMix), a training loop and sampling.
//
// Parameter names and shapes follow the official OASIS PyTorch code
// (github.com/boschresearch/OASIS, models/generator.py, discriminator.py,
// norms.py), so a converted official state_dict loads (docs/GAN.md).
//
// Dimension letters used in doc comments:
//
//	B batch, S source classes (generator label channels), Z noise size,
//	T target classes (label maps before the LabelMap hook), N discriminator
//	classes (the head has N+1 outputs, 0 = "fake"), H, W pixels.
package gan

import (
	"fmt"

	"catsynth/nn"
)

// Norm names for GeneratorConfig.Norm.
const (
	// NormSPADE predicts per-pixel scale and shift with a 3x3 conv MLP from
	// the label map (the official OASIS layer).
	NormSPADE = "spade"
	// NormCLADE predicts them with one 1x1 conv from the (soft) label map
	// and noise: per-class scale and shift, weighted by the soft map. Much
	// cheaper (no hidden 128-channel 3x3 convs); not in official OASIS.
	NormCLADE = "clade"
)

// Noise modes for GeneratorConfig.Noise.
const (
	NoiseImage = "image"
	NoisePixel = "pixel"
	// NoiseMixed is OASIS's per-image vector plus a smooth per-pixel part:
	// values drawn on a grid of MixedCell-pixel cells, bilinearly
	// interpolated, MixedPixelScale their standard deviation. The image's
	// style stays one global variable; the coarse layers, where every cell
	// of the first latent map touches a border, get a random source other
	// than the zero padding; and no per-pixel grain reaches the output.
	NoiseMixed = "mixed"
)

// MixedPixelScale is the standard deviation of NoiseMixed's per-pixel part
// at its grid points (the per-image part has 1): small enough that a model
// trained with per-image noise starts from images close to its own.
const MixedPixelScale = 0.5

// MixedCell is the spacing in pixels of NoiseMixed's grid: a cell of the
// first latent map of the 128 px presets (128 / 2^(NumBlocks-1), 5 blocks).
const MixedCell = 16

// baseChannels are OASIS's generator widths in units of the base width ch
// (opt.channels_G): fc outputs 16ch and block i maps [i] -> [i+1].
var baseChannels = []int{16, 16, 16, 8, 4, 2, 1}

// MaxGeneratorBlocks is the largest NumBlocks (OASIS's default, 6).
const MaxGeneratorBlocks = 6

// GeneratorConfig describes a generator. It is stored as JSON in the
// checkpoint's "config" metadata. The official OASIS ADE20K 256 px model is
// {LabelNC: 151, ZDim: 64, Channels: 64, NumBlocks: 6, H: 256, W: 256,
// SPADEHidden: 128, SPADEKernel: 3, Norm: "spade"}.
type GeneratorConfig struct {
	// LabelNC is S, the number of source label channels (OASIS semantic_nc,
	// which counts a "don't care" class when the dataset has one).
	LabelNC int `json:"semantic_nc"`
	// ZDim is the size of the per-image noise vector z (0: no 3D noise).
	ZDim int `json:"z_dim"`
	// Channels is the base width ch (OASIS channels_G).
	Channels int `json:"channels_G"`
	// NumBlocks is the number of residual SPADE blocks, 1..6. The widths are
	// the last NumBlocks+1 entries of [16,16,16,8,4,2,1]*ch, so 6 gives the
	// official network; the first latent map is (H, W) / 2^(NumBlocks-1).
	NumBlocks int `json:"num_res_blocks"`
	// H, W is the training output size in pixels (the generator runs on any
	// size divisible by 2^(NumBlocks-1); this one is the default).
	H int `json:"height"`
	W int `json:"width"`
	// SPADEHidden is the width of SPADE's shared conv (OASIS: 128).
	SPADEHidden int `json:"spade_hidden"`
	// SPADEKernel is the kernel of SPADE's convs (OASIS spade_ks: 3).
	SPADEKernel int `json:"spade_ks"`
	// Norm is NormSPADE (default when empty) or NormCLADE.
	Norm string `json:"norm"`
	// Noise is how z enters: NoiseImage (default when empty; OASIS) one
	// vector per image, the same at every pixel, NoisePixel a vector per
	// pixel, drawn independently, so that texture has a random source other
	// than the borders (docs/GAN.md, "Stripes"), or NoiseMixed the sum of
	// the two.
	Noise string `json:"noise,omitempty"`
	// Padding is how the generator's 3x3 convolutions fill their border:
	// "zeros" (default when empty; OASIS), "reflect" or "replicate". With
	// zeros a constant input (a flat label map under one z per image)
	// grows position-locked texture from the borders; with the other two
	// it stays constant, so texture must come from the labels or the noise
	// (docs/GAN.md, "Stripes").
	Padding string `json:"padding,omitempty"`
	// ClassNames optionally names the S source classes (for messages).
	ClassNames []string `json:"class_names,omitempty"`
}

// OfficialADE20K is the official OASIS ADE20K 256 px generator.
func OfficialADE20K() GeneratorConfig {
	return GeneratorConfig{LabelNC: 151, ZDim: 64, Channels: 64, NumBlocks: 6, H: 256, W: 256,
		SPADEHidden: 128, SPADEKernel: 3, Norm: NormSPADE}
}

// withDefaults fills zero hidden width, kernel and norm.
func (c GeneratorConfig) withDefaults() GeneratorConfig {
	if c.SPADEHidden == 0 {
		c.SPADEHidden = 128
	}
	if c.SPADEKernel == 0 {
		c.SPADEKernel = 3
	}
	if c.Norm == "" {
		c.Norm = NormSPADE
	}
	if c.Noise == "" {
		c.Noise = NoiseImage
	}
	return c
}

// Validate reports what is wrong with c (after defaults), or nil.
func (c GeneratorConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.LabelNC < 1:
		return fmt.Errorf("gan: generator needs at least one label channel (semantic_nc %d)", c.LabelNC)
	case c.ZDim < 0:
		return fmt.Errorf("gan: negative z_dim %d", c.ZDim)
	case c.Channels < 1:
		return fmt.Errorf("gan: base width channels_G %d < 1", c.Channels)
	case c.NumBlocks < 1 || c.NumBlocks > MaxGeneratorBlocks:
		return fmt.Errorf("gan: num_res_blocks %d outside 1..%d", c.NumBlocks, MaxGeneratorBlocks)
	case c.SPADEHidden < 1 || c.SPADEKernel < 1 || c.SPADEKernel%2 == 0:
		return fmt.Errorf("gan: SPADE hidden width %d / kernel %d (want >= 1 and an odd kernel)", c.SPADEHidden, c.SPADEKernel)
	case c.Norm != NormSPADE && c.Norm != NormCLADE:
		return fmt.Errorf("gan: unknown norm %q (want %q or %q)", c.Norm, NormSPADE, NormCLADE)
	case c.Noise != "" && c.Noise != NoiseImage && c.Noise != NoisePixel && c.Noise != NoiseMixed:
		return fmt.Errorf("gan: unknown noise %q (want %q, %q or %q)", c.Noise, NoiseImage, NoisePixel, NoiseMixed)
	case c.Padding != "" && c.padMode() == "":
		return fmt.Errorf("gan: unknown padding %q (want %q, %q or %q)", c.Padding, nn.PadZeros, nn.PadReflect, nn.PadReplicate)
	case c.ClassNames != nil && len(c.ClassNames) != c.LabelNC:
		return fmt.Errorf("gan: %d class names for %d label channels", len(c.ClassNames), c.LabelNC)
	}
	return c.CheckSize(c.H, c.W)
}

// Factor is the factor every output side must be divisible by,
// 2^(NumBlocks-1).
func (c GeneratorConfig) Factor() int { return 1 << max(c.NumBlocks-1, 0) }

// CheckSize reports whether the generator can produce h x w images: both
// must be positive multiples of Factor.
func (c GeneratorConfig) CheckSize(h, w int) error {
	f := c.Factor()
	if h < f || w < f || h%f != 0 || w%f != 0 {
		return fmt.Errorf("gan: a %d-block generator makes sizes that are multiples of %d; %dx%d (WxH) is not", c.NumBlocks, f, w, h)
	}
	return nil
}

// widths returns the channel list: fc outputs widths[0], block i maps
// widths[i] -> widths[i+1].
func (c GeneratorConfig) widths() []int {
	b := baseChannels[len(baseChannels)-1-c.NumBlocks:]
	out := make([]int, len(b))
	for i, m := range b {
		out[i] = m * c.Channels
	}
	return out
}

// MaxDiscriminatorBlocks is the largest DiscriminatorConfig.NumBlocks.
const MaxDiscriminatorBlocks = 6

// DiscriminatorConfig describes the OASIS U-Net discriminator. The official
// one is {NumClasses: N, Channels: 64, NumBlocks: 6}: encoder widths
// [3,128,128,256,256,512,512] = [3,2,2,4,4,8,8]*Channels, decoder ending in
// Channels (64) and a 1x1 head to N+1.
type DiscriminatorConfig struct {
	// NumClasses is N; the head has N+1 outputs (0 = fake, c+1 = class c).
	NumClasses int `json:"semantic_nc"`
	// Channels is the base width (64 in OASIS).
	Channels int `json:"channels_D"`
	// NumBlocks is the number of down (and up) residual blocks, 2..6; input
	// sides must be multiples of 2^NumBlocks.
	NumBlocks int `json:"num_res_blocks"`
}

var baseChannelsD = []int{0, 2, 2, 4, 4, 8, 8} // [0] is the RGB input

// OfficialDiscriminator is the official OASIS discriminator for n classes.
func OfficialDiscriminator(n int) DiscriminatorConfig {
	return DiscriminatorConfig{NumClasses: n, Channels: 64, NumBlocks: 6}
}

// Validate reports what is wrong with c, or nil.
func (c DiscriminatorConfig) Validate() error {
	switch {
	case c.NumClasses < 1:
		return fmt.Errorf("gan: discriminator needs at least one class (got %d)", c.NumClasses)
	case c.Channels < 1:
		return fmt.Errorf("gan: discriminator base width %d < 1", c.Channels)
	case c.NumBlocks < 2 || c.NumBlocks > MaxDiscriminatorBlocks:
		return fmt.Errorf("gan: discriminator num_res_blocks %d outside 2..%d", c.NumBlocks, MaxDiscriminatorBlocks)
	}
	return nil
}

// CheckSize reports whether the discriminator accepts h x w images.
func (c DiscriminatorConfig) CheckSize(h, w int) error {
	f := 1 << c.NumBlocks
	if h < f || w < f || h%f != 0 || w%f != 0 {
		return fmt.Errorf("gan: a %d-block discriminator needs sides that are multiples of %d; %dx%d (WxH) is not", c.NumBlocks, f, w, h)
	}
	return nil
}

func (c DiscriminatorConfig) widths() []int {
	out := make([]int, c.NumBlocks+1)
	out[0] = 3
	for i := 1; i <= c.NumBlocks; i++ {
		out[i] = baseChannelsD[i] * c.Channels
	}
	return out
}

// padMode is Padding as an nn.PadMode ("" when unknown).
func (c GeneratorConfig) padMode() nn.PadMode {
	m, err := nn.ParsePadMode(c.Padding)
	if err != nil {
		return ""
	}
	return m
}
