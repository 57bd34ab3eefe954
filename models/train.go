package models

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"time"

	"catsynth/internal/atomicfile"
)

// LoopOptions configures Train. Zero intervals mean "only at the end".
type LoopOptions struct {
	Steps           int    // total steps (a resumed trainer continues up to it)
	CheckpointEvery int    // write ModelPath and StatePath every K steps
	SampleEvery     int    // write a sample grid every K steps
	ModelPath       string // the EMA generator (what `generate` loads)
	StatePath       string // the full training state (for --resume); "" skips it
	SampleDir       string // sample grids samples_STEP.png; "" skips them
	LossCurvePath   string // loss-curve PNG written at the end; "" skips it
	F16             bool   // store ModelPath as float16
	// SampleLabels, when non-nil, draws a label map of the sample batch for
	// the grid's first row (e.g. with the dataset's class colours).
	SampleLabels func(i int) image.Image
	// Progress is called after every step.
	Progress func(StepProgress)
}

// StepProgress reports one finished training step.
type StepProgress struct {
	Step, Steps  int
	Losses       Losses
	ImagesPerSec float64 // over the steps of this run
	ETA          time.Duration
}

// Train runs t until o.Steps steps are done, drawing batches from next.
// sample is a fixed batch shown in the sample grids (real images, then two
// EMA samples with fixed seeds). trace is the loss history so far (resumed
// runs); the returned one extends it.
//
// Checkpoints are atomic. On a non-finite loss Train stops with an error
// wrapping ErrNonFinite and writes nothing more, so the last checkpoint on
// disk is the last good one. When ctx is cancelled it writes a checkpoint
// and returns ctx.Err().
func Train(ctx context.Context, t Learner, next func() (Batch, error), sample Batch, trace []Losses, o LoopOptions) ([]Losses, error) {
	if o.ModelPath == "" {
		return trace, errors.New("models: Train needs a model path")
	}
	save := func() error {
		if err := t.SaveModel(o.ModelPath, o.F16); err != nil {
			return err
		}
		if o.StatePath != "" {
			return t.SaveState(o.StatePath, trace)
		}
		return nil
	}
	start, startStep := time.Now(), t.StepsDone()
	for t.StepsDone() < o.Steps {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return trace, errors.Join(err, serr)
			}
			return trace, err
		}
		b, err := next()
		if err != nil {
			return trace, err
		}
		l, err := t.Step(b)
		if err != nil {
			return trace, fmt.Errorf("step %d: %w", t.StepsDone()+1, err)
		}
		trace = append(trace, l)
		if o.Progress != nil {
			el := time.Since(start)
			done := t.StepsDone() - startStep
			p := StepProgress{Step: t.StepsDone(), Steps: o.Steps, Losses: l}
			if el > 0 {
				p.ImagesPerSec = float64(done*b.N) / el.Seconds()
				p.ETA = time.Duration(float64(el) / float64(done) * float64(o.Steps-t.StepsDone()))
			}
			o.Progress(p)
		}
		last := t.StepsDone() == o.Steps
		if o.SampleDir != "" && (last || (o.SampleEvery > 0 && t.StepsDone()%o.SampleEvery == 0)) {
			if err := WriteSamples(filepath.Join(o.SampleDir, fmt.Sprintf("samples_%06d.png", t.StepsDone())), t, sample, o.SampleLabels); err != nil {
				return trace, err
			}
		}
		if last || (o.CheckpointEvery > 0 && t.StepsDone()%o.CheckpointEvery == 0) {
			if err := save(); err != nil {
				return trace, err
			}
		}
	}
	if o.LossCurvePath != "" {
		if err := WritePNG(o.LossCurvePath, LossCurve(trace, 800, 400)); err != nil {
			return trace, err
		}
	}
	return trace, nil
}

// Learner is what Train drives: a family's trainer (gan.Trainer), and the
// class affinity transfer model of package transfer.
type Learner interface {
	// Step runs one training step on b.
	Step(b Batch) (Losses, error)
	// StepsDone is the number of steps taken so far (resumed ones included).
	StepsDone() int
	// SaveModel writes the model that `generate` loads.
	SaveModel(path string, f16 bool) error
	// SaveState writes everything a resumed run needs.
	SaveState(path string, trace []Losses) error
	// Sample generates images with the weights SaveModel writes, for the grids.
	Sample(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error)
}

// WriteSamples writes a grid: optional label maps, real images, and l's
// samples with seeds 1..B and 1001..1000+B (fixed, so grids of successive
// steps compare).
func WriteSamples(path string, l Learner, b Batch, labelImg func(int) image.Image) error {
	var cells []image.Image
	if labelImg != nil {
		for i := range b.N {
			cells = append(cells, labelImg(i))
		}
	}
	for _, im := range ImagesFromCHW(b.Images, b.N, b.H, b.W) {
		cells = append(cells, im)
	}
	for _, first := range []uint64{1, 1001} {
		imgs, err := l.Sample(b.Labels, b.H, b.W, SeedRange(first, b.N))
		if err != nil {
			return err
		}
		for _, im := range imgs {
			cells = append(cells, im)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return WritePNG(path, Grid(cells, b.N))
}

// WritePNG encodes img to path atomically (temp file, then rename).
func WritePNG(path string, img image.Image) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// WriteFileAtomic writes a file through write into a temp file beside
// path, then renames it over path: a reader never sees half a file, and on
// an error the previous file is untouched and the temp file removed (see
// atomicfile.Write, which also removes temps a killed writer left).
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
}
