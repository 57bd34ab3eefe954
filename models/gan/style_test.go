package gan

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/models"
)

// TestGenerateStyled: a style map with one seed per image reproduces
// Generate for both noise modes; a second style on the left half changes
// the left strip far more than the far right one; bad maps are refused.
func TestGenerateStyled(t *testing.T) {
	for _, mode := range []string{NoiseImage, NoisePixel, NoiseMixed} {
		t.Run(mode, func(t *testing.T) {
			seed := uint64(rand.Uint32())
			t.Logf("seed %d", seed)
			r := rand.New(rand.NewPCG(seed, 1))
			dev := testscenes.CPU()
			cfg := tinyG(3)
			cfg.Noise = mode
			g, err := NewGenerator(dev, cfg, seed)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			g.Params().SetTraining(false)
			const h, w = 32, 32
			lab := blobLabels(r, 2, h, w, 3)
			c := models.Conditioned{Net: g}
			seeds := []uint64{r.Uint64(), r.Uint64()}
			want, err := c.Generate(context.Background(), lab, h, w, seeds, nil)
			if err != nil {
				t.Fatal(err)
			}
			idx := make([]int32, 2*h*w)
			for i := h * w; i < len(idx); i++ {
				idx[i] = 1
			}
			got, err := c.GenerateStyled(context.Background(), lab, h, w, models.StyleMap{Seeds: seeds, Index: idx}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := maxDiff(want[i].Pix, got[i].Pix); d > 1 {
					t.Errorf("image %d: styled with its own seed differs from Generate by %d", i, d)
				}
			}
			// Image 0: the left strip (x < 8) on a new style.
			styles := models.StyleMap{Seeds: []uint64{seeds[0], seeds[1], seeds[0] + 12345}, Index: idx}
			for y := range h {
				for x := range 8 {
					idx[y*w+x] = 2
				}
			}
			re, err := c.GenerateStyled(context.Background(), lab, h, w, styles, nil)
			if err != nil {
				t.Fatal(err)
			}
			left, right := 0.0, 0.0
			for y := range h {
				for x := range w {
					o := y*re[0].Stride + 4*x
					d := maxDiff(want[0].Pix[o:o+3], re[0].Pix[o:o+3])
					if x < 8 {
						left += float64(d)
					} else if x >= 24 {
						right += float64(d)
					}
				}
			}
			// Both strips are 8 px wide: the change concentrates in the
			// restyled one (the low-resolution layers spread a little).
			t.Logf("sum of differences: restyled strip %.0f, far strip %.0f", left, right)
			if left == 0 || right >= left/2 {
				t.Errorf("a new style on the left strip changed it by %.0f and the far strip by %.0f", left, right)
			}
			if d := maxDiff(want[1].Pix, re[1].Pix); d > 1 {
				t.Errorf("image 1 changed by %d with its own style unchanged", d)
			}
			for _, bad := range []struct {
				name   string
				styles models.StyleMap
				want   string
			}{
				{"short", models.StyleMap{Seeds: seeds, Index: idx[:10]}, "not a whole number"},
				{"range", models.StyleMap{Seeds: seeds[:1], Index: idx}, "has style"},
			} {
				if _, err := c.GenerateStyled(context.Background(), lab, h, w, bad.styles, nil); err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("%s: %v, want an error with %q", bad.name, err, bad.want)
				}
			}
		})
	}
}

func maxDiff(a, b []uint8) int {
	m := 0
	for i := range a {
		m = max(m, int(math.Abs(float64(a[i])-float64(b[i]))))
	}
	return m
}
