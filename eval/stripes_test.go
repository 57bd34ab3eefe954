package eval

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// TestStripeEnergy: full-height stripes score high in columns only;
// per-pixel noise of the same strength, which averages out of the column
// means, scores low; a smooth gradient scores about zero.
func TestStripeEnergy(t *testing.T) {
	const seed = 5
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	make := func(f func(x, y int) uint8) *image.Gray {
		im := image.NewGray(image.Rect(0, 0, 64, 64))
		for y := range 64 {
			for x := range 64 {
				im.SetGray(x, y, color.Gray{f(x, y)})
			}
		}
		return im
	}
	stripes := make(func(x, y int) uint8 { return uint8(100 + 40*(x%2)) })
	noise := make(func(x, y int) uint8 { return uint8(100 + r.IntN(41)) })
	ramp := make(func(x, y int) uint8 { return uint8(2 * x) })
	sc, sr := StripeEnergy(stripes)
	nc, nr := StripeEnergy(noise)
	rc, rr := StripeEnergy(ramp)
	t.Logf("stripes %.2f/%.2f noise %.2f/%.2f ramp %.2f/%.2f", sc, sr, nc, nr, rc, rr)
	if sc < 15 || sr > 0.01 {
		t.Errorf("vertical stripes: columns %.2f rows %.2f", sc, sr)
	}
	if nc > 3 || nr > 3 {
		t.Errorf("pixel noise: %.2f / %.2f, want small", nc, nr)
	}
	if rc > 0.5 || rr > 0.01 {
		t.Errorf("ramp: %.2f / %.2f, want about 0", rc, rr)
	}
	if q := StripeRatio([]image.Image{stripes}, []image.Image{noise}); q < 3 {
		t.Errorf("stripe ratio of stripes over noise %.2f", q)
	}
}

// TestDiversity: identical rows have none, orthogonal unit rows sqrt(2),
// and scale does not matter.
func TestDiversity(t *testing.T) {
	same := Features{{1, 2, 3}, {2, 4, 6}}
	orth := Features{{1, 0}, {0, 5}}
	if d := Diversity(same); d > 1e-12 {
		t.Errorf("parallel rows: %g", d)
	}
	if d := Diversity(orth); d < 1.414 || d > 1.415 {
		t.Errorf("orthogonal rows: %g, want sqrt(2)", d)
	}
	if d := Diversity(Features{{1, 0}}); d != 0 {
		t.Errorf("one row: %g", d)
	}
}

// TestPixelDiversity: identical images have none, black against white
// 255, and the mean runs over all pairs.
func TestPixelDiversity(t *testing.T) {
	fill := func(v uint8) image.Image {
		im := image.NewRGBA(image.Rect(0, 0, 4, 3))
		for i := range im.Pix {
			im.Pix[i] = v
		}
		return im
	}
	black, white, gray := fill(0), fill(255), fill(51)
	cases := []struct {
		name string
		imgs []image.Image
		want float64
	}{
		{"same", []image.Image{gray, gray}, 0},
		{"black-white", []image.Image{black, white}, 255},
		{"three", []image.Image{black, gray, white}, (51 + 255 + 204) / 3.0},
		{"one", []image.Image{gray}, 0},
	}
	for _, c := range cases {
		if d := PixelDiversity(c.imgs); math.Abs(d-c.want) > 1e-9 {
			t.Errorf("%s: %g, want %g", c.name, d, c.want)
		}
	}
}
