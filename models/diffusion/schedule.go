package diffusion

import (
	"fmt"
	"math"
)

// Schedule is a Gaussian diffusion process with its derived coefficients,
// in float64 as guided_diffusion keeps them. Index i is a step of this
// schedule; Timesteps[i] is the original-process timestep the model sees
// (i itself, unless the schedule was respaced for sampling).
type Schedule struct {
	Betas         []float64
	AlphasCumprod []float64 // prod_{j<=i} (1 - beta_j)
	AlphasPrev    []float64 // AlphasCumprod[i-1], 1 at i = 0
	// PosteriorVariance of q(x_{i-1} | x_i, x_0): beta_i (1-abar_{i-1}) / (1-abar_i).
	PosteriorVariance []float64
	// PosteriorLogVarClipped is its log with entry 0 replaced by entry 1's
	// (the variance is 0 there).
	PosteriorLogVarClipped []float64
	// PosteriorMeanCoef1, 2: mean = coef1 x_0 + coef2 x_i.
	PosteriorMeanCoef1, PosteriorMeanCoef2 []float64
	Timesteps                              []int
}

// NamedBetas returns the betas of schedule name with t steps: "linear"
// spans 1e-4*1000/t .. 0.02*1000/t evenly; "cosine" discretises
// alpha_bar(s) = cos^2((s + 0.008)/1.008 * pi/2) with betas capped at 0.999.
func NamedBetas(name string, t int) ([]float64, error) {
	if t < 2 {
		return nil, fmt.Errorf("diffusion: %d diffusion steps (need at least 2)", t)
	}
	betas := make([]float64, t)
	switch name {
	case ScheduleLinear:
		scale := 1000 / float64(t)
		lo, hi := scale*1e-4, scale*0.02
		for i := range betas {
			betas[i] = lo + (hi-lo)*float64(i)/float64(t-1)
		}
	case ScheduleCosine:
		abar := func(s float64) float64 { c := math.Cos((s + 0.008) / 1.008 * math.Pi / 2); return c * c }
		for i := range betas {
			t1, t2 := float64(i)/float64(t), float64(i+1)/float64(t)
			betas[i] = math.Min(1-abar(t2)/abar(t1), 0.999)
		}
	default:
		return nil, fmt.Errorf("diffusion: unknown noise schedule %q (want %q or %q)", name, ScheduleLinear, ScheduleCosine)
	}
	return betas, nil
}

// NewSchedule derives the coefficients of a process with the given betas;
// timesteps are the original indices of its steps (nil: 0..len-1).
func NewSchedule(betas []float64, timesteps []int) *Schedule {
	n := len(betas)
	s := &Schedule{Betas: betas, Timesteps: timesteps}
	if s.Timesteps == nil {
		s.Timesteps = make([]int, n)
		for i := range n {
			s.Timesteps[i] = i
		}
	}
	acc := 1.0
	for i, b := range betas {
		s.AlphasPrev = append(s.AlphasPrev, acc)
		acc *= 1 - b
		s.AlphasCumprod = append(s.AlphasCumprod, acc)
		ap := s.AlphasPrev[i]
		s.PosteriorVariance = append(s.PosteriorVariance, b*(1-ap)/(1-acc))
		s.PosteriorMeanCoef1 = append(s.PosteriorMeanCoef1, b*math.Sqrt(ap)/(1-acc))
		s.PosteriorMeanCoef2 = append(s.PosteriorMeanCoef2, (1-ap)*math.Sqrt(1-b)/(1-acc))
	}
	for i := range n {
		j := i
		if i == 0 && n > 1 {
			j = 1
		}
		s.PosteriorLogVarClipped = append(s.PosteriorLogVarClipped, math.Log(s.PosteriorVariance[j]))
	}
	return s
}

// ConfigSchedule is the training schedule of cfg (T = DiffusionSteps).
func ConfigSchedule(cfg Config) (*Schedule, error) {
	b, err := NamedBetas(cfg.NoiseSchedule, cfg.DiffusionSteps)
	if err != nil {
		return nil, err
	}
	return NewSchedule(b, nil), nil
}

// Len is the number of steps.
func (s *Schedule) Len() int { return len(s.Betas) }

// SpacedTimesteps picks k of the n original steps, evenly spaced and
// rounded half to even, first and last included (guided_diffusion's
// space_timesteps with one section, whose index accumulates the stride).
func SpacedTimesteps(n, k int) ([]int, error) {
	if k < 1 || k > n {
		return nil, fmt.Errorf("diffusion: %d sampling steps for a %d-step process (want 1..%d)", k, n, n)
	}
	stride := 1.0
	if k > 1 {
		stride = float64(n-1) / float64(k-1)
	}
	out := make([]int, k)
	cur := 0.0
	for i := range out {
		out[i] = int(math.RoundToEven(cur))
		cur += stride
	}
	return out, nil
}

// Respace keeps k steps of s (SpacedTimesteps): the new betas are
// 1 - abar_j / abar_prev over the kept steps, so every kept step has the
// original alpha_bar, and Timesteps maps back to the original indices.
func (s *Schedule) Respace(k int) (*Schedule, error) {
	keep, err := SpacedTimesteps(s.Len(), k)
	if err != nil {
		return nil, err
	}
	last := 1.0
	betas := make([]float64, len(keep))
	ts := make([]int, len(keep))
	for i, j := range keep {
		betas[i] = 1 - s.AlphasCumprod[j]/last
		last = s.AlphasCumprod[j]
		ts[i] = s.Timesteps[j]
	}
	return NewSchedule(betas, ts), nil
}
