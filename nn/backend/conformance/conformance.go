// Package conformance is the conformance suite of backend.Backend, written
// once and run against every backend: natively by package backendtest (as
// subtests), in the browser by wasm/parity. It does not import testing.
//
// Cases compare a backend with float64 reference implementations held in
// this package (simple loops, float64 accumulation; the element-wise
// functions come from the op tables of package backend), gradients with
// central finite differences, and the gradient primitives with the adjoint
// identity <dy, F(x)> = <F^T(dy), x> (Checks). A parity run executes a case
// on two backends (a reference, normally the CPU backend, and one under
// test) with the same inputs and compares their outputs.
//
// Inputs are random: a case draws them from CaseSeed(base, name), so a case
// gets the same inputs however many cases run before it. Shapes are small so
// that software GPU devices (lavapipe, SwiftShader) finish quickly.
//
// Tolerances are relative to magnitude (the one rule of the suite): an output
// element passes when |got - want| <= tol * (scale + floor), where scale is
// the element's natural magnitude (|want|, or sum |a_i*b_i| for
// contractions) and floor is 1% of the RMS scale of the whole output, so
// near-zero results are not held to an impossible relative error. Exact
// primitives (copies, resizes, one-hot, max) use tol = 0. A parity run
// doubles every tolerance, since both sides carry rounding error.
package conformance

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"catsynth/nn/backend"
)

// Case is one randomized check of the suite.
type Case struct {
	Name string
	run  func(e *env) []output
}

// Cases returns every randomized case of the suite, in a stable order.
func Cases() []Case {
	var cs []Case
	cs = append(cs, elementwiseCases()...)
	cs = append(cs, stridedCases()...)
	cs = append(cs, reduceCases()...)
	cs = append(cs, matmulCases()...)
	cs = append(cs, convCases()...)
	cs = append(cs, imageCases()...)
	cs = append(cs, adamCases()...)
	cs = append(cs, compositeCases()...)
	cs = append(cs, fusedCases()...)
	cs = append(cs, epilogueCases()...)
	cs = append(cs, modActCases()...)
	cs = append(cs, padCases()...)
	return cs
}

// Outputs are the results of one run of a case, with their references.
type Outputs struct {
	outs []output
}

// Run runs c on b with inputs drawn from seed. The error reports a failed
// Alloc or Download, a panic (a *PanicError, with its stack) or, for the
// Checks, what the check found wrong.
func (c Case) Run(b backend.Backend, seed int64) (out Outputs, err error) {
	e := &env{b: b, rng: rand.New(rand.NewSource(seed))}
	defer e.release()
	defer func() {
		switch p := recover().(type) {
		case nil:
		case abort:
			err = p.err
		default:
			err = &PanicError{Value: p, Stack: string(debug.Stack())}
		}
	}()
	out.outs = c.run(e)
	if len(e.errs) > 0 {
		return out, errors.New(strings.Join(e.errs, "\n"))
	}
	return out, nil
}

// PanicError is a panic recovered from a case, with its goroutine stack.
type PanicError struct {
	Value any
	Stack string
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Check compares each output with its float64 reference.
func (o Outputs) Check() []Diff {
	var ds []Diff
	for _, x := range o.outs {
		ds = append(ds, compare(x, x.got, x.want, x.tol))
	}
	return ds
}

// CheckParity compares the outputs of the backend under test with those of
// the reference backend for the same case and seed: the reference's values
// are the wanted ones, its scales the scales, every tolerance doubled.
func CheckParity(ref, got Outputs) []Diff {
	if len(ref.outs) != len(got.outs) {
		return []Diff{{Output: "outputs", Bad: 1, Message: fmt.Sprintf("%d outputs, the reference has %d", len(got.outs), len(ref.outs))}}
	}
	var ds []Diff
	for i, o := range got.outs {
		r := ref.outs[i]
		o.scale = r.scaleOrAbs()
		ds = append(ds, compare(o, o.got, f64(r.got), 2*o.tol))
	}
	return ds
}

// Diff is the comparison of one output with what it should be.
type Diff struct {
	Output string
	N      int     // values compared
	Bad    int     // values outside the tolerance
	Tol    float64 // relative tolerance, 0 for exact
	// MaxAbsErr is max |got - want| over the values where both are finite.
	MaxAbsErr float64
	// Worst is the largest error in units of the tolerance (the output
	// passes when it is at most 1; +Inf for an exact or NaN mismatch), at
	// WorstIndex where the output holds Got instead of Want.
	Worst      float64
	WorstIndex int
	Got, Want  float64
	// Message describes a failure with the first bad values; "" on a pass.
	Message string
}

// BaseSeed is the suite's seed: env BACKENDTEST_SEED if set (a number, or
// "random" for a fresh seed), else a fixed value.
func BaseSeed() (int64, error) {
	s := os.Getenv("BACKENDTEST_SEED")
	switch s {
	case "":
		return 20261101, nil
	case "random":
		return time.Now().UnixNano(), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("BACKENDTEST_SEED=%q: want an integer or \"random\"", s)
	}
	return v, nil
}

// CaseSeed derives a case's seed from the base seed and its name, so a case
// draws the same inputs however many cases run before it.
func CaseSeed(base int64, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return base ^ int64(h.Sum64()&(1<<62-1))
}

// output is one checked result of a case: what the backend produced, the
// float64 reference, and the tolerance.
type output struct {
	name  string
	got   []float32
	want  []float64
	scale []float64 // per-element magnitude; nil means |want|
	tol   float64   // relative tolerance; 0 demands exact equality with float32(want)
}

// env is what a case runs in: the backend, a random source, the buffers to
// free and the errors a check found.
type env struct {
	b    backend.Backend
	rng  *rand.Rand
	bufs []backend.Buffer
	errs []string
}

// abort is the panic by which fatalf ends a case; Run recovers it.
type abort struct{ err error }

// fatalf ends the case with an error.
func (e *env) fatalf(format string, args ...any) {
	panic(abort{fmt.Errorf(format, args...)})
}

// errorf records a failure and lets the case go on.
func (e *env) errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

func (e *env) release() {
	for _, b := range e.bufs {
		e.b.Free(b)
	}
	e.bufs = nil
}

// alloc returns a buffer of n values filled with NaN, so that a primitive
// which fails to write an output it should overwrite is caught.
func (e *env) alloc(n int) backend.Buffer {
	b, err := e.b.Alloc(n)
	if err != nil {
		e.fatalf("Alloc(%d): %v", n, err)
	}
	e.bufs = append(e.bufs, b)
	if n > 0 {
		e.b.Fill(b, n, float32(math.NaN()))
	}
	return b
}

// upload returns a new buffer holding x.
func (e *env) upload(x []float32) backend.Buffer {
	b := e.alloc(len(x))
	e.b.Upload(b, x)
	return b
}

// download returns the first n values of b.
func (e *env) download(b backend.Buffer, n int) []float32 {
	out := make([]float32, n)
	if err := e.b.Download(b, out); err != nil {
		e.fatalf("Download: %v", err)
	}
	return out
}

// uniform returns n values uniform in [lo, hi).
func (e *env) uniform(n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*e.rng.Float64())
	}
	return x
}

// normal returns n standard normal values.
func (e *env) normal(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(e.rng.NormFloat64())
	}
	return x
}

func (o output) scaleOrAbs() []float64 {
	if o.scale != nil {
		return o.scale
	}
	s := make([]float64, len(o.want))
	for i, v := range o.want {
		s[i] = math.Abs(v)
	}
	return s
}

// compare checks got against want with the tolerance rule of the package
// comment, describing the worst few elements.
func compare(o output, got []float32, want []float64, tol float64) Diff {
	d := Diff{Output: o.name, N: len(got), Tol: tol, WorstIndex: -1}
	if len(got) != len(want) {
		d.Bad, d.Worst = 1, math.Inf(1)
		d.Message = fmt.Sprintf("%s: got %d values, want %d", o.name, len(got), len(want))
		return d
	}
	scale := o.scaleOrAbs()
	var ss float64
	for _, s := range scale {
		ss += s * s
	}
	floor := 0.01*math.Sqrt(ss/float64(max(1, len(scale)))) + 1e-30
	shown := ""
	for i, g := range got {
		w := want[i]
		var ok bool
		var ratio float64
		if !math.IsNaN(float64(g)) && !math.IsNaN(w) && !math.IsInf(w, 0) {
			d.MaxAbsErr = max(d.MaxAbsErr, math.Abs(float64(g)-w))
		}
		if tol == 0 {
			ok = g == float32(w) || (math.IsNaN(float64(g)) && math.IsNaN(w))
			if !ok {
				ratio = math.Inf(1)
			}
		} else {
			err := math.Abs(float64(g) - w)
			ratio = err / (tol * (scale[i] + floor))
			ok = ratio <= 1 && !math.IsNaN(float64(g)) == !math.IsNaN(w)
			if math.IsNaN(float64(g)) != math.IsNaN(w) {
				ratio = math.Inf(1)
			}
		}
		if ratio > d.Worst || d.WorstIndex < 0 {
			d.Worst, d.WorstIndex, d.Got, d.Want = ratio, i, float64(g), w
		}
		if !ok {
			d.Bad++
			if d.Bad <= 5 {
				shown += fmt.Sprintf("\n  [%d] got %.9g want %.9g", i, g, w)
			}
		}
	}
	if d.Bad > 0 {
		d.Message = fmt.Sprintf("%s: %d of %d values outside tolerance %g (worst error %.3g x tolerance):%s",
			o.name, d.Bad, len(got), tol, d.Worst, shown)
	}
	return d
}

// f64 converts to float64.
func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
