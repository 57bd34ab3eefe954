// Package parity runs the conformance cases of nn/backend/conformance on a
// tested backend and a reference backend with the same random inputs, and
// reports the comparison as JSON-ready data.
//
// It exists for the browser build: wasm/ runs it inside the page to check
// the WebGPU backend against the CPU backend linked into the same wasm, and
// returns the Report as JSON to the Go test that drives headless Chromium.
// The cases and the tolerance rule are the suite's own (a parity run
// doubles the tolerances); this package adds timings and the report.
package parity

import (
	"errors"
	"math"
	"time"

	"catsynth/nn/backend"
	"catsynth/nn/backend/conformance"
)

// Case is one conformance case.
type Case = conformance.Case

// Cases returns the suite's randomized cases (conformance.Cases).
func Cases() []Case { return conformance.Cases() }

// Result is the outcome of one case. Times are wall-clock milliseconds of a
// whole run (input upload, primitives, download); the tested backend runs
// twice, Ms is the first (cold: includes kernel compilation) and WarmMs the
// second run. Both runs are compared with the reference.
type Result struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// MaxAbsErr is max |got - want| over the finite outputs.
	MaxAbsErr float64 `json:"maxAbsErr"`
	// Worst is the largest error in units of the tolerance over the
	// outputs (conformance.Diff.Worst; infinite values are reported as the
	// largest float64): the case passes when it is at most 1. WorstIndex,
	// Got and Want describe that element of the output named Output.
	Worst      float64 `json:"worst"`
	Output     string  `json:"output,omitempty"`
	WorstIndex int     `json:"worstIndex"`
	Got        float64 `json:"got"`
	Want       float64 `json:"want"`
	// Tol is the relative tolerance of that output (0: exact).
	Tol    float64 `json:"tol"`
	N      int     `json:"n"`
	Ms     float64 `json:"ms"`
	WarmMs float64 `json:"warmMs"`
	RefMs  float64 `json:"refMs"`
	// GFlops stays 0: the conformance cases carry no flop counts.
	GFlops float64 `json:"gflops,omitempty"`
	// Detail describes the first output outside its tolerance.
	Detail string `json:"detail,omitempty"`
	// Error is set when a run failed (an error or a panic).
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
	// Seed makes the run reproducible: it is the suite's base seed, so
	// BACKENDTEST_SEED=Seed reruns the same inputs natively.
	Seed    uint64   `json:"seed"`
	Pass    bool     `json:"pass"`
	Cases   []Result `json:"cases"`
	TotalMs float64  `json:"totalMs"`
	// Error is set when the run could not start (e.g. no WebGPU adapter);
	// NoDevice says the cause was a missing device, which a test may skip.
	Error    string `json:"error,omitempty"`
	NoDevice bool   `json:"noDevice,omitempty"`
}

// Run runs every case on test and ref and compares the results.
// Each case is independent: a failing or panicking case does not stop the
// others (though a panic can leave a backend's queued work in a bad state).
func Run(test, ref backend.Backend, cases []Case, seed uint64) Report {
	start := time.Now()
	rep := Report{Backend: test.Name(), Reference: ref.Name(), Seed: seed, Pass: true}
	for _, c := range cases {
		r := runCase(test, ref, c, conformance.CaseSeed(int64(seed), c.Name))
		rep.Pass = rep.Pass && r.Pass
		rep.Cases = append(rep.Cases, r)
	}
	rep.TotalMs = ms(time.Since(start))
	return rep
}

func runCase(test, ref backend.Backend, c Case, seed int64) (res Result) {
	res = Result{Name: c.Name, Worst: -1} // the first output sets Worst
	defer func() {
		res.Worst = max(res.Worst, 0)
		res.Pass = res.Error == "" && res.Detail == "" && res.Worst <= 1
	}()
	fail := func(prefix string, err error) Result {
		res.Error = prefix + err.Error()
		if p, ok := errors.AsType[*conformance.PanicError](err); ok {
			res.Stack = p.Stack
		}
		return res
	}
	t0 := time.Now()
	want, err := c.Run(ref, seed)
	res.RefMs = ms(time.Since(t0))
	if err != nil {
		return fail("reference: ", err)
	}
	for run := range 2 {
		t0 := time.Now()
		got, err := c.Run(test, seed)
		if run == 0 {
			res.Ms = ms(time.Since(t0))
		} else {
			res.WarmMs = ms(time.Since(t0))
		}
		if err != nil {
			return fail([...]string{"run 1: ", "run 2: "}[run], err)
		}
		for _, d := range conformance.CheckParity(want, got) {
			res.fold(d, run)
		}
	}
	return res
}

// fold adds the comparison of one output to res.
func (res *Result) fold(d conformance.Diff, run int) {
	if run == 0 {
		res.N += d.N
	}
	res.MaxAbsErr = max(res.MaxAbsErr, d.MaxAbsErr)
	if d.Message != "" && res.Detail == "" {
		res.Detail = [...]string{"run 1: ", "run 2: "}[run] + d.Message
	}
	if w := jsonSafe(d.Worst); w > res.Worst {
		res.Worst, res.Output, res.WorstIndex = w, d.Output, d.WorstIndex
		res.Got, res.Want, res.Tol = jsonSafe(d.Got), jsonSafe(d.Want), d.Tol
	}
}

// jsonSafe maps the values JSON cannot hold: NaN to 0 (Detail tells), an
// infinity to the largest float64 of its sign.
func jsonSafe(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
