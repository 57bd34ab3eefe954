package conformance

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// unarySpec is one unary op with one of its argument sets.
type unarySpec struct {
	name string
	op   backend.UnaryOp
	args backend.Args
	test backend.UnaryTest
}

// gradTol is the tolerance of every unary gradient against finite differences.
const gradTol = 1e-4

// unarySpecs covers every UnaryOp with each argument set its table entry
// lists (backend.UnaryTest.Args).
func unarySpecs() []unarySpec {
	var specs []unarySpec
	for op := backend.UnaryOp(0); op < backend.NumUnaryOps; op++ {
		t := op.Def().Test
		if len(t.Args) == 0 {
			specs = append(specs, unarySpec{op.String(), op, backend.Args{}, t})
			continue
		}
		for _, a := range t.Args {
			name := op.String()
			if len(t.Args) > 1 {
				name += fmt.Sprintf("%g", a.Alpha)
			}
			specs = append(specs, unarySpec{name, op, a, t})
		}
	}
	return specs
}

// unaryInputs draws n inputs from op's domain, away from its kinks so that
// finite differences are meaningful.
func (e *env) unaryInputs(s unarySpec, n int) []float32 {
	gap, kinks := s.test.Gap, []float64{0}
	if gap == 0 {
		gap = 0.01
	}
	if s.test.Kinks != nil {
		kinks = s.test.Kinks(s.args)
	}
	x := make([]float32, n)
	for i := range x {
		for {
			v := s.test.Lo + (s.test.Hi-s.test.Lo)*e.rng.Float64()
			ok := true
			for _, k := range kinks {
				ok = ok && math.Abs(v-k) >= gap
			}
			if ok {
				x[i] = float32(v)
				break
			}
		}
	}
	return x
}

func elementwiseCases() []Case {
	cs := []Case{{Name: "fill", run: func(e *env) []output {
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
		cs = append(cs, Case{Name: "unary/" + s.name, run: func(e *env) []output {
			const n, extra = 1031, 5
			x := e.unaryInputs(s, n)
			dst := e.alloc(n + extra)
			e.b.Unary(s.op, dst, e.upload(x), n, s.args)
			got := e.download(dst, n+extra)
			want, scale := make([]float64, n), make([]float64, n)
			for i, v := range x {
				want[i] = refUnary(s.op, float64(v), s.args)
				scale[i] = math.Abs(want[i])
				if s.test.Scale != nil {
					scale[i] = s.test.Scale(float64(v), s.args)
				}
			}
			return []output{
				{name: "dst", got: got[:n], want: want, scale: scale, tol: s.test.Tol},
				{name: "dst tail beyond n (untouched)", got: got[n:], want: nanSlice(extra)},
			}
		}})
		cs = append(cs, Case{Name: "unarygrad/" + s.name, run: func(e *env) []output {
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
			return []output{{name: "dx (vs finite differences)", got: e.download(dx, n), want: want, tol: gradTol}}
		}})
	}
	for op := backend.BinaryOp(0); op < backend.NumBinaryOps; op++ {
		tol := op.Def().Tol
		for _, bc := range broadcastPatterns() {
			cs = append(cs, Case{Name: fmt.Sprintf("binary/%v/%s", op, bc.name), run: func(e *env) []output {
				a := e.normal(bc.aLen)
				b := e.normal(bc.bLen)
				if op.Def().NonzeroB { // keep divisors away from zero
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
