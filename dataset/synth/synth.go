// Package synth renders synthetic outdoor scenes with label maps: a source
// domain of 23 classes and target domains (coast, street, alpine) whose
// classes are drawn with the looks of their source relatives, so that class
// affinity transfer can be measured against a known ground truth (Relation).
//
// Rendering is deterministic: the same domain, seed, index and size give the
// same image and labels in every run on a given CPU architecture (Go may fuse
// multiply-adds on some architectures, which can move a soft edge by one
// pixel between, say, amd64 and arm64). It uses no files.
package synth

import (
	"image"
	"math/rand/v2"
)

// Render draws scene number index of the domain for a seed at w x h pixels.
// It returns the RGB image and the label map (row-major, one class index per
// pixel, every pixel labelled).
func (d *Domain) Render(seed uint64, index int, w, h int) (*image.RGBA, []uint8) {
	if w < 8 || h < 8 {
		panic("synth: Render needs at least 8x8 pixels")
	}
	r := rand.New(rand.NewPCG(seed, uint64(index)*0x9e3779b97f4a7c15+uint64(len(d.Name))))
	s := &scene{c: newCanvas(w, h), r: r, d: d, w: w, h: h, px: float32(w) / 128}
	s.setHorizon(s.rf(0.35, 0.55))
	s.cx = float32(w) / 2
	s.sun = s.rf(-1, 1)
	s.os = 1
	k := d.kindCum
	p := r.Float32()
	i := 0
	for i < len(k)-1 && p > k[i] {
		i++
	}
	// per-image exposure and colour temperature (overcast, warm, cool light)
	e := s.rf(0.85, 1.12)
	tint := [3]float32{1, 1, 1}
	switch r.IntN(4) {
	case 0:
		tint = [3]float32{1.06, 1, 0.92}
	case 1:
		tint = [3]float32{0.94, 0.99, 1.07}
	}
	s.c.grade = scale3(tint, e)
	d.kinds[i].fn(s)
	img := s.c.image()
	s.c.release()
	return img, s.c.lab
}

// setHorizon puts the horizon at fraction f of the height.
func (s *scene) setHorizon(f float32) {
	s.hy = f * float32(s.h)
	s.dyB = float32(s.h) - s.hy
}

// image converts the float planes to 8-bit RGBA with a little dithering.
func (c *canvas) image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	for i := 0; i < c.w*c.h; i++ {
		for ch := 0; ch < 3; ch++ {
			v := c.rgb[3*i+ch]*c.grade[ch]*255 + 0.5
			if v < 0 {
				v = 0
			} else if v > 255 {
				v = 255
			}
			img.Pix[4*i+ch] = uint8(v)
		}
		img.Pix[4*i+3] = 255
	}
	return img
}
