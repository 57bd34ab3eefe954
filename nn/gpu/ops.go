package gpu

import (
	"fmt"
	"math"

	"catsynth/nn/backend"
)

// Copy is the general strided copy of backend.Strided.
func (b *Backend) Copy(dst, src backend.Buffer, p backend.Strided) {
	rank := len(p.Shape)
	if rank > backend.MaxRank || len(p.SrcStrides) != rank || len(p.DstStrides) != rank {
		panic(fmt.Sprintf("gpu: Copy: shape %v with strides %v, %v", p.Shape, p.SrcStrides, p.DstStrides))
	}
	d, s := b.buf(dst), b.buf(src)
	n := prod(p.Shape)
	if n == 0 {
		return
	}
	checkSpan("Copy", "src", s, p.Shape, p.SrcStrides, p.SrcOffset)
	checkSpan("Copy", "dst", d, p.Shape, p.DstStrides, p.DstOffset)
	shape, st := collapse(p.Shape, p.SrcStrides, p.DstStrides)
	k := b.kernel("copy.wgsl", "copy", 1, 1, map[string]float64{"RANK": float64(len(shape))})
	u := make([]uint32, 28)
	u[0], u[1], u[2] = uint32(n), uint32(int32(p.SrcOffset)), uint32(int32(p.DstOffset))
	for i := range shape {
		u[4+i] = uint32(shape[i])
		u[12+i] = uint32(int32(st[0][i]))
		u[20+i] = uint32(int32(st[1][i]))
	}
	b.dispatch(k, u, b.strideGroups(n), s, d)
}

// checkSpan panics when a strided view of x reaches outside it.
func checkSpan(op, name string, x *Buffer, shape, strides []int, off int) {
	lo, hi := off, off
	for k, n := range shape {
		if strides[k] > 0 {
			hi += (n - 1) * strides[k]
		} else {
			lo += (n - 1) * strides[k]
		}
	}
	if lo < 0 || hi >= x.n {
		panic(fmt.Sprintf("gpu: %s: %s view (shape %v, strides %v, offset %d) reaches [%d, %d] outside a buffer of %d",
			op, name, shape, strides, off, lo, hi, x.n))
	}
}

// reduceThreads is the number of invocations a reduction aims for: below
// it, long reductions are split into chunks reduced in a second pass.
func (b *Backend) reduceThreads() int {
	if b.reduceTarget > 0 {
		return b.reduceTarget
	}
	if b.software {
		return 4096
	}
	return 65536
}

// Reduce reduces x over the axes where p.Axes is true (see backend.Reduction).
func (b *Backend) Reduce(op backend.ReduceOp, dst, x backend.Buffer, p backend.Reduction) {
	if op < 0 || op >= backend.NumReduceOps {
		panic(fmt.Sprintf("gpu: Reduce: unknown op %v", op))
	}
	rank := len(p.Shape)
	if rank > backend.MaxRank || len(p.Axes) != rank {
		panic(fmt.Sprintf("gpu: Reduce: shape %v with axes %v", p.Shape, p.Axes))
	}
	d, s := b.buf(dst), b.buf(x)
	st := contiguous(p.Shape)
	var kShape, kStr, rShape, rStr []int
	for k, n := range p.Shape {
		if p.Axes[k] {
			rShape, rStr = append(rShape, n), append(rStr, st[k])
		} else {
			kShape, kStr = append(kShape, n), append(kStr, st[k])
		}
	}
	nout, r := prod(kShape), prod(rShape)
	checkLen("Reduce", "x", s, prod(p.Shape))
	checkLen("Reduce", "dst", d, nout)
	if nout == 0 {
		return
	}
	if r == 0 {
		v := float32(0)
		if op == backend.MaxReduce {
			v = float32(math.Inf(-1))
		}
		b.Fill(d, nout, v)
		return
	}
	kShape, ks := collapse(kShape, kStr)
	rShape, rs := collapse(rShape, rStr)
	nchunk := 1
	if t := b.reduceThreads(); nout < t && r >= 2048 {
		nchunk = min((t+nout-1)/nout, (r+511)/512)
	}
	if nchunk <= 1 {
		b.reducePass(op, d, s, nout, r, 1, kShape, ks[0], rShape, rs[0])
		return
	}
	chunk := (r + nchunk - 1) / nchunk
	nchunk = (r + chunk - 1) / chunk
	part, err := b.alloc(nout * nchunk)
	if err != nil {
		panic(fmt.Sprintf("gpu: Reduce: partials: %v", err))
	}
	b.reducePass(op, part, s, nout, r, nchunk, kShape, ks[0], rShape, rs[0])
	b.reducePass(op, d, part, nout, nchunk, 1, []int{nout}, []int{nchunk}, []int{nchunk}, []int{1})
	b.Free(part)
}

// reducePass records one reduce.wgsl dispatch: out[o*nchunk+s] reduces
// chunk s of the r reduced elements of output o.
func (b *Backend) reducePass(op backend.ReduceOp, out, x *Buffer, nout, r, nchunk int, kShape, kStr, rShape, rStr []int) {
	chunk := (r + nchunk - 1) / nchunk
	k := b.kernel("reduce.wgsl", "reduce", 1, 1, map[string]float64{
		"OP": float64(op), "KRANK": float64(len(kShape)), "RRANK": float64(len(rShape)),
	})
	u := make([]uint32, 36)
	u[0], u[1], u[2], u[3] = uint32(nout), uint32(r), uint32(chunk), uint32(nchunk)
	for i := range kShape {
		u[4+i], u[12+i] = uint32(kShape[i]), uint32(kStr[i])
	}
	for i := range rShape {
		u[20+i], u[28+i] = uint32(rShape[i]), uint32(rStr[i])
	}
	b.dispatch(k, u, groups1D(nout*nchunk, wgSize), x, out)
}

// Resize is nearest resizing (see backend.Resize).
func (b *Backend) Resize(dst, x backend.Buffer, p backend.Resize) {
	d, s := b.buf(dst), b.buf(x)
	checkLen("Resize", "x", s, p.Planes*p.H*p.W)
	checkLen("Resize", "dst", d, p.Planes*p.OH*p.OW)
	if p.H <= 0 || p.W <= 0 {
		return
	}
	k := b.kernel("resize.wgsl", "resize", 1, 1, nil)
	u := []uint32{uint32(p.Planes), uint32(p.H), uint32(p.W), uint32(p.OH), uint32(p.OW)}
	b.dispatch(k, u, groups1D(p.Planes*p.OH*p.OW, wgSize), s, d)
}

// ResizeGrad sums dy back onto the source pixels; dx is overwritten.
func (b *Backend) ResizeGrad(dx, dy backend.Buffer, p backend.Resize) {
	d, s := b.buf(dx), b.buf(dy)
	checkLen("ResizeGrad", "dy", s, p.Planes*p.OH*p.OW)
	checkLen("ResizeGrad", "dx", d, p.Planes*p.H*p.W)
	k := b.kernel("resize.wgsl", "resize_grad", 1, 1, nil)
	u := []uint32{uint32(p.Planes), uint32(p.H), uint32(p.W), uint32(p.OH), uint32(p.OW)}
	b.dispatch(k, u, groups1D(p.Planes*p.H*p.W, wgSize), s, d)
}

func poolUniforms(p backend.Pool) []uint32 {
	return []uint32{uint32(p.Planes), uint32(p.H), uint32(p.W), uint32(p.K),
		uint32(p.Stride), uint32(p.Pad), uint32(p.OH()), uint32(p.OW())}
}

func checkPool(op string, p backend.Pool) {
	if p.K <= 0 || p.Stride <= 0 || p.Pad < 0 || p.OH() <= 0 || p.OW() <= 0 {
		panic(fmt.Sprintf("gpu: %s: bad pooling %+v", op, p))
	}
}

// Pool2D is average or max pooling (see backend.Pool).
func (b *Backend) Pool2D(op backend.PoolOp, dst, x backend.Buffer, p backend.Pool) {
	checkPool("Pool2D", p)
	d, s := b.buf(dst), b.buf(x)
	checkLen("Pool2D", "x", s, p.Planes*p.H*p.W)
	checkLen("Pool2D", "dst", d, p.Planes*p.OH()*p.OW())
	k := b.kernel("pool.wgsl", "pool", 1, 1, map[string]float64{"OP": float64(op)})
	b.dispatch(k, poolUniforms(p), groups1D(p.Planes*p.OH()*p.OW(), wgSize), s, d)
}

// Pool2DGrad computes dx (overwritten) from x, y = Pool2D(x) and dy.
func (b *Backend) Pool2DGrad(op backend.PoolOp, dx, x, y, dy backend.Buffer, p backend.Pool) {
	checkPool("Pool2DGrad", p)
	gdx, gx, gy, gdy := b.buf(dx), b.buf(x), b.buf(y), b.buf(dy)
	checkLen("Pool2DGrad", "x", gx, p.Planes*p.H*p.W)
	checkLen("Pool2DGrad", "dx", gdx, p.Planes*p.H*p.W)
	checkLen("Pool2DGrad", "y", gy, p.Planes*p.OH()*p.OW())
	checkLen("Pool2DGrad", "dy", gdy, p.Planes*p.OH()*p.OW())
	k := b.kernel("pool.wgsl", "pool_grad", 3, 1, map[string]float64{"OP": float64(op)})
	b.dispatch(k, poolUniforms(p), groups1D(p.Planes*p.H*p.W, wgSize), gx, gy, gdy, gdx)
}

// OneHot writes dst (N, C, Inner) from class indices idx (N, Inner).
func (b *Backend) OneHot(dst, idx backend.Buffer, p backend.OneHot) {
	d, s := b.buf(dst), b.buf(idx)
	checkLen("OneHot", "idx", s, p.N*p.Inner)
	checkLen("OneHot", "dst", d, p.N*p.C*p.Inner)
	k := b.kernel("onehot.wgsl", "onehot", 1, 1, nil)
	b.dispatch(k, []uint32{uint32(p.N), uint32(p.C), uint32(p.Inner)}, groups1D(p.N*p.C*p.Inner, wgSize), s, d)
}
