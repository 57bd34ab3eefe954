package synth

import "math/rand/v2"

// pattern is a structural texture laid over a look's noise.
type pattern uint8

const (
	patNone     pattern = iota
	patGradient         // vertical gradient a (top) -> b (bottom): sky
	patPuffy            // bright tops, grey undersides: clouds
	patLeaves           // clumps with dark gaps: tree crowns
	patSpeckle          // bright dots on a green base: flowers
	patWaves            // horizontal streaks and glints: water
	patBricks           // courses of blocks: walls
	patTiles            // rows of tiles: roofs
	patPanes            // glass with a frame and a reflection: windows
	patPlanks           // wood grain: fences, boats
	patSpots            // large high-contrast patches: cows
	patStrata           // horizontal layers: rock
)

// look is how one kind of surface is drawn: two colours mixed by noise, fine
// detail, per-instance variation and an optional structure. Sizes are in
// pixels of a 128-pixel-wide image and scale with the image.
type look struct {
	a, b    [3]float32 // main colours (sRGB 0..1)
	jit     float32    // per-instance brightness/tint variation
	palette [][3]float32
	scale   float32 // feature size in pixels
	mix     float32 // how strongly noise mixes a and b (0..1)
	detail  float32 // amplitude of fine luminance noise
	stretch float32 // horizontal stretch of the noise (>1: streaks)
	pat     pattern
	fine    float32 // amplitude of the finest scale: blades, grains, pebbles
}

func rgb(r, g, b uint8) [3]float32 {
	return [3]float32{float32(r) / 255, float32(g) / 255, float32(b) / 255}
}

// sourceLooks are the looks of the source classes; target classes borrow them.
var sourceLooks = map[string]*look{
	"sky":      {a: rgb(70, 120, 200), b: rgb(175, 205, 235), jit: 0.12, scale: 60, mix: 0.2, detail: 0.02, stretch: 3, pat: patGradient},
	"cloud":    {a: rgb(250, 250, 252), b: rgb(170, 178, 192), jit: 0.06, scale: 10, mix: 1, detail: 0.05, stretch: 1.5, pat: patPuffy},
	"mountain": {a: rgb(112, 110, 118), b: rgb(72, 86, 76), jit: 0.12, scale: 12, mix: 0.8, detail: 0.14, stretch: 1.3, fine: 0.15},
	"rock":     {a: rgb(128, 120, 110), b: rgb(82, 78, 74), jit: 0.15, scale: 5, mix: 0.9, detail: 0.2, stretch: 1.4, pat: patStrata, fine: 0.2},
	"snow":     {a: rgb(246, 248, 255), b: rgb(190, 205, 228), jit: 0.04, scale: 9, mix: 0.6, detail: 0.04, stretch: 1, fine: 0.06},
	"tree":     {a: rgb(40, 92, 38), b: rgb(22, 55, 28), jit: 0.18, scale: 3.5, mix: 1, detail: 0.2, stretch: 1, pat: patLeaves, fine: 0.15},
	"bush":     {a: rgb(78, 112, 44), b: rgb(44, 72, 30), jit: 0.18, scale: 2.5, mix: 1, detail: 0.22, stretch: 1, pat: patLeaves, fine: 0.15},
	"grass":    {a: rgb(92, 150, 60), b: rgb(140, 160, 70), jit: 0.12, scale: 12, mix: 0.7, detail: 0.16, stretch: 2, fine: 0.35},
	"flower": {a: rgb(80, 138, 55), b: rgb(110, 150, 60), jit: 0.1, scale: 8, mix: 0.5, detail: 0.15, stretch: 1, pat: patSpeckle,
		palette: [][3]float32{rgb(240, 230, 70), rgb(230, 60, 80), rgb(245, 245, 250), rgb(180, 90, 220), rgb(250, 150, 40)}, fine: 0.3},
	"dirt":     {a: rgb(125, 95, 65), b: rgb(90, 68, 48), jit: 0.12, scale: 6, mix: 0.8, detail: 0.25, stretch: 1.5, fine: 0.3},
	"sand":     {a: rgb(222, 200, 150), b: rgb(196, 170, 120), jit: 0.08, scale: 10, mix: 0.6, detail: 0.1, stretch: 2.5, fine: 0.18},
	"water":    {a: rgb(50, 95, 120), b: rgb(110, 150, 170), jit: 0.15, scale: 6, mix: 0.7, detail: 0.12, stretch: 5, pat: patWaves},
	"sea":      {a: rgb(25, 75, 125), b: rgb(60, 120, 160), jit: 0.12, scale: 5, mix: 0.8, detail: 0.14, stretch: 7, pat: patWaves},
	"river":    {a: rgb(70, 105, 110), b: rgb(120, 140, 130), jit: 0.15, scale: 4, mix: 0.8, detail: 0.16, stretch: 3, pat: patWaves},
	"road":     {a: rgb(82, 82, 88), b: rgb(64, 64, 68), jit: 0.12, scale: 6, mix: 0.5, detail: 0.16, stretch: 1, fine: 0.2},
	"sidewalk": {a: rgb(172, 164, 152), b: rgb(140, 134, 126), jit: 0.1, scale: 5, mix: 0.4, detail: 0.08, stretch: 1, pat: patBricks},
	"building": {a: rgb(196, 176, 150), b: rgb(160, 120, 100), jit: 0.2, scale: 8, mix: 0.5, detail: 0.08, stretch: 1, pat: patBricks,
		palette: [][3]float32{rgb(200, 180, 150), rgb(170, 90, 70), rgb(220, 215, 200), rgb(150, 150, 155), rgb(210, 170, 110)}},
	"roof": {a: rgb(150, 62, 48), b: rgb(100, 44, 38), jit: 0.18, scale: 4, mix: 0.6, detail: 0.1, stretch: 1, pat: patTiles,
		palette: [][3]float32{rgb(150, 62, 48), rgb(70, 70, 80), rgb(110, 80, 60)}},
	"window": {a: rgb(60, 80, 105), b: rgb(150, 180, 205), jit: 0.1, scale: 3, mix: 0.6, detail: 0.05, stretch: 1, pat: patPanes},
	"fence":  {a: rgb(150, 115, 80), b: rgb(110, 82, 58), jit: 0.15, scale: 2, mix: 0.7, detail: 0.12, stretch: 0.3, pat: patPlanks},
	"car": {a: rgb(180, 30, 30), b: rgb(90, 15, 15), jit: 0.1, scale: 20, mix: 0.3, detail: 0.03, stretch: 1,
		palette: [][3]float32{rgb(190, 30, 30), rgb(30, 60, 150), rgb(220, 220, 225), rgb(25, 25, 30), rgb(140, 145, 150), rgb(40, 110, 60), rgb(230, 190, 40)}},
	"person": {a: rgb(60, 60, 140), b: rgb(40, 40, 90), jit: 0.1, scale: 3, mix: 0.4, detail: 0.08, stretch: 1,
		palette: [][3]float32{rgb(200, 40, 40), rgb(40, 60, 160), rgb(240, 240, 240), rgb(30, 30, 35), rgb(230, 170, 40), rgb(60, 140, 70)}},
	"boat": {a: rgb(235, 235, 230), b: rgb(170, 60, 40), jit: 0.12, scale: 4, mix: 0.2, detail: 0.05, stretch: 0.5, pat: patPlanks,
		palette: [][3]float32{rgb(235, 235, 230), rgb(180, 40, 35), rgb(30, 70, 140), rgb(140, 100, 60)}},
}

// novelLooks are the looks of target classes that have no source relative.
var novelLooks = map[string]*look{
	"parasol": {a: rgb(240, 70, 60), b: rgb(250, 240, 220), jit: 0.1, scale: 4, mix: 0.1, detail: 0.04, stretch: 1,
		palette: [][3]float32{rgb(240, 70, 60), rgb(40, 120, 220), rgb(250, 200, 40), rgb(40, 170, 90)}},
	"pole": {a: rgb(120, 124, 130), b: rgb(90, 92, 98), jit: 0.1, scale: 2, mix: 0.3, detail: 0.05, stretch: 0.2},
	"sign": {a: rgb(30, 80, 200), b: rgb(220, 30, 30), jit: 0.05, scale: 8, mix: 0, detail: 0.03, stretch: 1,
		palette: [][3]float32{rgb(30, 80, 200), rgb(220, 30, 30), rgb(240, 200, 20)}},
	"cow": {a: rgb(245, 242, 235), b: rgb(35, 30, 28), jit: 0.1, scale: 3, mix: 1, detail: 0.05, stretch: 1, pat: patSpots,
		palette: [][3]float32{rgb(245, 242, 235), rgb(150, 90, 50)}},
}

// swatch is a look instantiated for one object: jittered colours and a seed.
type swatch struct {
	l     *look
	a, b  [3]float32
	seed  uint32
	inv   float32 // 1 / feature size in pixels
	invSx float32
	acc   [3]float32 // accent colour (speckles, spots)
}

func newSwatch(l *look, r *rand.Rand, px float32) swatch {
	s := swatch{l: l, a: l.a, b: l.b, seed: r.Uint32()}
	if len(l.palette) > 0 {
		p := l.palette[r.IntN(len(l.palette))]
		if l.pat == patSpeckle || l.pat == patSpots {
			s.acc = p
		} else {
			k := [3]float32{p[0] / (l.a[0] + 1e-3), p[1] / (l.a[1] + 1e-3), p[2] / (l.a[2] + 1e-3)}
			s.a = p
			s.b = [3]float32{l.b[0] * k[0], l.b[1] * k[1], l.b[2] * k[2]}
		}
	}
	br := 1 + l.jit*float32(r.NormFloat64())*0.7
	for c := 0; c < 3; c++ {
		t := 1 + l.jit*float32(r.NormFloat64())*0.3
		s.a[c] *= br * t
		s.b[c] *= br * t
	}
	s.inv = 1 / (l.scale * px)
	s.invSx = s.inv / l.stretch
	return s
}

// at is the colour of the swatch at texture position (x, y) in pixels; g is
// the vertical position in the object (0 top .. 1 bottom), used by gradients.
func (s *swatch) at(x, y, g float32) [3]float32 {
	l := s.l
	u, v := x*s.invSx, y*s.inv
	n1 := fbm(u, v, s.seed, 2)
	m := clamp01((n1-0.5)*l.mix*3 + 0.5)
	if l.pat == patGradient {
		m = clamp01(g + (n1-0.5)*l.mix)
	}
	col := lerp3(s.a, s.b, m)
	n2 := vnoise(u*4.1+7, v*4.1, s.seed^0x9e37)
	lum := 1 + l.detail*(n2-0.5)*2
	if l.fine > 0 {
		// finest scale, narrow across and long upwards: blades and grains
		lum *= 1 + l.fine*(vnoise(x*s.inv*14, y*s.inv*8, s.seed^0x1f1f)-0.5)*2
	}
	switch l.pat {
	case patPuffy:
		col = lerp3(s.a, s.b, clamp01(g*0.9+(0.5-n1)*0.8))
	case patLeaves:
		if n2 < 0.32 {
			lum *= 0.55 + n2
		} else if n2 > 0.75 {
			lum *= 1.15
		}
	case patSpeckle:
		cx, fx := floor32(x * s.inv * 5)
		cy, fy := floor32(y * s.inv * 5)
		h := hash3(cx, cy, s.seed)
		if h&3 == 0 {
			dx, dy := fx-0.5, fy-0.5
			if dx*dx+dy*dy < 0.12 {
				acc := s.acc
				if h&16 != 0 {
					acc = s.l.palette[(h>>8)%uint32(len(s.l.palette))]
				}
				return scale3(acc, 0.85+0.3*n2)
			}
		}
	case patWaves:
		w := vnoise(x*s.inv*0.5, y*s.inv*6, s.seed^0x55)
		if w > 0.78 {
			col = lerp3(col, [3]float32{0.92, 0.95, 1}, (w-0.78)*3)
		}
	case patBricks:
		by := y * s.inv * 1.8
		iy, fy := floor32(by)
		bx := x*s.inv*0.9 + float32(iy&1)*0.5
		_, fx := floor32(bx)
		if fy < 0.12 || fx < 0.06 {
			lum *= 0.8
		}
	case patTiles:
		_, fy := floor32(y * s.inv * 1.2)
		lum *= 0.75 + 0.35*fy
	case patPanes:
		col = lerp3(s.a, s.b, clamp01(0.3+(x-y)*s.inv*0.15+n1*0.4-0.2))
	case patPlanks:
		lum *= 0.85 + 0.3*vnoise(x*s.inv*3, y*s.inv*0.3, s.seed^0x77)
	case patSpots:
		if n1 > 0.52 {
			col = s.acc
			if s.acc == s.l.a {
				col = s.l.b
			}
		} else {
			col = s.a
		}
	case patStrata:
		lum *= 0.85 + 0.3*vnoise(x*s.inv*0.4, y*s.inv*2.5+n1*2, s.seed^0x33)
	}
	return scale3(col, lum)
}

// brush draws one object or region of a class whose look is a weighted
// mixture of looks (a target class drawn like its source relatives): a
// low-frequency noise field partitions the region between the looks in
// proportion to their weights, with soft seams.
type brush struct {
	sw   []swatch
	cum  []float32
	seed uint32
	inv  float32
}

func (b *brush) at(x, y, g float32) [3]float32 {
	if len(b.sw) == 1 {
		return b.sw[0].at(x, y, g)
	}
	t := clamp01((fbm(x*b.inv, y*b.inv, b.seed, 2)-0.5)*2.2 + 0.5)
	for i := range b.sw {
		if t <= b.cum[i] || i == len(b.sw)-1 {
			c := b.sw[i].at(x, y, g)
			if i > 0 {
				if d := t - b.cum[i-1]; d < 0.1 {
					return lerp3(b.sw[i-1].at(x, y, g), c, 0.5+d*5)
				}
			}
			// soften the seam with the next look
			if i+1 < len(b.sw) {
				if d := b.cum[i] - t; d < 0.1 {
					return lerp3(b.sw[i+1].at(x, y, g), c, 0.5+d*5)
				}
			}
			return c
		}
	}
	return b.sw[0].at(x, y, g)
}
