package models

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// LossCurve draws the loss trace as a w x h line chart, one line per loss
// name (in sorted order, so colours stay put between runs), each smoothed by
// a moving average over about 1% of the steps, with a legend and the y range.
func LossCurve(trace []Losses, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	palette := []color.RGBA{{40, 160, 60, 255}, {40, 90, 200, 255}, {200, 40, 40, 255}, {150, 90, 180, 255}, {200, 140, 20, 255}, {20, 150, 160, 255}}
	type line struct {
		name string
		col  color.RGBA
		get  func(Losses) float32
	}
	var series []line
	for i, name := range LossNames(trace) {
		series = append(series, line{name, palette[i%len(palette)], func(l Losses) float32 { return l[name] }})
	}
	const left, right, top, bottom = 50, 10, 24, 24
	pw, ph := w-left-right, h-top-bottom
	gray := color.RGBA{160, 160, 160, 255}
	for x := left; x <= left+pw; x++ {
		img.Set(x, top+ph, gray)
		img.Set(x, top, gray)
	}
	for y := top; y <= top+ph; y++ {
		img.Set(left, y, gray)
		img.Set(left+pw, y, gray)
	}
	n := len(trace)
	win := max(1, n/100)
	smooth := make([][]float64, len(series))
	lo, hi := math.Inf(1), math.Inf(-1)
	for si, s := range series {
		sm := make([]float64, n)
		acc := 0.0
		for i, l := range trace {
			acc += float64(s.get(l))
			if i >= win {
				acc -= float64(s.get(trace[i-win]))
			}
			sm[i] = acc / float64(min(i+1, win))
			if !math.IsNaN(sm[i]) && !math.IsInf(sm[i], 0) {
				lo, hi = math.Min(lo, sm[i]), math.Max(hi, sm[i])
			}
		}
		smooth[si] = sm
	}
	if n == 0 || lo > hi {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-6 {
		hi = lo + 1
	}
	for si, s := range series {
		px, py := -1, -1
		for i, v := range smooth[si] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				px = -1
				continue
			}
			x := left + int(float64(i)/float64(max(n-1, 1))*float64(pw))
			y := top + ph - int((v-lo)/(hi-lo)*float64(ph))
			if px >= 0 {
				drawLine(img, px, py, x, y, s.col)
			}
			px, py = x, y
		}
		label(img, left+8+si*(w-left)/max(len(series), 1), 16, s.name, s.col)
	}
	label(img, 2, top+10, fmt.Sprintf("%.3g", hi), color.Black)
	label(img, 2, top+ph, fmt.Sprintf("%.3g", lo), color.Black)
	label(img, left, h-6, "step 0", color.Black)
	label(img, left+pw-70, h-6, fmt.Sprintf("step %d", n), color.Black)
	return img
}

// drawLine draws a straight line (Bresenham).
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(x int) int { return max(x, -x) }

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
