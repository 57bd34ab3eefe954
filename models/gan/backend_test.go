package gan

import (
	"math"
	"testing"

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
	ref, got := load(cpuDevice()), load(gpuDev)
	r, _ := testRNG(t)
	const h, w = 32, 32
	labels := blobLabels(r, 1, h, w, ref.InputClasses())
	seeds := []uint64{11, 12}
	a, err := ref.Generate(labels, h, w, seeds[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.Generate(labels, h, w, seeds[:1])
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
	r, seed := testRNG(t)
	const n, b = 4, 2
	var batches []Batch
	for range 3 {
		lab := blobLabels(r, b, 32, 32, n)
		batches = append(batches, Batch{N: b, H: 32, W: 32, Labels: lab, Images: labelImages(lab, b, 32, 32, n)})
	}
	run := func(dev *nn.Device) []Losses {
		tr, err := NewTrainer(dev, tinyG(n), tinyD(n), TrainConfig{BatchSize: b, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Release()
		var out []Losses
		for _, bt := range batches {
			l, err := tr.Step(bt)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	ref, got := run(cpuDevice()), run(gpuDev)
	for i := range ref {
		pairs := [][2]float32{{ref[i].G, got[i].G}, {ref[i].DReal, got[i].DReal}, {ref[i].DFake, got[i].DFake}, {ref[i].LabelMix, got[i].LabelMix}}
		for k, p := range pairs {
			if d := math.Abs(float64(p[0] - p[1])); d > 1e-3*math.Max(1, math.Abs(float64(p[0]))) {
				t.Errorf("step %d loss %d: cpu %g gpu %g", i, k, p[0], p[1])
			}
		}
	}
	t.Logf("cpu %+v\ngpu %+v", ref, got)
}
