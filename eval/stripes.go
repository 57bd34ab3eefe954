package eval

import (
	"image"
	"math"
)

// StripeEnergy measures the straight stripes an image generator can draw
// (lines that run the whole height or width, from a network that finds
// position in its zero padding): the root-mean-square of the column means
// of the gray image minus their 5-column moving average, and the same for
// rows. Texture that varies along a column averages out of its column
// mean; a stripe does not. Compare generated images with real images of
// the same label maps (StripeRatio).
func StripeEnergy(img image.Image) (cols, rows float64) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	colMean, rowMean := make([]float64, w), make([]float64, h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			v := (float64(r) + float64(g) + float64(bl)) / 3 / 257 // 0..255
			colMean[x] += v / float64(h)
			rowMean[y] += v / float64(w)
		}
	}
	return highPassRMS(colMean), highPassRMS(rowMean)
}

// highPassRMS is the RMS of v minus its 5-wide moving average.
func highPassRMS(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	e := 0.0
	for i := range v {
		s, n := 0.0, 0
		for k := max(0, i-2); k <= min(len(v)-1, i+2); k++ {
			s += v[k]
			n++
		}
		d := v[i] - s/float64(n)
		e += d * d
	}
	return math.Sqrt(e / float64(len(v)))
}

// StripeRatio is the mean stripe energy (columns and rows together) of
// generated images over that of real images: 1 means no more stripes than
// the real images have.
func StripeRatio(generated, real []image.Image) float64 {
	mean := func(imgs []image.Image) float64 {
		s := 0.0
		for _, im := range imgs {
			c, r := StripeEnergy(im)
			s += c + r
		}
		return s / float64(max(len(imgs), 1))
	}
	return mean(generated) / math.Max(mean(real), 1e-9)
}
