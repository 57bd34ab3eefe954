package transfer

import (
	"math/rand/v2"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"

	"catsynth/models/gan"
)

// benchStep times one finetuning step (batch 2, 16 px tiny model, CPU) in
// a mode; the allocations reported by -benchmem are the step's host
// memory traffic (the CPU backend's tensors live on the Go heap).
func benchStep(b *testing.B, o Options) {
	_, src := tinySource(b, b.TempDir(), gan.NormCLADE, 1)
	r := rand.New(rand.NewPCG(1, 2))
	o.Config = models.TrainConfig{Seed: 1, BatchSize: 2}
	m, err := New(testscenes.CPU(), src, tgtNames, randomA(r, tgtNames, srcNames), o)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Release()
	batch := targetBatch(r, 2)
	g, d := m.TrainableCount()
	b.ReportMetric(float64(g+d), "trained-params")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.Step(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStepAll(b *testing.B) { benchStep(b, Options{A: ASoftmax}) }
func BenchmarkStepAffinityOnly(b *testing.B) {
	benchStep(b, Options{Train: TrainAffinity, A: ASoftmax})
}
func BenchmarkStepAffinitySPADE(b *testing.B) {
	benchStep(b, Options{Train: TrainAffinity, A: ASoftmax, TrainSPADE: true})
}
