package affinity

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strconv"

	"catsynth/dataset"
	"catsynth/nn"
)

// Segmenter labels images with source classes: the OASIS discriminator's
// class head (its N class logits, the fake logit dropped) or any segmenter
// trained on the source dataset.
type Segmenter interface {
	// Segment maps images (B, 3, H, W), values in [-1, 1] as dataset.Batch
	// lays them out, to per-pixel source-class scores (B, S, h, w): logits
	// or probabilities (see SegOptions.Probabilities). h, w may differ from
	// H, W (labels are then resized nearest to h x w).
	Segment(images *nn.Tensor) (*nn.Tensor, error)
}

// SegmenterFunc adapts a function to Segmenter.
type SegmenterFunc func(images *nn.Tensor) (*nn.Tensor, error)

// Segment calls f.
func (f SegmenterFunc) Segment(images *nn.Tensor) (*nn.Tensor, error) { return f(images) }

// SegOptions configures the segmentation estimator. The zero value counts
// argmax predictions of logits, with no sparsification.
type SegOptions struct {
	// MeanProbs averages the per-pixel probabilities instead of counting
	// argmax predictions (a softer estimate: it keeps the segmenter's doubt).
	MeanProbs bool
	// Probabilities says the segmenter already outputs probabilities (no
	// softmax is applied for MeanProbs). Argmax counting ignores it.
	Probabilities bool
	// TopK > 0 keeps each row's k largest entries (TopKRows).
	TopK int
	// Temperature != 0 sharpens (< 1) or flattens (> 1) the rows (Sharpen).
	Temperature float64
}

// SegCounter accumulates the segmentation estimate over batches:
// counts[t][s] = number of pixels labelled t (argmax counting) predicted s,
// or the sum of their probabilities of s (MeanProbs). Pixels labelled
// dataset.Ignore (or anything outside [0, T)) are left out.
type SegCounter struct {
	Target, Source []string
	o              SegOptions
	counts         [][]float64
	pixels         []int
}

// NewSegCounter starts an empty count.
func NewSegCounter(target, source []string, o SegOptions) (*SegCounter, error) {
	if err := checkNames("target", target); err != nil {
		return nil, err
	}
	if err := checkNames("source", source); err != nil {
		return nil, err
	}
	c := &SegCounter{Target: target, Source: source, o: o, pixels: make([]int, len(target))}
	c.counts = NewMatrix(target, source).W
	return c, nil
}

// Add counts one batch: scores (B, S, h, w) on the host, row-major, and labels
// (B, H, W). Labels are sampled nearest at each score pixel's centre.
func (c *SegCounter) Add(scores []float32, b, s, h, w int, labels []int32, lh, lw int) error {
	S, T := len(c.Source), len(c.Target)
	if s != S {
		return fmt.Errorf("affinity: segmenter gave %d classes, the source model has %d", s, S)
	}
	if len(scores) != b*s*h*w || len(labels) != b*lh*lw || h <= 0 || w <= 0 {
		return fmt.Errorf("affinity: segmentation batch: %d scores for (%d,%d,%d,%d), %d labels for (%d,%d,%d)", len(scores), b, s, h, w, len(labels), b, lh, lw)
	}
	probs := make([]float64, S)
	for n := 0; n < b; n++ {
		for y := 0; y < h; y++ {
			ly := (2*y + 1) * lh / (2 * h)
			for x := 0; x < w; x++ {
				lx := (2*x + 1) * lw / (2 * w)
				t := labels[(n*lh+ly)*lw+lx]
				if t < 0 || int(t) >= T {
					continue
				}
				c.pixels[t]++
				base := n*s*h*w + y*w + x
				if !c.o.MeanProbs {
					best, bv := 0, math.Inf(-1)
					for k := 0; k < S; k++ {
						if v := float64(scores[base+k*h*w]); v > bv {
							best, bv = k, v
						}
					}
					c.counts[t][best]++
					continue
				}
				for k := 0; k < S; k++ {
					probs[k] = float64(scores[base+k*h*w])
				}
				if !c.o.Probabilities {
					softmaxRow(probs, 1)
				}
				for k, p := range probs {
					if p < 0 || math.IsNaN(p) {
						return fmt.Errorf("affinity: segmenter probability %v at pixel (%d,%d) of image %d (set Probabilities only for outputs in [0,1])", p, x, y, n)
					}
					c.counts[t][k] += p
				}
			}
		}
	}
	return nil
}

// Matrix normalises the counts into A. Target classes with no pixels get a
// uniform row (nothing is known about them) and one warning each.
func (c *SegCounter) Matrix() (*Matrix, []string, error) {
	m := NewMatrix(c.Target, c.Source)
	var warnings []string
	for t := range m.W {
		if c.pixels[t] == 0 {
			warnings = append(warnings, fmt.Sprintf("segmentation: target class %q has no labelled pixel in the images; its row is uniform", c.Target[t]))
			m.SetUniform(t)
			continue
		}
		copy(m.W[t], c.counts[t])
	}
	normalizeRows(m.W)
	out, err := postprocess(m, c.o.TopK, c.o.Temperature)
	if err != nil {
		return nil, nil, err
	}
	out.SetMeta("method", "seg")
	if c.o.MeanProbs {
		out.SetMeta("counting", "mean-probs")
	} else {
		out.SetMeta("counting", "argmax")
	}
	return out, warnings, nil
}

// postprocess applies the optional sharpening and top-k of an estimator.
func postprocess(m *Matrix, topK int, temp float64) (*Matrix, error) {
	var err error
	if temp != 0 && temp != 1 {
		if m, err = Sharpen(m, temp); err != nil {
			return nil, err
		}
		m.SetMeta("temperature", strconv.FormatFloat(temp, 'g', -1, 64))
	}
	if topK > 0 {
		m = TopKRows(m, topK)
		m.SetMeta("top_k", strconv.Itoa(topK))
	}
	return m, nil
}

// SegEstimate runs seg on every target batch and counts (the paper's
// estimator 1): A[t,s] = share of the pixels labelled t that seg predicts as
// s. batches come from a dataset.Loader over the target images (their
// NumClasses must be len(target)). It returns the warnings of
// SegCounter.Matrix.
func SegEstimate(ctx context.Context, dev *nn.Device, seg Segmenter, batches iter.Seq2[*dataset.Batch, error],
	target, source []string, o SegOptions) (*Matrix, []string, error) {
	c, err := NewSegCounter(target, source, o)
	if err != nil {
		return nil, nil, err
	}
	for b, err := range batches {
		if err != nil {
			return nil, nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if b.NumClasses != 0 && b.NumClasses != len(target) {
			return nil, nil, fmt.Errorf("affinity: target batches have %d classes, expected %d", b.NumClasses, len(target))
		}
		data, shape, err := RunOnBatch(dev, b, seg.Segment, "segmenter")
		if err != nil {
			return nil, nil, err
		}
		if len(shape) != 4 {
			return nil, nil, fmt.Errorf("affinity: segmenter output %v, want (B, S, h, w)", shape)
		}
		if err := c.Add(data, shape[0], shape[1], shape[2], shape[3], b.Labels, b.H, b.W); err != nil {
			return nil, nil, err
		}
	}
	return c.Matrix()
}

// RunOnBatch uploads a batch's images (N, 3, H, W), runs f (a feature
// extractor or segmenter) without autograd in a scope and downloads its
// (N, C, h, w) output. A device allocation failure comes back as an error.
func RunOnBatch(dev *nn.Device, b *dataset.Batch, f func(*nn.Tensor) (*nn.Tensor, error), what string) ([]float32, []int, error) {
	var data []float32
	var shape []int
	var inner error
	perr := nn.Catch(func() {
		sc := dev.Scope()
		defer sc.Close()
		dev.NoGrad(func() {
			out, err := f(dev.FromData(b.Images, b.N, 3, b.H, b.W))
			if err != nil {
				inner = err
				return
			}
			if out.Rank() != 4 || out.Dim(0) != b.N {
				inner = fmt.Errorf("affinity: %s output %v for %d images, want (B, C, h, w)", what, out.Shape(), b.N)
				return
			}
			shape = out.Shape()
			data, inner = out.Data()
		})
	})
	if perr != nil {
		return nil, nil, perr
	}
	return data, shape, inner
}
