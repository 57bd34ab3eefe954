package app

import (
	"context"
	"errors"
	"image"
	"math"
	"strings"
	"testing"

	"catsynth/dataset/synth"
	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/diffusion"
	"catsynth/nn"
)

// diffusionSession opens a CPU session with an untrained tiny diffusion
// model of the synthetic source classes at 32 px.
func diffusionSession(t *testing.T) *Session {
	t.Helper()
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	data := testscenes.DiffusionModel(t, synth.SourceClasses, 32, 4)
	s := NewSession(dev, 0)
	t.Cleanup(s.Release)
	info, err := s.LoadModel(data, "d.safetensors.zst")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != diffusion.KindModel || info.Sampling == nil || info.Width != 32 {
		t.Fatalf("loaded %+v", info)
	}
	if l := info.SamplingLimits; l == nil || l.Steps < info.Sampling.Steps || l.Guidance != diffusion.MaxGuidance || l.Eta != diffusion.MaxEta {
		t.Fatalf("sampling limits %+v for settings %+v", l, *info.Sampling)
	}
	return s
}

// The page's diffusion path: sampler settings, a progressive preview at
// every step, cancelling between steps, and light finetuning of A through
// the denoising loss.
func TestDiffusionSession(t *testing.T) {
	s := diffusionSession(t)
	if _, err := s.SetSampling(models.Sampling{Steps: 3, Guidance: 1.5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSampling(models.Sampling{Steps: 3, Guidance: 99}); err == nil || !strings.Contains(err.Error(), "guidance 99") {
		t.Errorf("guidance 99: %v", err)
	}
	if info := s.Info(); info.Sampling.Steps != 3 || info.Sampling.Guidance != 1.5 {
		t.Errorf("sampling after a refused change: %+v", *info.Sampling)
	}
	ex, err := s.Examples(1)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	previews := 0
	img, _, err := s.GenerateProgress(ex[0].Labels, 5, func(step, total int, p *image.RGBA) {
		steps = append(steps, step)
		if total != 3 {
			t.Errorf("progress total %d, want 3", total)
		}
		if p != nil && p.Bounds().Dx() == 32 {
			previews++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[2] != 3 || previews != 3 {
		t.Errorf("progress at steps %v with %d previews, want 1..3 with 3", steps, previews)
	}
	again, _, _ := s.Generate(ex[0].Labels, 5)
	other, _, _ := s.Generate(ex[0].Labels, 6)
	if string(img.Pix) != string(again.Pix) || string(img.Pix) == string(other.Pix) {
		t.Error("diffusion generation is not deterministic per seed, or ignores the seed")
	}
	_, _, err = s.GenerateProgress(ex[0].Labels, 5, func(step, _ int, _ *image.RGBA) {
		if step == 1 {
			s.Stop()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("stopped sampling: %v, want context.Canceled", err)
	}

	oceanMeadowUniform(t, s)
	res, err := s.Finetune(context.Background(), FinetuneConfig{Steps: 5, LR: 0.3, Seed: 9, PreviewEvery: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0.0
	for _, r := range res.Matrix.W {
		for _, v := range r {
			moved = math.Max(moved, math.Abs(v-1/float64(len(synth.SourceClasses))))
		}
	}
	t.Logf("losses %.4f, before %.4f after %.4f, A moved %.3g", res.Losses, res.LossBefore, res.LossAfter, moved)
	for _, l := range res.Losses {
		if math.IsNaN(l) || math.IsInf(l, 0) || l <= 0 {
			t.Fatalf("loss %v", l)
		}
	}
	if moved < 1e-4 {
		t.Error("light finetuning through the denoising loss left A uniform")
	}
}

func TestSamplingRefusedForGAN(t *testing.T) {
	s, _ := newSession(t, 0)
	if s.Info().Sampling != nil || s.Info().SamplingLimits != nil {
		t.Error("a GAN reports sampler settings")
	}
	if _, err := s.SetSampling(models.Sampling{Steps: 10}); err == nil || !strings.Contains(err.Error(), "one pass") {
		t.Errorf("sampling settings for a GAN: %v", err)
	}
}
