package parity

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

func seed(t *testing.T) uint64 {
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d", s)
	return s
}

// TestCPUSelf runs the cases with the CPU backend on both sides: a check of
// the runner's bookkeeping; any difference would be a bug in the runner.
func TestCPUSelf(t *testing.T) {
	rep := Run(cpu.New(), cpu.New(), Cases(), seed(t))
	if !rep.Pass {
		for _, c := range rep.Cases {
			if !c.Pass {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
	}
	if len(rep.Cases) != len(Cases()) {
		t.Errorf("%d results for %d cases", len(rep.Cases), len(Cases()))
	}
	for _, c := range rep.Cases {
		if c.MaxAbsErr != 0 {
			t.Errorf("%s: CPU differs from itself by %g", c.Name, c.MaxAbsErr)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not encode as JSON: %v", err)
	}
}

// faulty wraps the CPU backend and breaks one primitive; the fused
// primitives, the conv epilogue, the activated modulation and the padding pass straight
// through (set by the test from the same backend).
type faulty struct {
	backend.Backend
	backend.Fused
	backend.ConvEpilogue
	backend.ActivatedModulation
	backend.EdgePad
	matmul func(f *faulty, c, a, b backend.Buffer, p backend.MatMul)
	unary  func(f *faulty, op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args)
	reduce func(f *faulty, op backend.ReduceOp, dst, x backend.Buffer, p backend.Reduction)
	wgrad  func(f *faulty, dw, x, dy backend.Buffer, p backend.Conv)
	calls  int
}

func (f *faulty) MatMul(c, a, b backend.Buffer, p backend.MatMul) {
	if f.matmul == nil {
		f.Backend.MatMul(c, a, b, p)
		return
	}
	f.matmul(f, c, a, b, p)
}

func (f *faulty) Unary(op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
	if f.unary == nil {
		f.Backend.Unary(op, dst, x, n, a)
		return
	}
	f.unary(f, op, dst, x, n, a)
}

func (f *faulty) Reduce(op backend.ReduceOp, dst, x backend.Buffer, p backend.Reduction) {
	if f.reduce == nil {
		f.Backend.Reduce(op, dst, x, p)
		return
	}
	f.reduce(f, op, dst, x, p)
}

func (f *faulty) Conv2DGradWeight(dw, x, dy backend.Buffer, p backend.Conv) {
	if f.wgrad == nil {
		f.Backend.Conv2DGradWeight(dw, x, dy, p)
		return
	}
	f.wgrad(f, dw, x, dy, p)
}

// perturb moves element i of buf by d relative to its size (at least d).
// A contraction's tolerance is relative to the sum of |products|, which can
// be far larger than the value itself, so the matmul fault uses d = 0.1:
// a hundred times the tolerance of a 129-term sum of O(1) products.
func perturb(b backend.Backend, buf backend.Buffer, i int, d float32) {
	v := make([]float32, buf.Len())
	if err := b.Download(buf, v); err != nil {
		panic(err)
	}
	v[i] += d * (1 + float32(math.Abs(float64(v[i]))))
	b.Upload(buf, v)
}

// TestDetectsFaults checks that the runner fails exactly the cases a broken
// primitive touches, with a useful message, and survives a panic.
func TestDetectsFaults(t *testing.T) {
	tests := []struct {
		name   string
		f      *faulty
		fails  string // prefix of the names of the cases that must fail
		errHas string // in Result.Error; "" means a tolerance failure
		detail string // in Result.Detail of a tolerance failure
	}{
		{
			name: "matmul off by 10%",
			f: &faulty{matmul: func(f *faulty, c, a, b backend.Buffer, p backend.MatMul) {
				f.Backend.MatMul(c, a, b, p)
				perturb(f.Backend, c, p.M*p.N-1, 0.1)
			}},
			fails: "matmul/",
		},
		{
			name: "exp computed as exp2",
			f: &faulty{unary: func(f *faulty, op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
				if op == backend.Exp {
					f.Backend.Unary(backend.Affine, dst, x, n, backend.Args{Alpha: float32(math.Ln2)})
					op = backend.Exp
					x = dst
				}
				f.Backend.Unary(op, dst, x, n, a)
			}},
			fails: "unary/exp|softmax/",
		},
		{
			name:   "grad weight never written",
			f:      &faulty{wgrad: func(*faulty, backend.Buffer, backend.Buffer, backend.Buffer, backend.Conv) {}},
			fails:  "conv2d_grad_weight/",
			detail: "got NaN",
		},
		{
			name: "reduce panics",
			f: &faulty{reduce: func(*faulty, backend.ReduceOp, backend.Buffer, backend.Buffer, backend.Reduction) {
				panic("reduce: being written")
			}},
			fails:  "reduce/|softmax/|groupnorm/",
			errHas: "panic: reduce: being written",
		},
		{
			name: "second run differs",
			f: &faulty{matmul: func(f *faulty, c, a, b backend.Buffer, p backend.MatMul) {
				f.Backend.MatMul(c, a, b, p)
				if f.calls++; f.calls%2 == 0 {
					perturb(f.Backend, c, 0, 0.5)
				}
			}},
			fails:  "matmul/",
			detail: "run 2: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := cpu.New()
			tt.f.Backend, tt.f.Fused, tt.f.ConvEpilogue, tt.f.ActivatedModulation, tt.f.EdgePad = be, be, be, be, be
			rep := Run(tt.f, cpu.New(), Cases(), seed(t))
			if rep.Pass {
				t.Fatal("report passes with a broken backend")
			}
			for _, c := range rep.Cases {
				mustFail := false
				for _, p := range strings.Split(tt.fails, "|") {
					mustFail = mustFail || strings.HasPrefix(c.Name, p)
				}
				switch {
				case mustFail && c.Pass:
					t.Errorf("%s passes: %+v", c.Name, c)
				case !mustFail && !c.Pass:
					t.Errorf("%s fails: %+v", c.Name, c)
				case mustFail && !strings.Contains(c.Error, tt.errHas):
					t.Errorf("%s: error %q lacks %q", c.Name, c.Error, tt.errHas)
				case mustFail && !strings.Contains(c.Detail, tt.detail):
					t.Errorf("%s: detail %q lacks %q", c.Name, c.Detail, tt.detail)
				case mustFail && tt.errHas == "" && c.Worst <= 1:
					t.Errorf("%s fails with worst ratio %g <= 1", c.Name, c.Worst)
				case mustFail && strings.Contains(tt.errHas, "panic") && !strings.Contains(c.Stack, "parity_test.go"):
					t.Errorf("%s: the panic's stack does not lead to the panicking code:\n%s", c.Name, c.Stack)
				}
			}
		})
	}
}
