package models

import (
	"fmt"
	"math/rand/v2"

	"catsynth/nn"
)

// Label slices in this package are B*H*W class indices, row-major per
// image (labels[(b*H+y)*W+x]), each in [0, n) or negative for a pixel with
// no class, as dataset.Batch holds them.

// Batch is one training batch, laid out as dataset.Batch: Images N*3*H*W in
// [-1, 1] (NCHW), Labels N*H*W class indices (negative: ignored).
type Batch struct {
	N, H, W int
	Images  []float32
	Labels  []int32
}

// Check reports a batch whose slices do not match its sizes, or whose size
// is not h x w; what names the model in the message.
func (b Batch) Check(h, w int, what string) error {
	if b.H != h || b.W != w || b.N < 1 || len(b.Images) != b.N*3*b.H*b.W || len(b.Labels) != b.N*b.H*b.W {
		return fmt.Errorf("%s: batch of %d %dx%d images (%d values, %d labels) for a %dx%d model",
			what, b.N, b.W, b.H, len(b.Images), len(b.Labels), w, h)
	}
	return nil
}

// OneHotLabels uploads b label maps as a one-hot map (B, n, H, W);
// unlabelled pixels are all zeros. An index >= n is an error naming the
// image and pixel.
func OneHotLabels(dev *nn.Device, labels []int32, b, h, w, n int) (*nn.Tensor, error) {
	if len(labels) != b*h*w {
		panic(fmt.Sprintf("models: OneHotLabels: %d labels for %dx%dx%d", len(labels), b, h, w))
	}
	idx := make([]float32, len(labels))
	for i, c := range labels {
		if int(c) >= n {
			p := i % (h * w)
			return nil, fmt.Errorf("label map %d has class index %d at pixel (x %d, y %d), but the model knows only classes 0..%d",
				i/(h*w), c, p%w, p/w, n-1)
		}
		idx[i] = float32(c)
	}
	return nn.OneHot(dev.FromData(idx, b, h, w), n), nil
}

// SeedRange returns the n seeds first, first+1, ...: image i of a batch
// generated with SeedRange(k, n) is the image a single run with seed k+i
// makes.
func SeedRange(first uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = first + uint64(i)
	}
	return s
}

// Noise draws one vector of n values from N(0, 1) per seed, stacked into
// (len(seeds), n), on the host, so that a seed gives the same noise on
// every backend.
func Noise(dev *nn.Device, n int, seeds []uint64) *nn.Tensor {
	v := make([]float32, 0, len(seeds)*n)
	for _, s := range seeds {
		v = append(v, NoiseValues(n, s)...)
	}
	return dev.FromData(v, len(seeds), n)
}

// NoiseValues are the n values Noise draws for one seed.
func NoiseValues(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// ClassBalance returns OASIS's per-pixel class-balancing weights for a batch
// of labels over n classes: a pixel of class c weighs
//
//	numel / (present * count_c)
//
// where numel is the number of pixels in the batch (ignored ones included,
// as OASIS counts its "don't care" class), present the number of classes
// that occur, and count_c the number of class-c pixels. Ignored pixels weigh
// 0. Rare classes thus count as much as frequent ones in the loss.
func ClassBalance(labels []int32, n int) ([]float32, error) {
	count := make([]int, n)
	for i, c := range labels {
		if c >= int32(n) {
			return nil, fmt.Errorf("label %d at pixel %d outside the %d classes", c, i, n)
		}
		if c >= 0 {
			count[c]++
		}
	}
	present := 0
	for _, k := range count {
		if k > 0 {
			present++
		}
	}
	w := make([]float32, len(labels))
	for i, c := range labels {
		if c >= 0 {
			w[i] = float32(float64(len(labels)) / (float64(present) * float64(count[c])))
		}
	}
	return w, nil
}

// NoiseBatch draws b vectors of n values from N(0, 1) from one seed, as
// (b, n): training noise, where a fresh seed per step suffices.
func NoiseBatch(dev *nn.Device, b, n int, seed uint64) *nn.Tensor {
	return dev.FromData(NoiseValues(b*n, seed), b, n)
}
