package backendtest

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// unarySpec is one unary op with its arguments and tolerances.
type unarySpec struct {
	name    string
	op      backend.UnaryOp
	args    backend.Args
	tol     float64 // forward
	gradTol float64
}

// unarySpecs covers every UnaryOp with each of its test arguments, all
// from backend.Unaries (Pow twice: a positive and a negative exponent).
func unarySpecs() []unarySpec {
	const grad = 1e-4
	var specs []unarySpec
	for op, d := range backend.Unaries {
		if d.Name == "" || d.F == nil || d.D == nil || d.WGSL == "" || d.WGSLGrad == "" || len(d.TestArgs) == 0 || d.Kinks == nil {
			panic(fmt.Sprintf("backendtest: unary op %d is not fully declared in backend.Unaries", op))
		}
		for _, a := range d.TestArgs {
			name := d.Name
			if len(d.TestArgs) > 1 {
				name = fmt.Sprintf("%s%g", d.Name, a.Alpha)
			}
			specs = append(specs, unarySpec{name, backend.UnaryOp(op), a, d.Tol, grad})
		}
	}
	return specs
}

// unaryInputs draws n inputs from op's domain, at least 0.01 away from its
// kinks so that finite differences are meaningful.
func (e *env) unaryInputs(s unarySpec, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		for {
			var v float64
			switch backend.Unaries[s.op].Domain {
			case backend.Positive:
				v = 0.05 + 3.95*e.rng.Float64()
			case backend.NonZero:
				v = (0.2 + 3.8*e.rng.Float64()) * float64(1-2*e.rng.Intn(2))
			default:
				v = -4 + 8*e.rng.Float64()
			}
			kinks := backend.Unaries[s.op].Kinks(s.args)
			ok := true
			for _, k := range kinks {
				ok = ok && math.Abs(v-k) >= 0.01
			}
			if ok {
				x[i] = float32(v)
				break
			}
		}
	}
	return x
}

func elementwiseCases() []testCase {
	cs := []testCase{{name: "fill", run: func(e *env) []output {
		const n, extra = 1029, 7
		init := e.normal(n + extra)
		b := e.upload(init)
		e.b.Fill(b, n, 0.375)
		got := e.download(b, n+extra)
		want := f64(init)
		for i := 0; i < n; i++ {
			want[i] = 0.375
		}
		return []output{{name: "dst", got: got, want: want}}
	}}}
	for _, s := range unarySpecs() {
		cs = append(cs, testCase{name: "unary/" + s.name, run: func(e *env) []output {
			const n, extra = 1031, 5
			x := e.unaryInputs(s, n)
			dst := e.alloc(n + extra)
			e.b.Unary(s.op, dst, e.upload(x), n, s.args)
			got := e.download(dst, n+extra)
			want, scale := make([]float64, n), make([]float64, n)
			for i, v := range x {
				want[i] = refUnary(s.op, float64(v), s.args)
				scale[i] = math.Abs(want[i])
				if s.op == backend.Affine { // two roundings: scale by both terms
					scale[i] = math.Abs(float64(s.args.Alpha)*float64(v)) + math.Abs(float64(s.args.Beta))
				}
			}
			return []output{
				{name: "dst", got: got[:n], want: want, scale: scale, tol: s.tol},
				{name: "dst tail beyond n (untouched)", got: got[n:], want: nanSlice(extra)},
			}
		}})
		cs = append(cs, testCase{name: "unarygrad/" + s.name, run: func(e *env) []output {
			const n = 1031
			x := e.unaryInputs(s, n)
			dy := e.normal(n)
			y := make([]float32, n)
			want := make([]float64, n)
			for i, v := range x {
				y[i] = float32(refUnary(s.op, float64(v), s.args))
				want[i] = float64(dy[i]) * refUnaryFD(s.op, float64(v), s.args)
			}
			dx := e.alloc(n)
			e.b.UnaryGrad(s.op, dx, e.upload(x), e.upload(y), e.upload(dy), n, s.args)
			return []output{{name: "dx (vs finite differences)", got: e.download(dx, n), want: want, tol: s.gradTol}}
		}})
	}
	for op := backend.BinaryOp(0); op < backend.NumBinaryOps; op++ {
		tol := 1e-6
		if op == backend.Max || op == backend.Min {
			tol = 0
		}
		for _, bc := range broadcastPatterns() {
			cs = append(cs, testCase{name: fmt.Sprintf("binary/%v/%s", op, bc.name), run: func(e *env) []output {
				a := e.normal(bc.aLen)
				b := e.normal(bc.bLen)
				if op == backend.Div { // keep divisors away from zero
					for i, v := range b {
						b[i] = float32(math.Copysign(0.5+math.Abs(float64(v)), float64(v)))
					}
				}
				p := backend.Broadcast{Shape: bc.shape, AStrides: bc.aStrides, BStrides: bc.bStrides}
				n := prod(bc.shape)
				dst := e.alloc(n)
				e.b.Binary(op, dst, e.upload(a), e.upload(b), p)
				want := refBroadcast(op, f64(a), f64(b), p)
				return []output{{name: "dst", got: e.download(dst, n), want: want, tol: tol}}
			}})
		}
	}
	return cs
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// broadcastPattern is an output shape with the strides and lengths of a and b.
type broadcastPattern struct {
	name               string
	shape              []int
	aStrides, bStrides []int
	aLen, bLen         int
}

func broadcastPatterns() []broadcastPattern {
	return []broadcastPattern{
		{"same", []int{3, 5, 7}, []int{35, 7, 1}, []int{35, 7, 1}, 105, 105},
		{"scalar_b", []int{4, 33}, []int{33, 1}, []int{0, 0}, 132, 1},
		{"channel_b", []int{2, 5, 3, 4}, []int{60, 12, 4, 1}, []int{0, 1, 0, 0}, 120, 5},
		{"outer", []int{7, 9}, []int{1, 0}, []int{0, 1}, 7, 9},
		{"transposed_a", []int{6, 5}, []int{1, 6}, []int{5, 1}, 30, 30},
		{"batch_a", []int{3, 4, 5}, []int{0, 5, 1}, []int{20, 5, 1}, 20, 60},
		{"rank6", []int{2, 1, 3, 2, 2, 3}, []int{36, 36, 12, 6, 3, 1}, []int{0, 0, 6, 3, 0, 1}, 72, 18},
		{"rank1", []int{1}, []int{1}, []int{0}, 1, 1},
	}
}
