package eval

import (
	"image"
	"math"
)

// Diversity is the mean pairwise distance between feature rows, each
// normalised to unit length: a perceptual spread (an LPIPS-like distance
// on the shipped feature network). Of the images of one label map made
// with several seeds it is how much "new style" changes; of real images of
// different maps it is the reference spread of the data.
func Diversity(f Features) float64 {
	unit := make([][]float64, len(f))
	for i, r := range f {
		n := 0.0
		for _, v := range r {
			n += v * v
		}
		n = math.Sqrt(n)
		unit[i] = make([]float64, len(r))
		for j, v := range r {
			if n > 0 {
				unit[i][j] = v / n
			}
		}
	}
	s, k := 0.0, 0
	for i := range unit {
		for j := i + 1; j < len(unit); j++ {
			d := 0.0
			for c := range unit[i] {
				x := unit[i][c] - unit[j][c]
				d += x * x
			}
			s += math.Sqrt(d)
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

// PixelDiversity is the mean pairwise distance between images in pixel
// space: the mean absolute difference of their RGB values (0..255) over
// the pixels they share. Beside Diversity it says how much of an image a
// new seed changes, where pooled features can move with little change.
func PixelDiversity(imgs []image.Image) float64 {
	s, k := 0.0, 0
	for i := range imgs {
		for j := i + 1; j < len(imgs); j++ {
			s += pixelDistance(imgs[i], imgs[j])
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

func pixelDistance(a, b image.Image) float64 {
	ra, rb := a.Bounds(), b.Bounds()
	w, h := min(ra.Dx(), rb.Dx()), min(ra.Dy(), rb.Dy())
	if w == 0 || h == 0 {
		return 0
	}
	d := 0.0
	for y := range h {
		for x := range w {
			r1, g1, b1, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			d += math.Abs(float64(r1)-float64(r2)) + math.Abs(float64(g1)-float64(g2)) + math.Abs(float64(b1)-float64(b2))
		}
	}
	return d / 257 / float64(3*w*h)
}
