// Package models is the contract between label-conditioned image models
// and the code that uses them: transfer, the app session behind the page
// and the desktop app, and the CLI. A model family (models/gan, ...)
// implements Model for its network, registers a Family that loads its
// files by the "catsynth_kind" in their metadata, and provides a Finetuner
// for class affinity transfer. Helpers every family shares live here too:
// one-hot label maps, seeded noise, image conversion, grids, PNG writing,
// batches, class balance, loss curves and the training loop.
//
// Dimension letters: B batch, T target classes (label maps before a label
// layer), S the label channels a network reads, H, W pixels.
package models

import (
	"context"
	"fmt"

	"catsynth/nn"
)

// Model is a label-conditioned image network: it turns a label map with
// S channels (one-hot, or soft as a label layer makes it) into images.
type Model interface {
	// Kind is the family's file kind ("oasis-generator").
	Kind() string
	// Classes names the S label channels the network reads.
	Classes() []string
	// Size is the training size in pixels; CheckSize says whether an h x w
	// map can be generated (fully convolutional models take other sizes).
	Size() (h, w int)
	CheckSize(h, w int) error
	// Params are the network's parameters under their official names.
	Params() *nn.Params
	// Generate maps label maps (B, S, H, W) to images (B, 3, H, W) in
	// [-1, 1], image i with noise drawn from seeds[i]. It records a tape
	// when a parameter or the map needs gradients (finetuning through a
	// label layer). progress, when non-nil, is called after each step of
	// an iterative sampler; a one-shot model calls it once.
	Generate(ctx context.Context, labels *nn.Tensor, seeds []uint64, progress func(Progress)) (*nn.Tensor, error)
	// LabelConvs names the convolution weights (O, Extra+S, k, k) that read
	// the label map, whose first Extra input channels are not labels (a
	// GAN's noise). A label layer folds into them exactly (see Fold).
	LabelConvs() (names []string, extra int)
	// LargestBuffer estimates the largest single buffer (bytes) a forward
	// and backward pass on batch maps of the training size needs, and names
	// it, so that a device limit can be checked before allocating.
	LargestBuffer(batch int) (bytes int64, what string)
	// WithClasses builds an untrained network of the same architecture
	// that reads len(classes) label channels, on dev with weights from seed.
	WithClasses(dev *nn.Device, classes []string, seed uint64) (Model, error)
	// ConfigJSON is the architecture as the model file's "config" metadata
	// holds it (what Load builds the network from).
	ConfigJSON() ([]byte, error)
	// Save writes the network as a model file of its kind, with meta added
	// to the file's metadata. Atomic.
	Save(path string, f16 bool, meta map[string]string) error
	// Release frees the parameters.
	Release()
}

// Progress reports one step of generation: Step of Steps, and for
// iterative samplers the current estimate of the final images (B, 3, H,
// W) in [-1, 1] (nil when the model has none).
type Progress struct {
	Step, Steps int
	Preview     *nn.Tensor
}

// CheckLimits fails with a message naming the limit when m at batch size
// batch needs a buffer over limit bytes (0: no check), before anything of
// that size is allocated.
func CheckLimits(m interface{ LargestBuffer(int) (int64, string) }, batch int, limit int64) error {
	if limit <= 0 {
		return nil
	}
	need, what := m.LargestBuffer(batch)
	if need > limit {
		return fmt.Errorf("the model is too large for this GPU: %s needs %.1f MiB, over the device limit maxStorageBufferBindingSize = %.1f MiB (%d bytes); use a smaller model or the CPU backend",
			what, float64(need)/(1<<20), float64(limit)/(1<<20), limit)
	}
	return nil
}

// Sampling are the settings of an iterative sampler (a diffusion model's):
// what `generate --steps --guidance --eta`, the page's sliders and the
// desktop app choose. Zero values take the family's defaults.
type Sampling struct {
	Method   string  `json:"method,omitempty"` // "ddim" or "ddpm"
	Steps    int     `json:"steps,omitempty"`  // sampling steps
	Guidance float64 `json:"guidance"`         // classifier-free guidance scale (1: off)
	Eta      float64 `json:"eta"`              // DDIM noise (0: deterministic)
}

// Sampled is a Model whose images come from an iterative sampler with
// settings (a diffusion model); a one-shot GAN does not implement it.
type Sampled interface {
	Sampling() Sampling
	// SetSampling checks and sets the settings later Generate calls use.
	SetSampling(Sampling) error
}

// SamplingLimits are the largest settings a Sampled model accepts (the
// least are 1 step, guidance 1, eta 0), for a front end's sliders.
type SamplingLimits struct {
	Steps    int     `json:"steps"`    // the model's diffusion steps
	Guidance float64 `json:"guidance"` // classifier-free guidance scale
	Eta      float64 `json:"eta"`      // DDIM noise
}

// SamplingLimiter is a Sampled model that states its SamplingLimits.
type SamplingLimiter interface {
	SamplingLimits() SamplingLimits
}

// ObjectiveModel is a Model trained by a loss on single denoising steps
// rather than through its sampler (a diffusion model): light finetuning
// (only the label layer trains) minimises this loss instead of comparing
// Generate's images, which would need gradients through every sampling
// step.
type ObjectiveModel interface {
	// TrainingLoss is the family's own training loss (a scalar, graph
	// attached) of images (B, 3, H, W) in [-1, 1] given the label input
	// (B, S, H, W), with its random parts (timesteps, noise) drawn from
	// seed.
	TrainingLoss(labels, images *nn.Tensor, seed uint64) (*nn.Tensor, error)
}
