package keras

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"catsynth/backbone"
	"catsynth/nn"
)

// TestCommittedBackbonesMatchImport checks the converted weights under
// weights/backbones against a fresh float32 import from the pinned package:
// same Spec, and features within float16 rounding.
func TestCommittedBackbonesMatchImport(t *testing.T) {
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	var pkg string
	for _, m := range NSFWJSModels {
		path := filepath.Join("..", "..", "weights", "backbones", BackboneFile(m))
		if _, err := os.Stat(path); err != nil {
			t.Logf("%s: not present (run catsynth import tfjs)", path)
			continue
		}
		saved, err := backbone.Load(dev, path)
		if err != nil {
			t.Fatal(err)
		}
		if pkg == "" {
			pkg = nsfwjsPackage(t)
		}
		fresh, err := ImportNSFWJS(dev, pkg, m)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Spec.Name != fresh.Spec.Name || len(saved.Spec.Nodes) != len(fresh.Spec.Nodes) {
			t.Errorf("%s: committed spec %q (%d nodes) differs from import %q (%d nodes)", m, saved.Spec.Name, len(saved.Spec.Nodes), fresh.Spec.Name, len(fresh.Spec.Nodes))
		}
		s := fresh.Spec
		const seed = 77
		x := dev.FromData(nhwcToNCHW(testImages(seed, 1, s.InputH, s.InputW), 1, s.InputH, s.InputW, 3), 1, 3, s.InputH, s.InputW)
		a, err := saved.Forward(x, s.Features)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fresh.Forward(x, s.Features)
		if err != nil {
			t.Fatal(err)
		}
		fa, _ := a[0].Data()
		fb, _ := b[0].Data()
		worst, scale := 0.0, 0.0
		for i := range fb {
			worst = math.Max(worst, math.Abs(float64(fa[i]-fb[i])))
			scale = math.Max(scale, math.Abs(float64(fb[i])))
		}
		t.Logf("%s (seed %d): committed vs fresh f32 import: max diff %.3g (max |feature| %.3g)", m, seed, worst, scale)
		if worst > 0.005*scale {
			t.Errorf("%s: committed weights give features off by %.3g (scale %.3g)", m, worst, scale)
		}
		for _, t := range []*nn.Tensor{x, a[0], b[0]} {
			t.Release()
		}
		saved.Release()
		fresh.Release()
	}
}

// TestCommittedBackbonesLoad needs no network: every converted file under
// weights/backbones loads, names its network and yields finite features of
// the advertised size.
func TestCommittedBackbonesLoad(t *testing.T) {
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range NSFWJSModels {
		path := filepath.Join("..", "..", "weights", "backbones", BackboneFile(m))
		if _, err := os.Stat(path); err != nil {
			continue
		}
		found++
		net, err := backbone.Load(dev, path)
		if err != nil {
			t.Fatal(err)
		}
		s := net.Spec
		if s.Name != nsfwjsNames[m] {
			t.Errorf("%s: network name %q, want %q", m, s.Name, nsfwjsNames[m])
		}
		x := dev.FromData(nhwcToNCHW(testImages(3, 1, s.InputH, s.InputW), 1, s.InputH, s.InputW, 3), 1, 3, s.InputH, s.InputW)
		ys, err := net.Forward(x, s.Features, s.Output)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := ys[0].Data()
		p, _ := ys[1].Data()
		want := map[string]int{"mobilenet_v2": 1280, "inception_v3": 2048}[m]
		sum := 0.0
		for _, v := range p {
			sum += float64(v)
		}
		if len(f) != want || len(p) != 5 || math.Abs(sum-1) > 1e-4 {
			t.Errorf("%s: %d features (want %d), %d probabilities summing to %g", m, len(f), want, len(p), sum)
		}
		for _, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
				t.Fatalf("%s: feature %v (pooled ReLU outputs are finite and >= 0)", m, v)
			}
		}
		x.Release()
		ys[0].Release()
		ys[1].Release()
		net.Release()
	}
	if found == 0 {
		t.Skip("no converted backbones under weights/backbones")
	}
}
