package app

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/models"
	"catsynth/transfer"
)

// TransferConfig configures a full transfer run; zero values take the
// defaults.
type TransferConfig struct {
	// ModelPath is where the run writes the adapted model (an ordinary
	// model file of the target classes) at its end and when it is
	// stopped; the transfer state it resumes from goes beside it
	// (transfer.StatePath). Required.
	ModelPath string
	Batch     int    // images per step; default min(4, pairs)
	Seed      uint64 // weights drawn new, noise and batch order; default 1
	// PreviewEvery is how often (steps) a sample preview is made;
	// default 10 (and always at the run's last step).
	PreviewEvery int
	// Options are the transfer's; the zero value is what `catsynth
	// transfer` does by default (CAT with A as the start of a free input
	// layer, a new discriminator head, generator and discriminator
	// trained: transfer.AFree).
	Options transfer.Options
}

// TransferRun is the full few-shot transfer of package transfer, the code
// path of `catsynth transfer`: the source's generator (behind the
// affinity layer A) and its discriminator (a diffusion source: its
// denoiser) finetuned with the family's training losses on the target set.
// It takes a snapshot of the target set and A when it is made, so the
// session may load another model while the run waits to be resumed. Each
// Run starts from the transfer state on disk when there is one: a stopped
// run continues its step count.
type TransferRun struct {
	s       *Session
	src     models.Source
	classes []dataset.Class
	A       *affinity.Matrix
	pairs   []Pair
	h, w    int
	cfg     TransferConfig
	done    int // steps done, as of the last checkpoint
}

// TransferProgress is reported after every step of a TransferRun.
type TransferProgress struct {
	Step, Steps int
	Losses      models.Losses
	// Loss is the curve's value: the generator's loss of a GAN, the
	// denoising loss of a diffusion model (see CurveLoss).
	Loss      float64
	MsPerStep float64
	ETA       time.Duration
	// Preview is a grid of the sample batch, the real images on the
	// first row and the adapted model's images below; nil on steps
	// without one.
	Preview *image.RGBA
}

// TransferResult is the outcome of one TransferRun.Run.
type TransferResult struct {
	Steps   int       // steps done in all (resumed ones included)
	Goal    int       // the step count the run was asked to reach
	Losses  []float64 // CurveLoss of each step this call ran
	Stopped bool      // ctx ended it before Goal
}

// NewTransferRun prepares a full transfer of src, the training state of
// the session's source model (transfer.LoadSource, modelref.Source), to
// the session's target set with the session's A. Nothing is trained yet.
func (s *Session) NewTransferRun(src models.Source, cfg TransferConfig) (*TransferRun, error) {
	target, source, err := s.names()
	if err != nil {
		return nil, err
	}
	if len(s.target.Pairs) == 0 {
		return nil, fmt.Errorf("no target images yet")
	}
	if s.aff == nil {
		return nil, fmt.Errorf("no affinity matrix yet: estimate one first")
	}
	if cfg.ModelPath == "" {
		return nil, fmt.Errorf("a transfer run needs a path for its model and state files")
	}
	if !slices.Equal(src.Classes(), source) {
		return nil, fmt.Errorf("the finetuning source has classes %v, the session's model %v: open the model the source belongs to", src.Classes(), source)
	}
	if h, w := src.Size(); h != s.h || w != s.w {
		return nil, fmt.Errorf("the finetuning source trains at %dx%d, the session's model makes %dx%d", w, h, s.w, s.h)
	}
	if err := cfg.Options.Validate(); err != nil {
		return nil, err
	}
	if err := s.aff.CheckClasses(target, source); err != nil {
		return nil, err
	}
	runDefaults(&cfg.Batch, &cfg.Seed, &cfg.PreviewEvery, len(s.target.Pairs))
	cfg.Options.Config.BatchSize, cfg.Options.Config.Seed = cfg.Batch, cfg.Seed
	return &TransferRun{s: s, src: src, classes: slices.Clone(s.target.Classes), A: s.aff.Clone(),
		pairs: slices.Clone(s.target.Pairs), h: s.h, w: s.w, cfg: cfg}, nil
}

// ModelPath is the adapted model file the run writes.
func (r *TransferRun) ModelPath() string { return r.cfg.ModelPath }

// StatePath is the transfer state beside ModelPath.
func (r *TransferRun) StatePath() string { return transfer.StatePath(r.cfg.ModelPath) }

// Steps is the number of steps done, as of the last checkpoint.
func (r *TransferRun) Steps() int { return r.done }

// CurveLoss is the value a loss curve shows for one step: the
// generator's loss of a GAN ("g"), the denoising loss of a diffusion
// model ("loss"), else the first loss by name.
func CurveLoss(l models.Losses) float64 {
	for _, k := range []string{"g", "loss"} {
		if v, ok := l[k]; ok {
			return float64(v)
		}
	}
	if names := models.LossNames([]models.Losses{l}); len(names) > 0 {
		return float64(l[names[0]])
	}
	return 0
}

// open builds the transfer model: from the state file once the run has
// checkpointed, else new from the source.
func (r *TransferRun) open() (*transfer.Model, []models.Losses, error) {
	names := dataset.ClassNames(r.classes)
	if r.done == 0 {
		m, err := transfer.New(r.s.Dev, r.src, names, r.A, r.cfg.Options)
		return m, nil, err
	}
	m, trace, err := transfer.Resume(r.s.Dev, r.StatePath())
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(m.Target, names) {
		m.Release()
		return nil, nil, fmt.Errorf("%s holds a run for the target classes %v, not %v", r.StatePath(), m.Target, names)
	}
	return m, trace, nil
}

// batch stacks the pairs of order into a training batch.
func (r *TransferRun) batch(order []int) models.Batch {
	n := r.h * r.w
	b := models.Batch{N: len(order), H: r.h, W: r.w, Images: make([]float32, 0, len(order)*3*n), Labels: make([]int32, 0, len(order)*n)}
	for _, i := range order {
		b.Images = append(b.Images, r.pairs[i].Image...)
		b.Labels = append(b.Labels, r.pairs[i].Labels...)
	}
	return b
}

// Run trains until goal steps are done in all, reporting every step to
// progress (on the calling goroutine, between steps). When ctx ends it
// stops after the current step and writes a checkpoint (the adapted model
// and the transfer state), so the next Run resumes there; it also writes
// one when goal is reached. A non-finite loss stops it without writing:
// the files on disk are the last good checkpoint.
func (r *TransferRun) Run(ctx context.Context, goal int, progress func(TransferProgress)) (TransferResult, error) {
	res := TransferResult{Steps: r.done, Goal: goal}
	if goal <= r.done {
		return res, fmt.Errorf("the run is at step %d already: ask for more than that", r.done)
	}
	if err := os.MkdirAll(filepath.Dir(r.cfg.ModelPath), 0o755); err != nil {
		return res, err
	}
	m, trace, err := r.open()
	if err != nil {
		return res, err
	}
	defer m.Release()
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(m.Steps())))
	next := func() (models.Batch, error) {
		return r.batch(rng.Perm(len(r.pairs))[:r.cfg.Batch]), nil
	}
	sample := r.batch(func() []int {
		o := make([]int, r.cfg.Batch)
		for i := range o {
			o[i] = i
		}
		return o
	}())
	var stepErr error
	_, err = transfer.Run(ctx, m, next, sample, trace, models.LoopOptions{
		Steps: goal, ModelPath: r.cfg.ModelPath, StatePath: r.StatePath(),
		Progress: func(p models.StepProgress) {
			tp := TransferProgress{Step: p.Step, Steps: p.Steps, Losses: p.Losses, Loss: CurveLoss(p.Losses), ETA: p.ETA}
			if p.ImagesPerSec > 0 {
				tp.MsPerStep = 1000 * float64(r.cfg.Batch) / p.ImagesPerSec
			}
			res.Losses = append(res.Losses, tp.Loss)
			if p.Step%r.cfg.PreviewEvery == 0 || p.Step == goal {
				tp.Preview, stepErr = r.preview(m, sample)
			}
			if progress != nil {
				progress(tp)
			}
		},
	})
	res.Steps = m.Steps()
	if stepErr != nil && err == nil {
		err = stepErr
	}
	switch {
	case err != nil && err == ctx.Err(): // stopped, and the checkpoint written
		res.Stopped, err = true, nil
		r.done = res.Steps
	case err == nil:
		r.done = res.Steps
	}
	return res, err
}

// preview draws the sample batch's real images above the adapted model's.
func (r *TransferRun) preview(m *transfer.Model, sample models.Batch) (*image.RGBA, error) {
	fake, err := m.Sample(sample.Labels, sample.H, sample.W, models.SeedRange(1, sample.N))
	if err != nil {
		return nil, err
	}
	var cells []image.Image
	for _, im := range models.ImagesFromCHW(sample.Images, sample.N, sample.H, sample.W) {
		cells = append(cells, im)
	}
	for _, im := range fake {
		cells = append(cells, im)
	}
	return models.Grid(cells, sample.N), nil
}

// LoadTransferred makes the adapted model the run wrote the session's
// model (as LoadModel does with its file), with the target set's class
// colours in its palette.
func (s *Session) LoadTransferred(r *TransferRun) (ModelInfo, error) {
	data, err := os.ReadFile(r.cfg.ModelPath)
	if err != nil {
		return ModelInfo{}, err
	}
	if _, err := s.LoadModel(data, "adapted ("+r.cfg.ModelPath+")"); err != nil {
		return ModelInfo{}, err
	}
	if slices.Equal(dataset.ClassNames(s.source), dataset.ClassNames(r.classes)) {
		s.source = slices.Clone(r.classes)
	}
	return s.Info(), nil
}
