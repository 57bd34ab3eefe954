package diffusion

import (
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
}
