package backend

import (
	"fmt"
	"math"
)

// UnaryOp names an element-wise function; unaryDefs declares each one.
type UnaryOp int

// The unary ops. Args used are given in brackets. Adding an op takes a line
// here and its entry in unaryDefs (plus, if wanted, a wrapper in package nn);
// the backends and the conformance suite read everything else from the entry.
const (
	Affine    UnaryOp = iota // Alpha*x + Beta
	Relu                     // max(x, 0)
	LeakyRelu                // x >= 0 ? x : Alpha*x
	Clamp                    // min(max(x, Alpha), Beta)
	Silu                     // x * sigmoid(x)
	Gelu                     // x * Phi(x), exact (erf) form
	Tanh                     // tanh(x)
	Sigmoid                  // 1 / (1 + exp(-x))
	Exp                      // exp(x)
	Log                      // ln(x)
	Sqrt                     // sqrt(x)
	Rsqrt                    // 1 / sqrt(x)
	Square                   // x*x
	Abs                      // |x|
	Recip                    // 1 / x
	Pow                      // x^Alpha (x > 0)
	NumUnaryOps
)

// UnaryDef is the one declaration of a unary op: its name, its CPU kernels,
// its float64 reference, its WGSL code and how the conformance suite tests it.
type UnaryDef struct {
	// Name is the op's name in logs, tape nodes and test names.
	Name string
	// Eval is the CPU kernel: dst[i] = f(x[i]) for i < len(dst). The CPU
	// backend calls it once per chunk, so the loop runs without a call per
	// element (the helpers below inline the element function into it).
	Eval func(dst, x []float32, a Args)
	// Grad is the CPU gradient kernel: dx[i] = dy[i] * f'(x[i]) for
	// i < len(dx), where y holds f(x) (tanh, sigmoid, exp and others use it).
	// At kinks it follows PyTorch: relu'(0) = 0, leaky_relu'(0) = Alpha,
	// abs'(0) = 0, clamp passes the gradient on the closed interval.
	Grad func(dx, x, y, dy []float32, a Args)
	// Cheap marks ops of a few float32 instructions per element: the CPU
	// backend splits them into larger chunks per goroutine.
	Cheap bool
	// Ref is f in float64, the reference every backend is checked against
	// (and, by finite differences, every gradient). Where f has two common
	// formulas, Ref uses the other one than Eval.
	Ref func(x float64, a Args) float64
	// WGSL is f as a WGSL f32 expression of x, a (Alpha) and b (Beta);
	// WGSLGrad is f'(x) of x, y = f(x), a and b. nn/gpu generates the op
	// switch of shaders/elementwise.wgsl from them; helper functions
	// (sigmoid_, tanh_, phi_cdf) are defined in that file.
	WGSL, WGSLGrad string
	// Test is how the conformance suite exercises the op.
	Test UnaryTest
}

// UnaryTest describes the inputs and tolerance of an op's conformance cases.
type UnaryTest struct {
	// Args are the argument sets to test, one case each; none means Args{}.
	Args []Args
	// Inputs are uniform in [Lo, Hi), redrawn when closer than Gap (0 means
	// 0.01) to a kink, so that finite differences are meaningful.
	Lo, Hi, Gap float64
	// Kinks are where f is not smooth; nil means {0}.
	Kinks func(a Args) []float64
	// Tol is the forward tolerance relative to Scale (default |f(x)|); 0
	// demands the exact float32 result.
	Tol   float64
	Scale func(x float64, a Args) float64
}

// Forward tolerances of the conformance suite: exact, a few roundings of
// float32 arithmetic, and transcendental functions (a few ULP on GPUs).
const (
	TolExact  = 0
	TolArith  = 1e-6
	TolTransc = 1e-4
)

var smooth = UnaryTest{Lo: -4, Hi: 4, Tol: TolTransc}
var positive = UnaryTest{Lo: 0.05, Hi: 4, Tol: TolTransc}

var unaryDefs = [NumUnaryOps]UnaryDef{
	Affine: {
		Name: "affine",
		Eval: func(d, x []float32, a Args) { each(d, x, func(v float32) float32 { return a.Alpha*v + a.Beta }) },
		Grad: func(dx, x, y, dy []float32, a Args) {
			eachGrad(dx, x, y, dy, func(_, _, g float32) float32 { return g * a.Alpha })
		},
		Cheap: true,
		Ref:   func(x float64, a Args) float64 { return float64(a.Alpha)*x + float64(a.Beta) },
		WGSL:  "a * x + b", WGSLGrad: "a",
		Test: UnaryTest{Args: []Args{{Alpha: 1.7, Beta: -0.3}}, Lo: -4, Hi: 4, Tol: TolArith,
			// two roundings: scale by both terms
			Scale: func(x float64, a Args) float64 { return math.Abs(float64(a.Alpha)*x) + math.Abs(float64(a.Beta)) }},
	},
	Relu: {
		Name: "relu",
		Eval: func(d, x []float32, _ Args) { each(d, x, func(v float32) float32 { return max(v, 0) }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad(dx, x, y, dy, func(x, _, g float32) float32 { return g * step(x > 0) })
		},
		Cheap: true,
		Ref: func(x float64, _ Args) float64 {
			if x > 0 {
				return x
			}
			return 0
		},
		WGSL: "max(x, 0.0)", WGSLGrad: "select(0.0, 1.0, x > 0.0)",
		Test: UnaryTest{Lo: -4, Hi: 4, Tol: TolExact},
	},
	LeakyRelu: {
		Name: "leaky_relu",
		Eval: func(d, x []float32, a Args) {
			each(d, x, func(v float32) float32 {
				if v >= 0 {
					return v
				}
				return a.Alpha * v
			})
		},
		Grad: func(dx, x, y, dy []float32, a Args) {
			eachGrad(dx, x, y, dy, func(x, _, g float32) float32 {
				if x > 0 {
					return g
				}
				return g * a.Alpha
			})
		},
		Cheap: true,
		Ref: func(x float64, a Args) float64 {
			if x >= 0 {
				return x
			}
			return float64(a.Alpha) * x
		},
		WGSL: "select(a * x, x, x >= 0.0)", WGSLGrad: "select(a, 1.0, x > 0.0)",
		Test: UnaryTest{Args: []Args{{Alpha: 0.2}}, Lo: -4, Hi: 4, Tol: TolArith},
	},
	Clamp: {
		Name: "clamp",
		Eval: func(d, x []float32, a Args) {
			each(d, x, func(v float32) float32 { return min(max(v, a.Alpha), a.Beta) })
		},
		Grad: func(dx, x, y, dy []float32, a Args) {
			eachGrad(dx, x, y, dy, func(x, _, g float32) float32 { return g * step(x >= a.Alpha && x <= a.Beta) })
		},
		Cheap: true,
		Ref:   func(x float64, a Args) float64 { return math.Min(math.Max(x, float64(a.Alpha)), float64(a.Beta)) },
		WGSL:  "min(max(x, a), b)", WGSLGrad: "select(0.0, 1.0, x >= a && x <= b)",
		Test: UnaryTest{Args: []Args{{Alpha: -0.5, Beta: 1.25}}, Lo: -4, Hi: 4, Tol: TolExact,
			Kinks: func(a Args) []float64 { return []float64{float64(a.Alpha), float64(a.Beta)} }},
	},
	Silu: {
		Name: "silu",
		Eval: func(d, x []float32, _ Args) { each64(d, x, func(v float64) float64 { return v / (1 + math.Exp(-v)) }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 {
				s := 1 / (1 + math.Exp(-x))
				return s * (1 + x*(1-s))
			})
		},
		Ref:  func(x float64, _ Args) float64 { return x * sigmoid(x) },
		WGSL: "x * sigmoid_(x)", WGSLGrad: "sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x)))",
		Test: smooth,
	},
	Gelu: {
		Name: "gelu",
		Eval: func(d, x []float32, _ Args) {
			each64(d, x, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) })
		},
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 {
				cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
				pdf := math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
				return cdf + x*pdf
			})
		},
		Ref:  func(x float64, _ Args) float64 { return x * 0.5 * math.Erfc(-x/math.Sqrt2) },
		WGSL: "x * phi_cdf(x)", WGSLGrad: "phi_cdf(x) + x * INV_SQRT2PI * exp(-0.5 * x * x)",
		Test: smooth,
	},
	Tanh: {
		Name: "tanh",
		Eval: func(d, x []float32, _ Args) { each64(d, x, math.Tanh) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(_, y float64) float64 { return 1 - y*y })
		},
		Ref: func(x float64, _ Args) float64 {
			e := math.Exp(2 * x)
			return (e - 1) / (e + 1)
		},
		WGSL: "tanh_(x)", WGSLGrad: "1.0 - y * y",
		Test: smooth,
	},
	Sigmoid: {
		Name: "sigmoid",
		Eval: func(d, x []float32, _ Args) { each64(d, x, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(_, y float64) float64 { return y * (1 - y) })
		},
		Ref:  func(x float64, _ Args) float64 { return sigmoid(x) },
		WGSL: "sigmoid_(x)", WGSLGrad: "y * (1.0 - y)",
		Test: smooth,
	},
	Exp: {
		Name: "exp",
		Eval: func(d, x []float32, _ Args) { each64(d, x, math.Exp) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(_, y float64) float64 { return y })
		},
		Ref:  func(x float64, _ Args) float64 { return math.Pow(math.E, x) },
		WGSL: "exp(x)", WGSLGrad: "y",
		Test: smooth,
	},
	Log: {
		Name: "log",
		Eval: func(d, x []float32, _ Args) { each64(d, x, math.Log) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return 1 / x })
		},
		Ref:  func(x float64, _ Args) float64 { return math.Log(x) },
		WGSL: "log(x)", WGSLGrad: "1.0 / x",
		Test: positive,
	},
	Sqrt: {
		Name: "sqrt",
		Eval: func(d, x []float32, _ Args) { each64(d, x, math.Sqrt) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return 0.5 / math.Sqrt(x) })
		},
		Ref:  func(x float64, _ Args) float64 { return math.Pow(x, 0.5) },
		WGSL: "sqrt(x)", WGSLGrad: "0.5 / y",
		Test: UnaryTest{Lo: 0.05, Hi: 4, Tol: TolArith},
	},
	Rsqrt: {
		Name: "rsqrt",
		Eval: func(d, x []float32, _ Args) { each64(d, x, func(v float64) float64 { return 1 / math.Sqrt(v) }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return -0.5 / (x * math.Sqrt(x)) })
		},
		Ref:  func(x float64, _ Args) float64 { return math.Pow(x, -0.5) },
		WGSL: "1.0 / sqrt(x)", WGSLGrad: "-0.5 * y / x",
		Test: positive,
	},
	Square: {
		Name: "square",
		Eval: func(d, x []float32, _ Args) { each(d, x, func(v float32) float32 { return v * v }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return 2 * x })
		},
		Cheap: true,
		Ref:   func(x float64, _ Args) float64 { return math.Pow(x, 2) },
		WGSL:  "x * x", WGSLGrad: "2.0 * x",
		Test: UnaryTest{Lo: -4, Hi: 4, Tol: TolArith},
	},
	Abs: {
		Name: "abs",
		Eval: func(d, x []float32, _ Args) {
			each(d, x, func(v float32) float32 { return float32(math.Abs(float64(v))) })
		},
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad(dx, x, y, dy, func(x, _, g float32) float32 { return g * (step(x > 0) - step(x < 0)) })
		},
		Cheap: true,
		Ref: func(x float64, _ Args) float64 {
			if x < 0 {
				return -x
			}
			return x
		},
		WGSL: "abs(x)", WGSLGrad: "sign(x)",
		Test: UnaryTest{Lo: -4, Hi: 4, Tol: TolExact},
	},
	Recip: {
		Name: "recip",
		Eval: func(d, x []float32, _ Args) { each(d, x, func(v float32) float32 { return 1 / v }) },
		Grad: func(dx, x, y, dy []float32, _ Args) {
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return -1 / (x * x) })
		},
		Cheap: true,
		Ref:   func(x float64, _ Args) float64 { return math.Pow(x, -1) },
		WGSL:  "1.0 / x", WGSLGrad: "-y * y",
		Test: UnaryTest{Lo: -4, Hi: 4, Gap: 0.2, Tol: TolArith},
	},
	Pow: {
		Name: "pow",
		Eval: func(d, x []float32, a Args) {
			p := float64(a.Alpha)
			each64(d, x, func(v float64) float64 { return math.Pow(v, p) })
		},
		Grad: func(dx, x, y, dy []float32, a Args) {
			p := float64(a.Alpha)
			eachGrad64(dx, x, y, dy, func(x, _ float64) float64 { return p * math.Pow(x, p-1) })
		},
		Ref:  func(x float64, a Args) float64 { return math.Exp(float64(a.Alpha) * math.Log(x)) },
		WGSL: "pow(x, a)", WGSLGrad: "a * pow(x, a - 1.0)",
		Test: UnaryTest{Args: []Args{{Alpha: 2.5}, {Alpha: -0.7}}, Lo: 0.05, Hi: 4, Tol: TolTransc},
	},
}

// Def returns op's declaration. It panics on an unknown op: ops are
// constants of the calling code.
func (o UnaryOp) Def() *UnaryDef {
	if !o.Valid() {
		panic(fmt.Sprintf("backend: unknown unary op %d", int(o)))
	}
	return &unaryDefs[o]
}

// Valid says whether o is one of the declared ops.
func (o UnaryOp) Valid() bool { return o >= 0 && o < NumUnaryOps }

func (o UnaryOp) String() string {
	if o.Valid() && unaryDefs[o].Name != "" {
		return unaryDefs[o].Name
	}
	return fmt.Sprintf("UnaryOp(%d)", int(o))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func step(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
