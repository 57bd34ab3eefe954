package gpu

import (
	"errors"
	"fmt"
	"math/bits"

	"catsynth/nn/backend"

	"github.com/cogentcore/webgpu/wgpu"
)

// Buffer is a device buffer of Len() float32 values. Its device allocation
// (a pool bucket) may be larger.
type Buffer struct {
	buf  *wgpu.Buffer
	n    int
	size uint64 // bytes of buf
	// lastUse is the recorder epoch of the last dispatch that bound this
	// buffer; equal to the current epoch means queued, unsubmitted work uses it.
	lastUse uint64
}

// Len is the number of float32 values.
func (x *Buffer) Len() int { return x.n }

const bufferUsage = wgpu.BufferUsageStorage | wgpu.BufferUsageCopySrc | wgpu.BufferUsageCopyDst

// bufferPool keeps freed device buffers by size bucket for reuse.
type bufferPool struct {
	free    map[uint64][]pooled
	created int // device buffers created (tests check reuse)
}

// pooled is a free device buffer; lastUse carries over to its next owner so
// that an Upload still waits for queued work of the previous owner.
type pooled struct {
	buf     *wgpu.Buffer
	lastUse uint64
}

func (p *bufferPool) init() { p.free = map[uint64][]pooled{} }

func (p *bufferPool) release() {
	for _, l := range p.free {
		for _, e := range l {
			e.buf.Destroy()
			e.buf.Release()
		}
	}
	p.free = nil
}

// bucket rounds a byte size up to 256, 2^k or 3*2^(k-1), wasting at most a
// third while keeping few distinct sizes for reuse, and never beyond limit.
func bucket(size, limit uint64) uint64 {
	if size <= 256 {
		return min(256, limit)
	}
	k := 63 - bits.LeadingZeros64(size-1) // 2^k < size <= 2^(k+1)
	b := uint64(1) << (k + 1)
	if mid := uint64(3) << (k - 1); mid >= size {
		b = mid
	}
	if b > limit {
		b = size
	}
	return b
}

// bindingLimit is the largest buffer a kernel may bind, in bytes.
func (b *Backend) bindingLimit() uint64 {
	l := b.limits.MaxStorageBufferBindingSize
	if m := b.limits.MaxBufferSize; m > 0 && m < l {
		l = m
	}
	return l &^ 3
}

// Alloc returns a buffer of n float32 values with undefined contents. It
// fails when n*4 bytes exceed maxStorageBufferBindingSize (or maxBufferSize):
// every kernel binds whole buffers.
func (b *Backend) Alloc(n int) (backend.Buffer, error) {
	return b.alloc(n)
}

func (b *Backend) alloc(n int) (*Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("gpu: Alloc(%d): negative length", n)
	}
	limit := b.bindingLimit()
	need := uint64(max(n, 1)) * 4
	if need > limit {
		return nil, fmt.Errorf("gpu: Alloc(%d): %d bytes exceed the device's maxStorageBufferBindingSize of %d bytes (maxBufferSize %d)",
			n, need, b.limits.MaxStorageBufferBindingSize, b.limits.MaxBufferSize)
	}
	size := bucket(need, limit)
	if l := b.pool.free[size]; len(l) > 0 {
		e := l[len(l)-1]
		b.pool.free[size] = l[:len(l)-1]
		return &Buffer{buf: e.buf, n: n, size: size, lastUse: e.lastUse}, nil
	}
	buf, err := b.device.CreateBuffer(&wgpu.BufferDescriptor{Usage: bufferUsage, Size: size})
	if err != nil {
		return nil, fmt.Errorf("gpu: Alloc(%d): %w", n, err)
	}
	b.pool.created++
	return &Buffer{buf: buf, n: n, size: size}, nil
}

// Free returns x to the pool. Work already queued on x still runs correctly:
// later users of the same device buffer are ordered after it on the queue.
func (b *Backend) Free(x backend.Buffer) {
	g := b.buf(x)
	if g.buf == nil {
		panic("gpu: Free of a freed buffer")
	}
	b.pool.free[g.size] = append(b.pool.free[g.size], pooled{g.buf, g.lastUse})
	g.buf = nil
}

// buf converts a backend.Buffer of this backend.
func (b *Backend) buf(x backend.Buffer) *Buffer {
	g, ok := x.(*Buffer)
	if !ok || g == nil {
		panic(fmt.Sprintf("gpu: buffer %T does not belong to the gpu backend", x))
	}
	return g
}

// Upload copies src into dst starting at value 0. Queued work that still
// reads or writes dst is submitted first, so it sees the old contents.
func (b *Backend) Upload(dst backend.Buffer, src []float32) {
	d := b.buf(dst)
	if len(src) > d.n {
		panic(fmt.Sprintf("gpu: Upload of %d values into a buffer of %d", len(src), d.n))
	}
	if len(src) == 0 {
		return
	}
	if d.lastUse == b.rec.epoch && b.rec.pending() {
		b.rec.submit()
	}
	if err := writeBuffer(b.queue, d.buf, wgpu.ToBytes(src)); err != nil {
		b.rec.fail(fmt.Errorf("gpu: upload: %w", err))
	}
}

// Download waits for queued work and copies len(dst) values of src to dst.
func (b *Backend) Download(src backend.Buffer, dst []float32) error {
	s := b.buf(src)
	if len(dst) > s.n {
		panic(fmt.Sprintf("gpu: Download of %d values from a buffer of %d", len(dst), s.n))
	}
	if len(dst) == 0 {
		return b.Flush()
	}
	if b.lost != nil {
		return b.lost
	}
	return b.noteLoss(b.rec.download(s, dst))
}

// Flush submits queued work without waiting for it, and returns the first
// error recorded since the last Flush or Download.
func (b *Backend) Flush() error {
	if b.lost != nil {
		return b.lost
	}
	b.rec.submit()
	return b.noteLoss(b.rec.takeErr())
}

// noteLoss remembers a device-lost error, naming the device, so that every
// later Download and Flush fails at once with it instead of waiting on a
// device that is gone.
func (b *Backend) noteLoss(err error) error {
	if err != nil && errors.Is(err, backend.ErrDeviceLost) {
		b.lost = fmt.Errorf("%w (on %s)", err, b.name)
		return b.lost
	}
	return err
}
