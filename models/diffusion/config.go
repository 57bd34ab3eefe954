// Package diffusion is catsynth's SDM-style diffusion model (Wang et al.
// 2022, "Semantic Image Synthesis via Diffusion Models"): a guided-diffusion
// U-Net whose encoder never sees the labels and whose middle and decoder
// blocks normalize with SPADE group norms conditioned on the (soft) label
// map; Gaussian diffusion schedules; DDPM and DDIM samplers with
// classifier-free guidance; the epsilon (+ learned-range variance) training
// loss with label dropout.
//
// Parameter names and shapes follow the official SDM PyTorch code
// (github.com/WeilunWang/semantic-diffusion-model, guided_diffusion/unet.py),
// so a converted official state_dict loads (docs/DIFFUSION.md).
//
// Dimension letters used in doc comments:
//
//	B batch, S label channels (Config.NumClasses), T target classes (label
//	maps before a label layer), C feature channels, H, W pixels.
package diffusion

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Noise schedule names for Config.NoiseSchedule.
const (
	ScheduleLinear = "linear" // Ho et al.: betas 1e-4..0.02, scaled by 1000/T
	ScheduleCosine = "cosine" // Nichol & Dhariwal: alpha_bar = cos^2(((t/T)+s)/(1+s) * pi/2)
)

// Config describes a model and its diffusion process. It is stored as JSON
// in a checkpoint's "config" metadata; the JSON names are the official
// code's command-line flags. The official ADE20K model is OfficialADE20K().
type Config struct {
	// ImageSize is the training size in pixels (the U-Net runs on any size
	// divisible by 2^(len(ChannelMult)-1)); attention resolutions refer to it.
	ImageSize int `json:"image_size"`
	// InChannels is the image channels (3).
	InChannels int `json:"in_channels"`
	// NumChannels is the base width (model_channels).
	NumChannels int `json:"num_channels"`
	// ChannelMult gives each level's width in units of NumChannels; a
	// level after the first halves the resolution.
	ChannelMult []int `json:"channel_mult"`
	// NumResBlocks is the residual blocks per level in the encoder (the
	// decoder has one more).
	NumResBlocks int `json:"num_res_blocks"`
	// AttentionResolutions are the feature-map sizes in pixels (at
	// ImageSize) with self-attention, as the official flag "32,16,8".
	AttentionResolutions []int `json:"attention_resolutions"`
	// NumHeadChannels is the channels per attention head (heads = C / it).
	NumHeadChannels int `json:"num_head_channels"`
	// LearnSigma adds 3 output channels that interpolate the log variance
	// between the posterior's and beta's (learned range); false predicts
	// epsilon only and samples with the fixed large variance.
	LearnSigma bool `json:"learn_sigma"`
	// NumClasses is S, the label-map channels the SPADE norms read (the
	// official code counts one more for instance edges unless no_instance).
	NumClasses int `json:"num_classes"`
	// ResblockUpdown resamples with residual blocks (else with a strided
	// conv and nearest upsampling + conv).
	ResblockUpdown bool `json:"resblock_updown"`
	// UseScaleShiftNorm applies the timestep embedding as FiLM scale and
	// shift after the second norm (else it is added before it).
	UseScaleShiftNorm bool `json:"use_scale_shift_norm"`
	// NormGroups is the GroupNorm group count (official: 32). A layer of C
	// channels uses gcd(NormGroups, C) groups, which is NormGroups whenever
	// C is a multiple of it (every official config); tiny test configs with
	// fewer channels get fewer groups.
	NormGroups int `json:"norm_groups"`
	// SPADEHidden is the width of the SPADE group norms' shared conv
	// (official: 128).
	SPADEHidden int `json:"spade_hidden"`
	// DiffusionSteps is T (official: 1000).
	DiffusionSteps int `json:"diffusion_steps"`
	// NoiseSchedule is ScheduleLinear or ScheduleCosine.
	NoiseSchedule string `json:"noise_schedule"`
	// ClassNames optionally names the S label channels.
	ClassNames []string `json:"class_names,omitempty"`
}

// OfficialADE20K is SDM's ADE20K 256 px model (scripts/ade20k.sh: 256
// channels, channel_mult (1,1,2,2,4,4), attention at 32,16,8, 64 channels
// per head, learned sigma, resblock up/down, scale-shift norm, 151 classes
// with no_instance).
func OfficialADE20K() Config {
	return Config{ImageSize: 256, InChannels: 3, NumChannels: 256, ChannelMult: []int{1, 1, 2, 2, 4, 4},
		NumResBlocks: 2, AttentionResolutions: []int{32, 16, 8}, NumHeadChannels: 64, LearnSigma: true,
		NumClasses: 151, ResblockUpdown: true, UseScaleShiftNorm: true, NormGroups: 32, SPADEHidden: 128,
		DiffusionSteps: 1000, NoiseSchedule: ScheduleLinear}
}

// Tiny is a 16 px model small enough for CPU tests (0.5M
// parameters); its 16- and 48-channel layers use 16 norm groups.
func Tiny(classes int) Config {
	return Config{ImageSize: 16, InChannels: 3, NumChannels: 16, ChannelMult: []int{1, 2}, NumResBlocks: 1,
		AttentionResolutions: []int{8}, NumHeadChannels: 16, LearnSigma: true, NumClasses: classes,
		ResblockUpdown: true, UseScaleShiftNorm: true, NormGroups: 32, SPADEHidden: 32,
		DiffusionSteps: 1000, NoiseSchedule: ScheduleLinear}
}

// Preset64 is a 64 px model for training on a workstation: SDM's 64 px
// channel_mult (1,2,3,4) at 64 base channels, attention at 16 and 8 px,
// 64 channels per head, SDM's remaining choices.
func Preset64(classes int) Config {
	return Config{ImageSize: 64, InChannels: 3, NumChannels: 64, ChannelMult: []int{1, 2, 3, 4}, NumResBlocks: 2,
		AttentionResolutions: []int{16, 8}, NumHeadChannels: 64, LearnSigma: true, NumClasses: classes,
		ResblockUpdown: true, UseScaleShiftNorm: true, NormGroups: 32, SPADEHidden: 128,
		DiffusionSteps: 1000, NoiseSchedule: ScheduleLinear}
}

// Preset32 is the 32 px model the embedded default is trained with on a
// CPU: 32 base channels, channel_mult (1,2,2) down to 8 px, attention at
// 8 px with 32 channels per head, epsilon and learned sigma, SDM's
// remaining choices (about 2.6M parameters).
func Preset32(classes int) Config {
	return Config{ImageSize: 32, InChannels: 3, NumChannels: 32, ChannelMult: []int{1, 2, 2}, NumResBlocks: 2,
		AttentionResolutions: []int{8}, NumHeadChannels: 32, LearnSigma: true, NumClasses: classes,
		ResblockUpdown: true, UseScaleShiftNorm: true, NormGroups: 32, SPADEHidden: 32,
		DiffusionSteps: 1000, NoiseSchedule: ScheduleLinear}
}

// Presets are the named configs for classes label channels.
var Presets = map[string]func(classes int) Config{
	"tiny":   Tiny,
	"sdm32":  Preset32,
	"sdm64":  Preset64,
	"ade20k": func(classes int) Config { c := OfficialADE20K(); c.NumClasses = classes; return c },
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// OutChannels is 6 with a learned sigma (epsilon + variance), else 3.
func (c Config) OutChannels() int {
	if c.LearnSigma {
		return 2 * c.InChannels
	}
	return c.InChannels
}

// Factor is the total down-sampling of the U-Net: input sizes must be
// multiples of it.
func (c Config) Factor() int { return 1 << max(len(c.ChannelMult)-1, 0) }

// groups is the group count of a norm over ch channels.
func (c Config) groups(ch int) int { return gcd(c.NormGroups, ch) }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// attentionAt reports whether the feature map at down-sampling ds has
// self-attention.
func (c Config) attentionAt(ds int) bool {
	for _, r := range c.AttentionResolutions {
		if c.ImageSize/r == ds {
			return true
		}
	}
	return false
}

// Validate reports the first problem with the config.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ImageSize <= 0 || c.ImageSize%c.Factor() != 0 {
		bad("image_size %d must be a positive multiple of 2^(levels-1) = %d", c.ImageSize, c.Factor())
	}
	if c.InChannels <= 0 {
		bad("in_channels %d must be positive", c.InChannels)
	}
	if c.NumChannels <= 0 {
		bad("num_channels %d must be positive", c.NumChannels)
	}
	if len(c.ChannelMult) == 0 {
		bad("channel_mult is empty")
	}
	for _, m := range c.ChannelMult {
		if m <= 0 {
			bad("channel_mult %v has a non-positive entry", c.ChannelMult)
			break
		}
	}
	if c.NumResBlocks <= 0 {
		bad("num_res_blocks %d must be positive", c.NumResBlocks)
	}
	if c.NumClasses <= 0 {
		bad("num_classes %d must be positive", c.NumClasses)
	}
	if c.NormGroups <= 0 || c.SPADEHidden <= 0 {
		bad("norm_groups %d and spade_hidden %d must be positive", c.NormGroups, c.SPADEHidden)
	}
	if c.DiffusionSteps < 2 {
		bad("diffusion_steps %d must be at least 2", c.DiffusionSteps)
	}
	if c.NoiseSchedule != ScheduleLinear && c.NoiseSchedule != ScheduleCosine {
		bad("noise_schedule %q is not %q or %q", c.NoiseSchedule, ScheduleLinear, ScheduleCosine)
	}
	for _, r := range c.AttentionResolutions {
		if r <= 0 || c.ImageSize%r != 0 {
			bad("attention resolution %d does not divide image_size %d", r, c.ImageSize)
		}
	}
	// Every attention layer (and the middle block's, at the last level)
	// needs whole heads.
	for level, m := range c.ChannelMult {
		ch := m * c.NumChannels
		if (c.attentionAt(1<<level) || level == len(c.ChannelMult)-1) && (c.NumHeadChannels <= 0 || ch%c.NumHeadChannels != 0) {
			bad("num_head_channels %d does not divide the %d channels of level %d", c.NumHeadChannels, ch, level)
		}
	}
	if len(c.ClassNames) > 0 && len(c.ClassNames) != c.NumClasses {
		bad("%d class names for %d classes", len(c.ClassNames), c.NumClasses)
	}
	if len(errs) > 0 {
		return fmt.Errorf("diffusion: config: %w", errors.Join(errs...))
	}
	return nil
}

// MarshalConfig encodes c as the checkpoint's JSON.
func MarshalConfig(c Config) ([]byte, error) { return json.Marshal(c) }

// ParseConfig decodes and validates a config; name is used in errors.
func ParseConfig(data []byte, name string) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("diffusion: config of %s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}
