// Package backendtest runs the conformance suite (package
// nn/backend/conformance) as Go subtests: one per case, named after it.
//
// Set BACKENDTEST_SEED to a number to reproduce a run, or to "random" for a
// fresh seed; every test logs the seed it used.
package backendtest

import (
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/backend/conformance"
)

// RunAll runs every case and check of the suite against the backends
// newBackend returns (called once per subtest, so a backend may be shared or
// fresh), comparing outputs with the float64 references.
func RunAll(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	base := seed(t)
	t.Logf("BACKENDTEST_SEED=%d", base)
	for _, c := range append(conformance.Cases(), conformance.Checks()...) {
		t.Run(c.Name, func(t *testing.T) {
			out, err := c.Run(newBackend(t), conformance.CaseSeed(base, c.Name))
			if err != nil {
				t.Fatal(err)
			}
			report(t, out.Check())
		})
	}
}

// Parity runs every case on ref and on got with the same inputs and checks
// that got's outputs match ref's (tolerances doubled, since both carry
// rounding error; exact primitives must match exactly).
func Parity(t *testing.T, ref, got backend.Backend) {
	base := seed(t)
	t.Logf("BACKENDTEST_SEED=%d, reference %s, under test %s", base, ref.Name(), got.Name())
	for _, c := range conformance.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			s := conformance.CaseSeed(base, c.Name)
			want, err := c.Run(ref, s)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			out, err := c.Run(got, s)
			if err == nil {
				err = got.Flush()
			}
			if err != nil {
				t.Fatal(err)
			}
			report(t, conformance.CheckParity(want, out))
		})
	}
}

func seed(t *testing.T) int64 {
	s, err := conformance.BaseSeed()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func report(t *testing.T, diffs []conformance.Diff) {
	t.Helper()
	for _, d := range diffs {
		if d.Bad > 0 {
			t.Error(d.Message)
		}
	}
}
