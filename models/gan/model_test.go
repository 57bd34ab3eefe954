package gan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"catsynth/internal/testscenes"

	"catsynth/models"

	"catsynth/nn"
)

func TestGeneratorForwardShapes(t *testing.T) {
	cases := []struct {
		name string
		cfg  GeneratorConfig
		b    int
	}{
		{"64 spade", GeneratorConfig{LabelNC: 6, ZDim: 8, Channels: 2, NumBlocks: 5, H: 64, W: 64, SPADEHidden: 8}, 2},
		{"128 clade", GeneratorConfig{LabelNC: 6, ZDim: 8, Channels: 2, NumBlocks: 6, H: 128, W: 128, Norm: NormCLADE}, 1},
		{"512x256 clade", GeneratorConfig{LabelNC: 3, ZDim: 4, Channels: 1, NumBlocks: 6, H: 256, W: 512, Norm: NormCLADE}, 1},
		{"32 no noise", GeneratorConfig{LabelNC: 4, Channels: 2, NumBlocks: 3, H: 32, W: 32, SPADEHidden: 4}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := testscenes.CPU()
			g, err := NewGenerator(dev, c.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			s := dev.Scope()
			defer s.Close()
			y := dev.Zeros(c.b, c.cfg.LabelNC, c.cfg.H, c.cfg.W)
			var z *nn.Tensor
			if c.cfg.ZDim > 0 {
				z = models.NoiseBatch(dev, c.b, c.cfg.ZDim, 1)
			}
			out := g.Forward(y, z)
			want := []int{c.b, 3, c.cfg.H, c.cfg.W}
			if fmt.Sprint(out.Shape()) != fmt.Sprint(want) {
				t.Fatalf("output %v, want %v", out.Shape(), want)
			}
			data, err := out.Data()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range data {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("output[%d] = %v outside tanh's range", i, v)
				}
			}
		})
	}
}

func TestDiscriminatorForwardShape(t *testing.T) {
	dev := testscenes.CPU()
	d, err := NewDiscriminator(dev, tinyD(5), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	for _, hw := range [][2]int{{32, 32}, {16, 32}} {
		s := dev.Scope()
		out := d.Forward(dev.Zeros(2, 3, hw[0], hw[1]))
		if want := []int{2, 6, hw[0], hw[1]}; fmt.Sprint(out.Shape()) != fmt.Sprint(want) {
			t.Errorf("input %v: output %v, want %v", hw, out.Shape(), want)
		}
		s.Close()
	}
}

func TestConfigErrors(t *testing.T) {
	ok := tinyG(5)
	cases := []struct {
		name string
		mod  func(*GeneratorConfig)
	}{
		{"no labels", func(c *GeneratorConfig) { c.LabelNC = 0 }},
		{"too many blocks", func(c *GeneratorConfig) { c.NumBlocks = 7 }},
		{"size not multiple", func(c *GeneratorConfig) { c.H = 34 }},
		{"bad norm", func(c *GeneratorConfig) { c.Norm = "instance" }},
		{"even kernel", func(c *GeneratorConfig) { c.SPADEKernel = 2 }},
		{"class names", func(c *GeneratorConfig) { c.ClassNames = []string{"a"} }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, c := range cases {
		cfg := ok
		c.mod(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: no error", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	if _, err := NewTrainer(testscenes.CPU(), tinyG(5), tinyD(6), TrainConfig{}); err == nil {
		t.Error("class count mismatch between G and D: no error")
	}
}

// TestMixedNoise: NoiseMixed is the per-image vector of the same seed
// (what a NoiseImage model draws) at every pixel plus MixedPixelScale times
// a per-pixel part: its mean over pixels is the image vector, its spread
// about it is MixedPixelScale, and the training noise is mixed the same way.
func TestMixedNoise(t *testing.T) {
	dev := testscenes.CPU()
	cfg := tinyG(3)
	cfg.Noise = NoiseMixed
	g, err := NewGenerator(dev, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	imageCfg := cfg
	imageCfg.Noise = NoiseImage
	gi, err := NewGenerator(dev, imageCfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer gi.Release()
	const h, w = 32, 32
	hw := h * w
	seeds := []uint64{11, 12}
	check := func(name string, z, vec []float32) {
		for i := range seeds {
			for k := range cfg.ZDim {
				plane := z[(i*cfg.ZDim+k)*hw : (i*cfg.ZDim+k+1)*hw]
				mean, sq := 0.0, 0.0
				for _, v := range plane {
					mean += float64(v)
				}
				mean /= float64(hw)
				for _, v := range plane {
					sq += (float64(v) - mean) * (float64(v) - mean)
				}
				sd := math.Sqrt(sq / float64(hw-1))
				// The mean of hw draws of sd 0.5 is within 5 standard errors.
				if d := math.Abs(mean - float64(vec[i*cfg.ZDim+k])); d > 5*MixedPixelScale/math.Sqrt(float64(hw)) {
					t.Errorf("%s: image %d channel %d: mean over pixels %.4f, image vector %.4f", name, i, k, mean, vec[i*cfg.ZDim+k])
				}
				if sd < 0.8*MixedPixelScale || sd > 1.2*MixedPixelScale {
					t.Errorf("%s: image %d channel %d: spread about the mean %.3f, want about %.2f", name, i, k, sd, MixedPixelScale)
				}
			}
		}
	}
	z, err := g.Noise(seeds, h, w).Data()
	if err != nil {
		t.Fatal(err)
	}
	vec, err := gi.Noise(seeds, h, w).Data()
	if err != nil {
		t.Fatal(err)
	}
	check("Noise", z, vec)
	zt, err := g.trainingNoise(2, h, w, 99).Data()
	if err != nil {
		t.Fatal(err)
	}
	// The training draws of one seed: each image's first ZDim values are its vector.
	all := models.NoiseValues(2*cfg.noiseDraws(hw), 99)
	tv := append(slices.Clone(all[:cfg.ZDim]), all[cfg.noiseDraws(hw):cfg.noiseDraws(hw)+cfg.ZDim]...)
	check("trainingNoise", zt, tv)
}

// TestPixelNoise: with NoisePixel every pixel gets its own z, drawn from
// the image's seed: the same seed gives the same image, another seed
// another one, and a flat label map no longer gives a flat input.
func TestPixelNoise(t *testing.T) {
	dev := testscenes.CPU()
	cfg := tinyG(3)
	cfg.Noise = NoisePixel
	g, err := NewGenerator(dev, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	z := g.Noise([]uint64{1, 2}, 32, 32)
	if got := z.Shape(); len(got) != 4 || got[0] != 2 || got[1] != cfg.ZDim || got[2] != 32 || got[3] != 32 {
		t.Fatalf("noise map %v", got)
	}
	zd, err := z.Data()
	if err != nil {
		t.Fatal(err)
	}
	plane := 32 * 32
	if zd[0] == zd[1] || zd[0] == zd[cfg.ZDim*plane] {
		t.Error("noise repeats across pixels or images")
	}
	g.Params().SetTraining(false)
	src, _ := models.OneHotLabels(dev, make([]int32, 32*32), 1, 32, 32, 3) // one class everywhere
	out := func(seed uint64) []float32 {
		d, err := g.Forward(src, g.Noise([]uint64{seed}, 32, 32)).Data()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b, c := out(7), out(7), out(8)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("per-pixel noise is not determined by the seed")
	}
	if a[0] == a[1] && a[1] == a[2] && a[2] == a[33] {
		t.Error("a flat map with per-pixel noise gives a flat image")
	}
	bad := cfg
	bad.Noise = "spatial"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "unknown noise") {
		t.Errorf("noise %q: %v", bad.Noise, err)
	}
}
