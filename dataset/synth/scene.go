package synth

import (
	"math"
	"math/rand/v2"
)

// scene holds the state of one image being rendered: canvas, random source,
// the domain's role bindings and the camera (horizon and ground mapping).
//
// Ground mapping: below the horizon hy, a pixel row y lies at relative depth
// zr = dyB / (y - hy) (1 at the bottom row, growing towards the horizon) and a
// pixel column x at lateral ground position u = (x - cx) * zr. Ground textures
// and ground regions are laid out in (u, v = zr * dyB / 2), so they shrink
// with distance as real ground does.
type scene struct {
	c    *canvas
	r    *rand.Rand
	d    *Domain
	w, h int
	px   float32 // pixels per unit of a 128-pixel-wide image
	hy   float32 // horizon row
	cx   float32
	dyB  float32
	sun  float32
	os   float32 // object scale: pixels per ground unit of standing objects
	objs []obj
}

// obj is a standing object waiting to be drawn in depth order.
type obj struct {
	zr   float32
	draw func()
}

func (s *scene) has(role string) bool { return s.d.roles[role] != nil }

func (s *scene) cls(role string) uint8 { return s.d.roles[role].class }

func (s *scene) brush(role string) *brush { return newBrush(s.d.roles[role], s.r, s.px) }

// part returns the sprite part of role, falling back to parent when the
// domain does not bind role.
func (s *scene) part(role, parent string) part {
	if !s.has(role) {
		role = parent
	}
	return part{cls: s.cls(role), br: s.brush(role)}
}

func (s *scene) rf(a, b float32) float32 { return a + (b-a)*s.r.Float32() }

// depth of row y (relative, >= 1) and back.
func (s *scene) zrAt(y float32) float32 {
	dy := y - s.hy
	if dy < 0.5 {
		dy = 0.5
	}
	return s.dyB / dy
}
func (s *scene) rowOf(zr float32) float32 { return s.hy + s.dyB/zr }

func (s *scene) hazeOf(zr float32) float32 { return clamp01((zr-1)/30) * 0.55 }

// sky fills the whole canvas with the sky gradient (and clouds where the
// domain draws them as part of its sky class).
func (s *scene) sky() {
	b := s.brush("sky")
	cls := s.cls("sky")
	// per-image sky tint: clear blue, pale haze or warm evening
	tint := [3]float32{1, 1, 1}
	switch s.r.IntN(5) {
	case 0:
		tint = [3]float32{1.15, 1.05, 0.9}
	case 1:
		tint = [3]float32{1.1, 1.1, 1.1}
	}
	for i := range b.sw {
		if b.sw[i].l.pat == patGradient {
			b.sw[i].a = mul3(b.sw[i].a, tint)
			b.sw[i].b = mul3(b.sw[i].b, tint)
			s.c.hazeCol = b.sw[i].b
		}
	}
	if s.c.hazeCol == ([3]float32{}) {
		s.c.hazeCol = [3]float32{0.7, 0.78, 0.85}
	}
	lim := int(s.hy) + 2
	if lim > s.h {
		lim = s.h
	}
	for y := 0; y < lim; y++ {
		g := float32(y) / (s.hy + 1)
		for x := 0; x < s.w; x++ {
			s.c.put(y*s.w+x, 1, b.at(float32(x), float32(y)*1.5, g), cls)
		}
	}
}

func mul3(a, b [3]float32) [3]float32 { return [3]float32{a[0] * b[0], a[1] * b[1], a[2] * b[2]} }

// clouds draws n soft noisy cloud banks in the sky.
func (s *scene) clouds(n int) {
	if !s.has("cloud") {
		return
	}
	for k := 0; k < n; k++ {
		rx := s.rf(12, 34) * s.px
		ry := rx * s.rf(0.25, 0.45)
		cx := s.rf(-0.1, 1.1) * float32(s.w)
		cy := s.rf(0.1, 0.75) * s.hy
		seed := s.r.Uint32()
		inv := 1 / (7 * s.px)
		sp := &sprite{x0: cx - rx, y0: cy - ry, x1: cx + rx, y1: cy + ry*0.7,
			parts: []part{s.part("cloud", "sky")}, soft: 3 * s.px, haze: 0.1}
		sp.shape = func(x, y float32) (float32, int) {
			dx, dy := (x-cx)/rx, (y-cy)/ry
			if dy > 0 {
				dy *= 2.2 // flat bases
			}
			n := fbm(x*inv, y*inv*1.6, seed, 3)
			return (1 - float32(math.Sqrt(float64(dx*dx+dy*dy))) + (n-0.5)*1.3) * ry * 0.8, 0
		}
		s.c.drawSprite(sp)
	}
}

// ridge draws a mountain or hill silhouette from its crest line down to just
// below the horizon. base is the mean crest row, amp the height of peaks in
// pixels, rough the ridge frequency; role "snow" caps the parts above snow
// (a row, or -1 for none). Faces turned to the sun are lit.
func (s *scene) ridge(role string, base, amp, rough, haze float32, snow float32) {
	if !s.has(role) {
		return
	}
	b := s.brush(role)
	cls := s.cls(role)
	var sb *brush
	var scls uint8
	if snow > 0 && s.has("snow") {
		sb = s.brush("snow")
		scls = s.cls("snow")
	}
	seed := s.r.Uint32()
	f := rough / (128 * s.px)
	off := s.rf(0, 100)
	crest := make([]float32, s.w+2)
	for x := range crest {
		crest[x] = base - amp*ridge1(float32(x-1)*f+off, seed, 4)
	}
	bottom := int(s.hy) + 2
	if bottom > s.h {
		bottom = s.h
	}
	snowSeed := s.r.Uint32()
	fs := 1 / (9 * s.px)
	for x := 0; x < s.w; x++ {
		top := crest[x+1]
		slope := (crest[x+2] - crest[x]) / s.px
		face := clamp(-slope*s.sun*0.35, -0.3, 0.35)
		sl := snow + (fbm1(float32(x)*f*3, snowSeed, 3)-0.5)*amp*0.5
		for y := int(top); y < bottom; y++ {
			if y < 0 {
				continue
			}
			py := float32(y) + 0.5
			a := clamp01(py - top + 0.5)
			depth := (py - top) / (amp + 1)
			g := clamp01(depth)
			var col [3]float32
			c := cls
			if sb != nil && py < sl && py-top < amp*0.6 {
				col = sb.at(float32(x), py, g)
				c = scls
			} else {
				col = b.at(float32(x), py, g)
			}
			// faces: the crest slope near the top, a noise relief below
			// rotated coordinates keep the value-noise lattice from showing
			fx := (float32(x)*0.8 - py*0.6) * fs
			fy := (float32(x)*0.6 + py*0.8) * fs * 1.4
			relief := (fbm(fx+0.4, fy+0.3, seed, 2) - fbm(fx-0.4, fy-0.3, seed, 2)) * 4
			// erosion gullies running down the slopes
			gully := vnoise(float32(x)*fs*4, py*fs*0.6, seed^0x3c)
			fade := clamp01(1 - (py-top)/(amp*0.5+1))
			light := 1 + face*fade + clamp(relief*s.sun, -0.45, 0.45)*(1-0.5*fade)
			if gully < 0.3 {
				light *= 0.75 + gully*0.8
			}
			col = scale3(col, light*(1-0.15*g))
			col = lerp3(col, s.c.hazeCol, haze*(1-0.4*g))
			s.c.put(y*s.w+x, a, col, c)
		}
	}
}

func clamp(x, lo, hi float32) float32 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// ground fills everything below the horizon with role's look in ground
// coordinates.
func (s *scene) ground(role string) {
	b := s.brush(role)
	cls := s.cls(role)
	y0 := int(s.hy)
	if y0 < 0 {
		y0 = 0
	}
	for y := y0; y < s.h; y++ {
		py := float32(y) + 0.5
		zr := s.zrAt(py)
		v := s.vOf(zr)
		a := clamp01(py - s.hy)
		hz := s.hazeOf(zr)
		g := clamp01(1 / zr)
		for x := 0; x < s.w; x++ {
			u := (float32(x) + 0.5 - s.cx) * zr
			col := lerp3(b.at(u, v, g), s.c.hazeCol, hz)
			s.c.put(y*s.w+x, a, col, cls)
		}
	}
}

// region draws a ground region given by a function of ground position:
// inside(u, v) returns the signed distance in ground units (positive
// inside). Rows with v outside [v0, v1] are skipped.
func (s *scene) region(role string, v0, v1 float32, inside func(u, v float32) float32) {
	if !s.has(role) {
		return
	}
	b := s.brush(role)
	cls := s.cls(role)
	for y := int(s.hy); y < s.h; y++ {
		if y < 0 {
			continue
		}
		py := float32(y) + 0.5
		zr := s.zrAt(py)
		v := s.vOf(zr)
		if v < v0 || v > v1 {
			continue
		}
		hz := s.hazeOf(zr)
		g := clamp01(1 / zr)
		for x := 0; x < s.w; x++ {
			u := (float32(x) + 0.5 - s.cx) * zr
			d := inside(u, v) / zr // ground units -> pixels
			if d <= -0.5 {
				continue
			}
			col := lerp3(b.at(u, v, g), s.c.hazeCol, hz)
			s.c.put(y*s.w+x, clamp01(d+0.5)*clamp01(py-s.hy), col, cls)
		}
	}
}

// patch is a noisy blob on the ground centred at (u0, v0) with radius rad
// (ground units).
func (s *scene) patch(role string, u0, v0, rad float32) {
	seed := s.r.Uint32()
	inv := 2.5 / rad
	s.region(role, v0-rad*1.6, v0+rad*1.6, func(u, v float32) float32 {
		du, dv := (u-u0)/rad, (v-v0)/rad
		r := float32(math.Sqrt(float64(du*du + dv*dv)))
		return (1 - r + (fbm(u*inv, v*inv, seed, 3)-0.5)*0.9) * rad
	})
}

// uv converts ground (u, depth zr) to screen (x, y) and the pixel scale.
func (s *scene) screen(u, zr float32) (x, y, k float32) {
	return s.cx + u/zr, s.rowOf(zr), s.px * s.os / zr
}
