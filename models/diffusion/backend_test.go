package diffusion

import (
	"context"
	"math"
	"testing"

	"catsynth/internal/testgpu"
	"catsynth/nn"
)

// One forward of the tiny U-Net (random weights, the output convs too)
// gives the same output on the GPU backend as on the CPU reference. Skips
// without an adapter unless CATSYNTH_REQUIRE_GPU=1.
func TestUNetForwardGPUMatchesCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	r, seed := testRNG(t)
	cpuDev := cpuDevice()
	cfg := Tiny(4)
	ref, err := NewUNet(cpuDev, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	randomizeZeroInit(r, ref)
	got, err := NewUNet(gpuDev, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	for _, p := range ref.Params.All() {
		q, ok := got.Params.Get(p.Name)
		if !ok {
			t.Fatalf("gpu model lacks %s", p.Name)
		}
		d, _ := p.T.Data()
		q.T.Upload(d)
	}
	const b, h, w = 2, 16, 16
	x, y := randn(r, b*3*h*w, 1), oneHotMap(r, b, 4, h, w)
	ts := []float64{5, 640}
	run := func(dev *nn.Device, u *UNet) []float32 {
		var out []float32
		dev.NoGrad(func() {
			s := dev.Scope()
			defer s.Close()
			out, err = u.Forward(dev.FromData(x, b, 3, h, w), ts, dev.FromData(y, b, 4, h, w)).Data()
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, g := run(cpuDev, ref), run(gpuDev, got)
	worst, scale := 0.0, 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-g[i])))
		scale = math.Max(scale, math.Abs(float64(a[i])))
	}
	t.Logf("gpu %s: max abs diff %.3g (output max %.3g)", gpuDev.Name(), worst, scale)
	if scale < 1e-2 || worst > 1e-4*math.Max(1, scale) {
		t.Errorf("gpu and cpu outputs differ by %g (output scale %g)", worst, scale)
	}

	// A seeded guided DDIM sample is the same image on both backends (the
	// noise is drawn on the host).
	sample := func(dev *nn.Device, u *UNet) []float32 {
		s, err := u.Sampler()
		if err != nil {
			t.Fatal(err)
		}
		img, err := s.Sample(context.Background(), dev.FromData(y, b, 4, h, w), SampleOptions{Steps: 4, Eta: 0.3, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	ia, ig := sample(cpuDev, ref), sample(gpuDev, got)
	worst = 0
	for i := range ia {
		worst = math.Max(worst, math.Abs(float64(ia[i]-ig[i])))
	}
	t.Logf("4-step guided DDIM sample: max abs diff %.3g", worst)
	if worst > 1e-3 {
		t.Errorf("gpu and cpu samples for one seed differ by %g", worst)
	}
}

// Three training steps of the tiny model give the same losses on the GPU
// backend as on the CPU reference (same seed, same batch).
func TestTrainStepsGPUMatchCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	r, seed := testRNG(t)
	const b, s, h, w = 2, 4, 16, 16
	lab := oneHotMap(r, b, s, h, w)
	batch := Batch{N: b, H: h, W: w, Labels: lab, Images: classImages(lab, b, s, h, w)}
	run := func(dev *nn.Device) []Losses {
		u, err := NewUNet(dev, Tiny(s), seed)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Release()
		tr, err := NewTrainer(u, TrainConfig{LR: 1e-3, DropRate: 0.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Release()
		var out []Losses
		for range 3 {
			l, err := tr.StepMaps(batch)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	ref, got := run(cpuDevice()), run(gpuDev)
	for i := range ref {
		for k, p := range [][2]float32{{ref[i].MSE, got[i].MSE}, {ref[i].VB, got[i].VB}} {
			if d := math.Abs(float64(p[0] - p[1])); d > 1e-3*math.Max(1e-2, math.Abs(float64(p[0]))) {
				t.Errorf("step %d loss %d: cpu %g gpu %g", i, k, p[0], p[1])
			}
		}
	}
	t.Logf("cpu %+v\ngpu %+v", ref, got)
}
