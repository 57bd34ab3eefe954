package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"catsynth/dataset/synth"
	"catsynth/internal/testsources"
	"catsynth/models"
	"catsynth/models/diffusion"
)

// TestBenchTransferDiffusion is the make-test version of `bench transfer`
// on a diffusion source: a tiny U-Net, one domain, 4 images, 2 steps, the
// diffusion rows; held-out images sampled with a few guided DDIM steps.
// It checks that every row ran and scored finitely, and that the report
// names the sampler settings, not quality.
func TestBenchTransferDiffusion(t *testing.T) {
	affinitySegmenter = sourceSegmenter
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	src := testsources.Diffusion(t, dir, synth.SourceClasses, seed)
	rows := []string{"scratch", "finetune", "CAT-combined", "CAT-combined-trainedA", "page-light"}
	cfg := tbConfig{
		source: src, out: filepath.Join(dir, "bench"), backend: "cpu", domains: []string{"coast"}, shots: []int{4},
		seeds: []uint64{seed}, only: rows[:2], steps: 2, batch: 2, heldout: 6, segSteps: 2, gridN: 3,
		sampling: models.Sampling{Method: diffusion.MethodDDIM, Steps: 3, Guidance: 1.5},
		features: colourMoments, featName: "colour moments (test stand-in)", stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
	}
	// A first run of two rows, then a resumed one with all five: the
	// first two are kept, not trained again.
	first, err := benchTransfer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cfg.only, cfg.resume, cfg.stdout, cfg.stderr = rows, true, &stdout, &stderr
	rep, err := benchTransfer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "resuming: 2 finished rows") {
		t.Errorf("resumed run did not report the kept rows:\n%s", stderr.String())
	}
	for i, r := range first.Results {
		if got := rep.Results[i]; got.Row != r.Row || got.Seconds != r.Seconds || got.MIoU != r.MIoU {
			t.Errorf("resumed run changed finished row %s: %+v, was %+v", r.Row, got, r)
		}
	}
	bad := cfg
	bad.steps = 3
	if _, err := benchTransfer(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "results.json") {
		t.Errorf("resuming with other steps: %v, want an error naming results.json", err)
	}
	runs := map[string]int{}
	for _, r := range rep.Results {
		runs[r.Row]++
		if r.Skipped != "" {
			t.Errorf("%s skipped: %s", r.Row, r.Skipped)
			continue
		}
		if r.Sampling == nil || r.Sampling.Steps != 3 {
			t.Errorf("%s: held-out maps sampled with %+v, want the benchmark's 3 DDIM steps", r.Row, r.Sampling)
		}
		if r.MIoU < 0 || r.MIoU > 1 || r.StepMS <= 0 || r.KID.Subsets == 0 || math.IsNaN(r.KID.Mean) || math.IsInf(r.KID.Mean, 0) || math.IsInf(r.FID, 0) {
			t.Errorf("%s: implausible result %+v", r.Row, r)
		}
	}
	for _, row := range rows {
		if runs[row] != 1 {
			t.Errorf("row %s ran %d times, want 1", row, runs[row])
		}
	}
	for _, f := range []string{"results.json", "results.md", "grid-coast-4.png"} {
		if _, err := os.Stat(filepath.Join(dir, "bench", f)); err != nil {
			t.Error(err)
		}
	}
	md := stdout.String()
	for _, want := range []string{"CAT-combined-trainedA", "DDIM 3 steps, guidance 1.5, eta 0"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
