package backend

import "math"

// UnaryDef declares one unary op once: its name, its value and derivative
// in float64 (the CPU backend computes them and rounds once; the
// conformance suite checks every backend against them and the derivative
// against finite differences), its WGSL expressions (the GPU kernel's
// switch is generated from them, so the op ids cannot drift from this
// table), and what its tests need. Adding an op is a const in the UnaryOp
// list and an entry here (plus, if wanted, a named function in nn).
type UnaryDef struct {
	Name string
	// F is f(x); D is f'(x) given x and y = f(x) (at kinks PyTorch's
	// choice: relu'(0) = 0, leaky_relu'(0) = Alpha, abs'(0) = 0, clamp
	// passes the gradient on the closed interval).
	F func(x float64, a Args) float64
	D func(x, y float64, a Args) float64
	// WGSL and WGSLGrad are f and f' as WGSL expressions of x, y (f(x),
	// gradient only), a and b (Alpha and Beta), with the helpers of
	// shaders/elementwise.wgsl (sigmoid_, tanh_, phi_cdf, INV_SQRT2PI).
	WGSL, WGSLGrad string
	// Tests: the arguments to check it with, the input domain, the
	// forward tolerance (relative; 0 = exact) and the kinks to keep finite
	// differences away from.
	TestArgs []Args
	Domain   Domain
	Tol      float64
	Kinks    func(a Args) []float64
}

// Domain is the input range an op's tests draw from.
type Domain int

const (
	AnyReal  Domain = iota // [-4, 4]
	Positive               // [0.05, 4]
	NonZero                // +-[0.2, 4]
)

// Forward tolerances of the ops (relative to magnitude; see backendtest).
const (
	TolExact  = 0
	TolArith  = 1e-6
	TolTransc = 1e-4
)

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func step64(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func atZero(Args) []float64 { return []float64{0} }

// Unaries is the table, indexed by UnaryOp.
var Unaries = [NumUnaryOps]UnaryDef{
	Affine: {Name: "affine",
		F:    func(x float64, a Args) float64 { return float64(a.Alpha)*x + float64(a.Beta) },
		D:    func(x, y float64, a Args) float64 { return float64(a.Alpha) },
		WGSL: "a * x + b", WGSLGrad: "a",
		TestArgs: []Args{{Alpha: 1.7, Beta: -0.3}}, Tol: TolArith, Kinks: atZero},
	Relu: {Name: "relu",
		F:    func(x float64, a Args) float64 { return math.Max(x, 0) },
		D:    func(x, y float64, a Args) float64 { return step64(x > 0) },
		WGSL: "max(x, 0.0)", WGSLGrad: "select(0.0, 1.0, x > 0.0)",
		TestArgs: []Args{{}}, Tol: TolExact, Kinks: atZero},
	LeakyRelu: {Name: "leaky_relu",
		F: func(x float64, a Args) float64 {
			if x >= 0 {
				return x
			}
			return float64(a.Alpha) * x
		},
		D: func(x, y float64, a Args) float64 {
			if x > 0 {
				return 1
			}
			return float64(a.Alpha)
		},
		WGSL: "select(a * x, x, x >= 0.0)", WGSLGrad: "select(a, 1.0, x > 0.0)",
		TestArgs: []Args{{Alpha: 0.2}}, Tol: TolArith, Kinks: atZero},
	Clamp: {Name: "clamp",
		F: func(x float64, a Args) float64 { return math.Min(math.Max(x, float64(a.Alpha)), float64(a.Beta)) },
		D: func(x, y float64, a Args) float64 {
			return step64(x >= float64(a.Alpha) && x <= float64(a.Beta))
		},
		WGSL: "min(max(x, a), b)", WGSLGrad: "select(0.0, 1.0, x >= a && x <= b)",
		TestArgs: []Args{{Alpha: -0.5, Beta: 1.25}}, Tol: TolExact,
		Kinks: func(a Args) []float64 { return []float64{float64(a.Alpha), float64(a.Beta)} }},
	Silu: {Name: "silu",
		F: func(x float64, a Args) float64 { return x * sigmoid64(x) },
		D: func(x, y float64, a Args) float64 {
			s := sigmoid64(x)
			return s * (1 + x*(1-s))
		},
		WGSL: "x * sigmoid_(x)", WGSLGrad: "sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x)))",
		TestArgs: []Args{{}}, Tol: TolTransc, Kinks: atZero},
	Gelu: {Name: "gelu",
		F: func(x float64, a Args) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) },
		D: func(x, y float64, a Args) float64 {
			return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
		},
		WGSL: "x * phi_cdf(x)", WGSLGrad: "phi_cdf(x) + x * INV_SQRT2PI * exp(-0.5 * x * x)",
		TestArgs: []Args{{}}, Tol: TolTransc, Kinks: atZero},
	Tanh: {Name: "tanh",
		F:    func(x float64, a Args) float64 { return math.Tanh(x) },
		D:    func(x, y float64, a Args) float64 { return 1 - y*y },
		WGSL: "tanh_(x)", WGSLGrad: "1.0 - y * y",
		TestArgs: []Args{{}}, Tol: TolTransc, Kinks: atZero},
	Sigmoid: {Name: "sigmoid",
		F:    func(x float64, a Args) float64 { return sigmoid64(x) },
		D:    func(x, y float64, a Args) float64 { return y * (1 - y) },
		WGSL: "sigmoid_(x)", WGSLGrad: "y * (1.0 - y)",
		TestArgs: []Args{{}}, Tol: TolTransc, Kinks: atZero},
	Exp: {Name: "exp",
		F:    func(x float64, a Args) float64 { return math.Exp(x) },
		D:    func(x, y float64, a Args) float64 { return y },
		WGSL: "exp(x)", WGSLGrad: "y",
		TestArgs: []Args{{}}, Tol: TolTransc, Kinks: atZero},
	Log: {Name: "log",
		F:    func(x float64, a Args) float64 { return math.Log(x) },
		D:    func(x, y float64, a Args) float64 { return 1 / x },
		WGSL: "log(x)", WGSLGrad: "1.0 / x",
		TestArgs: []Args{{}}, Domain: Positive, Tol: TolTransc, Kinks: atZero},
	Sqrt: {Name: "sqrt",
		F:    func(x float64, a Args) float64 { return math.Sqrt(x) },
		D:    func(x, y float64, a Args) float64 { return 0.5 / math.Sqrt(x) },
		WGSL: "sqrt(x)", WGSLGrad: "0.5 / y",
		TestArgs: []Args{{}}, Domain: Positive, Tol: TolArith, Kinks: atZero},
	Rsqrt: {Name: "rsqrt",
		F:    func(x float64, a Args) float64 { return 1 / math.Sqrt(x) },
		D:    func(x, y float64, a Args) float64 { return -0.5 / (x * math.Sqrt(x)) },
		WGSL: "1.0 / sqrt(x)", WGSLGrad: "-0.5 * y / x",
		TestArgs: []Args{{}}, Domain: Positive, Tol: TolTransc, Kinks: atZero},
	Square: {Name: "square",
		F:    func(x float64, a Args) float64 { return x * x },
		D:    func(x, y float64, a Args) float64 { return 2 * x },
		WGSL: "x * x", WGSLGrad: "2.0 * x",
		TestArgs: []Args{{}}, Tol: TolArith, Kinks: atZero},
	Abs: {Name: "abs",
		F: func(x float64, a Args) float64 { return math.Abs(x) },
		D: func(x, y float64, a Args) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		},
		WGSL: "abs(x)", WGSLGrad: "sign(x)",
		TestArgs: []Args{{}}, Tol: TolExact, Kinks: atZero},
	Recip: {Name: "recip",
		F:    func(x float64, a Args) float64 { return 1 / x },
		D:    func(x, y float64, a Args) float64 { return -1 / (x * x) },
		WGSL: "1.0 / x", WGSLGrad: "-y * y",
		TestArgs: []Args{{}}, Domain: NonZero, Tol: TolArith, Kinks: atZero},
	Pow: {Name: "pow",
		F:    func(x float64, a Args) float64 { return math.Pow(x, float64(a.Alpha)) },
		D:    func(x, y float64, a Args) float64 { return float64(a.Alpha) * math.Pow(x, float64(a.Alpha)-1) },
		WGSL: "pow(x, a)", WGSLGrad: "a * pow(x, a - 1.0)",
		TestArgs: []Args{{Alpha: 2.5}, {Alpha: -0.7}}, Domain: Positive, Tol: TolTransc, Kinks: atZero},
}
