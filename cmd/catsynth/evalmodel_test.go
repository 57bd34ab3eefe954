package main

import (
	"image"
	"math"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"catsynth/eval"
	"catsynth/internal/testscenes"
	"catsynth/models/gan"
	"catsynth/weights/ganmodels"
)

// modelScores are the numbers `eval --model` prints.
type modelScores struct {
	stripes, seedDiv, mapDiv, realDiv, seedPix, realPix float64
}

var (
	stripesLine = regexp.MustCompile(`stripes: ([0-9.]+) x`)
	seedLine    = regexp.MustCompile(`seed diversity: ([0-9.]+)`)
	mapLine     = regexp.MustCompile(`map diversity: generated ([0-9.]+), real ([0-9.]+)`)
	pixelLine   = regexp.MustCompile(`seeds of one map ([0-9.]+), real images of different maps ([0-9.]+)`)
)

// evalModelScores runs `eval --model` and parses what it prints.
func evalModelScores(t *testing.T, args ...string) modelScores {
	t.Helper()
	out, errOut, code := runCLI(t, "", append([]string{"eval"}, args...)...)
	if code != 0 {
		t.Fatalf("eval %v: exit %d\n%s%s", args, code, out, errOut)
	}
	num := func(re *regexp.Regexp, group int) float64 {
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("eval %v: no %q in\n%s", args, re, out)
		}
		v, err := strconv.ParseFloat(m[group], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("eval %v: %q: %v", args, m[0], err)
		}
		return v
	}
	t.Logf("eval %v:\n%s", args, out)
	return modelScores{num(stripesLine, 1), num(seedLine, 1), num(mapLine, 1), num(mapLine, 2), num(pixelLine, 1), num(pixelLine, 2)}
}

// TestEvalModelScores: `eval --model` prints every score, each in its
// range, and refuses fewer than two maps or seeds.
func TestEvalModelScores(t *testing.T) {
	s := evalModelScores(t, "--model", "embedded:tiny32", "--n", "3", "--seeds", "2")
	for _, c := range []struct {
		name   string
		v, max float64
	}{{"stripes", s.stripes, 100}, {"seed diversity", s.seedDiv, 2}, {"map diversity", s.mapDiv, 2}, {"real diversity", s.realDiv, 2}, {"seed pixels", s.seedPix, 255}, {"real pixels", s.realPix, 255}} {
		if c.v < 0 || c.v > c.max {
			t.Errorf("%s %g outside [0, %g]", c.name, c.v, c.max)
		}
	}
	if s.realDiv == 0 || s.realPix == 0 {
		t.Errorf("real images of different maps do not differ: %+v", s)
	}
	if _, _, code := runCLI(t, "", "eval", "--model", "embedded:tiny32", "--n", "3", "--seeds", "1"); code == 0 {
		t.Error("--seeds 1 accepted")
	}
}

// TestShippedModelsStripesAndSeeds is the regression test of the stripes
// and the seed diversity of the embedded GAN models (issue 14; docs/GAN.md,
// "Stripes" and "Seed diversity"): on 8 held-out source maps, 3 seeds each,
// the column/row stripe energy over that of the real images stays under
// its bound and a new seed changes the image by at least its bound (mean
// |RGB difference|). The bounds sit a little past what the shipped files
// measure (source128: stripes 1.79, seeds 17.8; source64, reflect padding
// since 2026-12-04: 0.41 and 23.0; with zero padding it was 0.83 and
// 16.0), so a model that draws more stripes or ignores its noise more
// fails; a model trained to fix the stripes tightens them.
func TestShippedModelsStripesAndSeeds(t *testing.T) {
	cases := []struct {
		model                string
		maxStripes, minSeeds float64
	}{
		{"embedded:source128", 1.9, 15},
		{"embedded:source64", 0.5, 20},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			s := evalModelScores(t, "--model", c.model, "--n", "8", "--seeds", "3")
			if s.stripes > c.maxStripes {
				t.Errorf("stripes %.2f x the real images', bound %.2f", s.stripes, c.maxStripes)
			}
			if s.seedPix < c.minSeeds {
				t.Errorf("a new seed changes the image by %.1f (mean |RGB difference|), bound %.1f", s.seedPix, c.minSeeds)
			}
		})
	}
}

// TestShippedModelsBorderFree is the regression test of the stripes'
// cause (docs/GAN.md, "Stripes"): a flat label map ("grass" everywhere),
// drawn at twice the model's size, must have no more column structure
// within 16 px of the left border than in the middle 16 columns. With zero
// padding the borders are the network's only spatial signal under one z
// per image, and the shipped zero-padded models draw their stripes there;
// the models listed here were trained with reflect padding.
func TestShippedModelsBorderFree(t *testing.T) {
	for _, name := range []string{"source64"} {
		t.Run(name, func(t *testing.T) {
			data, err := ganmodels.Bytes(name)
			if err != nil {
				t.Fatal(err)
			}
			g, err := gan.LoadGeneratorBytes(testscenes.CPU(), data, name)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			if g.Config.Padding != "reflect" {
				t.Fatalf("%s has padding %q; this test holds the reflect-padded models", name, g.Config.Padding)
			}
			grass := slices.Index(g.Config.ClassNames, "grass")
			if grass < 0 {
				t.Fatalf("%s has no class grass: %v", name, g.Config.ClassNames)
			}
			h, w := 2*g.Config.H, 2*g.Config.W
			labels := make([]int32, h*w)
			for i := range labels {
				labels[i] = int32(grass)
			}
			for _, seed := range []uint64{1, 2} {
				imgs, err := g.GenerateLabels(labels, h, w, []uint64{seed})
				if err != nil {
					t.Fatal(err)
				}
				img := imgs[0]
				strip := func(x0 int) float64 {
					cols, _ := eval.StripeEnergy(img.SubImage(image.Rect(x0, 0, x0+16, h)))
					return cols
				}
				border, middle := strip(0), strip(w/2-8)
				t.Logf("seed %d, %dx%d flat map: column energy %.4f within 16 px of the border, %.4f in the middle", seed, w, h, border, middle)
				if border > 2*middle+0.05 {
					t.Errorf("seed %d: the border draws column structure (%.4f against %.4f in the middle)", seed, border, middle)
				}
			}
		})
	}
}
