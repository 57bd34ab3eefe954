package transfer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"catsynth/nn/gan"
)

// LoopOptions configures Run; zero intervals mean "only at the end".
type LoopOptions struct {
	Steps           int    // total steps (a resumed model continues up to it)
	CheckpointEvery int    // write ModelPath and StatePath every K steps
	SampleEvery     int    // write a sample grid every K steps
	ModelPath       string // the adapted generator (a normal gan model file)
	StatePath       string // the transfer state for resuming; "" skips it
	SampleDir       string // sample grids samples_STEP.png; "" skips them
	F16             bool   // store ModelPath as float16
	// SampleLabels, when non-nil, draws label map i of the sample batch for
	// the grid's first row (with the target classes' colours).
	SampleLabels func(i int) image.Image
	Progress     func(gan.Progress)
}

// Run finetunes m until o.Steps steps are done, drawing batches from next.
// sample is a fixed batch shown in the grids (its label maps, its real
// images, then samples with seeds 1.. and 1001..). trace is the loss
// history so far; the returned one extends it. Checkpoints are atomic; on
// cancellation a checkpoint is written and ctx.Err() returned; a
// non-finite loss stops without writing, so the last checkpoint on disk is
// the last good one.
func Run(ctx context.Context, m *Model, next func() (gan.Batch, error), sample gan.Batch, trace []gan.Losses, o LoopOptions) ([]gan.Losses, error) {
	if o.ModelPath == "" {
		return trace, errors.New("transfer: Run needs a model path")
	}
	save := func() error {
		if err := m.SaveModel(o.ModelPath, o.F16); err != nil {
			return err
		}
		if o.StatePath != "" {
			return m.SaveState(o.StatePath, trace)
		}
		return nil
	}
	start, startStep := time.Now(), m.Steps
	for m.Steps < o.Steps {
		if err := ctx.Err(); err != nil {
			return trace, errors.Join(err, save())
		}
		b, err := next()
		if err != nil {
			return trace, err
		}
		l, err := m.Step(b)
		if err != nil {
			return trace, fmt.Errorf("step %d: %w", m.Steps+1, err)
		}
		trace = append(trace, l)
		if o.Progress != nil {
			el, done := time.Since(start), m.Steps-startStep
			p := gan.Progress{Step: m.Steps, Steps: o.Steps, Losses: l}
			if el > 0 {
				p.ImagesPerSec = float64(done*b.N) / el.Seconds()
				p.ETA = time.Duration(float64(el) / float64(done) * float64(o.Steps-m.Steps))
			}
			o.Progress(p)
		}
		last := m.Steps == o.Steps
		if o.SampleDir != "" && (last || (o.SampleEvery > 0 && m.Steps%o.SampleEvery == 0)) {
			if err := m.WriteSamples(filepath.Join(o.SampleDir, fmt.Sprintf("samples_%06d.png", m.Steps)), sample, o.SampleLabels); err != nil {
				return trace, err
			}
		}
		if last || (o.CheckpointEvery > 0 && m.Steps%o.CheckpointEvery == 0) {
			if err := save(); err != nil {
				return trace, err
			}
		}
	}
	return trace, nil
}

// WriteSamples writes a grid: label maps (when labelImg is set), the real
// images, and two rows of samples with the fixed seeds 1.. and 1001.., so
// grids of successive steps compare.
func (m *Model) WriteSamples(path string, b gan.Batch, labelImg func(int) image.Image) error {
	var cells []image.Image
	if labelImg != nil {
		for i := range b.N {
			cells = append(cells, labelImg(i))
		}
	}
	for _, im := range gan.ImagesFromCHW(b.Images, b.N, b.H, b.W) {
		cells = append(cells, im)
	}
	for _, first := range []uint64{1, 1001} {
		imgs, err := m.Generate(b.Labels, b.H, b.W, gan.SeedRange(first, b.N))
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
	return gan.WritePNG(path, gan.Grid(cells, b.N))
}
