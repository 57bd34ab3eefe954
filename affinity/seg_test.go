package affinity

import (
	"context"
	"errors"
	"iter"
	"math"
	"strings"
	"testing"

	"catsynth/dataset"
	"catsynth/nn"
	"catsynth/nn/cpu"
)

func cpuDevice() *nn.Device { return nn.NewDevice(cpu.New()) }

func batchesOf(bs ...*dataset.Batch) iter.Seq2[*dataset.Batch, error] {
	return func(yield func(*dataset.Batch, error) bool) {
		for _, b := range bs {
			if !yield(b, nil) {
				return
			}
		}
	}
}

// codedBatch makes a batch whose images carry their labels: channel 0 of
// pixel (y, x) is label/10 (ignored pixels: -0.9), labels constant over 2x2
// blocks so that a half-resolution output sees the same classes.
// The first T blocks of each image hold every class once. codes[l] (nil:
// l itself) is the value coded into the image for label l.
func codedBatch(r interface{ IntN(int) int }, n, h, w, T int, ignore bool, codes ...int) *dataset.Batch {
	b := &dataset.Batch{N: n, H: h, W: w, NumClasses: T, Images: make([]float32, n*3*h*w), Labels: make([]int32, n*h*w)}
	for i := 0; i < n; i++ {
		block := 0
		for y := 0; y < h; y += 2 {
			for x := 0; x < w; x += 2 {
				l := int32(r.IntN(T))
				if ignore && r.IntN(5) == 0 {
					l = dataset.Ignore
				}
				if block < T {
					l = int32(block)
				}
				block++
				code := float32(l) / 10
				if codes != nil && l >= 0 {
					code = float32(codes[l]) / 10
				}
				for dy := 0; dy < 2; dy++ {
					for dx := 0; dx < 2; dx++ {
						p := (y+dy)*w + x + dx
						b.Labels[i*h*w+p] = l
						b.Images[i*3*h*w+p] = code
					}
				}
			}
		}
	}
	return b
}

// mappingSegmenter predicts source class f[t] for a pixel coded with label t
// (logit hi there, 0 elsewhere), at 1/stride of the input resolution; it
// predicts source class 0 on ignored pixels.
func mappingSegmenter(f []int, S, stride int, hi float32) SegmenterFunc {
	return func(img *nn.Tensor) (*nn.Tensor, error) {
		d, err := img.Data()
		if err != nil {
			return nil, err
		}
		n, H, W := img.Dim(0), img.Dim(2), img.Dim(3)
		h, w := H/stride, W/stride
		out := make([]float32, n*S*h*w)
		for i := 0; i < n; i++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := d[i*3*H*W+(y*stride)*W+x*stride]
					s := 0
					if v >= 0 {
						s = f[int(math.Round(float64(v)*10))]
					}
					out[((i*S+s)*h+y)*w+x] = hi
				}
			}
		}
		return img.Device().FromData(out, n, S, h, w), nil
	}
}

func TestSegEstimateFixedMapping(t *testing.T) {
	r := testRNG(t)
	dev := cpuDevice()
	target := []string{"ocean", "beach", "cliff"}
	source := []string{"sky", "sea", "sand", "rock"}
	f := []int{1, 2, 3}
	for _, stride := range []int{1, 2} {
		batches := []*dataset.Batch{codedBatch(r, 2, 8, 8, 3, true), codedBatch(r, 1, 8, 8, 3, true)}
		// argmax counting: exactly the mapping
		m, warn, err := SegEstimate(context.Background(), dev, mappingSegmenter(f, 4, stride, 2), batchesOf(batches...), target, source, SegOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(warn) != 0 {
			t.Errorf("warnings %q", warn)
		}
		for ti := range target {
			if m.W[ti][f[ti]] != 1 {
				t.Errorf("stride %d argmax: row %s = %v, want all on %s", stride, target[ti], m.W[ti], source[f[ti]])
			}
		}
		// mean probabilities of logits (2 on f[t], 0 elsewhere)
		m, _, err = SegEstimate(context.Background(), dev, mappingSegmenter(f, 4, stride, 2), batchesOf(batches...), target, source, SegOptions{MeanProbs: true})
		if err != nil {
			t.Fatal(err)
		}
		p := math.Exp(2) / (math.Exp(2) + 3)
		for ti := range target {
			for s := range source {
				want := (1 - p) / 3
				if s == f[ti] {
					want = p
				}
				if !near(m.W[ti][s], want, 1e-6) {
					t.Errorf("stride %d mean-probs: W[%s][%s] = %v, want %v", stride, target[ti], source[s], m.W[ti][s], want)
				}
			}
		}
		if m.Meta["counting"] != "mean-probs" || m.Meta["method"] != "seg" {
			t.Errorf("meta %v", m.Meta)
		}
	}
}

func TestSegCounterProbabilitiesAndEmptyRows(t *testing.T) {
	c, err := NewSegCounter([]string{"a", "b"}, []string{"x", "y"}, SegOptions{MeanProbs: true, Probabilities: true})
	if err != nil {
		t.Fatal(err)
	}
	// one image 1x2: pixel 0 labelled a with probs (0.25, 0.75), pixel 1 ignored
	scores := []float32{0.25, 0.5, 0.75, 0.5} // (1, 2, 1, 2): channel-major
	if err := c.Add(scores, 1, 2, 1, 2, []int32{0, -1}, 1, 2); err != nil {
		t.Fatal(err)
	}
	m, warn, err := c.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if m.W[0][0] != 0.25 || m.W[0][1] != 0.75 {
		t.Errorf("row a = %v", m.W[0])
	}
	if m.W[1][0] != 0.5 || len(warn) != 1 || !strings.Contains(warn[0], `"b"`) {
		t.Errorf("row b = %v, warnings %q: want uniform and one warning", m.W[1], warn)
	}
	if err := c.Add([]float32{-1, 2}, 1, 2, 1, 1, []int32{0}, 1, 1); err == nil {
		t.Error("negative probability: no error")
	}
	if err := c.Add(scores, 1, 3, 1, 2, []int32{0, 0}, 1, 2); err == nil || !strings.Contains(err.Error(), "3 classes") {
		t.Errorf("class count mismatch: %v", err)
	}
	if err := c.Add(scores, 1, 2, 1, 2, []int32{0}, 1, 2); err == nil {
		t.Error("short labels: no error")
	}
	top, err := NewSegCounter([]string{"a"}, []string{"x", "y", "z"}, SegOptions{MeanProbs: true, Probabilities: true, TopK: 1})
	if err != nil {
		t.Fatal(err)
	}
	top.Add([]float32{0.2, 0.5, 0.3}, 1, 3, 1, 1, []int32{0}, 1, 1)
	tm, _, _ := top.Matrix()
	if tm.W[0][1] != 1 {
		t.Errorf("top-1 row = %v", tm.W[0])
	}
}

func TestSegEstimateErrors(t *testing.T) {
	r := testRNG(t)
	dev := cpuDevice()
	target, source := []string{"a", "b", "c"}, []string{"x", "y", "z", "w"}
	boom := errors.New("boom")
	cases := []struct {
		name string
		seg  SegmenterFunc
		b    *dataset.Batch
		want string
	}{
		{"segmenter error", func(*nn.Tensor) (*nn.Tensor, error) { return nil, boom }, codedBatch(r, 1, 4, 4, 3, false), "boom"},
		{"wrong classes", mappingSegmenter([]int{0, 1, 2}, 3, 1, 1), codedBatch(r, 1, 4, 4, 3, false), "gave 3 classes"},
		{"wrong rank", func(x *nn.Tensor) (*nn.Tensor, error) { return nn.Reshape(x, x.Numel()), nil }, codedBatch(r, 1, 4, 4, 3, false), "want (B, C, h, w)"},
		{"wrong target classes", mappingSegmenter([]int{0, 1, 2, 3}, 4, 1, 1), codedBatch(r, 1, 4, 4, 4, false), "4 classes, expected 3"},
	}
	for _, c := range cases {
		_, _, err := SegEstimate(context.Background(), dev, c.seg, batchesOf(c.b), target, source, SegOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := SegEstimate(ctx, dev, mappingSegmenter([]int{0, 1, 2}, 4, 1, 1), batchesOf(codedBatch(r, 1, 4, 4, 3, false)), target, source, SegOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
