package diffusion

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden_sample.json from the CPU backend")

// goldenFile holds a fixed tiny model's samples (CHW, one 16 px image
// each) for the settings named in the keys.
const goldenFile = "testdata/golden_sample.json"

// goldenTolerance is the largest allowed difference per value: the CPU
// backend's kernels may round differently on another CPU (vector width,
// FMA), and 10 sampling steps carry that rounding forward; a change to the
// network, the schedule or the sampler moves values by far more.
const goldenTolerance = 1e-3

type goldenSample struct {
	Note    string               `json:"note"`
	Samples map[string][]float32 `json:"samples"`
}

// goldenSettings are the sampler runs the golden file pins: 10 guided DDIM
// steps, deterministic and with noise.
var goldenSettings = map[string]SampleOptions{
	"ddim10_eta0_guidance1.5":   {Method: MethodDDIM, Steps: 10, Eta: 0, Guidance: 1.5, Seed: 11},
	"ddim10_eta0.5_guidance1.5": {Method: MethodDDIM, Steps: 10, Eta: 0.5, Guidance: 1.5, Seed: 11},
}

// goldenOutScale is the std of the values given to the output convs: an
// untrained network's epsilon is far from noise, so many x0 predictions
// clip at +-1 whatever the scale; at 0.3 about 300 of the 768 values of the
// deterministic sample stay inside, which the test requires.
const goldenOutScale = 0.3

// goldenRun samples the fixed tiny model (init seed 3, output convs filled
// from a fixed stream) on a fixed 3-class map (vertical bands with a
// square) on the CPU backend.
func goldenRun(t *testing.T, o SampleOptions) []float32 {
	t.Helper()
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(3), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	// The zero-initialised output convs get small fixed values: large ones
	// saturate the clipped samples at +-1, where a golden sees nothing.
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range u.Params.All() {
		if d, _ := p.T.Data(); p.Trainable && maxAbs(d) == 0 {
			p.T.Upload(randn(r, len(d), goldenOutScale))
		}
	}
	const h, w = 16, 16
	y := make([]float32, 3*h*w)
	for i := range h {
		for j := range w {
			c := j * 2 / w // left half class 0, right half class 1
			if i >= 4 && i < 10 && j >= 5 && j < 11 {
				c = 2
			}
			y[c*h*w+i*w+j] = 1
		}
	}
	s, err := u.Sampler()
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Sample(context.Background(), dev.FromData(y, 1, 3, h, w), o)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestGoldenSample compares a fixed tiny model's 10-step DDIM samples with
// the committed golden values (go test -run TestGoldenSample -update
// rewrites them after an intended change). Another seed must land far
// outside the tolerance, so the comparison can fail.
func TestGoldenSample(t *testing.T) {
	got := map[string][]float32{}
	for name, o := range goldenSettings {
		got[name] = goldenRun(t, o)
	}
	if *updateGolden {
		g := goldenSample{Note: "models/diffusion TestGoldenSample: Tiny(3), init seed 3, fixed map, CPU backend; CHW 3x16x16", Samples: got}
		b, err := json.MarshalIndent(g, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenFile)
		return
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (go test -run TestGoldenSample -update writes it)", err)
	}
	var want goldenSample
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	for name := range goldenSettings {
		w, g := want.Samples[name], got[name]
		if len(w) != len(g) {
			t.Errorf("%s: %d golden values, the sample has %d", name, len(w), len(g))
			continue
		}
		inside := 0
		for _, v := range w {
			if math.Abs(float64(v)) < 0.99 {
				inside++
			}
		}
		if inside < 200 {
			t.Errorf("%s: only %d golden values are not clipped at +-1: the golden pins little", name, inside)
		}
		d := maxAbsDiff(w, g)
		t.Logf("%s: max abs difference from the golden %.2g (tolerance %g)", name, d, goldenTolerance)
		if d > goldenTolerance {
			t.Errorf("%s: sample differs from %s by %g (tolerance %g)", name, goldenFile, d, goldenTolerance)
		}
	}
	o := goldenSettings["ddim10_eta0_guidance1.5"]
	o.Seed++
	if d := maxAbsDiff(want.Samples["ddim10_eta0_guidance1.5"], goldenRun(t, o)); d < 100*goldenTolerance {
		t.Errorf("another seed is only %g from the golden: the tolerance cannot tell samples apart", d)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		if v := math.Abs(float64(a[i] - b[i])); v > d || math.IsNaN(v) {
			d = v
			if math.IsNaN(v) {
				return math.Inf(1)
			}
		}
	}
	return d
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}
