package synth

import (
	"math"
	"math/rand/v2"
	"sync"
)

// canvas is an image being painted back to front: float RGB planes and a
// label plane. A layer's coverage a (0..1, soft at edges) blends its colour
// over what is there, and it takes the label where a >= 0.5, so labels are the
// hard version of the soft image edges.
type canvas struct {
	w, h    int
	rgb     []float32 // 3 * w * h, interleaved
	lab     []uint8
	hazeCol [3]float32
	grade   [3]float32 // exposure and colour temperature applied on output
}

// rgbPool recycles the float planes between renders (they do not escape
// Render), which keeps the garbage collector out of the hot loop.
var rgbPool sync.Pool

func newCanvas(w, h int) *canvas {
	var rgb []float32
	if p, ok := rgbPool.Get().(*[]float32); ok && cap(*p) >= 3*w*h {
		rgb = (*p)[:3*w*h]
		clear(rgb)
	} else {
		rgb = make([]float32, 3*w*h)
	}
	return &canvas{w: w, h: h, rgb: rgb, lab: make([]uint8, w*h), grade: [3]float32{1, 1, 1}}
}

// release returns the float planes to the pool; c must not be used after.
func (c *canvas) release() {
	rgbPool.Put(&c.rgb)
	c.rgb = nil
}

func (c *canvas) put(i int, a float32, col [3]float32, cls uint8) {
	if a <= 0 {
		return
	}
	p := c.rgb[3*i : 3*i+3 : 3*i+3]
	if a >= 1 {
		p[0], p[1], p[2] = col[0], col[1], col[2]
		c.lab[i] = cls
		return
	}
	p[0] += (col[0] - p[0]) * a
	p[1] += (col[1] - p[1]) * a
	p[2] += (col[2] - p[2]) * a
	if a >= 0.5 {
		c.lab[i] = cls
	}
}

// darken multiplies the colour at i by 1-k*a (shadows; labels unchanged).
func (c *canvas) darken(i int, k float32) {
	p := c.rgb[3*i : 3*i+3 : 3*i+3]
	f := 1 - k
	p[0] *= f
	p[1] *= f
	p[2] *= f
}

// part is one labelled piece of a sprite drawn with its own brush.
type part struct {
	cls uint8
	br  *brush
}

// sprite is an object drawn in a screen box: shape returns, for a pixel,
// the signed distance to the edge in pixels (positive inside) and which part
// it belongs to. Shading brightens the side facing the sun and darkens the
// bottom; haze blends towards the horizon colour with distance.
type sprite struct {
	x0, y0, x1, y1 float32 // box in pixels
	parts          []part
	shape          func(x, y float32) (float32, int)
	sun            float32 // -1..1: light from the left (-) or right (+)
	haze           float32
	soft           float32 // edge softness multiplier (1 = one pixel)
}

func (c *canvas) drawSprite(s *sprite) {
	ix0, iy0 := int(s.x0)-1, int(s.y0)-1
	ix1, iy1 := int(s.x1)+2, int(s.y1)+2
	if ix0 < 0 {
		ix0 = 0
	}
	if iy0 < 0 {
		iy0 = 0
	}
	if ix1 > c.w {
		ix1 = c.w
	}
	if iy1 > c.h {
		iy1 = c.h
	}
	soft := s.soft
	if soft <= 0 {
		soft = 1
	}
	cx := (s.x0 + s.x1) / 2
	hw := (s.x1-s.x0)/2 + 1
	hh := s.y1 - s.y0 + 1
	for y := iy0; y < iy1; y++ {
		py := float32(y) + 0.5
		g := (py - s.y0) / hh
		row := y * c.w
		for x := ix0; x < ix1; x++ {
			px := float32(x) + 0.5
			d, pi := s.shape(px, py)
			if pi < 0 || d <= -0.5*soft {
				continue
			}
			a := clamp01(d/soft + 0.5)
			p := s.parts[pi]
			col := p.br.at(px-s.x0, py-s.y0, g)
			shade := 1 + 0.22*s.sun*(px-cx)/hw - 0.18*g*g
			col = scale3(col, shade)
			if s.haze > 0 {
				col = lerp3(col, c.hazeCol, s.haze)
			}
			c.put(row+x, a, col, p.cls)
		}
	}
}

// shadow darkens a soft ellipse on the ground (centre x, y; radii rx, ry).
func (c *canvas) shadow(x, y, rx, ry, k float32) {
	for py := int(y - ry); py <= int(y+ry)+1; py++ {
		if py < 0 || py >= c.h {
			continue
		}
		dy := (float32(py) + 0.5 - y) / ry
		for px := int(x - rx); px <= int(x+rx)+1; px++ {
			if px < 0 || px >= c.w {
				continue
			}
			dx := (float32(px) + 0.5 - x) / rx
			r := dx*dx + dy*dy
			if r < 1 {
				c.darken(py*c.w+px, k*(1-r))
			}
		}
	}
}

// newBrush instantiates the look mixture of a binding for one object.
func newBrush(b *binding, r *rand.Rand, px float32) *brush {
	br := &brush{seed: r.Uint32(), inv: 1 / (22 * px)}
	var acc float32
	for _, lw := range b.looks {
		br.sw = append(br.sw, newSwatch(lw.l, r, px))
		acc += lw.w
		br.cum = append(br.cum, acc)
	}
	for i := range br.cum {
		br.cum[i] /= acc
	}
	return br
}

// ellipseD is the approximate signed distance (pixels) to an ellipse.
func ellipseD(x, y, cx, cy, rx, ry float32) float32 {
	dx, dy := (x-cx)/rx, (y-cy)/ry
	r2 := dx*dx + dy*dy
	m := rx
	if ry < m {
		m = ry
	}
	// 1 - r is the normalized distance; scale by the smaller radius
	return (1 - sqrtApprox(r2)) * m
}

// boxD is the signed distance (pixels) to an axis-aligned box.
func boxD(x, y, x0, y0, x1, y1 float32) float32 {
	d := x - x0
	if v := x1 - x; v < d {
		d = v
	}
	if v := y - y0; v < d {
		d = v
	}
	if v := y1 - y; v < d {
		d = v
	}
	return d
}

func sqrtApprox(x float32) float32 { return float32(math.Sqrt(float64(x))) }
