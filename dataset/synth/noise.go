package synth

// Value noise: a hashed integer lattice with smooth interpolation. Cheap
// enough to evaluate several octaves per pixel at hundreds of 128x128 images
// per second on one core.

func hash3(x, y int32, seed uint32) uint32 {
	h := uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	h *= 0x297a2d39
	h ^= h >> 15
	return h
}

func floor32(x float32) (int32, float32) {
	i := int32(x)
	if float32(i) > x {
		i--
	}
	return i, x - float32(i)
}

// lattice holds the random values of the value-noise lattice: 256 x 256
// cells that repeat, far larger than the features drawn. A table lookup is
// much cheaper than hashing four corners per sample.
var lattice = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = float32(hash3(int32(i&255), int32(i>>8), 12345)&0xffff) / 65535
	}
	return &t
}()

// vnoise is 2D value noise in [0, 1] with unit lattice spacing; seed shifts
// the lattice so different seeds give unrelated fields.
func vnoise(x, y float32, seed uint32) float32 {
	ix, fx := floor32(x)
	iy, fy := floor32(y)
	sx := fx * fx * (3 - 2*fx)
	sy := fy * fy * (3 - 2*fy)
	ux := uint32(ix) + seed
	uy := uint32(iy) + seed>>8
	r0 := (uy & 255) << 8
	r1 := ((uy + 1) & 255) << 8
	x0, x1 := ux&255, (ux+1)&255
	t := lattice
	a, b := t[r0|x0], t[r0|x1]
	c, d := t[r1|x0], t[r1|x1]
	top := a + (b-a)*sx
	bot := c + (d-c)*sx
	return top + (bot-top)*sy
}

// fbm sums oct octaves of value noise (each twice the frequency, half the
// amplitude) and returns a value in [0, 1].
func fbm(x, y float32, seed uint32, oct int) float32 {
	var sum, norm float32
	amp := float32(1)
	for i := 0; i < oct; i++ {
		sum += amp * vnoise(x, y, seed+uint32(i)*101)
		norm += amp
		amp *= 0.5
		x, y = x*2.03+17.1, y*2.03+3.7
	}
	return sum / norm
}

// noise1 is 1D value noise in [0, 1].
func noise1(x float32, seed uint32) float32 { return vnoise(x, 0.5, seed) }

// ridge1 is 1D ridged multi-octave noise in [0, 1]: sharp crests, as
// mountain silhouettes have.
func ridge1(x float32, seed uint32, oct int) float32 {
	var sum, norm float32
	amp := float32(1)
	for i := 0; i < oct; i++ {
		n := noise1(x, seed+uint32(i)*31)
		r := 1 - abs32(2*n-1)
		sum += amp * r * r
		norm += amp
		amp *= 0.5
		x *= 2.1
	}
	return sum / norm
}

// fbm1 is 1D fractal noise in [0, 1].
func fbm1(x float32, seed uint32, oct int) float32 { return fbm(x, 0.5, seed, oct) }

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func smooth01(x float32) float32 {
	x = clamp01(x)
	return x * x * (3 - 2*x)
}

func lerp3(a, b [3]float32, t float32) [3]float32 {
	return [3]float32{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func scale3(a [3]float32, s float32) [3]float32 { return [3]float32{a[0] * s, a[1] * s, a[2] * s} }

func fract(x float32) float32 {
	_, f := floor32(x)
	return f
}
