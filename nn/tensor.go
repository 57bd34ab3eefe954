// Package nn is catsynth's tensor library: device-resident float32 tensors,
// reverse-mode autograd, parameters with PyTorch-style names, layers,
// optimizers and checkpoints. Every op is composed from the primitives of a
// backend.Backend (see nn/backend), so the same code runs on the pure-Go CPU
// backend and on WebGPU.
//
// Layout conventions follow PyTorch: activations are NCHW, convolution
// weights OIHW, linear weights (out, in), all row-major and contiguous.
//
// Shape errors in op calls are programmer errors and panic with a message
// naming the op and the shapes. Device allocation failures (a buffer larger
// than a device limit) also panic, with an *AllocError; Catch turns such a
// panic back into an error at an API edge.
package nn

import (
	"fmt"
	"strings"
	"sync/atomic"

	"catsynth/nn/backend"
)

// storage is a backend buffer shared by a tensor and its views (Reshape).
// It returns to the backend pool when the last tensor using it is released.
type storage struct {
	buf  backend.Buffer
	refs int
	// version stamps the contents: a fresh stamp at allocation and at every
	// write into the buffer after it (see Tensor.Version).
	version uint64
}

// stamps hands out write stamps, unique in the process (devices may run on
// different goroutines), so that two storages never share one.
var stamps atomic.Uint64

func newStamp() uint64 { return stamps.Add(1) }

// Version identifies the current contents of t's storage: it changes
// whenever they may have changed, and only then. Every path in package nn
// that writes into an existing tensor takes a fresh stamp for it: Upload,
// CopyFrom, Buffer (the caller may write through it), the optimizer step
// (Adam.Step, a kernel updating parameters in place), EMA.Update, the
// running statistics of BatchNorm in training, and the internal "into"
// helpers; a newly allocated tensor starts with a fresh stamp. Views share
// their storage and so its version. Swapping storages (EMA.Swap,
// ClipGradNorm) moves each version with its storage, so a tensor's version
// after a swap is the other storage's, which is different because stamps
// are unique. A cache of values computed from tensors (SpectralNorm's eval
// weight) is therefore valid exactly while their versions are the ones it
// recorded.
func (t *Tensor) Version() uint64 { return t.st.version }

// written gives t's storage a fresh stamp: call it with (before or after)
// any in-place write into a tensor that existed before the write.
func (t *Tensor) written() { t.st.version = newStamp() }

// Tensor is a contiguous float32 array of a given shape living on a Device.
//
// A tensor created inside a Scope is released when the scope closes (unless
// kept); one created outside any scope lives until Release. Tensors are not
// safe for concurrent use (neither is their Device).
type Tensor struct {
	dev      *Device
	st       *storage
	shape    []int
	released bool

	// autograd
	requiresGrad bool    // leaf that wants a gradient (a parameter)
	grad         *Tensor // accumulated gradient, same shape
	node         *node   // how this tensor was computed, nil for leaves
}

// Shape returns a copy of the tensor's shape.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Dim returns the size of axis i (negative i counts from the end).
func (t *Tensor) Dim(i int) int { return t.shape[normAxis(i, len(t.shape), "Dim")] }

// Rank is the number of axes.
func (t *Tensor) Rank() int { return len(t.shape) }

// Numel is the number of elements.
func (t *Tensor) Numel() int { return numel(t.shape) }

// Device returns the device holding the tensor.
func (t *Tensor) Device() *Device { return t.dev }

// Buffer returns the backend buffer (for backends' tests and fused kernels).
// It counts as a write (a fresh Version): the caller may write through it.
func (t *Tensor) Buffer() backend.Buffer {
	b := t.buf()
	t.written()
	return b
}

func (t *Tensor) buf() backend.Buffer {
	if t.released {
		panic(fmt.Sprintf("nn: use of released tensor %v", t.shape))
	}
	return t.st.buf
}

// String describes the tensor without reading its data.
func (t *Tensor) String() string {
	s := fmt.Sprintf("Tensor%v", t.shape)
	if t.released {
		s += "(released)"
	}
	return s
}

// Data copies the tensor to the host. It waits for queued work.
func (t *Tensor) Data() ([]float32, error) {
	out := make([]float32, t.Numel())
	if err := t.dev.be.Download(t.buf(), out); err != nil {
		return nil, fmt.Errorf("nn: download %v: %w", t.shape, err)
	}
	return out, nil
}

// Item reads a one-element tensor to the host.
func (t *Tensor) Item() (float32, error) {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("nn: Item of tensor with shape %v", t.shape))
	}
	d, err := t.Data()
	if err != nil {
		return 0, err
	}
	return d[0], nil
}

// Upload overwrites the tensor's values from the host; len(src) must equal Numel.
func (t *Tensor) Upload(src []float32) {
	if len(src) != t.Numel() {
		panic(fmt.Sprintf("nn: Upload of %d values into tensor %v", len(src), t.shape))
	}
	t.dev.be.Upload(t.buf(), src)
	t.written()
}

// Release returns the tensor's buffer to the backend pool (once no view uses
// it). The tensor must not be used afterwards. Releasing twice is a no-op.
func (t *Tensor) Release() {
	if t.released {
		return
	}
	t.released = true
	t.st.refs--
	if t.st.refs == 0 {
		t.dev.be.Free(t.st.buf)
		t.dev.live--
	}
	t.node = nil
	if t.grad != nil && t.requiresGrad {
		t.grad.Release()
	}
	t.grad = nil
}

// Released reports whether Release was called (directly or by a scope).
func (t *Tensor) Released() bool { return t.released }

// RequiresGrad reports whether gradients flow to or through this tensor.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad || t.node != nil }

// SetRequiresGrad marks a leaf tensor (a parameter) as wanting a gradient.
// It returns t for chaining.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if t.node != nil {
		panic("nn: SetRequiresGrad on a non-leaf tensor " + t.String())
	}
	t.requiresGrad = on
	return t
}

// Grad returns the accumulated gradient (nil before Backward). Gradients of
// leaves live outside any scope until ZeroGrad or Release.
func (t *Tensor) Grad() *Tensor { return t.grad }

// ZeroGrad releases the accumulated gradient.
func (t *Tensor) ZeroGrad() {
	if t.grad != nil {
		t.grad.Release()
		t.grad = nil
	}
}

// Detach returns a view of the same data that is not connected to the graph.
func (t *Tensor) Detach() *Tensor {
	return t.dev.view(t, t.shape)
}

// CopyFrom overwrites t's values with src's (same number of elements),
// in place and without autograd. Used for running statistics, EMA and
// loading weights.
func (t *Tensor) CopyFrom(src *Tensor) {
	if src.Numel() != t.Numel() {
		panic(fmt.Sprintf("nn: CopyFrom %v into %v", src.shape, t.shape))
	}
	if src.st == t.st {
		return
	}
	n := t.Numel()
	t.dev.be.Copy(t.buf(), src.buf(), backend.Strided{Shape: []int{n}, SrcStrides: []int{1}, DstStrides: []int{1}})
	t.written()
}

// swapStorage exchanges the buffers of two tensors of equal size; used to
// update tensors "in place" through ops whose outputs may not alias inputs.
// Each storage keeps its version, so both tensors' versions change.
func swapStorage(a, b *Tensor) {
	if a.Numel() != b.Numel() {
		panic(fmt.Sprintf("nn: swapStorage %v and %v", a.shape, b.shape))
	}
	a.st, b.st = b.st, a.st
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// contiguousStrides returns row-major strides for shape.
func contiguousStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// normAxis maps a possibly negative axis into [0, rank) or panics naming op.
func normAxis(axis, rank int, op string) int {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(fmt.Sprintf("nn: %s: axis %d out of range for rank %d", op, axis, rank))
	}
	return a
}

func shapesString(ts ...*Tensor) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprint(t.shape)
	}
	return strings.Join(parts, ", ")
}
