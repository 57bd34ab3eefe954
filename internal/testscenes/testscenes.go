// Package testscenes makes tiny random labelled batches for the tests of
// the model packages: label maps with region structure and images whose
// colours are a learnable function of the class.
package testscenes

import "math/rand/v2"

// Labels draws b label maps of h x w with n classes: per-pixel noise with
// rects axis-aligned rectangles of one class on top (so classes form
// regions, as in real maps). Layout (b, h, w).
func Labels(r *rand.Rand, b, h, w, n, rects int) []int32 {
	lab := make([]int32, b*h*w)
	for i := range b {
		img := lab[i*h*w : (i+1)*h*w]
		for j := range img {
			img[j] = int32(r.IntN(n))
		}
		for range rects {
			c := int32(r.IntN(n))
			y0, x0 := r.IntN(h), r.IntN(w)
			y1, x1 := y0+1+r.IntN(h-y0), x0+1+r.IntN(w-x0)
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					img[y*w+x] = c
				}
			}
		}
	}
	return lab
}

// Images colours each class of the (b, h, w) maps lab differently, in
// [-1, 1], as (b, 3, h, w); unlabelled pixels (negative) are -1.
func Images(lab []int32, b, h, w, n int) []float32 {
	img := make([]float32, b*3*h*w)
	for i := range b {
		for p := range h * w {
			c := lab[i*h*w+p]
			for ch := range 3 {
				v := float32(-1)
				if c >= 0 {
					v = float32((int(c)*(ch+2))%n)/float32(n)*2 - 1
				}
				img[(i*3+ch)*h*w+p] = v
			}
		}
	}
	return img
}
