package eval

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/backbone"
	"catsynth/internal/testgpu"
	"catsynth/nn"
)

// The committed MobileNetV2 (depthwise convolutions, ReLU6, folded batch
// norm, global average pool) gives the same pooled features on the GPU
// backend as on the CPU reference. Skips without an adapter unless
// CATSYNTH_REQUIRE_GPU=1.
func TestMobileNetV2GPUMatchesCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	path := filepath.Join("..", "weights", "backbones", "nsfwjs-mobilenet_v2.safetensors.zst")
	cpuDev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := backbone.Load(cpuDev, path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := backbone.Load(gpuDev, path)
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	t.Logf("seed %d, gpu %s", seed, gpuDev.Name())
	r := rand.New(rand.NewPCG(seed, 0))
	s := ref.Spec
	img := make([]float32, s.InputC*s.InputH*s.InputW)
	for i := range img {
		img[i] = r.Float32()
	}
	a, err := Embed(ref, img, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Embed(got, img, 1)
	if err != nil {
		t.Fatal(err)
	}
	scale, worst := 0.0, 0.0
	for i := range a[0] {
		scale = math.Max(scale, math.Abs(a[0][i]))
		worst = math.Max(worst, math.Abs(a[0][i]-b[0][i]))
	}
	t.Logf("%d features, largest %.3g, worst difference %.3g", len(a[0]), scale, worst)
	if worst > 1e-3*scale {
		t.Errorf("gpu features differ from cpu by up to %.3g (largest feature %.3g)", worst, scale)
	}
}
