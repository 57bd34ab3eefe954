package gan

import (
	"fmt"
	"os"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"

	"catsynth/nn"
)

// benchDevice opens $CATSYNTH_BACKEND (default cpu) for benchmarks.
func benchDevice(b *testing.B) *nn.Device {
	name := os.Getenv(nn.EnvBackend)
	if name == "" {
		return testscenes.CPU()
	}
	dev, err := nn.Open(name)
	if err != nil {
		b.Skip(err)
	}
	return dev
}

// evalGenerator builds a generator of gc in eval mode on the benchmark
// device, released when the benchmark ends.
func evalGenerator(b *testing.B, gc GeneratorConfig) (*nn.Device, *Generator) {
	dev := benchDevice(b)
	g, err := NewGenerator(dev, gc, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Release)
	g.Params().SetTraining(false)
	return dev, g
}

// dispatchCounter is what the GPU backend offers for counting its
// compute dispatches and queue submissions.
type dispatchCounter interface {
	Counts() (dispatches, submits int)
}

// countDispatches returns a function that, called after the benchmark loop,
// reports dispatches and submits per iteration when dev's backend counts them.
func countDispatches(b *testing.B, dev *nn.Device) func() {
	c, ok := dev.Backend().(dispatchCounter)
	if !ok {
		return func() {}
	}
	d0, s0 := c.Counts()
	return func() {
		d1, s1 := c.Counts()
		b.ReportMetric(float64(d1-d0)/float64(b.N), "dispatches/op")
		b.ReportMetric(float64(s1-s0)/float64(b.N), "submits/op")
	}
}

func benchClasses() []string {
	c := make([]string, 23) // the synthetic source domain's class count
	for i := range c {
		c[i] = fmt.Sprint(i)
	}
	return c
}

// BenchmarkGenerate measures generator inference (eval mode, batch 1,
// random one-hot maps) at 64, 128 and 256 px with SPADE and CLADE, and at
// 64 and 128 px with reflect padding too (".../reflect"); the 64 px model
// is preset source64, the others preset source128.
func BenchmarkGenerate(b *testing.B) {
	for _, size := range []int{64, 128, 256} {
		for _, norm := range []string{NormSPADE, NormCLADE} {
			pads := []string{""}
			if size <= 128 {
				pads = append(pads, "reflect")
			}
			for _, pad := range pads {
				name := fmt.Sprintf("%dpx/%s", size, norm)
				if pad != "" {
					name += "/" + pad
				}
				b.Run(name, func(b *testing.B) {
					p := Presets["source128"]
					if size == 64 {
						p = Presets["source64"]
					}
					gc, _, err := p.Configs(benchClasses(), size, size, norm)
					if err != nil {
						b.Fatal(err)
					}
					gc.Padding = pad
					dev, g := evalGenerator(b, gc)
					lab := make([]int32, size*size)
					for i := range lab {
						lab[i] = int32((i / 7) % 23)
					}
					if _, err := g.GenerateLabels(lab, size, size, []uint64{0}); err != nil { // pipelines, autotune
						b.Fatal(err)
					}
					b.ResetTimer()
					counted := countDispatches(b, dev)
					for i := 0; i < b.N; i++ {
						if _, err := g.GenerateLabels(lab, size, size, []uint64{uint64(i)}); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
					counted()
				})
			}
		}
	}
}

// BenchmarkTrainStep measures one full OASIS step (G update, D update with
// LabelMix, EMA) for the tiny preset at 32 px, batch 2, source64 at 64 px,
// batch 1, and source64 with CLADE at batch 4 (the step scripts/bench-peers.sh
// compares with PyTorch), with the heap allocations per step.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		name, preset, norm string
		batch              int
	}{{"tiny", "tiny", "", 2}, {"source64", "source64", "", 1}, {"source64_clade_b4", "source64", NormCLADE, 4}} {
		b.Run(c.name, func(b *testing.B) {
			gc, dc, err := Presets[c.preset].Configs(benchClasses(), 0, 0, c.norm)
			if err != nil {
				b.Fatal(err)
			}
			dev := benchDevice(b)
			tr, err := NewTrainer(dev, gc, dc, TrainConfig{BatchSize: c.batch})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Release()
			lab := make([]int32, c.batch*gc.H*gc.W)
			for i := range lab {
				lab[i] = int32((i / 5) % 23)
			}
			batch := models.Batch{N: c.batch, H: gc.H, W: gc.W, Labels: lab, Images: labelImages(lab, c.batch, gc.H, gc.W, 23)}
			if _, err := tr.Step(batch); err != nil { // pools and caches warm up
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			counted := countDispatches(b, dev)
			for i := 0; i < b.N; i++ {
				if _, err := tr.Step(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
			counted()
		})
	}
}

// BenchmarkGenerateOASIS measures the official OASIS ADE20K generator (151
// classes, base width 64, SPADE, 74.3M parameters) at 256 px, batch 1: the
// configuration of the PyTorch timing in scripts/torch_oasis_generator.py
// (14.3 ms per image on one H100 in PyTorch fp32 eager). Seconds per image
// on a CPU, so it runs there only with CATSYNTH_BENCH_LARGE=1.
func BenchmarkGenerateOASIS(b *testing.B) {
	if os.Getenv(nn.EnvBackend) != "gpu" && os.Getenv("CATSYNTH_BENCH_LARGE") == "" {
		b.Skip("the official generator takes seconds per image on a CPU: set CATSYNTH_BACKEND=gpu or CATSYNTH_BENCH_LARGE=1")
	}
	gc := OfficialADE20K()
	_, g := evalGenerator(b, gc)
	lab := make([]int32, gc.H*gc.W)
	for i := range lab {
		lab[i] = int32((i / 11) % gc.LabelNC)
	}
	if _, err := g.GenerateLabels(lab, gc.H, gc.W, []uint64{0}); err != nil { // pipelines, autotune
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := g.GenerateLabels(lab, gc.H, gc.W, []uint64{uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/image")
}
