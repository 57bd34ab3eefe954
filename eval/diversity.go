package eval

import "math"

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
