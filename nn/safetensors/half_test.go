package safetensors

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// refF16 is an independent float64 model of a binary16 value.
func refF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := F16ToF32(h), refF16(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN with the same sign", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if got := F32ToF16(F16ToF32(h)); got != h {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}
}

// refF32ToF16 rounds x to the nearest half by search over all finite
// positive halves (monotonic in their bit patterns), ties to even, treating
// Inf as the next step (65536) as IEEE rounding does.
func refF32ToF16(x float32) uint16 {
	if x != x {
		panic("refF32ToF16: NaN")
	}
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	a := math.Abs(float64(x))
	val := func(h uint16) float64 {
		if h == 0x7c00 {
			return 65536
		}
		return refF16(h)
	}
	// First h in [0, 0x7c00] with val(h) >= a.
	hi := uint16(sort.Search(0x7c01, func(i int) bool { return val(uint16(i)) >= a }))
	if hi > 0x7c00 {
		return sign | 0x7c00
	}
	if hi == 0 || val(hi) == a {
		return sign | hi
	}
	lo := hi - 1
	dlo, dhi := a-val(lo), val(hi)-a
	switch {
	case dlo < dhi:
		return sign | lo
	case dhi < dlo:
		return sign | hi
	case lo&1 == 0:
		return sign | lo
	}
	return sign | hi
}

func TestF32ToF16Rounding(t *testing.T) {
	// Hand-picked cases; the wanted bit patterns come from the binary16
	// definition, not from the code under test.
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                    // largest half
		{65519.996, 0x7bff},                // just below the overflow midpoint
		{65520, 0x7c00},                    // midpoint, ties to even = Inf
		{1e10, 0x7c00},                     // overflow
		{-1e10, 0xfc00},                    // overflow, negative
		{float32(math.Inf(1)), 0x7c00},     // Inf
		{1 + 1.0/2048, 0x3c00},             // tie between 1 and 1+2^-10: even is 1
		{1 + 3.0/2048, 0x3c02},             // tie between 0x3c01 and 0x3c02: even up
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just above the tie
		{0x1p-24, 0x0001},                  // smallest subnormal
		{0x1p-25, 0x0000},                  // half of it: tie to even zero
		{0x1p-25 + 0x1p-35, 0x0001},        // just above
		{3 * 0x1p-25, 0x0002},              // tie between 1 and 2 subnormal units
		{0x1p-14, 0x0400},                  // smallest normal
		{0x1p-14 - 0x1p-25, 0x0400},        // tie between largest subnormal (odd) and smallest normal
		{1e-10, 0x0000},                    // underflow
		{float32(math.SmallestNonzeroFloat32), 0x0000},
		{3.140625, 0x4248},
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
		if got := refF32ToF16(c.in); got != c.want {
			t.Errorf("reference(%v) = %#04x, want %#04x (test reference is wrong)", c.in, got, c.want)
		}
	}
	if h := F32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN) = %#04x, not a NaN", h)
	}
	if h := F32ToF16(math.Float32frombits(0x7f800001)); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN with low payload) = %#04x, not a NaN", h)
	}
}

// TestF32ToF16Neighborhoods compares with the reference on every float32
// exponent/high-mantissa combination with low bits at and around the
// rounding midpoint, plus random values.
func TestF32ToF16Neighborhoods(t *testing.T) {
	lows := []uint32{0, 1, 0x0fff, 0x1000, 0x1001, 0x1fff}
	check := func(b uint32) {
		x := math.Float32frombits(b)
		if x != x {
			return
		}
		if got, want := F32ToF16(x), refF32ToF16(x); got != want {
			t.Fatalf("F32ToF16(%v = %#08x) = %#04x, want %#04x", x, b, got, want)
		}
	}
	// Exponents from below the subnormal range to above the overflow point.
	for exp := uint32(127 - 27); exp <= 127+17; exp++ {
		for hi := uint32(0); hi < 1<<10; hi++ {
			for _, lo := range lows {
				b := exp<<23 | hi<<13 | lo
				check(b)
				check(b | 0x80000000)
			}
		}
	}
	seed := uint64(20261101)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for range 200000 {
		check(r.Uint32())
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		if got := F32ToBF16(f); got != h {
			t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x", h, got)
		}
	}
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even down
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, even up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float32 rounds to Inf
		{float32(math.Inf(-1)), 0xff80},
	}
	for _, c := range cases {
		if got := F32ToBF16(c.in); got != c.want {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := F32ToBF16(math.Float32frombits(0x7f800001)); h&0x7f80 != 0x7f80 || h&0x7f == 0 {
		t.Errorf("F32ToBF16(NaN with low payload) = %#04x, not a NaN", h)
	}
}
