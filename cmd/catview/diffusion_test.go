package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/f32"
	"gioui.org/io/pointer"

	"catsynth/dataset/synth"
	"catsynth/models/diffusion"
	"catsynth/nn"
)

// tinyDiffusionFile saves an untrained 32 px diffusion model of the
// synthetic source classes, its output convs given small weights (they
// start at zero, which would make the image ignore the labels).
func tinyDiffusionFile(t *testing.T) string {
	t.Helper()
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	c := diffusion.Tiny(len(synth.SourceClasses))
	c.ImageSize, c.ClassNames = 32, synth.SourceClasses
	u, err := diffusion.NewUNet(dev, c, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	for _, p := range u.Params.All() {
		if strings.HasPrefix(p.Name, "out.2.") || strings.HasSuffix(p.Name, "out_layers.3.weight") || strings.HasSuffix(p.Name, "out_layers.2.weight") {
			v := make([]float32, p.T.Numel())
			for i := range v {
				v[i] = 0.05 * float32(math.Sin(float64(i)*0.7))
			}
			p.T.Upload(v)
		}
	}
	path := filepath.Join(t.TempDir(), "tiny-diffusion.safetensors.zst")
	if err := diffusion.Save(path, u, nil, false); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiffusionModel opens a diffusion model through the path field: the
// status names its sampler, the preview arrives through the sampler's
// steps, and the region-style tool says the model cannot do it.
func TestDiffusionModel(t *testing.T) {
	h := newHarness(t, "embedded:tiny32")
	u := h.u
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
	h.click(toolNames[toolRestyle])
	h.mouse(pointer.Press, h.onScreen(4, 4))
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: f32.Pt(0, 0)})
	h.frame()
	if !strings.Contains(u.status, "cannot restyle") {
		t.Errorf("region style on a diffusion model: status %q", u.status)
	}
}
