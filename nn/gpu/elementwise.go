package gpu

import (
	"fmt"

	"catsynth/nn/backend"
)

// Fill sets the first n values of dst to v.
func (b *Backend) Fill(dst backend.Buffer, n int, v float32) {
	d := b.buf(dst)
	checkLen("Fill", "dst", d, n)
	k := b.kernel("elementwise.wgsl", "fill", 0, 1, nil)
	b.dispatch(k, []uint32{uint32(n), f32(v)}, b.strideGroups(n), d)
}

// Unary computes dst[i] = op(x[i]) for i < n; dst may be x only if the
// caller accepts that WebGPU forbids it (it panics: no in-place here).
func (b *Backend) Unary(op backend.UnaryOp, dst, x backend.Buffer, n int, a backend.Args) {
	if !op.Valid() {
		panic(fmt.Sprintf("gpu: Unary: unknown op %v", op))
	}
	d, s := b.buf(dst), b.buf(x)
	checkLen("Unary", "dst", d, n)
	checkLen("Unary", "x", s, n)
	k := b.kernel("elementwise.wgsl", "unary", 1, 1, map[string]float64{"OP": float64(op)})
	b.dispatch(k, []uint32{uint32(n), f32(a.Alpha), f32(a.Beta)}, b.strideGroups(n), s, d)
}

// UnaryGrad computes dx[i] = dy[i] * op'(x[i]) for i < n, where y = op(x).
func (b *Backend) UnaryGrad(op backend.UnaryOp, dx, x, y, dy backend.Buffer, n int, a backend.Args) {
	if !op.Valid() {
		panic(fmt.Sprintf("gpu: UnaryGrad: unknown op %v", op))
	}
	gdx, gx, gy, gdy := b.buf(dx), b.buf(x), b.buf(y), b.buf(dy)
	for i, p := range []*Buffer{gdx, gx, gy, gdy} {
		checkLen("UnaryGrad", [...]string{"dx", "x", "y", "dy"}[i], p, n)
	}
	k := b.kernel("elementwise.wgsl", "unary_grad", 3, 1, map[string]float64{"OP": float64(op)})
	b.dispatch(k, []uint32{uint32(n), f32(a.Alpha), f32(a.Beta)}, b.strideGroups(n), gx, gy, gdy, gdx)
}

// Binary computes dst = a op b over the contiguous output p.Shape, reading a
// and b with their strides (0 on broadcast axes).
func (b *Backend) Binary(op backend.BinaryOp, dst, a, bb backend.Buffer, p backend.Broadcast) {
	if !op.Valid() {
		panic(fmt.Sprintf("gpu: Binary: unknown op %v", op))
	}
	rank := len(p.Shape)
	if rank > backend.MaxRank || len(p.AStrides) != rank || len(p.BStrides) != rank {
		panic(fmt.Sprintf("gpu: Binary: shape %v with strides %v, %v", p.Shape, p.AStrides, p.BStrides))
	}
	d, ga, gb := b.buf(dst), b.buf(a), b.buf(bb)
	n := prod(p.Shape)
	checkLen("Binary", "dst", d, n)
	checkLen("Binary", "a", ga, extent(p.Shape, p.AStrides))
	checkLen("Binary", "b", gb, extent(p.Shape, p.BStrides))
	if n == 0 {
		return
	}
	shape, strides := collapse(p.Shape, contiguous(p.Shape), p.AStrides, p.BStrides)
	chunk := b.binaryChunk()
	k := b.kernel("elementwise.wgsl", "binary", 2, 1, map[string]float64{
		"OP": float64(op), "RANK": float64(len(shape)), "CHUNK": float64(chunk)})
	u := make([]uint32, 28)
	u[0] = uint32(n)
	for i := range shape {
		u[4+i] = uint32(shape[i])
		u[12+i] = uint32(strides[1][i])
		u[20+i] = uint32(strides[2][i])
	}
	b.dispatch(k, u, b.strideGroups((n+chunk-1)/chunk), ga, gb, d)
}

// Adam updates param, m and v in place from grad (see backend.Adam).
func (b *Backend) Adam(param, grad, m, v backend.Buffer, n int, p backend.Adam) {
	gp, gg, gm, gv := b.buf(param), b.buf(grad), b.buf(m), b.buf(v)
	for i, x := range []*Buffer{gp, gg, gm, gv} {
		checkLen("Adam", [...]string{"param", "grad", "m", "v"}[i], x, n)
	}
	scale := p.GradScale
	if scale == 0 {
		scale = 1
	}
	k := b.kernel("adam.wgsl", "adam", 1, 3, nil)
	u := []uint32{uint32(n), f32(p.LR), f32(p.Beta1), f32(p.Beta2), f32(p.Eps), f32(p.WeightDecay),
		f32(p.BiasCorr1), f32(p.BiasCorr2), f32(scale)}
	b.dispatch(k, u, b.strideGroups(n), gg, gp, gm, gv)
}

// strideGroups is the workgroup count for a grid-stride kernel over n
// elements: one invocation per element up to b.maxThreads invocations.
func (b *Backend) strideGroups(n int) [3]uint32 {
	return groups1D(min(n, b.maxThreads()), wgSize)
}

// maxThreads caps the invocations of grid-stride kernels. lavapipe pays a
// large cost per invocation, so there each one loops over many elements.
func (b *Backend) maxThreads() int {
	if b.threadCap > 0 {
		return b.threadCap
	}
	if b.software {
		return 1 << 13
	}
	return 1 << 22
}

// binaryChunk is how many consecutive outputs one invocation of the binary
// kernel computes (see elementwise.wgsl).
func (b *Backend) binaryChunk() int {
	if b.chunkOverride > 0 {
		return b.chunkOverride
	}
	if b.software {
		return 16
	}
	return 1
}

// checkLen panics when buffer x, named name, holds fewer than n values.
func checkLen(op, name string, x *Buffer, n int) {
	if n < 0 || x.n < n {
		panic(fmt.Sprintf("gpu: %s: %s holds %d values, need %d", op, name, x.n, n))
	}
}
