package cpu

import (
	"math/rand"
	"runtime"
	"testing"

	"catsynth/nn/backend"
)

// TestParallelMatchesSerial runs every primitive on inputs large enough to
// be split over goroutines and checks that the result is bit-identical to a
// single-goroutine run: chunking never changes what one element computes.
// (The conformance suite's shapes are small and mostly run serially.)
func TestParallelMatchesSerial(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	be := New()
	buf := func(n int) *Buffer {
		b := &Buffer{make([]float32, n)}
		for i := range b.data {
			b.data[i] = float32(rng.NormFloat64())
		}
		return b
	}
	conv := backend.Conv{N: 2, C: 16, H: 40, W: 37, O: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadH: 1, PadW: 1, Groups: 1}
	dw := conv
	dw.C, dw.O, dw.Groups = 64, 64, 64
	pool := backend.Pool{Planes: 64, H: 33, W: 31, K: 3, Stride: 2, Pad: 1}
	rs := backend.Resize{Planes: 64, H: 32, W: 30, OH: 45, OW: 47}
	big := 1 << 18
	x, y, z, w := buf(big), buf(big), buf(big), buf(big)
	pos := buf(big)
	for i := range pos.data {
		pos.data[i] = 0.1 + float32(i%97)/10
	}
	cases := []struct {
		name string
		out  *Buffer
		run  func(out *Buffer)
	}{
		{"fill", buf(big), func(o *Buffer) { be.Fill(o, big-3, 2) }},
		{"unary", buf(big), func(o *Buffer) { be.Unary(backend.Gelu, o, x, big, backend.Args{}) }},
		{"unary_affine", buf(big), func(o *Buffer) { be.Unary(backend.Affine, o, x, big, backend.Args{Alpha: 2, Beta: 1}) }},
		{"unarygrad", buf(big), func(o *Buffer) { be.UnaryGrad(backend.Log, o, pos, y, z, big, backend.Args{}) }},
		{"binary", buf(big), func(o *Buffer) {
			be.Binary(backend.Mul, o, x, y, backend.Broadcast{Shape: []int{4, 64, 16, 32},
				AStrides: []int{32768, 512, 32, 1}, BStrides: []int{0, 1, 0, 0}})
		}},
		{"copy_permute", buf(big), func(o *Buffer) {
			be.Copy(o, x, backend.Strided{Shape: []int{4, 16, 32, 64},
				SrcStrides: []int{32768, 32, 1, 512}, DstStrides: []int{32768, 2048, 64, 1}})
		}},
		{"reduce_last", buf(256), func(o *Buffer) {
			be.Reduce(backend.Sum, o, x, backend.Reduction{Shape: []int{256, 512}, Axes: []bool{false, true}})
		}},
		{"reduce_first", buf(512), func(o *Buffer) {
			be.Reduce(backend.MaxReduce, o, x, backend.Reduction{Shape: []int{256, 512}, Axes: []bool{true, false}})
		}},
		{"resize", buf(64 * 45 * 47), func(o *Buffer) { be.Resize(o, x, rs) }},
		{"resize_grad", buf(64 * 32 * 30), func(o *Buffer) { be.ResizeGrad(o, x, rs) }},
		{"pool_max", buf(64 * 17 * 16), func(o *Buffer) { be.Pool2D(backend.MaxPool, o, x, pool) }},
		{"pool_avg_grad", buf(64 * 33 * 31), func(o *Buffer) { be.Pool2DGrad(backend.AvgPool, o, x, y, z, pool) }},
		{"conv", buf(2 * 24 * 40 * 37), func(o *Buffer) { be.Conv2D(o, x, w, conv) }},
		{"conv_grad_input", buf(2 * 16 * 40 * 37), func(o *Buffer) { be.Conv2DGradInput(o, x, w, conv) }},
		{"conv_grad_weight", buf(24 * 16 * 9), func(o *Buffer) { be.Conv2DGradWeight(o, x, y, conv) }},
		{"depthwise", buf(2 * 64 * 40 * 37), func(o *Buffer) { be.Conv2D(o, x, w, dw) }},
		{"depthwise_grad_weight", buf(64 * 9), func(o *Buffer) { be.Conv2DGradWeight(o, x, y, dw) }},
		{"matmul_batched", buf(8 * 40 * 30), func(o *Buffer) {
			be.MatMul(o, x, y, backend.MatMul{Batch: 8, M: 40, N: 30, K: 20, StrideA: 800, StrideC: 1200})
		}},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range cases {
		runtime.GOMAXPROCS(1)
		serial := &Buffer{append([]float32(nil), c.out.data...)}
		c.run(serial)
		runtime.GOMAXPROCS(4)
		c.run(c.out)
		for i := range serial.data {
			if s, p := serial.data[i], c.out.data[i]; s != p && !(s != s && p != p) {
				t.Errorf("%s: value %d is %v in parallel, %v serially", c.name, i, p, s)
				break
			}
		}
	}
}
