package app

import (
	"context"
	"image"
	"testing"
)

// maxLevelDiff is the largest per-channel difference of two images.
func maxLevelDiff(a, b *image.RGBA) int {
	d := 0
	for i := range a.Pix {
		d = max(d, int(a.Pix[i])-int(b.Pix[i]), int(b.Pix[i])-int(a.Pix[i]))
	}
	return d
}

// maxStatDiff is the largest difference between two statistics snapshots.
func maxStatDiff(a, b map[string][]float32) float64 {
	d := 0.0
	for name, xs := range a {
		for i, x := range xs {
			d = max(d, float64(x-b[name][i]), float64(b[name][i]-x))
		}
	}
	return d
}

// TestFinetuneRecalibratesNorm: the light finetune re-estimates the
// generator's batch-norm statistics on the target maps through A. The
// adapted view uses them (its images change), the source view keeps the
// source statistics bit for bit, and a new matrix drops them.
func TestFinetuneRecalibratesNorm(t *testing.T) {
	s, _ := newSession(t, 0)
	ex, err := s.Examples(1)
	if err != nil {
		t.Fatal(err)
	}
	sourceImg, _, err := s.Generate(ex[0].Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	stats := runningStats(s.net.Params())
	if len(stats) == 0 {
		t.Fatal("the tiny GAN has no batch-norm statistics")
	}
	before, err := snapshot(stats)
	if err != nil {
		t.Fatal(err)
	}
	oceanMeadowUniform(t, s)
	if _, err := s.Finetune(context.Background(), FinetuneConfig{Steps: 5, LR: 0.3, Seed: 9}, nil); err != nil {
		t.Fatal(err)
	}
	after, err := snapshot(stats)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxStatDiff(before, after); d < 1e-3 {
		t.Errorf("statistics moved by at most %g: not recalibrated", d)
	}
	if d := maxStatDiff(after, s.norm.adapted); d != 0 {
		t.Errorf("the network holds statistics %g from the adapted snapshot", d)
	}
	target := make([]byte, 32*32)
	for i := range target {
		target[i] = byte(i / (32 * 16)) // ocean over meadow
	}
	adaptedImg, _, err := s.Generate(target, 4)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.SetAdapted(false); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.Generate(ex[0].Labels, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxLevelDiff(sourceImg, again); d != 0 {
		t.Errorf("the source view changed by %d levels after the light finetune", d)
	}
	if _, err := s.SetAdapted(true); err != nil {
		t.Fatal(err)
	}
	back, _, err := s.Generate(target, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxLevelDiff(adaptedImg, back); d != 0 {
		t.Errorf("the adapted view changed by %d levels after a round trip to the source view", d)
	}

	// The same A with the source statistics draws another image.
	if err := s.forgetAdaptedStats(); err != nil {
		t.Fatal(err)
	}
	plain, _, err := s.Generate(target, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxLevelDiff(adaptedImg, plain); d < 3 {
		t.Errorf("recalibrated and source statistics give images %d levels apart: no effect", d)
	}
	now, err := snapshot(stats)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxStatDiff(before, now); d != 0 {
		t.Errorf("forgetting the adapted statistics left the network %g from the source ones", d)
	}

	// A new matrix makes the recalibrated statistics stale.
	if _, err := s.Finetune(context.Background(), FinetuneConfig{Steps: 2, LR: 0.3, Seed: 9}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAffinity(s.aff.W, "again"); err != nil {
		t.Fatal(err)
	}
	if s.norm.adapted != nil {
		t.Error("a new matrix kept the recalibrated statistics")
	}
	now, err = snapshot(stats)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxStatDiff(before, now); d != 0 {
		t.Errorf("after a new matrix the network is %g from the source statistics", d)
	}
}
