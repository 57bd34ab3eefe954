package gpu

import "catsynth/nn/backend"

// The matrix product and convolutions are implemented in matmul.go and
// conv.go (owned by the matmul kernels); these methods only adapt types.

// MatMul computes batched C = op(A) * op(B); see backend.MatMul.
func (b *Backend) MatMul(c, a, bm backend.Buffer, p backend.MatMul) {
	b.matmul(b.buf(c), b.buf(a), b.buf(bm), p)
}

// Conv2D computes y = conv(x, w); see backend.Conv.
func (b *Backend) Conv2D(y, x, w backend.Buffer, p backend.Conv) {
	b.conv2d(b.buf(y), b.buf(x), b.buf(w), p)
}

// Conv2DGradInput computes dx (overwritten) from dy and w.
func (b *Backend) Conv2DGradInput(dx, dy, w backend.Buffer, p backend.Conv) {
	b.conv2dGradInput(b.buf(dx), b.buf(dy), b.buf(w), p)
}

// Conv2DGradWeight computes dw (overwritten) from x and dy.
func (b *Backend) Conv2DGradWeight(dw, x, dy backend.Buffer, p backend.Conv) {
	b.conv2dGradWeight(b.buf(dw), b.buf(x), b.buf(dy), p)
}
