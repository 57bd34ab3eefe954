package diffusion

import (
	"catsynth/models"
	"catsynth/nn"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// benchForward times one U-Net forward (batch 1, random weights) at the
// config's image size on the CPU backend.
func benchForward(b *testing.B, cfg Config) {
	dev := cpuDevice()
	u, err := NewUNet(dev, cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Release()
	r := rand.New(rand.NewPCG(1, 2))
	randomizeZeroInit(r, u)
	n := cfg.ImageSize
	x := dev.FromData(randn(r, 3*n*n, 1), 1, 3, n, n)
	y := dev.FromData(oneHotMap(r, 1, cfg.NumClasses, n, n), 1, cfg.NumClasses, n, n)
	for b.Loop() {
		dev.NoGrad(func() {
			s := dev.Scope()
			if _, err := u.Forward(x, []float64{500}, y).Data(); err != nil {
				b.Fatal(err)
			}
			s.Close()
		})
	}
	b.ReportMetric(float64(u.Params.Count())/1e6, "Mparams")
}

func BenchmarkUNetForwardTiny(b *testing.B) { benchForward(b, Tiny(4)) }
func BenchmarkUNetForward64px(b *testing.B) { benchForward(b, Preset64(151)) }

// BenchmarkTrainStepTiny times one training step (batch 4, 16 px).
func BenchmarkTrainStepTiny(b *testing.B) {
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(4), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Release()
	tr, err := NewTrainer(u, DefaultTrainConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Release()
	r := rand.New(rand.NewPCG(1, 2))
	lab := oneHotMap(r, 4, 4, 16, 16)
	batch := Batch{N: 4, H: 16, W: 16, Labels: lab, Images: classImages(lab, 4, 4, 16, 16)}
	for b.Loop() {
		if _, err := tr.StepMaps(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSampleTiny times 10 guided DDIM steps of the tiny model (20
// forwards at batch 1, as two passes batched).
func BenchmarkSampleTiny(b *testing.B) {
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(4), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Release()
	s, err := u.Sampler()
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	y := dev.FromData(oneHotMap(r, 1, 4, 16, 16), 1, 4, 16, 16)
	for b.Loop() {
		if _, err := s.Sample(context.Background(), y, SampleOptions{Steps: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUNetForward32pxGuided times the default's U-Net (sdm32, 23
// classes) at batch 2, the conditional and null maps of one guided step.
func BenchmarkUNetForward32pxGuided(b *testing.B) {
	benchForwardBatch(b, Preset32(23), 2)
}

func benchForwardBatch(b *testing.B, cfg Config, batch int) {
	dev := benchDevice(b)
	u, err := NewUNet(dev, cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Release()
	r := rand.New(rand.NewPCG(1, 2))
	randomizeZeroInit(r, u)
	n := cfg.ImageSize
	x := dev.FromData(randn(r, batch*3*n*n, 1), batch, 3, n, n)
	y := dev.FromData(oneHotMap(r, batch, cfg.NumClasses, n, n), batch, cfg.NumClasses, n, n)
	ts := make([]float64, batch)
	for i := range ts {
		ts[i] = 500
	}
	if js, err := MarshalConfig(cfg); err == nil {
		b.Logf("config %s", js) // scripts/bench_peers.py builds the same U-Net in PyTorch from this line
	}
	for b.Loop() {
		dev.NoGrad(func() {
			s := dev.Scope()
			if _, err := u.Forward(x, ts, y).Data(); err != nil {
				b.Fatal(err)
			}
			s.Close()
		})
	}
}

// BenchmarkSample32px times one guided DDIM image of the default's
// architecture (sdm32) at 10, 25 and 50 steps.
func BenchmarkSample32px(b *testing.B) {
	dev := benchDevice(b)
	u, err := NewUNet(dev, Preset32(23), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer u.Release()
	r := rand.New(rand.NewPCG(1, 2))
	randomizeZeroInit(r, u)
	m := NewModel(u)
	y := dev.FromData(oneHotMap(r, 1, 23, 32, 32), 1, 23, 32, 32)
	for _, steps := range []int{10, 25, 50} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			if err := m.SetSampling(models.Sampling{Steps: steps, Guidance: DefaultGuidance}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				x, err := m.Generate(context.Background(), y, []uint64{1}, nil)
				if err != nil {
					b.Fatal(err)
				}
				x.Release()
			}
		})
	}
}

// benchDevice opens $CATSYNTH_BACKEND (default cpu) for benchmarks:
// CATSYNTH_BACKEND=gpu times the WebGPU path (lavapipe here).
func benchDevice(b *testing.B) *nn.Device {
	name := os.Getenv(nn.EnvBackend)
	if name == "" {
		return cpuDevice()
	}
	dev, err := nn.Open(name)
	if err != nil {
		b.Skip(err)
	}
	return dev
}
