package gpu

import (
	"fmt"
	"testing"

	"catsynth/nn/backend"
)

// waitFor waits for queued work by reading one value back.
func waitFor(tb testing.TB, b *Backend, x *Buffer) {
	var one [1]float32
	if err := b.Download(x, one[:]); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkUnary reports GB/s of an affine map (read n, write n floats).
func BenchmarkUnary(bm *testing.B) {
	b := openGPU(bm)
	for _, n := range []int{1 << 16, 1 << 22} {
		bm.Run(fmt.Sprintf("n=%d", n), func(bm *testing.B) {
			x, y := alloc(bm, b, n), alloc(bm, b, n)
			b.Fill(x, n, 1)
			waitFor(bm, b, x)
			bm.SetBytes(int64(8 * n))
			bm.ResetTimer()
			for range bm.N {
				b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 2, Beta: 1})
				waitFor(bm, b, y)
			}
			b.Free(x)
			b.Free(y)
		})
	}
}

// BenchmarkBinaryBroadcast reports GB/s of x (N, C, H, W) + bias (1, C, 1, 1)
// for several outputs per invocation (binaryChunk).
func BenchmarkBinaryBroadcast(bm *testing.B) {
	b := openGPU(bm)
	shape := []int{8, 64, 64, 64}
	n := prod(shape)
	x, bias, y := alloc(bm, b, n), alloc(bm, b, 64), alloc(bm, b, n)
	b.Fill(x, n, 1)
	b.Fill(bias, 64, 2)
	p := backend.Broadcast{Shape: shape, AStrides: contiguous(shape), BStrides: []int{0, 1, 0, 0}}
	waitFor(bm, b, x)
	for _, chunk := range []int{1, 4, 16, 64} {
		bm.Run(fmt.Sprintf("chunk=%d", chunk), func(bm *testing.B) {
			b.chunkOverride = chunk
			defer func() { b.chunkOverride = 0 }()
			bm.SetBytes(int64(8 * n))
			bm.ResetTimer()
			for range bm.N {
				b.Binary(backend.Add, y, x, bias, p)
				waitFor(bm, b, y)
			}
		})
	}
	b.Free(x)
	b.Free(bias)
	b.Free(y)
}

// BenchmarkReduce reports GB/s read by sums of a (8, 64, 64, 64) tensor:
// per channel (batch norm), over the last axis, and over everything; each
// with the two-pass split and with one invocation per output.
func BenchmarkReduce(bm *testing.B) {
	b := openGPU(bm)
	shape := []int{8, 64, 64, 64}
	n := prod(shape)
	x := alloc(bm, b, n)
	b.Fill(x, n, 1)
	d := alloc(bm, b, n)
	for _, c := range []struct {
		name string
		axes []bool
	}{
		{"per_channel", []bool{true, false, true, true}},
		{"last_axis", []bool{false, false, false, true}},
		{"all", []bool{true, true, true, true}},
	} {
		for _, split := range []bool{true, false} {
			name := c.name + "/split"
			if !split {
				name = c.name + "/onepass"
			}
			bm.Run(name, func(bm *testing.B) {
				if !split {
					b.reduceTarget = 1
					defer func() { b.reduceTarget = 0 }()
				}
				p := backend.Reduction{Shape: shape, Axes: c.axes}
				b.Reduce(backend.Sum, d, x, p)
				waitFor(bm, b, d)
				bm.SetBytes(int64(4 * n))
				bm.ResetTimer()
				for range bm.N {
					b.Reduce(backend.Sum, d, x, p)
					waitFor(bm, b, d)
				}
			})
		}
	}
}

// BenchmarkUnaryThreads compares invocation caps of the grid-stride loop.
func BenchmarkUnaryThreads(bm *testing.B) {
	b := openGPU(bm)
	n := 1 << 22
	x, y := alloc(bm, b, n), alloc(bm, b, n)
	b.Fill(x, n, 1)
	for _, c := range []int{1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 22} {
		bm.Run(fmt.Sprintf("threads=%d", c), func(bm *testing.B) {
			b.threadCap = c
			defer func() { b.threadCap = 0 }()
			waitFor(bm, b, x)
			bm.SetBytes(int64(8 * n))
			bm.ResetTimer()
			for range bm.N {
				b.Unary(backend.Affine, y, x, n, backend.Args{Alpha: 2, Beta: 1})
				waitFor(bm, b, y)
			}
		})
	}
	b.Free(x)
	b.Free(y)
}
