package backend

import (
	"fmt"
	"math"
)

// BinaryOp names an element-wise function of two arguments; binaryDefs
// declares each one.
type BinaryOp int

// The binary ops.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Max
	Min
	NumBinaryOps
)

// BinaryDef is the one declaration of a binary op (see UnaryDef).
type BinaryDef struct {
	Name string
	// Eval is the CPU kernel over one row: dst[j] = a[j*as] op b[j*bs] for
	// j < len(dst), called once per row.
	Eval func(dst, a []float32, as int, b []float32, bs int)
	// Ref is the op in float64.
	Ref func(a, b float64) float64
	// WGSL is the op as a WGSL f32 expression of a and b.
	WGSL string
	// Tol is the conformance tolerance relative to |result| (0: exact).
	Tol float64
	// NonzeroB makes the conformance suite keep b at least 0.5 from zero.
	NonzeroB bool
}

var binaryDefs = [NumBinaryOps]BinaryDef{
	Add: {Name: "add", Tol: TolArith, WGSL: "a + b",
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return x + y }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: func(a, b float64) float64 { return a + b }},
	Sub: {Name: "sub", Tol: TolArith, WGSL: "a - b",
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return x - y }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: func(a, b float64) float64 { return a - b }},
	Mul: {Name: "mul", Tol: TolArith, WGSL: "a * b",
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return x * y }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: func(a, b float64) float64 { return a * b }},
	Div: {Name: "div", Tol: TolArith, WGSL: "a / b", NonzeroB: true,
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return x / y }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: func(a, b float64) float64 { return a / b }},
	Max: {Name: "max", Tol: TolExact, WGSL: "max(a, b)",
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return max(x, y) }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: math.Max},
	Min: {Name: "min", Tol: TolExact, WGSL: "min(a, b)",
		Eval: func(d, a []float32, as int, b []float32, bs int) {
			f := func(x, y float32) float32 { return min(x, y) }
			if as == 1 && bs == 1 {
				zip(d, a, b, f)
				return
			}
			zipStrided(d, a, as, b, bs, f)
		},
		Ref: math.Min},
}

// Def returns op's declaration; it panics on an unknown op.
func (o BinaryOp) Def() *BinaryDef {
	if !o.Valid() {
		panic(fmt.Sprintf("backend: unknown binary op %d", int(o)))
	}
	return &binaryDefs[o]
}

// Valid says whether o is one of the declared ops.
func (o BinaryOp) Valid() bool { return o >= 0 && o < NumBinaryOps }

func (o BinaryOp) String() string {
	if o.Valid() && binaryDefs[o].Name != "" {
		return binaryDefs[o].Name
	}
	return fmt.Sprintf("BinaryOp(%d)", int(o))
}
