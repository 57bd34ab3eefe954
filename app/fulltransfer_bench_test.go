package app

import (
	"context"
	"path/filepath"
	"testing"

	"catsynth/dataset"
	"catsynth/internal/testscenes"
	"catsynth/modelref"
	"catsynth/weights/ganmodels"
)

// BenchmarkTransferRunSource128 times full transfer steps (generator and
// discriminator, batch 4, the CLI's defaults) of the embedded source128
// on four rendered 128 px coast images, CPU backend: what the desktop
// app's Full mode runs per step.
func BenchmarkTransferRunSource128(b *testing.B) {
	data, err := ganmodels.Bytes("source128")
	if err != nil {
		b.Skip(err)
	}
	s := NewSession(testscenes.CPU(), 0)
	defer s.Release()
	if _, err := s.LoadModel(data, "source128"); err != nil {
		b.Fatal(err)
	}
	ds, err := dataset.Open("synth:coast:n=4,size=128")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.SetTargetDataset(ds); err != nil {
		b.Fatal(err)
	}
	T, S := len(ds.Classes()), len(s.source)
	rows := make([][]float64, T)
	for i := range rows {
		rows[i] = make([]float64, S)
		for j := range rows[i] {
			rows[i][j] = 1
		}
	}
	if _, err := s.SetAffinity(rows, "uniform"); err != nil {
		b.Fatal(err)
	}
	src, err := modelref.Source("embedded:source128")
	if err != nil {
		b.Fatal(err)
	}
	r, err := s.NewTransferRun(src, TransferConfig{ModelPath: filepath.Join(b.TempDir(), "a.safetensors.zst"), PreviewEvery: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := r.Run(context.Background(), b.N, nil)
	if err != nil || res.Steps != b.N {
		b.Fatalf("%+v, %v", res, err)
	}
}
