// Package backendtest is the conformance suite of backend.Backend, written
// once and run against every backend.
//
// RunAll checks a backend against float64 reference implementations held in
// this package (simple loops, float64 accumulation), central finite
// differences for UnaryGrad, and the adjoint identity <dy, F(x)> = <F^T(dy), x>
// for the gradient primitives. Parity runs the same random cases on two
// backends (a reference, normally the CPU backend, and one under test) and
// compares their outputs.
//
// Inputs are random with a seed logged by each test; set BACKENDTEST_SEED to
// a number to reproduce a run, or to "random" for a fresh seed. Shapes are
// small so that software GPU devices (lavapipe, SwiftShader) finish quickly.
//
// Tolerances are relative to magnitude: an output element passes when
// |got - want| <= tol * (scale + floor), where scale is the element's natural
// magnitude (|want|, or sum |a_i*b_i| for contractions) and floor is 1% of
// the RMS scale of the whole output, so near-zero results are not held to an
// impossible relative error. Exact primitives (copies, resizes, one-hot,
// max) use tol = 0.
package backendtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"catsynth/nn/backend"
)

// output is one checked result of a case: what the backend produced, the
// float64 reference, and the tolerance.
type output struct {
	name  string
	got   []float32
	want  []float64
	scale []float64 // per-element magnitude; nil means |want|
	tol   float64   // relative tolerance; 0 demands exact equality with float32(want)
}

// testCase is one randomized check. run builds its inputs from e.rng (so the
// same seed gives the same inputs on every backend), runs the primitive on
// e.b and returns the outputs with their references.
type testCase struct {
	name string
	run  func(e *env) []output
}

// TB is the part of *testing.T the suite reports to: a test, or the
// browser's parity run (Compare), which has no package testing.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// runner is a TB that runs subtests (*testing.T).
type runner[T any] interface {
	TB
	Run(name string, f func(T)) bool
}

// env is what a case runs in: the backend, a random source, and the buffers to free.
type env struct {
	t    TB
	b    backend.Backend
	rng  *rand.Rand
	bufs []backend.Buffer
}

func newEnv(t TB, b backend.Backend, seed int64) *env {
	return &env{t: t, b: b, rng: rand.New(rand.NewSource(seed))}
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
	e.t.Helper()
	b, err := e.b.Alloc(n)
	if err != nil {
		e.t.Fatalf("Alloc(%d): %v", n, err)
	}
	e.bufs = append(e.bufs, b)
	if n > 0 {
		e.b.Fill(b, n, float32(math.NaN()))
	}
	return b
}

// upload returns a new buffer holding x.
func (e *env) upload(x []float32) backend.Buffer {
	e.t.Helper()
	b := e.alloc(len(x))
	e.b.Upload(b, x)
	return b
}

// download returns the first n values of b.
func (e *env) download(b backend.Buffer, n int) []float32 {
	e.t.Helper()
	out := make([]float32, n)
	if err := e.b.Download(b, out); err != nil {
		e.t.Fatalf("Download: %v", err)
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

// baseSeed is the suite's seed: BACKENDTEST_SEED if set, else a fixed value.
func baseSeed(t TB) int64 {
	s := os.Getenv("BACKENDTEST_SEED")
	switch s {
	case "":
		return 20261101
	case "random":
		return time.Now().UnixNano()
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("BACKENDTEST_SEED=%q: want an integer or \"random\"", s)
	}
	return v
}

// caseSeed derives a case's seed from the base seed and its name, so a case
// draws the same inputs however many cases run before it.
func caseSeed(base int64, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return base ^ int64(h.Sum64()&(1<<62-1))
}

// allCases is every randomized case of the suite, in a stable order.
func allCases() []testCase {
	var cs []testCase
	cs = append(cs, elementwiseCases()...)
	cs = append(cs, stridedCases()...)
	cs = append(cs, reduceCases()...)
	cs = append(cs, matmulCases()...)
	cs = append(cs, convCases()...)
	cs = append(cs, imageCases()...)
	cs = append(cs, adamCases()...)
	return cs
}

// RunAll runs the whole conformance suite against the backends newBackend
// returns (called once per subtest, so a backend may be shared or fresh).
func RunAll[T runner[T]](t T, newBackend func(t T) backend.Backend) {
	base := baseSeed(t)
	t.Logf("BACKENDTEST_SEED=%d", base)
	for _, c := range allCases() {
		t.Run(c.name, func(t T) {
			seed := caseSeed(base, c.name)
			e := newEnv(t, newBackend(t), seed)
			defer e.release()
			for _, o := range c.run(e) {
				checkOutput(t, o, o.got, o.want, o.tol)
			}
		})
	}
	for _, c := range extraChecks() {
		t.Run(c.name, func(t T) {
			seed := caseSeed(base, c.name)
			e := newEnv(t, newBackend(t), seed)
			defer e.release()
			c.check(t, e)
		})
	}
}

// Parity runs every randomized case on ref and on got with the same inputs
// and checks that got's outputs match ref's (tolerances doubled, since both
// carry rounding error; exact primitives must match exactly).
func Parity[T runner[T]](t T, ref, got backend.Backend) {
	base := baseSeed(t)
	t.Logf("BACKENDTEST_SEED=%d, reference %s, under test %s", base, ref.Name(), got.Name())
	for _, c := range allCases() {
		t.Run(c.name, func(t T) { parityCase(t, c, ref, got, caseSeed(base, c.name)) })
	}
}

// parityCase runs c on ref and got with the same inputs (drawn from seed)
// and checks got's outputs against ref's.
func parityCase(t TB, c testCase, ref, got backend.Backend, seed int64) {
	er := newEnv(t, ref, seed)
	defer er.release()
	eg := newEnv(t, got, seed)
	defer eg.release()
	refOut, gotOut := c.run(er), c.run(eg)
	if err := got.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for i, o := range gotOut {
		r := refOut[i]
		want := make([]float64, len(r.got))
		for j, v := range r.got {
			want[j] = float64(v)
		}
		o.scale = r.scaleOrAbs()
		checkOutput(t, o, o.got, want, 2*o.tol)
	}
}

// CaseNames lists the randomized cases of the suite, in order.
func CaseNames() []string {
	var names []string
	for _, c := range allCases() {
		names = append(names, c.name)
	}
	return names
}

// Outcome is the result of one case run by Compare.
type Outcome struct {
	Name   string
	Errors []string // what failed (empty: passed)
	// Worst is the largest error over its tolerance among the values
	// outside it (0 when all passed or the case failed otherwise).
	Worst float64
	Stack string // of a panic
}

// Compare is Parity without package testing, for the browser build: it
// runs the cases whose name keep accepts (nil: all) on ref and got with
// the inputs of seed and returns each case's outcome; a failure or panic
// of one case does not stop the others. The tolerances are Parity's.
func Compare(ref, got backend.Backend, seed int64, keep func(name string) bool) []Outcome {
	var out []Outcome
	for _, c := range allCases() {
		if keep != nil && !keep(c.name) {
			continue
		}
		r := &collector{}
		var stack string
		func() {
			defer func() {
				if p := recover(); p != nil && p != errStop {
					r.errs = append(r.errs, fmt.Sprintf("panic: %v", p))
					stack = string(debug.Stack())
				}
			}()
			parityCase(r, c, ref, got, caseSeed(seed, c.name))
		}()
		out = append(out, Outcome{Name: c.name, Errors: r.errs, Worst: r.worst, Stack: stack})
	}
	return out
}

// collector is the TB of Compare: it keeps the errors and the worst error
// ratio; Fatalf stops the case.
type collector struct {
	errs  []string
	worst float64
}

func (r *collector) worstRatio(v float64) {
	if !math.IsInf(v, 0) {
		r.worst = max(r.worst, v)
	}
}

var errStop = new(int)

func (r *collector) Helper()                   {}
func (r *collector) Logf(string, ...any)       {}
func (r *collector) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *collector) Fatalf(f string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
	panic(errStop)
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

// checkOutput reports the elements of got that differ from want by more than
// the tolerance (see the package comment), showing the worst few.
func checkOutput(t TB, o output, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", o.name, len(got), len(want))
		return
	}
	scale := o.scaleOrAbs()
	var ss float64
	for _, s := range scale {
		ss += s * s
	}
	floor := 0.01*math.Sqrt(ss/float64(max(1, len(scale)))) + 1e-30
	bad, shown := 0, ""
	worst := 0.0
	for i, g := range got {
		w := want[i]
		var ok bool
		var ratio float64
		if tol == 0 {
			ok = g == float32(w) || (math.IsNaN(float64(g)) && math.IsNaN(w))
			if !ok {
				ratio = math.Inf(1)
			}
		} else {
			err := math.Abs(float64(g) - w)
			ratio = err / (tol * (scale[i] + floor))
			ok = ratio <= 1 && !math.IsNaN(float64(g)) == !math.IsNaN(w)
			if math.IsNaN(float64(g)) && !math.IsNaN(w) {
				ratio = math.Inf(1)
			}
		}
		if !ok {
			bad++
			if bad <= 5 {
				shown += fmt.Sprintf("\n  [%d] got %.9g want %.9g", i, g, w)
			}
			worst = max(worst, ratio)
		}
	}
	if w, ok := t.(interface{ worstRatio(float64) }); ok {
		w.worstRatio(worst)
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values outside tolerance %g (worst error %.3g x tolerance):%s",
			o.name, bad, len(got), tol, worst, shown)
	}
}

// f64 converts to float64.
func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
