package testscenes

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/models/diffusion"
	"catsynth/nn"
)

// DiffusionModel returns the file of an untrained tiny diffusion model of
// the given classes at size px whose zero-initialised output convolutions
// (SDM's init: a fresh model's output ignores the labels) have small fixed
// weights instead, so that images depend on the label map and the seed.
func DiffusionModel(t testing.TB, classes []string, size int, seed uint64) []byte {
	t.Helper()
	c := diffusion.Tiny(len(classes))
	c.ImageSize, c.ClassNames = size, classes
	u, err := diffusion.NewUNet(CPU(), c, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	for _, p := range u.Params.All() {
		if isZeroInit(p) {
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
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// isZeroInit names the U-Net's zero-initialised convolution weights: the
// output conv and every residual block's last conv (out_layers.3 in
// encoder blocks, out_layers.2 in SDM blocks).
func isZeroInit(p *nn.Param) bool {
	return strings.HasPrefix(p.Name, "out.2.") || strings.HasSuffix(p.Name, "out_layers.3.weight") || strings.HasSuffix(p.Name, "out_layers.2.weight")
}
