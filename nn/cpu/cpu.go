// Package cpu is the pure-Go compute backend: the reference implementation of
// backend.Backend that every other backend is tested against.
//
// Every primitive runs synchronously on the calling goroutine; heavy kernels
// (matmul, convolution, large element-wise ops) fan out over
// runtime.GOMAXPROCS goroutines and join before returning. The matrix product
// uses a packed, cache-blocked GEMM with an AVX2+FMA micro-kernel on amd64
// when the CPU has it, and a portable Go micro-kernel elsewhere (GOOS=js too).
package cpu

import (
	"fmt"
	"runtime"
	"sync"

	"catsynth/nn/backend"
)

// MaxLen is the largest buffer Alloc accepts, in float32 values. Kernels on
// other backends index buffers with 32-bit integers; keeping the reference
// within the same limit keeps the backends interchangeable.
const MaxLen = 1<<31 - 1

// Buffer is a host buffer of float32 values.
type Buffer struct {
	data []float32
}

// Len is the number of float32 values in the buffer.
func (b *Buffer) Len() int { return len(b.data) }

// Data exposes the buffer's storage; writes through it are visible to later
// primitives. Useful for tests and zero-copy host access.
func (b *Buffer) Data() []float32 { return b.data }

// Backend is the CPU backend. The zero value is not usable; call New.
type Backend struct {
	pool map[int][]*Buffer // free buffers keyed by length
}

var _ backend.Backend = (*Backend)(nil)

// New returns a CPU backend with an empty buffer pool.
func New() *Backend {
	return &Backend{pool: make(map[int][]*Buffer)}
}

// GemmKernel names the GEMM micro-kernel in use: "avx2fma6x16" (amd64 with
// AVX2 and FMA) or "go4x4" (portable), for logs and benchmark reports.
func GemmKernel() string { return kernel.name }

// Name implements backend.Backend.
func (be *Backend) Name() string { return "cpu" }

// Alloc returns a buffer of n values, reusing a freed buffer of the same
// length when one is pooled. Contents are undefined.
func (be *Backend) Alloc(n int) (backend.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc of %d values: negative length", n)
	}
	if n > MaxLen {
		return nil, fmt.Errorf("cpu: alloc of %d values exceeds the buffer limit cpu.MaxLen (%d values)", n, MaxLen)
	}
	if free := be.pool[n]; len(free) > 0 {
		b := free[len(free)-1]
		free[len(free)-1] = nil
		be.pool[n] = free[:len(free)-1]
		return b, nil
	}
	return &Buffer{data: make([]float32, n)}, nil
}

// Free returns b to the pool for reuse by Alloc of the same length.
func (be *Backend) Free(b backend.Buffer) {
	if b == nil {
		return
	}
	buf := buf(b)
	be.pool[len(buf.data)] = append(be.pool[len(buf.data)], buf)
}

// Upload copies src into the start of dst.
func (be *Backend) Upload(dst backend.Buffer, src []float32) {
	d := data(dst)
	if len(src) > len(d) {
		panic(fmt.Sprintf("cpu: Upload of %d values into a buffer of %d", len(src), len(d)))
	}
	copy(d, src)
}

// Download copies the first len(dst) values of src to dst. It never fails:
// the CPU backend has no queued work.
func (be *Backend) Download(src backend.Buffer, dst []float32) error {
	s := data(src)
	if len(dst) > len(s) {
		panic(fmt.Sprintf("cpu: Download of %d values from a buffer of %d", len(dst), len(s)))
	}
	copy(dst, s)
	return nil
}

// Flush does nothing: every primitive completes before it returns.
func (be *Backend) Flush() error { return nil }

// Fill sets the first n values of dst to v.
func (be *Backend) Fill(dst backend.Buffer, n int, v float32) {
	d := need(dst, n, "Fill dst")[:n]
	parallelFor(n, elemGrain, func(lo, hi int) {
		s := d[lo:hi]
		for i := range s {
			s[i] = v
		}
	})
}

// buf converts a backend buffer to this backend's type; anything else is a
// programmer error (a buffer from another backend).
func buf(b backend.Buffer) *Buffer {
	c, ok := b.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cpu: buffer of type %T does not belong to the cpu backend", b))
	}
	return c
}

func data(b backend.Buffer) []float32 { return buf(b).data }

// need returns b's storage after checking it holds at least n values.
func need(b backend.Buffer, n int, what string) []float32 {
	d := data(b)
	if n < 0 || len(d) < n {
		panic(fmt.Sprintf("cpu: %s needs %d values, buffer has %d", what, n, len(d)))
	}
	return d
}

// elemGrain is the smallest chunk of element-wise work worth a goroutine.
const elemGrain = 1 << 15

// workers is the number of goroutines heavy kernels split into.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallelFor calls fn on disjoint chunks [lo, hi) covering [0, n). Work
// smaller than 2*grain, or a single-processor runtime, runs serially on the
// caller's goroutine.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	p := workers()
	if grain < 1 {
		grain = 1
	}
	if c := n / grain; c < p {
		p = c
	}
	if p <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < p; w++ {
		lo, hi := n*w/p, n*(w+1)/p
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
