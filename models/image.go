package models

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"catsynth/nn"
)

// ToImages converts x (B, 3, H, W) with values in [-1, 1] into B RGBA
// images (v -> round((v+1)*127.5), clamped).
func ToImages(x *nn.Tensor) ([]*image.RGBA, error) {
	if x.Rank() != 4 || x.Dim(1) != 3 {
		panic(fmt.Sprintf("models: ToImages of %v, want (B, 3, H, W)", x.Shape()))
	}
	data, err := x.Data()
	if err != nil {
		return nil, err
	}
	return ImagesFromCHW(data, x.Dim(0), x.Dim(2), x.Dim(3)), nil
}

// ImagesFromCHW converts b images stored as NCHW floats in [-1, 1].
func ImagesFromCHW(data []float32, b, h, w int) []*image.RGBA {
	out := make([]*image.RGBA, b)
	for i := range b {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for p := range h * w {
			for c := range 3 {
				v := float64(data[(i*3+c)*h*w+p])
				if math.IsNaN(v) {
					v = -1
				}
				img.Pix[4*p+c] = uint8(math.Round(min(max((v+1)*127.5, 0), 255)))
			}
			img.Pix[4*p+3] = 255
		}
		out[i] = img
	}
	return out
}

// Grid tiles images (all the same size) in rows of cols, separated by a
// 2-pixel gray border.
func Grid(imgs []image.Image, cols int) *image.RGBA {
	if len(imgs) == 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	const pad = 2
	cols = max(1, min(cols, len(imgs)))
	rows := (len(imgs) + cols - 1) / cols
	b := imgs[0].Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{96, 96, 96, 255}), image.Point{}, draw.Src)
	for i, im := range imgs {
		x0, y0 := pad+(i%cols)*(w+pad), pad+(i/cols)*(h+pad)
		draw.Draw(out, image.Rect(x0, y0, x0+w, y0+h), im, im.Bounds().Min, draw.Src)
	}
	return out
}
