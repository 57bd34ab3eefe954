package seg

import (
	"context"
	"fmt"
	"math"

	"catsynth/dataset"
	"catsynth/nn"
)

// ClassCounts counts the labelled pixels of each of c classes in labels
// (ignore and out-of-range values are skipped).
func ClassCounts(labels []int32, c int) []int64 {
	n := make([]int64, c)
	for _, v := range labels {
		if v >= 0 && int(v) < c {
			n[v]++
		}
	}
	return n
}

// ClassWeights turns pixel counts into cross-entropy weights w_c
// proportional to f_c^-power (f_c the class frequency; power 0.5 is a
// milder balance than inverse frequency, 1), normalised so the average
// weight of a labelled pixel is 1, and clipped to [0.05, 20] so a rare class
// cannot dominate. Classes with no pixels get the largest weight given to
// any class (they are rare, not absent). All-zero counts give weights 1.
func ClassWeights(counts []int64, power float64) []float32 {
	w := make([]float32, len(counts))
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		for i := range w {
			w[i] = 1
		}
		return w
	}
	raw := make([]float64, len(counts))
	mean, hi := 0.0, 0.0
	for c, n := range counts {
		if n == 0 {
			continue
		}
		f := float64(n) / float64(total)
		raw[c] = math.Pow(f, -power)
		mean += f * raw[c]
	}
	for c := range raw {
		raw[c] = math.Min(20, math.Max(0.05, raw[c]/mean))
		hi = math.Max(hi, raw[c])
	}
	for c, n := range counts {
		if n == 0 {
			raw[c] = hi
		}
		w[c] = float32(raw[c])
	}
	return w
}

// TrainOptions configures Train. Zero values: 1000 steps, Adam lr 1e-3.
type TrainOptions struct {
	Steps int
	LR    float32
	// Weights are the per-class loss weights (ClassWeights); nil: 1.
	Weights []float32
	// Progress, if set, is called after every step with the step number
	// (from 1) and its loss (before the update).
	Progress func(step int, loss float32)
	// Checkpoint, if set, is called every CheckpointEvery steps and after
	// the last one; an error stops training.
	Checkpoint      func(step int) error
	CheckpointEvery int
}

// Train fits n to the batches of loader (cycling through epochs) with Adam
// and class-weighted per-pixel cross-entropy, ignoring label -1. Batches must
// be n.Config.Size square. It returns the loss of every step.
func Train(ctx context.Context, n *Net, loader *dataset.Loader, o TrainOptions) ([]float32, error) {
	if o.Steps == 0 {
		o.Steps = 1000
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if loader.Len() == 0 {
		return nil, fmt.Errorf("seg: the loader yields no batches (fewer samples than a batch with DropLast)")
	}
	dev := n.Params.Device()
	n.Params.SetTraining(true)
	opt := nn.NewAdam(n.Params.Trainable(), nn.DefaultAdam(o.LR))
	defer opt.Release()
	losses := make([]float32, 0, o.Steps)
	step := 0
	for epoch := 0; step < o.Steps; epoch++ {
		for b, err := range loader.Epoch(ctx, epoch) {
			if err != nil {
				return losses, err
			}
			if b.H != n.Config.Size || b.W != n.Config.Size {
				return losses, fmt.Errorf("seg: batch %dx%d for a %d px segmenter", b.W, b.H, n.Config.Size)
			}
			if b.NumClasses != n.Config.Classes {
				return losses, fmt.Errorf("seg: data has %d classes, segmenter %d", b.NumClasses, n.Config.Classes)
			}
			lv, err := trainStep(dev, n, opt, b, o.Weights)
			if err != nil {
				return losses, fmt.Errorf("seg: step %d: %w", step+1, err)
			}
			step++
			losses = append(losses, lv)
			if o.Progress != nil {
				o.Progress(step, lv)
			}
			last := step == o.Steps
			if o.Checkpoint != nil && (last || o.CheckpointEvery > 0 && step%o.CheckpointEvery == 0) {
				if err := o.Checkpoint(step); err != nil {
					return losses, err
				}
			}
			if last {
				break
			}
		}
	}
	return losses, nil
}

func trainStep(dev *nn.Device, n *Net, opt *nn.Adam, b *dataset.Batch, weights []float32) (float32, error) {
	var lv float32
	var readErr error
	err := nn.Catch(func() {
		s := dev.Scope()
		defer s.Close()
		x := dev.FromData(b.Images, b.N, 3, b.H, b.W)
		tgt := make([]float32, len(b.Labels))
		var wpix []float32
		if weights != nil {
			wpix = make([]float32, len(b.Labels))
		}
		for i, v := range b.Labels {
			tgt[i] = float32(v)
			if wpix != nil && v >= 0 && int(v) < len(weights) {
				wpix[i] = weights[v]
			}
		}
		ce := nn.CEOpts{IgnoreIndex: int(dataset.Ignore)}
		if wpix != nil {
			ce.Weights = dev.FromData(wpix, b.N, b.H, b.W)
		}
		loss := nn.CrossEntropy(n.Forward(x), dev.FromData(tgt, b.N, b.H, b.W), ce)
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		lv, readErr = loss.Item()
	})
	if err == nil {
		err = readErr
	}
	if err == nil && (math.IsNaN(float64(lv)) || math.IsInf(float64(lv), 0)) {
		err = fmt.Errorf("loss is %v", lv)
	}
	return lv, err
}
