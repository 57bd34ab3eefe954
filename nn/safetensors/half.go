package safetensors

import "math"

// F16ToF32 converts an IEEE 754 binary16 value (given as its bit pattern) to
// float32. The conversion is exact for every input: zeros, subnormals,
// normals, infinities and NaNs (the NaN payload is kept in the high mantissa
// bits).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal half: normalize into a float32 normal.
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// F32ToF16 converts f to IEEE 754 binary16 (returned as its bit pattern),
// rounding to nearest with ties to even. Values whose magnitude rounds above
// the largest half (65504) become ±Inf; values below half the smallest
// subnormal (2^-25) become ±0; NaN stays NaN, keeping the sign and the high
// payload bits, so F32ToF16(F16ToF32(h)) == h for every h.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	a := b & 0x7fffffff // magnitude bits
	switch {
	case a >= 0x7f800000: // Inf or NaN
		if a == 0x7f800000 {
			return sign | 0x7c00
		}
		h := uint16(a >> 13 & 0x3ff)
		if h == 0 {
			h = 0x200 // payload only in the dropped bits: make a quiet NaN
		}
		return sign | 0x7c00 | h
	case a >= 0x38800000: // >= 2^-14, the half normal range (before rounding)
		// Round to nearest even at bit 13 without branches; a carry into
		// the exponent is correct, and reaching 2^16 means Inf.
		a += 0xfff + (a>>13)&1
		if a >= 0x47800000 {
			return sign | 0x7c00
		}
		return sign | uint16(a>>13-(127-15)<<10)
	case a <= 0x33000000: // <= 2^-25: rounds to zero (the tie goes to even 0)
		return sign
	}
	// Half subnormal: value / 2^-24 rounded to nearest even. The result may
	// reach 0x400, the smallest normal, which is correct.
	e := int32(a>>23) - 127 + 15 // in [-10, 0]
	m := a&0x7fffff | 0x800000
	shift := uint32(14 - e)
	h := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// BF16ToF32 converts a bfloat16 value (given as its bit pattern) to float32;
// exact, since bfloat16 is the top half of a float32.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 converts f to bfloat16 (returned as its bit pattern), rounding to
// nearest with ties to even; NaN stays NaN (keeping sign and high payload
// bits), so F32ToBF16(BF16ToF32(h)) == h for every h.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		h := uint16(b >> 16)
		if h&0x7f == 0 {
			h |= 0x40 // payload only in the dropped bits: make a quiet NaN
		}
		return h
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
