package gpu

import (
	"testing"

	"catsynth/nn/backend"
)

// Regression: a reduce (144-byte uniform block) followed in the same compute
// pass by a copy (112 bytes) and a unary op (16 bytes), all sharing the
// one-read-one-write bind group layout, failed validation with "Buffer is
// bound with size 112 where the shader expects 144".
func TestUniformSizeAcrossPipelinesSharingALayout(t *testing.T) {
	b := openGPU(t)
	r := newRand(t, 7)
	x := randSlice(r, 15, -1, 1)
	xs := upload(t, b, x)
	sum, cp, sq := alloc(t, b, 3), alloc(t, b, 15), alloc(t, b, 15)
	b.Reduce(backend.Sum, sum, xs, backend.Reduction{Shape: []int{3, 5}, Axes: []bool{false, true}})
	b.Copy(cp, xs, backend.Strided{Shape: []int{15}, SrcStrides: []int{1}, DstStrides: []int{1}})
	b.Unary(backend.Square, sq, xs, 15, backend.Args{})
	wantSum := make([]float32, 3)
	wantSq := make([]float32, 15)
	for i, v := range x {
		wantSum[i/5] += v
		wantSq[i] = v * v
	}
	closeTo(t, "sum", download(t, b, sum, 3), wantSum, 1e-5)
	closeTo(t, "copy", download(t, b, cp, 15), x, 0)
	closeTo(t, "square", download(t, b, sq, 15), wantSq, 1e-6)
}
