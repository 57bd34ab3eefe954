package gan

import (
	"errors"
	"math"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"
)

func TestTrainerStepsChangeLosses(t *testing.T) {
	r, seed := testscenes.RNG(t)
	dev := testscenes.CPU()
	const n, b = 5, 2
	tr, err := NewTrainer(dev, tinyG(n), tinyD(n), TrainConfig{BatchSize: b, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	var hist []models.Losses
	live := 0
	for step := range 4 {
		if step == 2 {
			live = dev.LiveBuffers()
		}
		lab := blobLabels(r, b, 32, 32, n)
		l, err := tr.Step(models.Batch{N: b, H: 32, W: 32, Labels: lab, Images: labelImages(lab, b, 32, 32, n)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("losses %+v", l)
		for _, v := range []float32{l[LossG], l[LossDReal], l[LossDFake], l[LossLabelMix]} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
				t.Fatalf("bad loss %+v", l)
			}
		}
		hist = append(hist, l)
	}
	if hist[0][LossG] == hist[len(hist)-1][LossG] || DLoss(hist[0]) == DLoss(hist[len(hist)-1]) {
		t.Errorf("losses did not change: first %+v last %+v", hist[0], hist[len(hist)-1])
	}
	if tr.Steps != 4 {
		t.Errorf("Steps = %d", tr.Steps)
	}
	if now := dev.LiveBuffers(); now != live {
		t.Errorf("live buffers grew from %d to %d over two steps: a step leaks", live, now)
	}
}

func TestTrainerRejectsBadBatch(t *testing.T) {
	dev := testscenes.CPU()
	tr, err := NewTrainer(dev, tinyG(3), tinyD(3), TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	lab := make([]int32, 32*32)
	lab[7] = 3 // class 3 of a 3-class model
	_, err = tr.Step(models.Batch{N: 1, H: 32, W: 32, Labels: lab, Images: make([]float32, 3*32*32)})
	if err == nil {
		t.Error("label outside the classes: no error")
	} else {
		t.Log(err)
	}
	_, err = tr.Step(models.Batch{N: 1, H: 16, W: 16, Labels: make([]int32, 256), Images: make([]float32, 3*256)})
	if err == nil {
		t.Error("wrong size: no error")
	}
}

func TestTrainerStopsOnNaN(t *testing.T) {
	dev := testscenes.CPU()
	tr, err := NewTrainer(dev, tinyG(3), tinyD(3), TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	img := make([]float32, 3*32*32)
	img[5] = float32(math.NaN())
	before, _ := tr.D.Params.Trainable()[0].Data()
	_, err = tr.Step(models.Batch{N: 1, H: 32, W: 32, Labels: make([]int32, 32*32), Images: img})
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("NaN image: err %v, want ErrNonFinite", err)
	}
	t.Log(err)
	after, _ := tr.D.Params.Trainable()[0].Data()
	for i := range before {
		if before[i] != after[i] {
			t.Fatal("discriminator weights changed in a NaN step")
		}
	}
}

// TestModeSeekTraining: with the mode-seeking term the step reports it,
// and a few steps dominated by it (a large weight) make the images of a
// map differ more across seeds than before (over three probe maps, seed
// logged); without it no loss is reported.
func TestModeSeekTraining(t *testing.T) {
	r, seed := testscenes.RNG(t)
	const n, b, steps = 4, 2, 32
	batches := make([]models.Batch, steps)
	for i := range batches {
		lab := blobLabels(r, b, 32, 32, n)
		batches[i] = models.Batch{N: b, H: 32, W: 32, Labels: lab, Images: labelImages(lab, b, 32, 32, n)}
	}
	probes := [][]int32{blobLabels(r, 1, 32, 32, n), blobLabels(r, 1, 32, 32, n), blobLabels(r, 1, 32, 32, n)}
	dev := testscenes.CPU()
	// Measured with batch statistics (training mode), as the term sees
	// the pair, over a few maps: one map's spread moves with the run.
	spread := func(g *Generator) float64 {
		d := 0.0
		for _, probe := range probes {
			lab := append(append([]int32(nil), probe...), probe...)
			src, _ := models.OneHotLabels(dev, lab, 2, 32, 32, n)
			var x []float32
			var err error
			dev.NoGrad(func() { x, err = g.Forward(src, g.Noise([]uint64{1, 2}, 32, 32)).Data() })
			if err != nil {
				t.Fatal(err)
			}
			half, pd := len(x)/2, 0.0
			for i := range half {
				pd += math.Abs(float64(x[i] - x[half+i]))
			}
			d += pd / float64(half)
		}
		return d / float64(len(probes))
	}
	for _, lambda := range []float32{0, 1000} {
		tr, err := NewTrainer(dev, tinyG(n), tinyD(n), TrainConfig{BatchSize: b, Seed: seed, LRG: 1e-3, LambdaModeSeek: lambda})
		if err != nil {
			t.Fatal(err)
		}
		before := spread(tr.G)
		for _, bt := range batches {
			l, err := tr.Step(bt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := l[LossModeSeek]; ok != (lambda > 0) {
				t.Fatalf("lambda %v: losses %v", lambda, l)
			}
		}
		after := spread(tr.G)
		tr.Release()
		t.Logf("lambda %v: mean |G(z1) - G(z2)| over the probe maps %.4f before, %.4f after %d steps", lambda, before, after, steps)
		if lambda > 0 && after <= before {
			t.Errorf("steps led by the mode-seeking term made seeds differ less (%.4f -> %.4f)", before, after)
		}
	}
}
