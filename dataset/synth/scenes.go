package synth

import "math"

// Scene kinds. Each composes layers back to front: sky, clouds, distant
// ridges, ground and ground regions, then standing objects in depth order.
// A kind draws only the roles its domain binds, so one composition serves
// the source domain and the target domain that relabels it.

// logDepth draws a depth in [zmin, zmax] uniformly in log depth, so near
// and far objects are about as frequent as on a real ground plane.
func (s *scene) logDepth(zmin, zmax float32) float32 {
	return zmin * float32(math.Exp(float64(s.r.Float32())*math.Log(float64(zmax/zmin))))
}

// v of depth zr.
func (s *scene) vOf(zr float32) float32 { return zr * s.dyB }

// valleyScene: mountains (snow caps), meadows with dirt and flower
// patches, a lake or river, a country road, trees, bushes, boulders, houses,
// fences, people and cows.
func valleyScene(s *scene) {
	s.setHorizon(s.rf(0.42, 0.62))
	s.sky()
	s.clouds(s.r.IntN(4))
	far := s.hy - s.rf(8, 30)*s.px
	amp := s.rf(22, 60) * s.px
	snow := float32(-1)
	if s.r.Float32() < 0.75 {
		snow = far - amp*s.rf(0.05, 0.4)
	}
	s.ridge("mountain", far, amp, s.rf(2, 4), 0.35, snow)
	if s.r.Float32() < 0.6 {
		s.ridge("mountain", s.hy-s.rf(2, 8)*s.px, s.rf(6, 16)*s.px, s.rf(3, 6), 0.12, -1)
	}
	if s.r.Float32() < 0.5 {
		// rolling green hills in front of the mountains
		s.ridge("grass", s.hy-s.rf(0, 4)*s.px, s.rf(4, 12)*s.px, s.rf(1, 2.5), 0.1, -1)
	}
	s.ground("grass")
	var avoid []func(u, v float32) float32
	for i := s.r.IntN(3); i > 0; i-- {
		zr := s.rf(1.5, 10)
		s.patch("dirt", s.rf(-60, 60)*s.px*zr*0.3, s.vOf(zr), s.rf(8, 20)*s.px)
	}
	for i := s.r.IntN(4); i > 0; i-- {
		zr := s.rf(1.2, 6)
		s.patch("flower", s.rf(-60, 60)*s.px*zr*0.3, s.vOf(zr), s.rf(8, 22)*s.px)
	}
	if s.r.Float32() < 0.5 && s.has("water") {
		zr := s.rf(3, 9)
		u0, v0, rad := s.rf(-40, 40)*s.px*zr*0.3, s.vOf(zr), s.rf(20, 50)*s.px
		s.patch("water", u0, v0, rad)
		avoid = append(avoid, func(u, v float32) float32 {
			return rad*1.3 - float32(math.Hypot(float64(u-u0), float64(v-v0)))
		})
	} else if s.r.Float32() < 0.4 && s.has("river") {
		avoid = append(avoid, s.band("river", s.rf(-30, 30)*s.px, s.rf(6, 12)*s.px))
	}
	if s.r.Float32() < 0.5 && s.has("road") {
		avoid = append(avoid, s.band("road", s.rf(-40, 40)*s.px, s.rf(5, 8)*s.px))
	}
	free := func(u, zr float32) bool {
		v := s.vOf(zr)
		for _, f := range avoid {
			if f(u, v) > -3*s.px {
				return false
			}
		}
		return true
	}
	place := func(n int, zmin, zmax float32, f func(u, zr float32)) {
		for i := 0; i < n; i++ {
			zr := s.logDepth(zmin, zmax)
			u := s.rf(-1.1, 1.1) * s.cx * zr
			if free(u, zr) {
				f(u, zr)
			}
		}
	}
	conifer := s.r.Float32() < 0.5
	if s.r.Float32() < 0.5 {
		// a wood: a cluster of trees around one place
		zc := s.logDepth(2, 10)
		uc := s.rf(-0.8, 0.8) * s.cx * zc
		for i := 10 + s.r.IntN(20); i > 0; i-- {
			zr := zc * s.rf(0.75, 1.4)
			u := uc + s.rf(-40, 40)*s.px*zc
			if free(u, zr) {
				s.tree("tree", u, zr, conifer || s.r.Float32() < 0.2)
			}
		}
	}
	place(4+s.r.IntN(10), 1.5, 14, func(u, zr float32) { s.tree("tree", u, zr, conifer || s.r.Float32() < 0.2) })
	place(s.r.IntN(6), 1.3, 10, func(u, zr float32) { s.bush("bush", u, zr) })
	place(s.r.IntN(5), 1.2, 10, func(u, zr float32) { s.boulder("rock", u, zr) })
	place(s.r.IntN(3), 2, 10, func(u, zr float32) { s.house(u, zr) })
	place(s.r.IntN(3), 1.5, 8, func(u, zr float32) { s.person("person", u, zr) })
	place(s.r.IntN(5), 1.5, 9, func(u, zr float32) { s.cow(u, zr) })
	if s.r.Float32() < 0.4 {
		zr := s.rf(1.5, 5)
		xa := s.rf(-0.2, 0.5) * float32(s.w)
		s.fence("fence", xa, xa+s.rf(0.3, 0.9)*float32(s.w), zr)
	}
	s.drawQueue()
}

// band draws a winding band of role (river, country road) from the bottom to
// the horizon, centred at u0 with half-width hw (ground units), and returns
// its inside function.
func (s *scene) band(role string, u0, hw float32) func(u, v float32) float32 {
	amp := s.rf(10, 40) * s.px
	f := s.rf(0.01, 0.03) / s.px
	ph := s.rf(0, 6)
	in := func(u, v float32) float32 {
		c := u0 + amp*float32(math.Sin(float64(v*f+ph)))
		return hw - abs32(u-c)
	}
	s.region(role, 0, 1e9, in)
	return in
}

// coastScene: sea to the horizon, a beach, cliffs on one side, a headland,
// dunes with scrub, palms, parasols, people, boats and a hut.
func coastScene(s *scene) {
	s.os = 1.3
	s.sky()
	s.clouds(s.r.IntN(4))
	if s.r.Float32() < 0.5 {
		s.ridge("mountain", s.hy-s.rf(2, 10)*s.px, s.rf(8, 20)*s.px, s.rf(2, 4), 0.45, -1)
	}
	s.ground("sea")
	shoreZ := s.rf(1.6, 3.5)
	vs := s.vOf(shoreZ)
	seed := s.r.Uint32()
	tilt := s.rf(-0.3, 0.3)
	s.region("sand", 0, vs*1.6, func(u, v float32) float32 {
		return vs + tilt*u + (fbm1(u/(20*s.px), seed, 3)-0.5)*vs*0.4 - v
	})
	if s.r.Float32() < 0.7 {
		s.cliff("rock", s.r.IntN(2) == 0)
	}
	if s.r.Float32() < 0.6 {
		s.patch("grass", s.rf(-40, 40)*s.px, s.vOf(1.05), s.rf(15, 30)*s.px)
	}
	onBeach := func(n int, f func(u, zr float32)) {
		for i := 0; i < n; i++ {
			zr := s.logDepth(1.1, shoreZ*0.9)
			f(s.rf(-1, 1)*s.cx*zr, zr)
		}
	}
	onBeach(s.r.IntN(4), func(u, zr float32) { s.palm(u, zr) })
	onBeach(s.r.IntN(4), func(u, zr float32) { s.parasol(u, zr) })
	onBeach(s.r.IntN(4), func(u, zr float32) { s.person("person", u, zr) })
	onBeach(s.r.IntN(3), func(u, zr float32) { s.bush("bush", u, zr) })
	onBeach(s.r.IntN(2), func(u, zr float32) { s.boulder("rock", u, zr) })
	if s.r.Float32() < 0.3 {
		onBeach(1, func(u, zr float32) { s.house(u, zr) })
	}
	for i := s.r.IntN(4); i > 0; i-- {
		zr := s.logDepth(shoreZ*1.3, 25)
		s.boat("boat", s.rf(-1, 1)*s.cx*zr, zr)
	}
	for i := s.r.IntN(3); i > 0; i-- {
		zr := s.rf(shoreZ*1.1, shoreZ*2)
		s.person("person", s.rf(-1, 1)*s.cx*zr, zr)
	}
	s.drawQueue()
}

// cliff draws a rocky headland rising on the left or right edge.
func (s *scene) cliff(role string, left bool) {
	if !s.has(role) {
		return
	}
	W := float32(s.w)
	xe := s.rf(0.2, 0.45) * W
	top := s.hy - s.rf(10, 35)*s.px
	seed := s.r.Uint32()
	f := 1 / (10 * s.px)
	parts := []part{s.part(role, role)}
	// the crest depends on the column and the ragged edge on the row only
	crest := make([]float32, s.w)
	for x := range crest {
		px := float32(x) + 0.5
		d := xe - px
		if !left {
			d = px - (W - xe)
		}
		t := clamp01(d / xe)
		crest[x] = top + (1-t)*(s.hy-top)*0.9 - (ridge1(px*f, seed, 3)-0.5)*12*s.px
	}
	edge := make([]float32, s.h)
	for y := range edge {
		edge[y] = (fbm1((float32(y)+0.5)*f, seed+5, 2) - 0.5) * 8 * s.px
	}
	foot := s.rowOf(1.6)
	x0, x1 := float32(0), xe+6*s.px
	if !left {
		x0, x1 = W-xe-6*s.px, W
	}
	s.c.drawSprite(&sprite{x0: x0, y0: top - 10*s.px, x1: x1, y1: float32(s.h), parts: parts, sun: s.sun, haze: 0.1,
		shape: func(x, y float32) (float32, int) {
			d := xe - x
			if !left {
				d = x - (W - xe)
			}
			e := y - crest[clampIdx(int(x), s.w)]
			if v := d + edge[clampIdx(int(y), s.h)]; v < e {
				e = v
			}
			if b := foot + d*0.3 - y; b < e {
				e = b
			}
			return e, 0
		}})
}

func clampIdx(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// streetScene: a street to the vanishing point between facades with
// windows, sidewalks, terrain verges, trees, poles and signs, fences, walls,
// people, riders, cars, trucks and buses.
func streetScene(s *scene) {
	s.os = s.rf(1.8, 2.2)
	s.sky()
	s.clouds(s.r.IntN(3))
	s.ground("sidewalk")
	wr := s.rf(28, 42) * s.px
	ws := s.rf(12, 22) * s.px
	// a city canyon or a low-rise street with more sky and greenery
	hmin, hmax, green := float32(25), float32(70), 0
	if s.r.Float32() < 0.4 {
		hmin, hmax, green = 8, 22, 3
	}
	curve := s.rf(-0.0006, 0.0006) / s.px
	cu := func(v float32) float32 { return curve * v * v }
	if s.r.Float32() < 0.5 && s.has("grass") {
		s.region("grass", 0, 1e9, func(u, v float32) float32 {
			return ws*0.35 - abs32(abs32(u-cu(v))-wr-ws*0.35)
		})
	}
	if s.r.Float32() < 0.5 && s.has("grass") {
		// open ground behind the sidewalks, seen where facades leave gaps
		s.region("grass", 0, 1e9, func(u, v float32) float32 {
			return abs32(u-cu(v)) - wr - ws*1.05
		})
	}
	s.region("road", 0, 1e9, func(u, v float32) float32 { return wr - abs32(u-cu(v)) })
	s.markings(cu)
	// facades: blocks of varying height along both sides
	for _, side := range [2]float32{-1, 1} {
		z := s.rf(0.6, 1.2)
		for z < 30 {
			z2 := z + s.rf(0.8, 3)*z*0.5
			if s.r.Float32() < 0.85 {
				s.facade(side*(wr+ws), z, z2, s.rf(hmin, hmax)*s.px)
			}
			z = z2
		}
	}
	s.endFacade(wr + ws)
	for _, side := range [2]float32{-1, 1} {
		if s.r.Float32() < 0.3 {
			s.wallRun("wall", side*(wr+ws*0.95), s.rf(1, 3), s.rf(4, 10))
		}
		if s.r.Float32() < 0.3 {
			s.wallRun("fence", side*(wr+ws*0.9), s.rf(1, 3), s.rf(4, 10))
		}
		for i := s.r.IntN(4) + green; i > 0; i-- {
			zr := s.logDepth(1.2, 12)
			s.tree("tree", side*(wr+ws*0.6)+cu(s.vOf(zr)), zr, false)
		}
		for i := s.r.IntN(3); i > 0; i-- { // parked along the kerb
			zr := s.logDepth(1.3, 12)
			s.vehicle("car", "car.window", side*wr*0.82+cu(s.vOf(zr)), zr, 0, s.rf(11, 14), true)
		}
		for i := s.r.IntN(3); i > 0; i-- {
			zr := s.logDepth(1.1, 8)
			s.bush("bush", side*(wr+ws*0.8)+cu(s.vOf(zr)), zr)
		}
		for i := s.r.IntN(4); i > 0; i-- {
			zr := s.logDepth(1.1, 12)
			s.pole(side*(wr+2*s.px)+cu(s.vOf(zr)), zr, s.r.Float32() < 0.5)
		}
		for i := s.r.IntN(4); i > 0; i-- {
			zr := s.logDepth(1.2, 10)
			s.person("person", side*(wr+s.rf(2, ws))+cu(s.vOf(zr)), zr)
		}
	}
	for i := 1 + s.r.IntN(5); i > 0; i-- {
		zr := s.logDepth(1.3, 14)
		lane := wr * (0.5 - float32(s.r.IntN(2)))
		u := lane + cu(s.vOf(zr))
		switch p := s.r.Float32(); {
		case p < 0.15 && s.has("truck"):
			s.vehicle("truck", "truck.window", u, zr, 0, s.rf(22, 26), true)
		case p < 0.3 && s.has("bus"):
			s.vehicle("bus", "bus.window", u, zr, 0, s.rf(24, 28), true)
		case p < 0.4 && s.has("rider"):
			s.person("rider", u+wr*0.3, zr)
		default:
			s.vehicle("car", "car.window", u, zr, 0, s.rf(11, 14), true)
		}
	}
	s.drawQueue()
}

// markings paints dashed white lane markings on the road (labelled road).
func (s *scene) markings(cu func(v float32) float32) {
	if !s.has("road") {
		return
	}
	cls := s.cls("road")
	white := [3]float32{0.85, 0.85, 0.82}
	hw := 1.2 * s.px
	for y := int(s.hy) + 1; y < s.h; y++ {
		py := float32(y) + 0.5
		zr := s.zrAt(py)
		v := s.vOf(zr)
		if fract(v/(18*s.px)) > 0.5 {
			continue
		}
		for x := 0; x < s.w; x++ {
			u := (float32(x) + 0.5 - s.cx) * zr
			d := (hw - abs32(u-cu(v))) / zr
			if d > -0.5 {
				s.c.put(y*s.w+x, clamp01(d+0.5)*0.8, lerp3(white, s.c.hazeCol, s.hazeOf(zr)), cls)
			}
		}
	}
}

// facade draws a building side wall at lateral position ul between depths
// z1 < z2, height hb pixels at depth 1, with perspective windows and a roof
// cornice.
func (s *scene) facade(ul, z1, z2, hb float32) {
	if !s.has("building") {
		return
	}
	parts := []part{s.part("building", "building"), s.part("roof", "building"), s.part("window", "building")}
	xn, xf := s.cx+ul/z1, s.cx+ul/z2
	if xn > xf {
		xn, xf = xf, xn
	}
	storey := s.rf(9, 13) * s.px
	bay := s.rf(6, 10) * s.px
	s.queue(z1, func() {
		s.spr(xn, s.hy-hb/z1, xf, float32(s.h), z1, parts, func(px, py float32) (float32, int) {
			z := ul / (px - s.cx)
			if z <= 0 {
				return -1, -1
			}
			bottom := s.rowOf(z)
			top := s.hy - hb/z
			d := boxD(px, py, xn, top, xf, bottom)
			if py < top+2.5*s.px/z {
				return d, 1
			}
			h := (bottom - py) * z // height above ground in pixels at depth 1
			fu := fract(s.vOf(z) / bay)
			fv := fract(h / storey)
			if h > storey*0.5 && fu > 0.35 && fv > 0.3 && fv < 0.75 {
				return d, 2
			}
			return d, 0
		})
	})
}

// endFacade closes the street at the vanishing point with a wall of
// buildings facing the camera.
func (s *scene) endFacade(half float32) {
	if !s.has("building") {
		return
	}
	z := float32(30)
	hb := s.rf(40, 100) * s.px
	x0, x1 := s.cx-half/z*1.1, s.cx+half/z*1.1
	parts := []part{s.part("building", "building")}
	s.queue(z, func() {
		s.spr(x0, s.hy-hb/z, x1, s.rowOf(z), z, parts, func(px, py float32) (float32, int) {
			return boxD(px, py, x0, s.hy-hb/z, x1, s.rowOf(z)+1), 0
		})
	})
}

// wallRun draws a low wall or fence along the sidewalk at lateral u between
// depths z1 and z2.
func (s *scene) wallRun(role string, u, z1, z2 float32) {
	if !s.has(role) {
		return
	}
	hw := s.rf(6, 12) * s.px
	parts := []part{s.part(role, role)}
	xn, xf := s.cx+u/z1, s.cx+u/z2
	if xn > xf {
		xn, xf = xf, xn
	}
	fence := role == "fence"
	s.queue(z1, func() {
		s.spr(xn, s.hy-1, xf, float32(s.h), z1, parts, func(px, py float32) (float32, int) {
			z := u / (px - s.cx)
			if z < z1 || z > z2 {
				return -1, -1
			}
			bottom := s.rowOf(z)
			top := bottom - hw/z
			d := boxD(px, py, xn, top, xf, bottom)
			if fence {
				fv := fract(s.vOf(z) / (4 * s.px))
				if fv > 0.3 && py > top+1.5*s.px/z && py < bottom-2*s.px/z {
					return -1, -1
				}
			}
			return d, 0
		})
	})
}
