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
// (what a NoiseImage model draws) plus a smooth per-pixel part: at the
// grid points (every MixedCell pixels) it spreads with MixedPixelScale,
// between them it changes by little from one pixel to the next (no
// grain), and the training noise is made the same way.
func TestMixedNoise(t *testing.T) {
	dev := testscenes.CPU()
	cfg := tinyG(3)
	cfg.Noise = NoiseMixed
	imageCfg := cfg
	imageCfg.Noise = NoiseImage
	const h, w = 128, 128
	hw := h * w
	// check takes the maps z (B, Z, h, w) and each image's vector.
	check := func(name string, z, vec []float32, b int) {
		var sum, sq float64
		n, steep := 0, 0.0
		for i := range b {
			for k := range cfg.ZDim {
				plane := z[(i*cfg.ZDim+k)*hw : (i*cfg.ZDim+k+1)*hw]
				part := func(y, x int) float64 { return float64(plane[y*w+x] - vec[i*cfg.ZDim+k]) }
				for y := range h {
					for x := range w {
						if x+1 < w {
							steep = math.Max(steep, math.Abs(part(y, x+1)-part(y, x)))
						}
						if y+1 < h {
							steep = math.Max(steep, math.Abs(part(y+1, x)-part(y, x)))
						}
						if y%MixedCell == 0 && x%MixedCell == 0 {
							sum += part(y, x)
							sq += part(y, x) * part(y, x)
							n++
						}
					}
				}
			}
		}
		mean := sum / float64(n)
		sd := math.Sqrt(sq/float64(n) - mean*mean)
		t.Logf("%s: per-pixel part at %d grid points: mean %.3f, sd %.3f; largest step between neighbours %.3f", name, n, mean, sd, steep)
		if math.Abs(mean) > 0.1 || sd < 0.8*MixedPixelScale || sd > 1.2*MixedPixelScale {
			t.Errorf("%s: the per-pixel part at the grid points has mean %.3f and sd %.3f, want 0 and %.2f", name, mean, sd, MixedPixelScale)
		}
		// Neighbouring grid values differ by less than 8 (a normal
		// difference of variance 2 beyond 5.6 sd), spread over a cell.
		if limit := MixedPixelScale * 8 / MixedCell; steep > limit {
			t.Errorf("%s: a step of %.3f between neighbouring pixels (grain; smooth allows %.3f)", name, steep, limit)
		}
	}
	g, err := NewGenerator(dev, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	gi, err := NewGenerator(dev, imageCfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer gi.Release()
	seeds := []uint64{11, 12}
	z, err := g.Noise(seeds, h, w).Data()
	if err != nil {
		t.Fatal(err)
	}
	vec, err := gi.Noise(seeds, h, w).Data()
	if err != nil {
		t.Fatal(err)
	}
	check("Noise", z, vec, 2)
	zt, err := g.trainingNoise(2, h, w, 99).Data()
	if err != nil {
		t.Fatal(err)
	}
	// The training draws of one seed: each image's first ZDim values are its vector.
	n := cfg.noiseDraws(h, w)
	all := models.NoiseValues(2*n, 99)
	check("trainingNoise", zt, append(slices.Clone(all[:cfg.ZDim]), all[n:n+cfg.ZDim]...), 2)
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

// TestPaddingFlatMap is the stripes mechanism in its smallest form: under
// one z per image a flat label map is a constant input, and an untrained
// generator turns it into a textured image with zero padding (the borders
// are its only spatial signal) but into an exactly flat one with reflect
// or replicate padding, for both normalisations.
func TestPaddingFlatMap(t *testing.T) {
	dev := testscenes.CPU()
	for _, norm := range []string{NormSPADE, NormCLADE} {
		for _, pad := range []string{"", "zeros", "reflect", "replicate"} {
			cfg := tinyG(3)
			cfg.Norm, cfg.Padding = norm, pad
			g, err := NewGenerator(dev, cfg, 11)
			if err != nil {
				t.Fatal(err)
			}
			g.Params().SetTraining(false)
			src, _ := models.OneHotLabels(dev, make([]int32, 32*32), 1, 32, 32, 3)
			img, err := g.Forward(src, g.Noise([]uint64{3}, 32, 32)).Data()
			g.Release()
			if err != nil {
				t.Fatal(err)
			}
			spread := 0.0
			for i, v := range img {
				spread = math.Max(spread, math.Abs(float64(v-img[i/(32*32)*32*32])))
			}
			t.Logf("%s, padding %q: largest pixel difference within a channel %.3g", norm, pad, spread)
			zeros := pad == "" || pad == "zeros"
			if zeros && spread < 1e-3 {
				t.Errorf("%s, zero padding: a flat map gave a flat image (spread %.3g); the test no longer shows the mechanism", norm, spread)
			}
			if !zeros && spread > 1e-5 {
				t.Errorf("%s, %s padding: a flat map gave pixel differences up to %.3g", norm, pad, spread)
			}
		}
	}
	bad := tinyG(3)
	bad.Padding = "circular"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "unknown padding") {
		t.Errorf("padding %q: %v", bad.Padding, err)
	}
}
