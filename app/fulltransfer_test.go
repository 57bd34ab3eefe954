package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"catsynth/dataset/synth"
	"catsynth/internal/testscenes"
	"catsynth/internal/testsources"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/transfer"
)

// transferSession opens a CPU session on a model file that has its
// training state beside it, with the ocean/meadow target set and a
// uniform A; it returns the session and the model's source.
func transferSession(t *testing.T, model string) (*Session, models.Source) {
	t.Helper()
	data, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(testscenes.CPU(), 0)
	t.Cleanup(s.Release)
	if _, err := s.LoadModel(data, model); err != nil {
		t.Fatal(err)
	}
	oceanMeadowUniform(t, s)
	src, err := transfer.LoadSource(model)
	if err != nil {
		t.Fatal(err)
	}
	return s, src
}

// ganSession is transferSession on a tiny 32 px source GAN.
func ganSession(t *testing.T, seed uint64) (*Session, models.Source) {
	t.Helper()
	t.Logf("source seed %d", seed)
	return transferSession(t, testsources.GAN(t, t.TempDir(), synth.SourceClasses, 32, seed))
}

// TestTransferRunStopResume runs the full transfer for 4 steps in two
// calls: the first is stopped after step 2 and checkpoints, the second
// resumes from the state file and continues the count to 4; the adapted
// model then opens in the target classes.
func TestTransferRunStopResume(t *testing.T) {
	s, src := ganSession(t, 5)
	out := filepath.Join(t.TempDir(), "run", "adapted.safetensors.zst")
	r, err := s.NewTransferRun(src, TransferConfig{ModelPath: out, Batch: 2, PreviewEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []int
	previews := 0
	res, err := r.Run(ctx, 4, func(p TransferProgress) {
		seen = append(seen, p.Step)
		if p.Preview != nil {
			previews++
		}
		if _, ok := p.Losses["g"]; !ok || p.Loss != float64(p.Losses["g"]) {
			t.Errorf("step %d: losses %v, curve value %v", p.Step, p.Losses, p.Loss)
		}
		if p.Step == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Steps != 2 || r.Steps() != 2 || len(res.Losses) != 2 || previews != 1 {
		t.Fatalf("stopped run: %+v, steps %d, previews %d", res, r.Steps(), previews)
	}
	for _, p := range []string{out, r.StatePath()} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the stopped run left no checkpoint: %v", err)
		}
	}
	res, err = r.Run(context.Background(), 4, func(p TransferProgress) { seen = append(seen, p.Step) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped || res.Steps != 4 || len(res.Losses) != 2 || !slices.Equal(seen, []int{1, 2, 3, 4}) {
		t.Fatalf("resumed run: %+v, steps reported %v", res, seen)
	}
	ck, err := nn.ReadCheckpoint(r.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	if ck.Metadata[models.MetaStep] != "4" {
		t.Errorf("state file at step %q, want 4", ck.Metadata[models.MetaStep])
	}
	info, err := s.LoadTransferred(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Classes) != 2 || info.Classes[0].Name != "ocean" || info.Classes[1].Name != "meadow" {
		t.Fatalf("adapted model classes %+v", info.Classes)
	}
	labels := make([]byte, 32*32)
	for i := range labels {
		labels[i] = byte(i / (32 * 16))
	}
	if _, _, err := s.Generate(labels, 1); err != nil {
		t.Fatalf("generating with the adapted model: %v", err)
	}
	if _, err := r.Run(context.Background(), 4, nil); err == nil || !strings.Contains(err.Error(), "step 4 already") {
		t.Errorf("a run asked for the steps it has: error %v", err)
	}
}

// TestTransferRunRefuses lists what NewTransferRun refuses, by name.
func TestTransferRunRefuses(t *testing.T) {
	s, src := ganSession(t, 6)
	other, err := transfer.LoadSource(testsources.GAN(t, t.TempDir(), []string{"a", "b", "c"}, 32, 7))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "a.safetensors.zst")
	for _, c := range []struct {
		name string
		src  models.Source
		cfg  TransferConfig
		want string
	}{
		{"no path", src, TransferConfig{}, "path for its model"},
		{"another source", other, TransferConfig{ModelPath: out}, "finetuning source has classes"},
		{"bad options", src, TransferConfig{ModelPath: out, Options: transfer.Options{Init: "nope"}}, "init \"nope\""},
	} {
		if _, err := s.NewTransferRun(c.src, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	s.ClearTarget()
	if _, err := s.NewTransferRun(src, TransferConfig{ModelPath: out}); err == nil {
		t.Error("a run without a target set was made")
	}
}

// TestTransferRunDiffusion runs the full transfer of a diffusion source
// (its denoiser behind A, trained with its own loss) for two steps: the
// curve shows the denoising loss, and the adapted model opens as a
// diffusion model of the target classes.
func TestTransferRunDiffusion(t *testing.T) {
	const seed = 8
	t.Logf("source seed %d", seed)
	s, src := transferSession(t, testsources.Diffusion(t, t.TempDir(), synth.SourceClasses, seed))
	r, err := s.NewTransferRun(src, TransferConfig{ModelPath: filepath.Join(t.TempDir(), "d.safetensors.zst"), Batch: 2, PreviewEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), 2, func(p TransferProgress) {
		if v, ok := p.Losses["loss"]; !ok || p.Loss != float64(v) {
			t.Errorf("step %d: losses %v, curve value %v", p.Step, p.Losses, p.Loss)
		}
		if p.Step == 2 && p.Preview == nil {
			t.Error("no preview at the last step")
		}
	})
	if err != nil || res.Steps != 2 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	info, err := s.LoadTransferred(r)
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != src.Kind() || info.Sampling == nil || len(info.Classes) != 2 || info.Classes[0].Name != "ocean" {
		t.Fatalf("adapted diffusion model opened as %+v", info)
	}
}
