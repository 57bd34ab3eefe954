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
