package synth

import "math"

// Standing objects. Each is placed at ground position u (lateral) and depth
// zr (>= 1), scaled by perspective and queued; scenes draw the queue far to
// near so nearer objects occlude farther ones. Sizes are in pixels of a
// 128-pixel image at depth 1.

// auxiliary looks that belong to a class's look but are not classes: bark of
// trees, skin of people, tyres and glass of vehicles, sails.
var (
	barkLook = &look{a: rgb(90, 65, 45), b: rgb(60, 45, 32), jit: 0.15, scale: 2, mix: 0.6, detail: 0.2, stretch: 0.3}
	skinLook = &look{a: rgb(225, 180, 150), b: rgb(150, 105, 80), jit: 0.25, scale: 4, mix: 0.3, detail: 0.05, stretch: 1}
	tyreLook = &look{a: rgb(25, 25, 28), b: rgb(45, 45, 50), jit: 0.1, scale: 2, mix: 0.5, detail: 0.1, stretch: 1}
	sailLook = &look{a: rgb(250, 250, 248), b: rgb(215, 215, 210), jit: 0.04, scale: 6, mix: 0.5, detail: 0.03, stretch: 0.5}
)

func (s *scene) aux(l *look, cls uint8) part {
	return part{cls: cls, br: &brush{sw: []swatch{newSwatch(l, s.r, s.px)}, cum: []float32{1}}}
}

func (s *scene) queue(zr float32, f func()) { s.objs = append(s.objs, obj{zr, f}) }

// drawQueue draws the queued objects far to near.
func (s *scene) drawQueue() {
	o := s.objs
	for i := 1; i < len(o); i++ { // insertion sort: few objects, stable
		for j := i; j > 0 && o[j].zr > o[j-1].zr; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
	for _, ob := range o {
		ob.draw()
	}
	s.objs = s.objs[:0]
}

func (s *scene) spr(x0, y0, x1, y1, zr float32, parts []part, shape func(x, y float32) (float32, int)) {
	s.c.drawSprite(&sprite{x0: x0, y0: y0, x1: x1, y1: y1, parts: parts, shape: shape, sun: s.sun, haze: s.hazeOf(zr)})
}

func (s *scene) tree(role string, u, zr float32, conifer bool) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	H := s.rf(30, 55) * k
	rx, ry := H*s.rf(0.22, 0.34), H*s.rf(0.3, 0.42)
	tw := H * 0.045
	parts := []part{s.part(role, role), s.aux(barkLook, s.cls(role))}
	seed := s.r.Uint32()
	inv := 1 / (3 * k)
	cy := y - H + ry
	s.queue(zr, func() {
		s.c.shadow(x+s.sun*rx*0.3, y, rx*1.1, rx*0.25+1, 0.35)
		s.spr(x-rx*1.2, y-H-2, x+rx*1.2, y, zr, parts, func(px, py float32) (float32, int) {
			n := fbm(px*inv, py*inv, seed, 2) - 0.5
			var d float32
			if conifer {
				t := (py - (y - H)) / (H * 0.85)
				d = (rx*t - abs32(px-x)) * 0.9
				if b := y - H*0.15 - py; b < d {
					d = b
				}
				d += n * rx * 0.35
			} else {
				d = ellipseD(px, py, x, cy, rx, ry) + n*rx*0.6
			}
			if d > -0.5 {
				return d, 0
			}
			return boxD(px, py, x-tw, cy, x+tw, y), 1
		})
	})
}

func (s *scene) bush(role string, u, zr float32) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	rx := s.rf(7, 14) * k
	ry := rx * s.rf(0.5, 0.8)
	parts := []part{s.part(role, role)}
	seed := s.r.Uint32()
	inv := 1 / (2.5 * k)
	s.queue(zr, func() {
		s.c.shadow(x+s.sun*rx*0.2, y, rx*1.1, rx*0.2+1, 0.3)
		s.spr(x-rx*1.3, y-ry*1.4, x+rx*1.3, y, zr, parts, func(px, py float32) (float32, int) {
			d := ellipseD(px, py, x, y, rx, ry) + (fbm(px*inv, py*inv, seed, 2)-0.5)*rx*0.7
			return d, 0
		})
	})
}

func (s *scene) boulder(role string, u, zr float32) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	rx := s.rf(4, 12) * k
	ry := rx * s.rf(0.5, 0.9)
	parts := []part{s.part(role, role)}
	seed := s.r.Uint32()
	s.queue(zr, func() {
		s.c.shadow(x+s.sun*rx*0.3, y, rx*1.2, rx*0.2+1, 0.35)
		s.spr(x-rx*1.3, y-ry*1.3, x+rx*1.3, y+1, zr, parts, func(px, py float32) (float32, int) {
			a := float32(math.Atan2(float64(py-y), float64(px-x)))
			n := noise1(a*2.5+10, seed) - 0.5
			return ellipseD(px, py, x, y+ry*0.1, rx, ry) + n*rx*0.5, 0
		})
	})
}

func (s *scene) person(role string, u, zr float32) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	H := s.rf(13, 17) * k
	c := s.cls(role)
	parts := []part{s.part(role, role), s.part(role, role), s.aux(skinLook, c)}
	hr := H * 0.09
	bw := H * s.rf(0.1, 0.13)
	s.queue(zr, func() {
		s.c.shadow(x, y, H*0.25, H*0.05+0.5, 0.35)
		s.spr(x-H*0.3, y-H, x+H*0.3, y, zr, parts, func(px, py float32) (float32, int) {
			if d := ellipseD(px, py, x, y-H+hr, hr, hr*1.1); d > -0.5 {
				return d, 2
			}
			if py < y-H*0.5 {
				return boxD(px, py, x-bw, y-H+hr*1.9, x+bw, y-H*0.5+0.5) * 1.2, 0
			}
			// legs: two boxes with a gap
			d := boxD(px, py, x-bw*0.95, y-H*0.5, x+bw*0.95, y)
			if g := abs32(px-x) - bw*0.12; g < d && py > y-H*0.4 {
				d = g
			}
			return d, 1
		})
	})
}

// vehicle draws a car, truck or bus: side view (landscapes) or rear view
// (street scenes). role is the body; glassRole the windows.
func (s *scene) vehicle(role, glassRole string, u, zr float32, length, height float32, rear bool) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	c := s.cls(role)
	L, Hh := length*k, height*k
	if rear {
		L = Hh * s.rf(1.05, 1.25)
		if height > 20 {
			L = Hh * 0.9
		}
	}
	body := s.part(role, role)
	glass := s.part(glassRole, role)
	if !s.has(glassRole) {
		glass = s.aux(&look{a: rgb(40, 50, 60), b: rgb(110, 130, 150), scale: 3, mix: 0.6, detail: 0.05, stretch: 1, pat: patPanes}, c)
	}
	tyre := s.aux(tyreLook, c)
	parts := []part{body, glass, tyre}
	boxy := height > 20
	wr := Hh * 0.22
	if boxy {
		wr = Hh * 0.12
	}
	s.queue(zr, func() {
		s.c.shadow(x, y, L*0.6, L*0.08+1, 0.45)
		x0, x1 := x-L/2, x+L/2
		top := y - Hh
		s.spr(x0-1, top-1, x1+1, y, zr, parts, func(px, py float32) (float32, int) {
			// wheels
			if rear {
				if py > y-wr*1.2 && (abs32(px-x0-wr*0.8) < wr*0.7 || abs32(px-x1+wr*0.8) < wr*0.7) {
					return boxD(px, py, x0, y-wr*1.2, x1, y), 2
				}
			} else {
				for _, wx := range [2]float32{x0 + L*0.2, x1 - L*0.2} {
					if d := ellipseD(px, py, wx, y-wr, wr, wr); d > -0.5 {
						return d, 2
					}
				}
			}
			wb := y - wr*1.1
			if boxy {
				d := boxD(px, py, x0, top, x1, wb)
				// a row of windows (bus) or a windscreen (truck cab)
				if py > top+Hh*0.12 && py < top+Hh*0.4 && fract((px-x0)/(L/6)) > 0.15 {
					return d, 1
				}
				return d, 0
			}
			// car: lower body and a narrower cabin with glass
			mid := top + Hh*0.45
			if py >= mid {
				return boxD(px, py, x0, mid, x1, wb) + 0.5, 0
			}
			inset := L * 0.18
			if rear {
				inset = L * 0.12
			}
			t := (mid - py) / (mid - top)
			d := boxD(px, py, x0+inset*(0.4+t), top, x1-inset*(0.4+t)*(map1(rear)), mid+1)
			if d > 1.2*k {
				return d, 1
			}
			return d, 0
		})
	})
}

func map1(rear bool) float32 {
	if rear {
		return 1
	}
	return 0.6
}

func (s *scene) boat(role string, u, zr float32) {
	if !s.has(role) {
		return
	}
	x, y, k := s.screen(u, zr)
	L := s.rf(18, 34) * k
	hh := L * 0.18
	c := s.cls(role)
	parts := []part{s.part(role, role), s.aux(sailLook, c)}
	sail := s.r.IntN(2) == 0
	mast := L * s.rf(0.6, 0.9)
	s.queue(zr, func() {
		s.spr(x-L/2-1, y-hh-mast-1, x+L/2+1, y+1, zr, parts, func(px, py float32) (float32, int) {
			if py > y-hh {
				t := (py - (y - hh)) / hh
				w := L / 2 * (1 - 0.3*t)
				return boxD(px, py, x-w, y-hh, x+w, y), 0
			}
			if sail {
				t := (py - (y - hh - mast)) / mast
				return boxD(px, py, x-L*0.4*t, y-hh-mast, x+1, y-hh+1), 1
			}
			return boxD(px, py, x-L*0.25, y-hh*2.2, x+L*0.15, y-hh+1), 1
		})
	})
}

// house draws walls (role wall), a pitched roof and windows.
func (s *scene) house(u, zr float32) {
	if !s.has("building") {
		return
	}
	x, y, k := s.screen(u, zr)
	W := s.rf(20, 34) * k
	Hw := W * s.rf(0.45, 0.7)
	Hr := W * s.rf(0.25, 0.45)
	parts := []part{s.part("building", "building"), s.part("roof", "building"), s.part("window", "building")}
	cols := 1 + s.r.IntN(3)
	s.queue(zr, func() {
		s.c.shadow(x+s.sun*W*0.2, y, W*0.65, W*0.08+1, 0.4)
		x0, x1 := x-W/2, x+W/2
		top := y - Hw
		s.spr(x0-W*0.1, top-Hr, x1+W*0.1, y, zr, parts, func(px, py float32) (float32, int) {
			if py < top+0.5 {
				t := (py - (top - Hr)) / Hr
				return boxD(px, py, x-W*0.6*t, top-Hr, x+W*0.6*t, top+1) * 0.9, 1
			}
			d := boxD(px, py, x0, top, x1, y)
			// windows in a grid
			cw := W / float32(cols)
			fx := fract((px - x0) / cw)
			fy := (py - top) / Hw
			if fx > 0.3 && fx < 0.7 && fy > 0.2 && fy < 0.5 {
				return d, 2
			}
			return d, 0
		})
	})
}

// fence draws a rail fence at depth zr between screen columns xa and xb.
func (s *scene) fence(role string, xa, xb, zr float32) {
	if !s.has(role) {
		return
	}
	_, y, k := s.screen(0, zr)
	H := s.rf(6, 9) * k
	gap := H * 0.9
	parts := []part{s.part(role, role)}
	s.queue(zr, func() {
		s.spr(xa, y-H, xb, y, zr, parts, func(px, py float32) (float32, int) {
			if px < xa || px > xb {
				return -1, -1
			}
			fp := fract((px - xa) / gap)
			post := (0.12 - abs32(fp-0.5)) * gap
			r1 := k*0.7 - abs32(py-(y-H*0.75))
			r2 := k*0.7 - abs32(py-(y-H*0.35))
			d := post
			if r1 > d {
				d = r1
			}
			if r2 > d {
				d = r2
			}
			if b := py - (y - H); b < d {
				d = b
			}
			return d, 0
		})
	})
}

// pole draws a pole, with a traffic sign on top when sign is set.
func (s *scene) pole(u, zr float32, sign bool) {
	if !s.has("pole") {
		return
	}
	x, y, k := s.screen(u, zr)
	H := s.rf(38, 50) * k
	w := 0.8 * k
	parts := []part{s.part("pole", "pole")}
	r := 4 * k
	round := s.r.IntN(2) == 0
	if sign && s.has("sign") {
		parts = append(parts, s.part("sign", "sign"))
	} else {
		sign = false
	}
	s.queue(zr, func() {
		s.spr(x-r-1, y-H-r*2, x+r+1, y, zr, parts, func(px, py float32) (float32, int) {
			if sign {
				cy := y - H*0.8
				var d float32
				if round {
					d = ellipseD(px, py, x, cy, r, r)
				} else {
					d = boxD(px, py, x-r, cy-r, x+r, cy+r)
				}
				if d > -0.5 {
					return d, 1
				}
			}
			return boxD(px, py, x-w, y-H, x+w, y), 0
		})
	})
}

func (s *scene) parasol(u, zr float32) {
	if !s.has("parasol") {
		return
	}
	x, y, k := s.screen(u, zr)
	H := s.rf(14, 20) * k
	R := H * s.rf(0.45, 0.6)
	c := s.cls("parasol")
	pa := s.part("parasol", "parasol")
	parts := []part{pa, s.aux(sailLook, c)}
	n := float32(4 + s.r.IntN(4))
	s.queue(zr, func() {
		s.c.shadow(x+R*0.3*s.sun, y, R*0.9, R*0.2+1, 0.35)
		s.spr(x-R-1, y-H-1, x+R+1, y, zr, parts, func(px, py float32) (float32, int) {
			top := y - H
			if py < top+R*0.45 {
				d := ellipseD(px, py, x, top+R*0.45, R, R*0.45)
				if py > top+R*0.45-0.5 {
					d = top + R*0.45 + 0.5 - py
				}
				// coloured gores
				if fract((px-x)/R*n*0.5+0.5) < 0.5 {
					return d, 0
				}
				return d, 1
			}
			return boxD(px, py, x-0.6*k, top, x+0.6*k, y), 1
		})
	})
}

func (s *scene) cow(u, zr float32) {
	if !s.has("cow") {
		return
	}
	x, y, k := s.screen(u, zr)
	L := s.rf(14, 18) * k
	H := L * 0.6
	dir := float32(1)
	if s.r.IntN(2) == 0 {
		dir = -1
	}
	parts := []part{s.part("cow", "cow")}
	s.queue(zr, func() {
		s.c.shadow(x, y, L*0.6, L*0.1+0.5, 0.35)
		s.spr(x-L*0.75, y-H*1.1, x+L*0.75, y, zr, parts, func(px, py float32) (float32, int) {
			d := ellipseD(px, py, x, y-H*0.62, L*0.45, H*0.26)
			if h := ellipseD(px, py, x+dir*L*0.52, y-H*0.78, L*0.13, H*0.15); h > d {
				d = h
			}
			if py > y-H*0.5 {
				fx := (px - x) * dir
				for _, lx := range [4]float32{-0.35, -0.22, 0.22, 0.35} {
					if l := boxD(fx, py, L*lx-0.06*L, y-H*0.5, L*lx+0.06*L, y); l > d {
						d = l
					}
				}
			}
			return d, 0
		})
	})
}

func (s *scene) palm(u, zr float32) {
	if !s.has("palm") {
		s.tree("tree", u, zr, false)
		return
	}
	x, y, k := s.screen(u, zr)
	H := s.rf(35, 55) * k
	bend := s.rf(-0.25, 0.25) * H
	c := s.cls("palm")
	parts := []part{s.part("palm", "palm"), s.aux(barkLook, c)}
	tx, ty := x+bend, y-H
	type frond struct{ dir, reach, up, droop float32 }
	fr := make([]frond, 6+s.r.IntN(3))
	for i := range fr {
		fr[i] = frond{dir: float32(1 - 2*(i%2)), reach: H * s.rf(0.25, 0.45), up: s.rf(-0.6, 0.9), droop: s.rf(0.6, 1.2)}
	}
	fl := H * 0.45
	s.queue(zr, func() {
		s.c.shadow(x+bend, y, fl*0.8, fl*0.15+1, 0.3)
		s.spr(tx-fl-2, ty-fl, tx+fl+2, y, zr, parts, func(px, py float32) (float32, int) {
			best := float32(-100)
			for _, f := range fr {
				dx := (px - tx) * f.dir
				if dx < -k || dx > f.reach {
					continue
				}
				t := clamp01(dx / f.reach)
				yc := ty - f.up*dx + f.droop*t*t*f.reach*0.8
				w := f.reach * 0.12 * (1 - 0.8*t) * (1 + 0.3*float32(math.Sin(float64(dx/k*2))))
				if d := w - abs32(py-yc); d > best {
					best = d
				}
			}
			if best > -0.5 {
				return best, 0
			}
			t := (y - py) / H
			cx := x + bend*t*t
			return boxD(px, py, cx-1.1*k, ty, cx+1.1*k, y), 1
		})
	})
}
