package seg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestConfusionScore(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name        string
		c           int
		pred, truth []int32
		iou         []float64 // NaN: absent, not in the mean
		miou, acc   float64
		ignored     int64
	}{
		{name: "perfect", c: 3, pred: []int32{0, 1, 2, 2}, truth: []int32{0, 1, 2, 2},
			iou: []float64{1, 1, 1}, miou: 1, acc: 1},
		{name: "perfect with absent class", c: 4, pred: []int32{0, 0, 3}, truth: []int32{0, 0, 3},
			iou: []float64{1, nan, nan, 1}, miou: 1, acc: 1},
		// truth 0 0 1 1, pred 0 1 1 1: class 0 TP1 FN1 FP0 -> 1/2;
		// class 1 TP2 FP1 FN0 -> 2/3.
		{name: "one miss", c: 2, pred: []int32{0, 1, 1, 1}, truth: []int32{0, 0, 1, 1},
			iou: []float64{0.5, 2.0 / 3}, miou: (0.5 + 2.0/3) / 2, acc: 0.75},
		// class 2 only predicted: IoU 0 and it counts in the mean.
		{name: "false class counts", c: 3, pred: []int32{0, 2}, truth: []int32{0, 0},
			iou: []float64{0.5, nan, 0}, miou: 0.25, acc: 0.5},
		// ignore (-1) and out-of-range truths are not counted whatever the prediction.
		{name: "ignore", c: 2, pred: []int32{0, 1, 1, 0}, truth: []int32{0, -1, 1, 7},
			iou: []float64{1, 1}, miou: 1, acc: 1, ignored: 2},
		// everything wrong between two classes
		{name: "swapped", c: 2, pred: []int32{1, 0}, truth: []int32{0, 1},
			iou: []float64{0, 0}, miou: 0, acc: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cm := NewConfusion(tc.c)
			if err := cm.Add(tc.pred, tc.truth); err != nil {
				t.Fatal(err)
			}
			r := cm.Score()
			for c, want := range tc.iou {
				got := r.IoU[c]
				if math.IsNaN(want) != math.IsNaN(got) || !math.IsNaN(want) && math.Abs(got-want) > 1e-12 {
					t.Errorf("IoU[%d] = %v, want %v", c, got, want)
				}
				if r.Present[c] == math.IsNaN(want) {
					t.Errorf("Present[%d] = %v", c, r.Present[c])
				}
			}
			if math.Abs(r.MeanIoU-tc.miou) > 1e-12 || math.Abs(r.PixelAccuracy-tc.acc) > 1e-12 {
				t.Errorf("mIoU %v acc %v, want %v %v", r.MeanIoU, r.PixelAccuracy, tc.miou, tc.acc)
			}
			if r.Ignored != tc.ignored {
				t.Errorf("ignored %d, want %d", r.Ignored, tc.ignored)
			}
		})
	}
}

func TestConfusionErrors(t *testing.T) {
	cm := NewConfusion(3)
	if err := cm.Add([]int32{0}, []int32{0, 1}); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := cm.Add([]int32{3}, []int32{0}); err == nil {
		t.Error("prediction outside the classes accepted")
	}
	if r := NewConfusion(2).Score(); !math.IsNaN(r.MeanIoU) || r.Summary().MeanIoU != 0 {
		t.Errorf("empty matrix: mIoU %v, summary %v", r.MeanIoU, r.Summary().MeanIoU)
	}
}

// TestConfusionMergeMatchesWhole: counting in pieces and merging equals
// counting at once, on random maps; and the mean equals a direct
// per-class computation.
func TestConfusionMergeMatchesWhole(t *testing.T) {
	seed := uint64(7)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	const C, n = 5, 1000
	pred, truth := make([]int32, n), make([]int32, n)
	for i := range pred {
		pred[i] = int32(r.IntN(C))
		truth[i] = int32(r.IntN(C+1)) - 1
	}
	whole := NewConfusion(C)
	if err := whole.Add(pred, truth); err != nil {
		t.Fatal(err)
	}
	parts := NewConfusion(C)
	for lo := 0; lo < n; lo += 300 {
		p := NewConfusion(C)
		hi := min(n, lo+300)
		if err := p.Add(pred[lo:hi], truth[lo:hi]); err != nil {
			t.Fatal(err)
		}
		parts.Merge(p)
	}
	a, b := whole.Score(), parts.Score()
	if a.MeanIoU != b.MeanIoU || a.Ignored != b.Ignored {
		t.Fatalf("merged %v/%d, whole %v/%d", b.MeanIoU, b.Ignored, a.MeanIoU, a.Ignored)
	}
	sum := 0.0
	for c := int32(0); c < C; c++ {
		var inter, union int
		for i := range pred {
			if truth[i] < 0 {
				continue
			}
			if pred[i] == c && truth[i] == c {
				inter++
			}
			if pred[i] == c || truth[i] == c {
				union++
			}
		}
		sum += float64(inter) / float64(union)
	}
	if want := sum / C; math.Abs(a.MeanIoU-want) > 1e-12 {
		t.Fatalf("mIoU %v, direct %v", a.MeanIoU, want)
	}
}

func TestClassWeights(t *testing.T) {
	w := ClassWeights([]int64{900, 100, 0}, 0.5)
	// frequencies .9/.1: raw 1/sqrt(.9), 1/sqrt(.1); mean pixel weight 1
	mean := 0.9*float64(w[0]) + 0.1*float64(w[1])
	if math.Abs(mean-1) > 1e-6 || w[1] <= w[0] || math.Abs(float64(w[1]/w[0])-3) > 1e-5 {
		t.Errorf("weights %v (mean %v, ratio %v)", w, mean, w[1]/w[0])
	}
	if w[2] != w[1] {
		t.Errorf("unseen class weight %v, want the largest %v", w[2], w[1])
	}
	for _, v := range ClassWeights([]int64{0, 0}, 0.5) {
		if v != 1 {
			t.Errorf("no counts: %v", v)
		}
	}
	if w := ClassWeights([]int64{5, 5}, 0); w[0] != 1 || w[1] != 1 {
		t.Errorf("power 0: %v", w)
	}
}
