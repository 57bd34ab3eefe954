package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"catsynth/nn"
)

// Sampling methods for SampleOptions.Method.
const (
	MethodDDIM = "ddim" // DDIM (Song et al.): eta 0 is deterministic given x_T
	MethodDDPM = "ddpm" // ancestral sampling with the model's (or the fixed large) variance
)

// DefaultGuidance is SDM's classifier-free guidance scale s.
const DefaultGuidance = 1.5

// Denoiser predicts the model output (B, 3 or 6, H, W) for x_t (B, 3, H,
// W) at original-process timesteps t with label input y (B, T, H, W). A
// UNet's Forward is one; tests use exact oracles.
type Denoiser func(x *nn.Tensor, t []float64, y *nn.Tensor) *nn.Tensor

// Sampler draws images from a denoiser trained on Schedule.
type Sampler struct {
	Model      Denoiser
	Schedule   *Schedule // the training process (T steps)
	LearnSigma bool      // the model's channels 3..5 interpolate the log variance
	Channels   int       // image channels (3)
	// CheckLabels, when set, vets a label map before sampling (a user's
	// map gets an error, not a panic inside the model).
	CheckLabels func(y *nn.Tensor) error
}

// Sampler returns the U-Net's sampler on its configured schedule.
func (u *UNet) Sampler() (*Sampler, error) {
	s, err := ConfigSchedule(u.Config)
	if err != nil {
		return nil, err
	}
	return &Sampler{Model: u.Forward, Schedule: s, LearnSigma: u.Config.LearnSigma, Channels: u.Config.InChannels,
		CheckLabels: u.CheckLabels}, nil
}

// CheckLabels reports why y (B, S, H, W) cannot condition the U-Net: the
// sizes must be multiples of Config.Factor() and S must be NumClasses.
func (u *UNet) CheckLabels(y *nn.Tensor) error {
	c := u.Config
	if y.Rank() != 4 || y.Dim(0) == 0 {
		return fmt.Errorf("diffusion: label map %v, want (B, T, H, W)", y.Shape())
	}
	if h, w := y.Dim(2), y.Dim(3); h == 0 || w == 0 || h%c.Factor() != 0 || w%c.Factor() != 0 {
		return fmt.Errorf("diffusion: label map is %dx%d px; the U-Net needs positive multiples of %d", h, w, c.Factor())
	}
	if y.Dim(1) != c.NumClasses {
		return fmt.Errorf("diffusion: label map has %d channels, the model reads %d", y.Dim(1), c.NumClasses)
	}
	return nil
}

// SampleOptions controls Sample. The zero value is 50 DDIM steps with eta
// 0, guidance 1.5, seed 0.
type SampleOptions struct {
	Method string  // MethodDDIM (default when empty) or MethodDDPM
	Steps  int     // sampling steps, 1..T, evenly spaced (0: 50, or T when T < 50)
	Eta    float64 // DDIM noise: 0 deterministic, 1 DDPM-like
	// Guidance is the classifier-free scale s: eps = eps_null + s (eps_cond
	// - eps_null) on the epsilon channels, the variance from the
	// conditional pass; 1 turns guidance off (one model pass per step); 0
	// means DefaultGuidance. The null label map is all zeros (the label
	// input is zeroed; behind a linear label layer that is the zero target
	// map too).
	Guidance float64
	// Seed decides x_T and every step's noise (drawn on the host, so a seed
	// gives the same images on every backend up to float rounding).
	Seed uint64
	// Seeds, when set, gives each row of the batch its own seed (one per
	// label map) instead of one stream for the whole batch: image i is
	// then the same whatever else is in the batch.
	Seeds []uint64
	// Progress, when set, is called after each step with the step number
	// (1..total) and the current prediction of x_0 (B, 3, H, W) in [-1, 1].
	Progress func(step, total int, x0 []float32)
}

// Sample draws one image per label map in y (B, T, H, W): the result is
// (B, Channels, H, W), row-major, in about [-1, 1]. It stops with ctx's
// error between steps when ctx is done.
func (s *Sampler) Sample(ctx context.Context, y *nn.Tensor, o SampleOptions) ([]float32, error) {
	if o.Method == "" {
		o.Method = MethodDDIM
	}
	if o.Method != MethodDDIM && o.Method != MethodDDPM {
		return nil, fmt.Errorf("diffusion: unknown sampling method %q (want %q or %q)", o.Method, MethodDDIM, MethodDDPM)
	}
	if o.Steps == 0 {
		o.Steps = min(50, s.Schedule.Len())
	}
	if o.Guidance == 0 {
		o.Guidance = DefaultGuidance
	}
	if o.Guidance < 0 || o.Eta < 0 || math.IsNaN(o.Guidance+o.Eta) {
		return nil, fmt.Errorf("diffusion: guidance %g and eta %g must be non-negative", o.Guidance, o.Eta)
	}
	sp, err := s.Schedule.Respace(o.Steps)
	if err != nil {
		return nil, err
	}
	if y.Rank() != 4 {
		return nil, fmt.Errorf("diffusion: label map %v, want (B, T, H, W)", y.Shape())
	}
	if s.CheckLabels != nil {
		if err := s.CheckLabels(y); err != nil {
			return nil, err
		}
	}
	dev := y.Device()
	b, h, w, c := y.Dim(0), y.Dim(2), y.Dim(3), s.Channels
	n := c * h * w
	if o.Seeds != nil && len(o.Seeds) != b {
		return nil, fmt.Errorf("diffusion: %d seeds for %d label maps", len(o.Seeds), b)
	}
	rngs := make([]*rand.Rand, b)
	for bi := range rngs {
		switch {
		case o.Seeds != nil:
			rngs[bi] = rand.New(rand.NewPCG(o.Seeds[bi], 0xd1ff051e))
		case bi == 0:
			rngs[bi] = rand.New(rand.NewPCG(o.Seed, 0xd1ff051e))
		default:
			rngs[bi] = rngs[0] // one stream for the batch, drawn row after row
		}
	}
	x := make([]float64, b*n)
	for i := range x {
		x[i] = rngs[i/n].NormFloat64()
	}
	guided := o.Guidance != 1
	yIn := y
	if guided {
		// The conditional rows, then the null (all-zero) ones.
		dev.NoGrad(func() {
			sc := dev.Scope()
			yIn = nn.Concat([]*nn.Tensor{y.Detach(), dev.Zeros(y.Shape()...)}, 0)
			sc.Close(yIn)
		})
		defer yIn.Release()
	}
	x0 := make([]float64, b*n)
	x0f := make([]float32, b*n)
	xf := make([]float32, b*n)
	total := sp.Len()
	for step := 1; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		i := total - step
		for j, v := range x {
			xf[j] = float32(v)
		}
		out, err := s.predict(dev, xf, yIn, b, h, w, float64(sp.Timesteps[i]), guided)
		if err != nil {
			return nil, err
		}
		ab := sp.AlphasCumprod[i]
		ra, rm := math.Sqrt(1/ab), math.Sqrt(1/ab-1)
		for bi := range b {
			for j := range n {
				k := bi*n + j
				e := float64(out.at(bi, j, false))
				if guided {
					u := float64(out.at(bi, j, true))
					e = u + o.Guidance*(e-u)
				}
				x0[k] = math.Max(-1, math.Min(1, ra*x[k]-rm*e))
			}
		}
		switch o.Method {
		case MethodDDPM:
			c1, c2 := sp.PosteriorMeanCoef1[i], sp.PosteriorMeanCoef2[i]
			minLog, maxLog := sp.PosteriorLogVarClipped[i], math.Log(sp.Betas[i])
			fixedLog := maxLog // fixed large: beta, with the posterior's at step 0
			if i == 0 {
				fixedLog = math.Log(sp.PosteriorVariance[min(1, sp.Len()-1)])
			}
			for bi := range b {
				for j := range n {
					k := bi*n + j
					mean := c1*x0[k] + c2*x[k]
					logVar := fixedLog
					if s.LearnSigma { // predict checked the 2c channels
						frac := (float64(out.at(bi, c*h*w+j, false)) + 1) / 2
						logVar = frac*maxLog + (1-frac)*minLog
					}
					x[k] = mean
					if i > 0 {
						x[k] += math.Exp(0.5*logVar) * rngs[bi].NormFloat64()
					}
				}
			}
		case MethodDDIM:
			abp := sp.AlphasPrev[i]
			sigma := o.Eta * math.Sqrt((1-abp)/(1-ab)) * math.Sqrt(1-ab/abp)
			dir := math.Sqrt(math.Max(0, 1-abp-sigma*sigma))
			for k := range x {
				eps := (ra*x[k] - x0[k]) / rm
				x[k] = x0[k]*math.Sqrt(abp) + dir*eps
				if i > 0 && sigma > 0 {
					x[k] += sigma * rngs[k/n].NormFloat64()
				}
			}
		}
		if o.Progress != nil {
			for k, v := range x0 {
				x0f[k] = float32(v)
			}
			o.Progress(step, total, x0f)
		}
	}
	res := make([]float32, len(x))
	for k, v := range x {
		res[k] = float32(v)
	}
	return res, nil
}

// prediction is one step's model output on the host: rows 0..B-1
// conditional, B..2B-1 (when guided) with the null label map.
type prediction struct {
	data        []float32
	b, channels int
	plane       int // values per row: channels * H * W
}

// at returns the value j of row bi's flattened (channels, H, W) output,
// from the null half when null.
func (p prediction) at(bi, j int, null bool) float32 {
	if null {
		bi += p.b
	}
	return p.data[bi*p.plane+j]
}

func (s *Sampler) predict(dev *nn.Device, xf []float32, y *nn.Tensor, b, h, w int, t float64, guided bool) (prediction, error) {
	var data []float32
	var shape []int
	var readErr error
	err := nn.Catch(func() {
		dev.NoGrad(func() {
			sc := dev.Scope()
			defer sc.Close()
			x := dev.FromData(xf, b, s.Channels, h, w)
			rows := b
			if guided {
				x = nn.Concat([]*nn.Tensor{x, x}, 0)
				rows = 2 * b
			}
			ts := make([]float64, rows)
			for i := range ts {
				ts[i] = t
			}
			out := s.Model(x, ts, y)
			shape = out.Shape()
			data, readErr = out.Data()
		})
	})
	if err != nil {
		return prediction{}, fmt.Errorf("diffusion: sampling step at t=%g: %w", t, err)
	}
	if readErr != nil {
		return prediction{}, fmt.Errorf("diffusion: sampling step at t=%g: %w", t, readErr)
	}
	if len(shape) != 4 || shape[2] != h || shape[3] != w || shape[1] < s.Channels || (s.LearnSigma && shape[1] < 2*s.Channels) {
		return prediction{}, fmt.Errorf("diffusion: model output %v for x (%d, %d, %d, %d)", shape, b, s.Channels, h, w)
	}
	return prediction{data: data, b: b, channels: shape[1], plane: shape[1] * h * w}, nil
}
