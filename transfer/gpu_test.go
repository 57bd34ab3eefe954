package transfer

import (
	"math"
	"math/rand/v2"
	"testing"

	"catsynth/internal/testgpu"
	"catsynth/models/gan"
	"catsynth/nn"
)

// Transfer steps on the GPU backend give the same losses as on the CPU
// reference, for full CAT finetuning with a trained A and for the
// affinity-only mode the browser runs. Skips without an adapter unless
// CATSYNTH_REQUIRE_GPU=1.
func TestStepsGPUMatchCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	_, seed := testRNG(t)
	_, src := tinySource(t, t.TempDir(), gan.NormSPADE, seed)
	for _, o := range []Options{{Train: TrainAll, TrainA: true}, {Train: TrainAffinity, TrainA: true}} {
		run := func(dev *nn.Device) []gan.Losses {
			r := rand.New(rand.NewPCG(seed, 2))
			o.GAN = gan.TrainConfig{Seed: seed, BatchSize: 2}
			m, err := New(dev, src, tgtNames, randomA(r, tgtNames, srcNames), o)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			var out []gan.Losses
			for range 3 {
				l, err := m.Step(targetBatch(r, 2))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, l)
			}
			return out
		}
		ref, got := run(cpuDevice()), run(gpuDev)
		for i := range ref {
			for k, p := range [][2]float32{{ref[i].G, got[i].G}, {ref[i].DReal, got[i].DReal}, {ref[i].DFake, got[i].DFake}, {ref[i].LabelMix, got[i].LabelMix}} {
				if d := math.Abs(float64(p[0] - p[1])); d > 1e-3*math.Max(1, math.Abs(float64(p[0]))) {
					t.Errorf("train=%s step %d loss %d: cpu %g gpu %g", o.Train, i, k, p[0], p[1])
				}
			}
		}
		t.Logf("train=%s: cpu %+v gpu %+v", o.Train, ref[2], got[2])
	}
}
