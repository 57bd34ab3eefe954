package app

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"time"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/models"
	"catsynth/nn"
)

// MatrixInfo is an affinity matrix for the page's heatmap and row editor.
type MatrixInfo struct {
	Target   []string    `json:"target"`
	Source   []string    `json:"source"`
	W        [][]float64 `json:"w"` // T rows of S weights, each summing to 1
	Method   string      `json:"method"`
	Warnings []string    `json:"warnings"`
}

func matrixInfo(m *affinity.Matrix, warnings []string) MatrixInfo {
	if warnings == nil {
		warnings = []string{}
	}
	return MatrixInfo{Target: m.Target, Source: m.Source, W: m.W, Method: m.Meta["method"], Warnings: warnings}
}

func (s *Session) names() (target, source []string, err error) {
	if s.net == nil {
		return nil, nil, ErrNoModel
	}
	if s.target == nil || len(s.target.Classes) == 0 {
		return nil, nil, fmt.Errorf("no target classes yet: add images and label maps first")
	}
	return dataset.ClassNames(s.target.Classes), dataset.ClassNames(s.source), nil
}

// EstimateText estimates A from class names with the word-vector table
// (affinity.DecodeTable's format, e.g. weights/glove), which the session
// keeps for later estimates. A target name with a word the table lacks gets
// a uniform row and a warning naming the word.
func (s *Session) EstimateText(emb *affinity.Embeddings) (MatrixInfo, error) {
	s.est.table = emb
	return s.Estimate(MethodText)
}

// SetAffinity replaces A by rows (T x S non-negative weights; each row is
// normalised). Errors name the bad row.
func (s *Session) SetAffinity(rows [][]float64, method string) (MatrixInfo, error) {
	target, source, err := s.names()
	if err != nil {
		return MatrixInfo{}, err
	}
	if len(rows) != len(target) {
		return MatrixInfo{}, fmt.Errorf("%d rows for %d target classes", len(rows), len(target))
	}
	m := affinity.NewMatrix(target, source)
	for t, r := range rows {
		if len(r) != len(source) {
			return MatrixInfo{}, fmt.Errorf("row %q has %d weights for %d source classes", target[t], len(r), len(source))
		}
		copy(m.W[t], r)
	}
	if method == "" {
		method = "edited"
	}
	m.SetMeta("method", method)
	return s.setMatrix(m, nil)
}

func (s *Session) setMatrix(m *affinity.Matrix, warnings []string) (MatrixInfo, error) {
	w, err := m.Validate()
	if err != nil {
		return MatrixInfo{}, err
	}
	if err := s.forgetAdaptedStats(); err != nil {
		return MatrixInfo{}, err
	}
	s.dropLayer()
	s.aff = m
	if s.adapted {
		if err := s.ensureLayer(); err != nil {
			return MatrixInfo{}, err
		}
	}
	return matrixInfo(m, append(warnings, w...)), nil
}

// Affinity returns the current matrix.
func (s *Session) Affinity() (MatrixInfo, bool) {
	if s.aff == nil {
		return MatrixInfo{}, false
	}
	return matrixInfo(s.aff, nil), true
}

// ensureLayer builds a frozen layer from the matrix when there is none.
func (s *Session) ensureLayer() error {
	if s.layer != nil {
		return nil
	}
	if s.aff == nil {
		return fmt.Errorf("no affinity matrix yet: estimate or load one first")
	}
	return s.buildLayer(false, 0)
}

func (s *Session) buildLayer(train bool, seed uint64) error {
	s.dropLayer()
	ps := nn.NewParams(s.Dev, seed)
	var l *affinity.Layer
	var lerr error
	if err := nn.Catch(func() {
		l, lerr = affinity.NewLayer(ps.Sub(affinity.ParamPrefix), s.aff, affinity.LayerOptions{Train: train})
	}); err != nil {
		ps.Release()
		return err
	}
	if lerr != nil {
		ps.Release()
		return lerr
	}
	s.layer, s.layerPs = l, ps
	return nil
}

func (s *Session) dropLayer() {
	if s.layerPs != nil {
		s.layerPs.Release()
	}
	s.layer, s.layerPs = nil, nil
}

// FinetuneConfig configures Finetune; zero values take the defaults.
type FinetuneConfig struct {
	Steps int     `json:"steps"` // default 100
	LR    float64 `json:"lr"`    // Adam learning rate on the logits of A; default 0.1
	Batch int     `json:"batch"` // images per step; default min(4, pairs)
	Seed  uint64  `json:"seed"`  // noise and batch order; default 1
	// PreviewEvery is how often (steps) a preview image is made; default 10.
	PreviewEvery int `json:"previewEvery"`
}

// Progress is reported after every finetuning step.
type Progress struct {
	Step      int         `json:"step"`
	Steps     int         `json:"steps"`
	Loss      float64     `json:"loss"`
	MsPerStep float64     `json:"msPerStep"`
	EtaMs     float64     `json:"etaMs"`
	Preview   *image.RGBA `json:"-"` // nil on steps without a preview
}

// FinetuneResult is the outcome of Finetune.
type FinetuneResult struct {
	Losses []float64 `json:"losses"`
	// LossBefore and LossAfter are the loss over the first EvalPairs
	// pairs (no gradient), before the first and after the last step: the
	// fair comparison when batches are random subsets. Both use the
	// source's batch-norm statistics, so they compare the steps alone; the
	// re-estimate of the statistics that follows (normstats.go) is judged
	// by KID instead (docs/TRANSFER.md, page-light): the L1 loss favours
	// washed-out images and can rise with it.
	LossBefore float64    `json:"lossBefore"`
	LossAfter  float64    `json:"lossAfter"`
	Stopped    bool       `json:"stopped"`
	MsPerStep  float64    `json:"msPerStep"`
	Matrix     MatrixInfo `json:"matrix"`
}

// Finetune runs affinity-only finetuning: the generator stays frozen and
// only A trains, as the row softmax of logits initialised from the current
// matrix (affinity.Layer with Train). The loss is the mean absolute error
// between the generated image G(A y, z) and the target image, over a batch
// of target pairs with fresh noise each step: with the generator frozen the
// only way to lower it is to move each target class towards the source
// classes whose look matches its pixels. A diffusion model is finetuned with
// its own denoising loss instead (models.ObjectiveModel): backpropagating
// through every step of its sampler would cost the whole sampling run per
// step. (The paper finetunes with the GAN
// losses, which need the source discriminator; generator files do not carry
// one.) It ends after Steps, on Stop, or when ctx ends, keeps the trained
// A, and switches the session to the target classes.
func (s *Session) Finetune(ctx context.Context, cfg FinetuneConfig, progress func(Progress)) (FinetuneResult, error) {
	if _, _, err := s.names(); err != nil {
		return FinetuneResult{}, err
	}
	if len(s.target.Pairs) == 0 {
		return FinetuneResult{}, fmt.Errorf("no target images yet")
	}
	if s.aff == nil {
		return FinetuneResult{}, fmt.Errorf("no affinity matrix yet: estimate one first")
	}
	if cfg.Steps <= 0 {
		cfg.Steps = 100
	}
	if cfg.LR <= 0 {
		cfg.LR = 0.1
	}
	runDefaults(&cfg.Batch, &cfg.Seed, &cfg.PreviewEvery, len(s.target.Pairs))
	if err := models.CheckLimits(s.net, cfg.Batch, s.limit); err != nil {
		return FinetuneResult{}, err
	}
	s.stop.Store(false)
	if err := s.buildLayer(true, cfg.Seed); err != nil {
		return FinetuneResult{}, err
	}
	s.adapted = true
	frozen := s.net.Params().Trainable()
	for _, p := range frozen {
		p.SetRequiresGrad(false)
	}
	defer func() {
		for _, p := range frozen {
			p.SetRequiresGrad(true)
		}
	}()
	opt := nn.NewAdam(s.layerPs.Trainable(), nn.DefaultAdam(float32(cfg.LR)))
	defer opt.Release()

	dev := s.Dev
	var res FinetuneResult
	err := s.forgetAdaptedStats() // train and measure "before" on the source statistics
	if err != nil {
		return res, err
	}
	if res.LossBefore, err = s.evalLoss(cfg.Seed); err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xca7))
	start := time.Now()
	previewLabels := toBytes(s.target.Pairs[0].Labels)
	for step := 1; step <= cfg.Steps; step++ {
		if s.stop.Load() || ctx.Err() != nil {
			res.Stopped = true
			break
		}
		order := rng.Perm(len(s.target.Pairs))[:cfg.Batch]
		var loss float32
		var lerr error
		err := nn.Catch(func() {
			sc := dev.Scope()
			defer sc.Close()
			var l *nn.Tensor
			if l, lerr = s.batchLoss(order, cfg.Seed, uint64(step)); lerr != nil {
				return
			}
			l.Backward()
			loss, lerr = l.Item()
		})
		if err == nil {
			err = lerr
		}
		if err == nil && (math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0)) {
			err = fmt.Errorf("the loss became %v at step %d", loss, step)
		}
		if err != nil {
			opt.ZeroGrad()
			return res, err
		}
		opt.Step()
		opt.ZeroGrad()
		if err := dev.Flush(); err != nil {
			return res, err
		}
		res.Losses = append(res.Losses, float64(loss))
		ms := float64(time.Since(start).Microseconds()) / 1000 / float64(step)
		res.MsPerStep = ms
		p := Progress{Step: step, Steps: cfg.Steps, Loss: float64(loss), MsPerStep: ms, EtaMs: ms * float64(cfg.Steps-step)}
		if step%cfg.PreviewEvery == 0 || step == cfg.Steps || step == 1 {
			img, _, err := s.Generate(previewLabels, cfg.Seed)
			if err != nil {
				return res, err
			}
			p.Preview = img
		}
		if progress != nil {
			progress(p)
		}
	}
	if res.LossAfter, err = s.evalLoss(cfg.Seed); err != nil {
		return res, err
	}
	if err := s.recalibrateNorm(cfg.Batch, cfg.Seed); err != nil {
		return res, fmt.Errorf("recalibrating the batch-norm statistics: %w", err)
	}
	m, err := s.layer.Matrix()
	if err != nil {
		return res, err
	}
	s.aff = m
	res.Matrix = matrixInfo(m, nil)
	return res, nil
}

// EvalPairs is how many target pairs the before/after loss covers.
const EvalPairs = 8

// evalLoss is the finetuning loss over the first EvalPairs pairs, without
// gradients.
func (s *Session) evalLoss(seed uint64) (float64, error) {
	order := make([]int, min(len(s.target.Pairs), EvalPairs))
	for i := range order {
		order[i] = i
	}
	var v float32
	var err, lerr error
	s.Dev.NoGrad(func() {
		err = nn.Catch(func() {
			sc := s.Dev.Scope()
			defer sc.Close()
			var l *nn.Tensor
			if l, lerr = s.batchLoss(order, seed, 0); lerr == nil {
				v, lerr = l.Item()
			}
		})
	})
	if err == nil {
		err = lerr
	}
	return float64(v), err
}

// batchLoss is the mean absolute error between the model's images of the
// pairs in order through A and their target images, each image with its
// own fixed noise seed (seed plus its index: the noise that "explains"
// that image). For a model trained by a denoising loss (diffusion) it is
// that loss instead, drawn for the given step.
func (s *Session) batchLoss(order []int, seed, step uint64) (*nn.Tensor, error) {
	dev := s.Dev
	b, hw := len(order), s.h*s.w
	idx := make([]float32, 0, b*hw)
	img := make([]float32, 0, b*3*hw)
	seeds := make([]uint64, b)
	for k, i := range order {
		p := s.target.Pairs[i]
		for _, v := range p.Labels {
			idx = append(idx, float32(v))
		}
		img = append(img, p.Image...)
		seeds[k] = seed + uint64(i)
	}
	y := nn.OneHot(dev.FromData(idx, b, s.h, s.w), len(s.target.Classes))
	target := dev.FromData(img, b, 3, s.h, s.w)
	if om, ok := s.net.(models.ObjectiveModel); ok {
		// A diffusion model: its own denoising loss, with timesteps and
		// noise drawn afresh each step (step 0, the before/after
		// evaluation, always draws the same).
		return om.TrainingLoss(s.layer.Forward(y), target, seed+step*0x9e3779b9)
	}
	x, err := s.net.Generate(context.Background(), s.layer.Forward(y), seeds, nil)
	if err != nil {
		return nil, err
	}
	return nn.L1(x, target), nil
}

// runDefaults fills the settings the light finetune and the full transfer
// share: batch 4 (at most the target pairs), seed 1, a preview every 10
// steps.
func runDefaults(batch *int, seed *uint64, previewEvery *int, pairs int) {
	if *batch <= 0 {
		*batch = 4
	}
	*batch = min(*batch, pairs)
	if *seed == 0 {
		*seed = 1
	}
	if *previewEvery <= 0 {
		*previewEvery = 10
	}
}
