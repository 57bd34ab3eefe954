package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/f32"
	"gioui.org/io/pointer"

	"catsynth/dataset/synth"
	"catsynth/internal/testscenes"
	"catsynth/models/diffusion"
)

// tinyDiffusionFile saves an untrained 32 px diffusion model of the
// synthetic source classes whose output convs have small weights
// (testscenes.DiffusionModel).
func tinyDiffusionFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny-diffusion.safetensors.zst")
	if err := os.WriteFile(path, testscenes.DiffusionModel(t, synth.SourceClasses, 32, 4), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiffusionModel opens a diffusion model through the path field: the
// status names its sampler, the preview arrives through the sampler's
// steps, the region-style tool says the model cannot do it, and the steps
// slider (absent for a GAN) sets the sampler's steps.
func TestDiffusionModel(t *testing.T) {
	h := newHarness(t, "embedded:tiny32")
	u := h.u
	for _, n := range h.r.AppendSemantics(nil) {
		if n.Desc.Description == stepsDesc {
			t.Fatal("a GAN shows the sampler's steps slider")
		}
	}
	path := tinyDiffusionFile(t)
	u.path.SetText(path)
	shown := u.previews
	steps := 0
	h.click("Open model")
	h.waitFor("the diffusion model's image", func() bool {
		if strings.HasPrefix(u.status, "cannot") {
			t.Fatal(u.status)
		}
		steps = max(steps, u.renderStep.Steps)
		return u.info.Kind == diffusion.KindModel && u.previews > shown && !u.rendering
	})
	t.Logf("status: %s; most steps seen %d", u.status, steps)
	if steps < 2 || u.previews-shown < 2 {
		t.Errorf("%d sampler steps seen, %d previews shown: no progressive x0 preview", steps, u.previews-shown)
	}
	if !strings.Contains(u.status, "sampler") {
		t.Errorf("status %q does not describe the sampler", u.status)
	}
	if u.canRestyle {
		t.Error("a diffusion model claims region styles")
	}
	// Drag the steps slider near its left end: the setting reaches the
	// model, and the next image takes that many sampler steps, each with
	// its x0 preview.
	sl := h.find(stepsDesc)
	y := float32(sl.Min.Y+sl.Max.Y) / 2
	h.mouse(pointer.Press, f32.Pt(float32(sl.Max.X)-4, y))
	h.mouse(pointer.Drag, f32.Pt(float32(sl.Min.X)+float32(sl.Dx())/5, y))
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: f32.Pt(float32(sl.Min.X)+float32(sl.Dx())/5, y)})
	want := u.samp.wanted().Steps
	if want >= steps || want < 2 {
		t.Fatalf("the slider moved to %d steps (from %d)", want, steps)
	}
	seen := map[int]bool{}
	shown = u.previews
	h.waitFor("the image with the new steps", func() bool {
		if u.renderStep.Steps == want {
			seen[u.renderStep.Step] = true
		}
		return u.info.Sampling.Steps == want && u.previews-shown > want && !u.rendering
	})
	t.Logf("status: %s; steps seen %d of %d, %d previews", u.status, len(seen), want, u.previews-shown)
	if u.previews-shown != want+1 {
		t.Errorf("%d previews for %d steps: want one x0 preview per step and the image", u.previews-shown, want)
	}
	h.screenshot("catview-diffusion.png")
	h.click(toolNames[toolRestyle])
	h.mouse(pointer.Press, h.onScreen(4, 4))
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: f32.Pt(0, 0)})
	h.frame()
	if !strings.Contains(u.status, "cannot restyle") {
		t.Errorf("region style on a diffusion model: status %q", u.status)
	}
}
