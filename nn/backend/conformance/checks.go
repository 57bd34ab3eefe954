package conformance

import (
	"math"

	"catsynth/nn/backend"
)

// extraCheck is a check that is not a comparison of outputs with a
// reference: buffer management and adjoint identities. It reports through
// e.errorf and e.fatalf.
type extraCheck struct {
	name  string
	check func(e *env)
}

// Checks returns the checks that compare no outputs (buffer management,
// adjoint identities), in a stable order. Their Run reports failures as
// its error; they take no part in parity runs.
func Checks() []Case {
	var cs []Case
	for _, c := range extraChecks() {
		cs = append(cs, Case{Name: c.name, run: func(e *env) []output {
			c.check(e)
			return nil
		}})
	}
	return cs
}

func extraChecks() []extraCheck {
	cs := []extraCheck{
		{"alloc/limits", checkAllocLimits},
		{"alloc/reuse", checkAllocReuse},
		{"download/prefix", checkDownloadPrefix},
		{"name", func(e *env) {
			if e.b.Name() == "" {
				e.errorf("Name() is empty")
			}
		}},
	}
	for _, pc := range convPatterns() {
		cs = append(cs, extraCheck{"adjoint/conv2d/" + pc.name, func(e *env) {
			checkConvAdjoint(e, pc.p)
		}})
	}
	for _, p := range resizePatterns() {
		cs = append(cs, extraCheck{"adjoint/resize/" + resizeName(p), func(e *env) {
			in, out := p.Planes*p.H*p.W, p.Planes*p.OH*p.OW
			x, dy := e.normal(in), e.normal(out)
			y, dx := e.alloc(out), e.alloc(in)
			e.b.Resize(y, e.upload(x), p)
			e.b.ResizeGrad(dx, e.upload(dy), p)
			checkAdjoint(e, "Resize/ResizeGrad", dy, e.download(y, out), e.download(dx, in), x)
		}})
	}
	for _, op := range []backend.PoolOp{backend.AvgPool, backend.MaxPool} {
		for _, p := range poolPatterns() {
			cs = append(cs, extraCheck{"adjoint/pool2d/" + poolName(op, p), func(e *env) {
				// Max pooling is positively homogeneous, max(x) = x[argmax], so the
				// identity holds for it too.
				in, out := p.Planes*p.H*p.W, p.Planes*p.OH()*p.OW()
				x, dy := e.normal(in), e.normal(out)
				xb, y, dx := e.upload(x), e.alloc(out), e.alloc(in)
				e.b.Pool2D(op, y, xb, p)
				e.b.Pool2DGrad(op, dx, xb, y, e.upload(dy), p)
				checkAdjoint(e, "Pool2D/Pool2DGrad", dy, e.download(y, out), e.download(dx, in), x)
			}})
		}
	}
	return cs
}

// checkAdjoint checks <dy, y> == <dx, x> in float64, relative to the sums of
// the absolute products.
func checkAdjoint(e *env, what string, dy, y, dx, x []float32) {
	var lhs, rhs, mag float64
	for i := range dy {
		lhs += float64(dy[i]) * float64(y[i])
		mag += math.Abs(float64(dy[i]) * float64(y[i]))
	}
	for i := range x {
		rhs += float64(dx[i]) * float64(x[i])
		mag += math.Abs(float64(dx[i]) * float64(x[i]))
	}
	if d := math.Abs(lhs - rhs); !(d <= 1e-5*mag) {
		e.errorf("%s: <dy, F(x)> = %.9g but <F^T(dy), x> = %.9g (difference %.3g, scale %.3g)",
			what, lhs, rhs, d, mag)
	}
}

// checkConvAdjoint checks both gradients of a convolution: conv is linear in
// x for fixed w and in w for fixed x.
func checkConvAdjoint(e *env, p backend.Conv) {
	nx, nw, ny := convSizes(p)
	x, w, dy := e.normal(nx), e.normal(nw), e.normal(ny)
	xb, wb, dyb := e.upload(x), e.upload(w), e.upload(dy)
	y, dx, dw := e.alloc(ny), e.alloc(nx), e.alloc(nw)
	e.b.Conv2D(y, xb, wb, p)
	e.b.Conv2DGradInput(dx, dyb, wb, p)
	e.b.Conv2DGradWeight(dw, xb, dyb, p)
	ys := e.download(y, ny)
	checkAdjoint(e, "Conv2D/Conv2DGradInput", dy, ys, e.download(dx, nx), x)
	checkAdjoint(e, "Conv2D/Conv2DGradWeight", dy, ys, e.download(dw, nw), w)
}

func checkAllocLimits(e *env) {
	for _, n := range []int{-1, 1 << 50} {
		if b, err := e.b.Alloc(n); err == nil {
			e.errorf("Alloc(%d) succeeded (Len %d), want an error", n, b.Len())
			e.b.Free(b)
		}
	}
	for _, n := range []int{0, 1, 17} {
		b, err := e.b.Alloc(n)
		if err != nil {
			e.errorf("Alloc(%d): %v", n, err)
			continue
		}
		if b.Len() != n {
			e.errorf("Alloc(%d).Len() = %d", n, b.Len())
		}
		e.b.Free(b)
	}
}

// checkAllocReuse frees and reallocates buffers and checks lengths and that
// a reused buffer takes new contents.
func checkAllocReuse(e *env) {
	for round := 0; round < 3; round++ {
		for _, n := range []int{5, 64, 1000} {
			b, err := e.b.Alloc(n)
			if err != nil {
				e.fatalf("Alloc(%d): %v", n, err)
			}
			if b.Len() != n {
				e.fatalf("Alloc(%d).Len() = %d", n, b.Len())
			}
			x := e.normal(n)
			e.b.Upload(b, x)
			got := make([]float32, n)
			if err := e.b.Download(b, got); err != nil {
				e.fatalf("%v", err)
			}
			for i := range x {
				if got[i] != x[i] {
					e.fatalf("round %d: buffer of %d: value %d reads %v after upload of %v", round, n, i, got[i], x[i])
				}
			}
			e.b.Free(b)
		}
	}
}

// checkDownloadPrefix uploads a short prefix and downloads a shorter one.
func checkDownloadPrefix(e *env) {
	b := e.upload(e.normal(50))
	x := e.normal(20)
	e.b.Upload(b, x)
	got := make([]float32, 12)
	if err := e.b.Download(b, got); err != nil {
		e.fatalf("%v", err)
	}
	for i := range got {
		if got[i] != x[i] {
			e.fatalf("value %d = %v, want %v", i, got[i], x[i])
		}
	}
	if err := e.b.Flush(); err != nil {
		e.fatalf("Flush: %v", err)
	}
}
