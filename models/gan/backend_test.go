package gan

import (
	"math"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/models"

	"catsynth/internal/testgpu"
	"catsynth/nn"
	"catsynth/weights/ganmodels"
)

// The embedded tiny model generates the same image for a fixed seed on the
// GPU backend as on the CPU reference (within float tolerance), for both
// the SPADE path and any label map. Skips without an adapter unless
// CATSYNTH_REQUIRE_GPU=1.
func TestGenerateGPUMatchesCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	data, err := ganmodels.Bytes("tiny32")
	if err != nil {
		t.Fatal(err)
	}
	load := func(dev *nn.Device) *Generator {
		g, err := LoadGeneratorBytes(dev, data, "tiny32")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ref, got := load(testscenes.CPU()), load(gpuDev)
	r, _ := testscenes.RNG(t)
	const h, w = 32, 32
	labels := blobLabels(r, 1, h, w, ref.Config.LabelNC)
	seeds := []uint64{11, 12}
	a, err := ref.GenerateLabels(labels, h, w, seeds[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.GenerateLabels(labels, h, w, seeds[:1])
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range a[0].Pix {
		worst = math.Max(worst, math.Abs(float64(a[0].Pix[i])-float64(b[0].Pix[i])))
	}
	t.Logf("gpu %s: worst pixel difference %v (of 255)", gpuDev.Name(), worst)
	if worst > 2 {
		t.Errorf("gpu image differs from the cpu image by up to %v of 255", worst)
	}
}

// Three training steps of the tiny GAN give the same losses on the GPU
// backend as on the CPU reference (same seed, same batches), within a
// tolerance that allows float32 summation-order differences to grow.
func TestTrainStepsGPUMatchCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	r, seed := testscenes.RNG(t)
	const n, b = 4, 2
	var batches []models.Batch
	for range 3 {
		lab := blobLabels(r, b, 32, 32, n)
		batches = append(batches, models.Batch{N: b, H: 32, W: 32, Labels: lab, Images: labelImages(lab, b, 32, 32, n)})
	}
	run := func(dev *nn.Device, padding string) []models.Losses {
		gc := tinyG(n)
		gc.Padding = padding
		tr, err := NewTrainer(dev, gc, tinyD(n), TrainConfig{BatchSize: b, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Release()
		var out []models.Losses
		for _, bt := range batches {
			l, err := tr.Step(bt)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	// zero padding, and reflect padding (the pad kernel forward and backward)
	for _, padding := range []string{"", "reflect"} {
		testscenes.SameLosses(t, "cpu / gpu, padding "+padding, run(testscenes.CPU(), padding), run(gpuDev, padding))
	}
}
