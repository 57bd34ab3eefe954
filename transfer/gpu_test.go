package transfer

import (
	"math/rand/v2"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/models"

	"catsynth/internal/testgpu"
	"catsynth/models/gan"
	"catsynth/nn"
)

// Transfer steps on the GPU backend give the same losses as on the CPU
// reference, for full CAT finetuning with a trained (softmax) A and with
// the default free A, and for the affinity-only mode the browser runs.
// Skips without an adapter unless CATSYNTH_REQUIRE_GPU=1.
func TestStepsGPUMatchCPU(t *testing.T) {
	gpuDev := testgpu.Device(t)
	_, seed := testscenes.RNG(t)
	_, src := tinySource(t, t.TempDir(), gan.NormSPADE, seed)
	for _, o := range []Options{{Train: TrainAll, A: ASoftmax}, {Train: TrainAll, A: AFree}, {Train: TrainAffinity, A: ASoftmax}} {
		run := func(dev *nn.Device) []models.Losses {
			r := rand.New(rand.NewPCG(seed, 2))
			o.Config = models.TrainConfig{Seed: seed, BatchSize: 2}
			m, err := New(dev, src, tgtNames, randomA(r, tgtNames, srcNames), o)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			var out []models.Losses
			for range 3 {
				l, err := m.Step(targetBatch(r, 2))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, l)
			}
			return out
		}
		testscenes.SameLosses(t, "train="+o.Train+" A="+o.A+" cpu / gpu", run(testscenes.CPU()), run(gpuDev))
	}
}
