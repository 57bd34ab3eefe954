// Package backend is the contract between nn and its compute backends.
//
// A backend owns flat float32 buffers and runs a small set of primitive
// kernels on them. Every primitive takes its shapes explicitly, so a backend
// never needs to know about tensors, autograd or layers. Package nn composes
// everything else (norms, softmax, losses, layers) from these primitives.
//
// Conventions shared by every backend:
//   - Buffers hold float32 values, NCHW activations, OIHW weights, row-major.
//     Index tensors (class maps) are stored as float32 holding whole numbers.
//   - An output buffer never aliases an input buffer of the same call (WebGPU
//     forbids binding one buffer as read and read-write in one dispatch),
//     except where a primitive says "in place".
//   - Primitives may run asynchronously; Download is the only point where the
//     host waits, and Flush submits queued work without waiting for results.
//   - A Backend is used from one goroutine at a time.
package backend

import (
	"errors"
	"fmt"
)

// ErrDeviceLost is wrapped by the errors of a backend whose device is gone
// (a GPU reset, a driver crash, the browser reclaiming it): nothing more
// can run on it, and callers stop, keeping what they saved before.
var ErrDeviceLost = errors.New("device lost")

// MaxRank is the largest tensor rank the strided primitives accept.
const MaxRank = 6

// Buffer is device memory holding Len() float32 values.
type Buffer interface {
	Len() int
}

// Backend runs the primitive kernels. See the package comment for conventions.
type Backend interface {
	// Name says which backend runs, for logs and reports: "cpu",
	// "gpu: NVIDIA H100 80GB HBM3 (vulkan)".
	Name() string
	// Alloc returns a buffer of n float32 values with undefined contents,
	// possibly reused from a pool. It fails when n exceeds a device limit,
	// with a message naming the limit.
	Alloc(n int) (Buffer, error)
	// Free returns a buffer to the pool. The buffer must not be used after.
	Free(b Buffer)
	// Upload copies len(src) values from the host into dst starting at 0.
	Upload(dst Buffer, src []float32)
	// Download waits for queued work and copies len(dst) values of src to the host.
	Download(src Buffer, dst []float32) error
	// Flush submits queued work without waiting for it.
	Flush() error

	// Fill sets the first n values of dst to v.
	Fill(dst Buffer, n int, v float32)
	// Copy is a general strided copy; see Strided.
	Copy(dst, src Buffer, p Strided)

	// Unary computes dst[i] = f(x[i]) for i < n.
	Unary(op UnaryOp, dst, x Buffer, n int, a Args)
	// UnaryGrad computes dx[i] = dy[i] * f'(x[i]) for i < n; y holds f(x),
	// which some ops use instead of x (tanh, sigmoid, exp).
	UnaryGrad(op UnaryOp, dx, x, y, dy Buffer, n int, a Args)
	// Binary computes dst = a op b with broadcasting; see Broadcast.
	Binary(op BinaryOp, dst, a, b Buffer, p Broadcast)
	// Reduce reduces x over the axes in p.Axes; dst holds the kept axes in order.
	Reduce(op ReduceOp, dst, x Buffer, p Reduction)

	// MatMul computes batched C = op(A) * op(B); see MatMul.
	MatMul(c, a, b Buffer, p MatMul)
	// Conv2D computes y = conv(x, w) (cross-correlation, no bias); see Conv.
	Conv2D(y, x, w Buffer, p Conv)
	// Conv2DGradInput computes dx from dy and w (dx is overwritten).
	Conv2DGradInput(dx, dy, w Buffer, p Conv)
	// Conv2DGradWeight computes dw from x and dy (dw is overwritten).
	Conv2DGradWeight(dw, x, dy Buffer, p Conv)

	// Resize is nearest-neighbour resizing of N*C planes; see Resize.
	Resize(dst, x Buffer, p Resize)
	// ResizeGrad sums dy back onto the source pixels (dx is overwritten).
	ResizeGrad(dx, dy Buffer, p Resize)
	// Pool2D is average or max pooling; see Pool.
	Pool2D(op PoolOp, dst, x Buffer, p Pool)
	// Pool2DGrad computes dx (overwritten) from x, y = Pool2D(x) and dy.
	Pool2DGrad(op PoolOp, dx, x, y, dy Buffer, p Pool)

	// OneHot writes dst (N, C, Inner) from idx (N, Inner) holding class
	// indices as float32; pixels whose index is outside [0, C) (such as an
	// ignore index) get all zeros.
	OneHot(dst, idx Buffer, p OneHot)

	// Adam updates param, m and v in place from grad; see Adam.
	Adam(param, grad, m, v Buffer, n int, p Adam)
}

// Args are the scalar parameters of a unary op (most ops ignore them).
type Args struct {
	Alpha, Beta float32
}

// ReduceOp names a reduction.
type ReduceOp int

// The reductions.
const (
	Sum ReduceOp = iota
	MaxReduce
	NumReduceOps
)

func (o ReduceOp) String() string {
	switch o {
	case Sum:
		return "sum"
	case MaxReduce:
		return "max"
	}
	return fmt.Sprintf("ReduceOp(%d)", int(o))
}

// PoolOp names a pooling function.
type PoolOp int

// The pooling ops. Average pooling counts padded positions as zeros
// (PyTorch's count_include_pad=True).
const (
	AvgPool PoolOp = iota
	MaxPool
)

// Strided describes a copy of a rank-len(Shape) index space: for every index
// i, dst[DstOffset + sum i_k*DstStrides[k]] = src[SrcOffset + sum i_k*SrcStrides[k]].
// This one primitive serves permute, transpose, concat, split and slicing.
type Strided struct {
	Shape                  []int
	SrcStrides, DstStrides []int
	SrcOffset, DstOffset   int
}

// Broadcast describes a binary op over the contiguous output Shape; a and b
// are read with their own strides (0 on broadcast axes) from offset 0.
type Broadcast struct {
	Shape              []int
	AStrides, BStrides []int
}

// Reduction reduces a contiguous input of Shape over the axes where Axes[k]
// is true; the output is contiguous over the remaining axes (in order).
type Reduction struct {
	Shape []int
	Axes  []bool
}

// MatMul describes Batch products C_b (M x N) = op(A_b) (M x K) * op(B_b) (K x N).
// A_b is stored row-major as M x K, or K x M when TransA; B_b as K x N, or N x K
// when TransB. StrideA, StrideB, StrideC are the distances between batch items
// (0 broadcasts one matrix to every batch item).
type MatMul struct {
	Batch, M, N, K            int
	TransA, TransB            bool
	StrideA, StrideB, StrideC int
}

// Flops is the number of floating point operations of the product.
func (p MatMul) Flops() float64 {
	return 2 * float64(p.Batch) * float64(p.M) * float64(p.N) * float64(p.K)
}

// Conv describes a 2D convolution: x (N, C, H, W), w (O, C/Groups, KH, KW),
// y (N, O, OH, OW) with OH = (H + 2*PadH - KH)/StrideH + 1 (likewise OW).
type Conv struct {
	N, C, H, W       int
	O, KH, KW        int
	StrideH, StrideW int
	PadH, PadW       int
	Groups           int
}

// OH is the output height.
func (p Conv) OH() int { return (p.H+2*p.PadH-p.KH)/p.StrideH + 1 }

// OW is the output width.
func (p Conv) OW() int { return (p.W+2*p.PadW-p.KW)/p.StrideW + 1 }

// Flops is the number of floating point operations of the forward pass.
func (p Conv) Flops() float64 {
	return 2 * float64(p.N) * float64(p.O) * float64(p.OH()) * float64(p.OW()) *
		float64(p.C/p.Groups) * float64(p.KH) * float64(p.KW)
}

// Resize describes nearest resizing of Planes images from H x W to OH x OW:
// output pixel (i, j) reads input (floor(i*H/OH), floor(j*W/OW)), as
// PyTorch's interpolate(mode="nearest").
type Resize struct {
	Planes, H, W, OH, OW int
}

// Pool describes pooling of Planes images H x W with a K x K window.
type Pool struct {
	Planes, H, W   int
	K, Stride, Pad int
}

// OH is the output height.
func (p Pool) OH() int { return (p.H+2*p.Pad-p.K)/p.Stride + 1 }

// OW is the output width.
func (p Pool) OW() int { return (p.W+2*p.Pad-p.K)/p.Stride + 1 }

// OneHot describes the one-hot expansion of N maps of Inner pixels to C channels.
type OneHot struct {
	N, C, Inner int
}

// Adam holds one step of Adam/AdamW:
//
//	m = Beta1*m + (1-Beta1)*g;  v = Beta2*v + (1-Beta2)*g*g
//	param -= LR * (m/BiasCorr1) / (sqrt(v/BiasCorr2) + Eps) + LR*WeightDecay*param
//
// where g = grad*GradScale (GradScale 0 means 1). WeightDecay is decoupled
// (AdamW); BiasCorr1 = 1-Beta1^t and BiasCorr2 = 1-Beta2^t are computed by the caller.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	BiasCorr1, BiasCorr2               float32
	GradScale                          float32
}
