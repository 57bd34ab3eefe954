// Package parity runs the conformance suite's cases (nn/backend/backendtest:
// one case list, one tolerance rule for every backend) on a tested backend
// against a reference backend with the same random inputs, plus a few
// composed sequences (Composites), and reports the outcome.
//
// It exists for the browser build: wasm/ runs it inside the page to check
// the WebGPU backend against the CPU backend linked into the same wasm, and
// returns the Report as JSON to the Go test that drives headless Chromium.
// It needs no *testing.T, so it runs anywhere a backend does.
package parity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"catsynth/nn/backend"
	"catsynth/nn/backend/backendtest"
)

// Tol is a per-element tolerance: an output passes when
// |got - want| <= Abs + Rel*|want|.
type Tol struct {
	Abs, Rel float64
}

// Input is one random input buffer: N values uniform in [Lo, Hi), rounded
// down to whole numbers when Int is set (class indices).
type Input struct {
	N      int
	Lo, Hi float32
	Int    bool
}

// Case is one op check. Run computes the output buffer (Out values) from the
// input buffers on a backend; it may Alloc temporaries and must Free them.
type Case struct {
	Name   string
	Inputs []Input
	Out    int
	Tol    Tol
	// Flops is the work of one run (0 when not meaningful), for GFLOP/s.
	Flops float64
	Run   func(b backend.Backend, out backend.Buffer, in []backend.Buffer) error
}

// Result is the outcome of one case. Times are wall-clock milliseconds from
// the first primitive call to the end of the download; the tested backend
// runs twice, Ms is the first (cold: includes kernel compilation) and WarmMs
// the second run. Both runs are compared with the reference.
type Result struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// MaxAbsErr is max |got - want| over the finite outputs.
	MaxAbsErr float64 `json:"maxAbsErr"`
	// Worst is max |got - want| / (Abs + Rel*|want|): the case passes when
	// it is at most 1. WorstIndex, Got and Want describe that element.
	Worst      float64 `json:"worst"`
	WorstIndex int     `json:"worstIndex"`
	Got        float64 `json:"got"`
	Want       float64 `json:"want"`
	Tol        Tol     `json:"tol"`
	N          int     `json:"n"`
	Ms         float64 `json:"ms"`
	WarmMs     float64 `json:"warmMs"`
	RefMs      float64 `json:"refMs"`
	GFlops     float64 `json:"gflops,omitempty"` // warm run
	// Error is set when a run failed (an error, a panic, a non-finite output).
	Error string `json:"error,omitempty"`
	// Stack is the goroutine stack of a panic.
	Stack string `json:"stack,omitempty"`
}

// Report is the outcome of a parity run.
type Report struct {
	Backend   string `json:"backend"`
	Reference string `json:"reference"`
	// Adapter describes the WebGPU adapter when the caller knows it (the
	// browser build reads navigator.gpu's adapter info: vendor, architecture).
	Adapter string `json:"adapter,omitempty"`
	// Seed makes the run reproducible: case i draws its inputs from
	// rand.NewPCG(Seed, i).
	Seed    uint64   `json:"seed"`
	Pass    bool     `json:"pass"`
	Cases   []Result `json:"cases"`
	TotalMs float64  `json:"totalMs"`
	// Error is set when the run could not start (e.g. no WebGPU adapter);
	// NoDevice says the cause was a missing device, which a test may skip.
	Error    string `json:"error,omitempty"`
	NoDevice bool   `json:"noDevice,omitempty"`
}

// CaseNames lists every case Run runs: the conformance suite's, then the
// composites'.
func CaseNames() []string {
	names := backendtest.CaseNames()
	for _, c := range Composites() {
		names = append(names, c.Name)
	}
	return names
}

// Run runs the cases whose name contains filter ("" for all) on test and
// ref and compares the results: each conformance case twice on test (the
// first run is cold: it compiles kernels; the second must agree too), then
// the composites. Each case is independent: a failing or panicking case
// does not stop the others (though a panic can leave a backend's queued
// work in a bad state).
func Run(test, ref backend.Backend, filter string, seed uint64) Report {
	start := time.Now()
	rep := Report{Backend: test.Name(), Reference: ref.Name(), Seed: seed, Pass: true}
	for _, name := range backendtest.CaseNames() {
		if !strings.Contains(name, filter) {
			continue
		}
		r := runConformance(test, ref, name, seed)
		rep.Pass = rep.Pass && r.Pass
		rep.Cases = append(rep.Cases, r)
	}
	for i, c := range Composites() {
		if !strings.Contains(c.Name, filter) {
			continue
		}
		r := runCase(test, ref, c, rand.New(rand.NewPCG(seed, uint64(i))))
		rep.Pass = rep.Pass && r.Pass
		rep.Cases = append(rep.Cases, r)
	}
	rep.TotalMs = ms(time.Since(start))
	return rep
}

// runConformance runs one conformance case twice (cold, warm).
func runConformance(test, ref backend.Backend, name string, seed uint64) Result {
	res := Result{Name: name}
	only := func(n string) bool { return n == name }
	for run := range 2 {
		t0 := time.Now()
		out := backendtest.Compare(ref, test, int64(seed), only)
		d := ms(time.Since(t0))
		if run == 0 {
			res.Ms = d
		} else {
			res.WarmMs = d
		}
		for _, o := range out {
			res.Worst = max(res.Worst, o.Worst)
			if len(o.Errors) > 0 && res.Error == "" {
				res.Error = fmt.Sprintf("run %d: %s", run+1, strings.Join(o.Errors, "; "))
				res.Stack = o.Stack
			}
		}
	}
	res.Pass = res.Error == ""
	return res
}

func runCase(test, ref backend.Backend, c Case, rng *rand.Rand) (res Result) {
	res = Result{Name: c.Name, Tol: c.Tol, N: c.Out, Worst: -1} // the first element sets Worst
	defer func() {
		res.Worst = max(res.Worst, 0)
		res.Pass = res.Error == "" && res.Worst <= 1
	}()
	inputs := make([][]float32, len(c.Inputs))
	for i, in := range c.Inputs {
		inputs[i] = make([]float32, in.N)
		for j := range inputs[i] {
			inputs[i][j] = in.Lo + (in.Hi-in.Lo)*rng.Float32()
			if in.Int {
				inputs[i][j] = float32(math.Floor(float64(inputs[i][j])))
			}
		}
	}
	fail := func(prefix string, err error) Result {
		res.Error = prefix + err.Error()
		if p, ok := err.(*panicError); ok {
			res.Stack = p.stack
		}
		return res
	}
	want, refTime, err := execute(ref, c, inputs)
	res.RefMs = ms(refTime)
	if err != nil {
		return fail("reference: ", err)
	}
	for run := range 2 {
		got, d, err := execute(test, c, inputs)
		if run == 0 {
			res.Ms = ms(d)
		} else {
			res.WarmMs = ms(d)
			if c.Flops > 0 && d > 0 {
				res.GFlops = c.Flops / d.Seconds() / 1e9
			}
		}
		if err == nil {
			err = compare(&res, got, want, c.Tol)
		}
		if err != nil {
			return fail(fmt.Sprintf("run %d: ", run+1), err)
		}
	}
	return res
}

// compare folds the errors of got into res. It fails where exactly one of
// got and want is NaN or infinite (a kernel that never wrote an output
// leaves the NaN the buffer was filled with).
func compare(res *Result, got, want []float32, tol Tol) error {
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.IsInf(g, 0) != math.IsInf(w, 0) {
			return fmt.Errorf("output[%d] = %v, want %v", i, g, w)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		d := math.Abs(g - w)
		res.MaxAbsErr = max(res.MaxAbsErr, d)
		if r := d / (tol.Abs + tol.Rel*math.Abs(w)); r > res.Worst {
			res.Worst, res.WorstIndex, res.Got, res.Want = r, i, g, w
		}
	}
	return nil
}

// execute uploads the inputs to b, runs the case into an output buffer
// filled with NaN, and downloads the output. A panic in the backend is
// returned as an error.
func execute(b backend.Backend, c Case, inputs [][]float32) (out []float32, d time.Duration, err error) {
	var bufs []backend.Buffer
	defer func() {
		for _, buf := range bufs {
			b.Free(buf)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: string(debug.Stack())}
		}
	}()
	for _, in := range inputs {
		buf, err := b.Alloc(len(in))
		if err != nil {
			return nil, 0, err
		}
		bufs = append(bufs, buf)
		b.Upload(buf, in)
	}
	dst, err := b.Alloc(c.Out)
	if err != nil {
		return nil, 0, err
	}
	bufs = append(bufs, dst)
	b.Fill(dst, c.Out, float32(math.NaN()))
	// Wait for the uploads and the fill so that the time is the case's.
	sync := make([]float32, 1)
	if err := b.Download(dst, sync); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := c.Run(b, dst, bufs[:len(inputs)]); err != nil {
		return nil, 0, err
	}
	out = make([]float32, c.Out)
	err = b.Download(dst, out)
	return out, time.Since(start), err
}

// panicError is a recovered panic with its stack.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
