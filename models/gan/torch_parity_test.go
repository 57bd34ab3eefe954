package gan

import (
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"catsynth/internal/torchpeer"

	"catsynth/internal/testscenes"

	"catsynth/nn"
	"catsynth/nn/safetensors"
)

// TestTorchParity builds the generator in PyTorch from this package's
// checkpoint (scripts/torch_oasis_generator.py --parity: the official OASIS
// module names, torch.nn.utils.spectral_norm, BatchNorm2d in eval mode),
// runs both on the same one-hot map and z, and compares the images. It
// checks that the parameter names and the computation really are OASIS's:
// a converted official checkpoint gives the same images here. Skipped where
// no Python has torch (CI); docs/GAN.md records a run.
func TestTorchParity(t *testing.T) {
	py := torchpeer.Python(t)
	script, err := filepath.Abs("../../scripts/torch_oasis_generator.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, norm := range []string{NormSPADE, NormCLADE} {
		t.Run(norm, func(t *testing.T) {
			r, seed := testscenes.RNG(t)
			dev := testscenes.CPU()
			cfg := tinyG(5)
			cfg.Norm, cfg.ZDim = norm, 6
			g, err := NewGenerator(dev, cfg, seed)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			// Running statistics from training-mode forwards (fresh ones, 0
			// and 1, let the activations grow until tanh saturates and every
			// image is +-1, which would hide any difference).
			const b, h, w = 2, 32, 32
			g.Params().SetTraining(true)
			for range 30 {
				dev.NoGrad(func() {
					sc := dev.Scope()
					defer sc.Close()
					y := nn.OneHot(dev.FromData(toFloat(blobLabels(r, b, h, w, cfg.LabelNC)), b, h, w), cfg.LabelNC)
					g.Forward(y, dev.FromData(randomValues(r, b*cfg.ZDim, -1, 1), b, cfg.ZDim))
				})
			}
			g.Params().SetTraining(false)
			lab := blobLabels(r, b, h, w, cfg.LabelNC)
			z := randomValues(r, b*cfg.ZDim, -1, 1)
			var onehot, out []float32
			dev.NoGrad(func() {
				y := nn.OneHot(dev.FromData(toFloat(lab), b, h, w), cfg.LabelNC)
				onehot, _ = y.Data()
				out, _ = g.Forward(y, dev.FromData(z, b, cfg.ZDim)).Data()
			})
			dir := t.TempDir()
			if err := SaveGenerator(filepath.Join(dir, "generator.safetensors"), g.Params().All(), cfg, stepMeta(0), false); err != nil {
				t.Fatal(err)
			}
			io := []safetensors.Tensor{
				{Name: "onehot", Shape: []int{b, cfg.LabelNC, h, w}, Data: onehot},
				{Name: "z", Shape: []int{b, cfg.ZDim}, Data: z},
				{Name: "image", Shape: []int{b, 3, h, w}, Data: out},
			}
			if err := safetensors.WriteFile(filepath.Join(dir, "io.safetensors"), io, nil, safetensors.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := exec.Command(py, script, "--parity", dir).CombinedOutput()
			t.Logf("%s", res)
			if err != nil {
				t.Fatalf("%s --parity: %v", filepath.Base(script), err)
			}
			diff := parseMaxDiff(t, string(res))
			if diff > 1e-4 {
				t.Errorf("PyTorch and catsynth images differ by %g (tolerance 1e-4)", diff)
			}
		})
	}
}

func randomValues(r *rand.Rand, n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	return v
}

func toFloat(x []int32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// parseMaxDiff reads the "max abs diff X" line the script prints.
func parseMaxDiff(t *testing.T, out string) float64 {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "max abs diff "); ok {
			f, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err == nil {
				return f
			}
		}
	}
	t.Fatalf("no %q line in the script's output", "max abs diff")
	return 0
}
