package backend

import "fmt"

// EdgePad is implemented by backends with a kernel for reflect and
// replicate padding: one dispatch where package nn otherwise composes the
// border from Narrow and Concat copies (about ten per padded convolution).
// That composition stays the reference the kernel is tested against.
type EdgePad interface {
	// PadEdges writes dst (Planes, OH, OW) from x (Planes, H, W): the pixel
	// at (i, j) of dst is x's at (p.Source(i, H, PadH), p.Source(j, W, PadW)).
	PadEdges(dst, x Buffer, p Pad)
	// PadEdgesGrad computes dx (Planes, H, W, overwritten) from dy (Planes,
	// OH, OW): every input pixel sums the padded pixels that show it.
	PadEdgesGrad(dx, dy Buffer, p Pad)
}

// PadMode is how Pad fills the border.
type PadMode int

// The border fills. Zero padding is the convolutions' own (Conv.PadH).
const (
	// PadReflect mirrors about the edge pixel: x[1] | x[0], x[1], ...
	PadReflect PadMode = iota + 1
	// PadReplicate repeats the edge pixel: x[0] | x[0], x[1], ...
	PadReplicate
)

// Pad describes the padding of Planes planes of H x W by PadH rows above
// and below and PadW columns left and right.
type Pad struct {
	Planes, H, W int
	PadH, PadW   int
	Mode         PadMode
}

// OH is the padded height.
func (p Pad) OH() int { return p.H + 2*p.PadH }

// OW is the padded width.
func (p Pad) OW() int { return p.W + 2*p.PadW }

// Source is the index along an axis of n pixels padded by pad that padded
// index o (0 <= o < n+2*pad) shows.
func (p Pad) Source(o, n, pad int) int {
	i := o - pad
	switch {
	case i < 0 && p.Mode == PadReflect:
		return -i
	case i < 0:
		return 0
	case i >= n && p.Mode == PadReflect:
		return 2*(n-1) - i
	case i >= n:
		return n - 1
	}
	return i
}

// Check panics with a message naming op when p is not a valid padding:
// reflect needs more pixels than the padding on each padded axis.
func (p Pad) Check(op string) {
	bad := p.Planes < 0 || p.H < 1 || p.W < 1 || p.PadH < 0 || p.PadW < 0 ||
		p.Mode != PadReflect && p.Mode != PadReplicate ||
		p.Mode == PadReflect && (p.PadH >= p.H || p.PadW >= p.W)
	if bad {
		panic(fmt.Sprintf("%s: bad padding %+v", op, p))
	}
}
