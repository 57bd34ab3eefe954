package conformance

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		o    output
		fail bool
	}{
		{"exact equal", output{got: []float32{1, 2}, want: []float64{1, 2}}, false},
		{"exact off by one ulp", output{got: []float32{1, math.Nextafter32(2, 3)}, want: []float64{1, 2}}, true},
		{"exact nan both", output{got: []float32{float32(nan)}, want: []float64{nan}}, false},
		{"within tol", output{got: []float32{1.00001}, want: []float64{1}, tol: 1e-4}, false},
		{"outside tol", output{got: []float32{1.001}, want: []float64{1}, tol: 1e-4}, true},
		{"nan got", output{got: []float32{float32(nan)}, want: []float64{1}, tol: 1e-4}, true},
		{"scale widens", output{got: []float32{0.01}, want: []float64{0}, scale: []float64{1000}, tol: 1e-4}, false},
		{"floor near zero", output{got: []float32{100, 1e-5}, want: []float64{100, 0}, tol: 1e-4}, false},
		{"length mismatch", output{got: []float32{1}, want: []float64{1, 2}}, true},
	}
	for _, tt := range tests {
		d := compare(tt.o, tt.o.got, tt.o.want, tt.o.tol)
		if failed := d.Bad > 0; failed != tt.fail || failed != (d.Message != "") {
			t.Errorf("%s: failed = %v (%+v), want %v", tt.name, failed, d, tt.fail)
		}
	}
}

// TestReferenceAdjoints checks the float64 references against each other:
// the gradient references must be exact adjoints of the forward ones.
func TestReferenceAdjoints(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	randv := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	inner := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*(math.Abs(a)+math.Abs(b)+1) }
	for _, pc := range convPatterns() {
		nx, nw, ny := convSizes(pc.p)
		x, w, dy := randv(nx), randv(nw), randv(ny)
		y, _ := refConv(x, w, pc.p)
		dx, _ := refConvGradInput(dy, w, pc.p)
		dw, _ := refConvGradWeight(x, dy, pc.p)
		if l, r := inner(dy, y), inner(dx, x); !near(l, r) {
			t.Errorf("conv %s: <dy, conv(x)> = %v, <grad_input, x> = %v", pc.name, l, r)
		}
		if l, r := inner(dy, y), inner(dw, w); !near(l, r) {
			t.Errorf("conv %s: <dy, conv(x)> = %v, <grad_weight, w> = %v", pc.name, l, r)
		}
	}
	for _, p := range resizePatterns() {
		x, dy := randv(p.Planes*p.H*p.W), randv(p.Planes*p.OH*p.OW)
		dx, _ := refResizeGrad(dy, p)
		if l, r := inner(dy, refResize(x, p)), inner(dx, x); !near(l, r) {
			t.Errorf("resize %s: %v != %v", resizeName(p), l, r)
		}
	}
	// A 1x1 stride-1 convolution is a matrix product per batch item.
	p := convPatterns()[0].p
	x, w := randv(p.N*p.C*p.H*p.W), randv(p.O*p.C)
	y, _ := refConv(x, w, p)
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			for q := 0; q < p.H*p.W; q++ {
				s := 0.0
				for c := 0; c < p.C; c++ {
					s += w[o*p.C+c] * x[(n*p.C+c)*p.H*p.W+q]
				}
				if got := y[(n*p.O+o)*p.H*p.W+q]; !near(got, s) {
					t.Fatalf("1x1 conv y[%d,%d,%d] = %v, want %v", n, o, q, got, s)
				}
			}
		}
	}
}

// TestRunReportsFailures checks that Run turns the ways a case can fail into
// errors: a panic (with its stack), a failed check, and a clean pass.
func TestRunReportsFailures(t *testing.T) {
	boom := Case{Name: "boom", run: func(e *env) []output { panic("boom") }}
	if _, err := boom.Run(nil, 1); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("panicking case: err = %v", err)
	} else if p, ok := err.(*PanicError); !ok || !strings.Contains(p.Stack, "conformance_test.go") {
		t.Errorf("panic error %T lacks the stack of the panic", err)
	}
	bad := Case{Name: "bad", run: func(e *env) []output { e.errorf("wrong %d", 1); e.errorf("wrong %d", 2); return nil }}
	if _, err := bad.Run(nil, 1); err == nil || err.Error() != "wrong 1\nwrong 2" {
		t.Errorf("failing check: err = %v", err)
	}
	fatal := Case{Name: "fatal", run: func(e *env) []output { e.fatalf("stop"); panic("not reached") }}
	if _, err := fatal.Run(nil, 1); err == nil || err.Error() != "stop" {
		t.Errorf("fatal check: err = %v", err)
	}
}
