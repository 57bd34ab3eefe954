package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// ConvOpts are the hyperparameters of Conv2D. Zero values mean stride 1,
// padding 0 and one group. StrideH/StrideW and PadH/PadW override Stride and
// Pad per axis when nonzero.
type ConvOpts struct {
	Stride, Pad      int
	StrideH, StrideW int
	PadH, PadW       int
	Groups           int
}

// padding is the rows and columns of padding: PadH and PadW where set,
// else Pad.
func (o ConvOpts) padding() (h, w int) {
	h, w = o.PadH, o.PadW
	if h == 0 {
		h = o.Pad
	}
	if w == 0 {
		w = o.Pad
	}
	return h, w
}

func (o ConvOpts) params(x, w *Tensor) backend.Conv {
	pick := func(specific, general, def int) int {
		if specific != 0 {
			return specific
		}
		if general != 0 {
			return general
		}
		return def
	}
	ph, pw := o.padding()
	p := backend.Conv{
		StrideH: pick(o.StrideH, o.Stride, 1), StrideW: pick(o.StrideW, o.Stride, 1),
		PadH: ph, PadW: pw,
		Groups: max(o.Groups, 1),
	}
	if x.Rank() != 4 || w.Rank() != 4 {
		panic(fmt.Sprintf("nn: Conv2D: want x (N,C,H,W) and w (O,C/groups,KH,KW), got %s", shapesString(x, w)))
	}
	p.N, p.C, p.H, p.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	p.O, p.KH, p.KW = w.shape[0], w.shape[2], w.shape[3]
	if p.C%p.Groups != 0 || p.O%p.Groups != 0 || w.shape[1] != p.C/p.Groups {
		panic(fmt.Sprintf("nn: Conv2D: x %v, w %v do not fit groups=%d", x.shape, w.shape, p.Groups))
	}
	if p.H+2*p.PadH < p.KH || p.W+2*p.PadW < p.KW {
		panic(fmt.Sprintf("nn: Conv2D: kernel %dx%d larger than padded input %v (pad %d,%d)", p.KH, p.KW, x.shape, p.PadH, p.PadW))
	}
	return p
}

// Conv2D is PyTorch's conv2d (cross-correlation): x (N, C, H, W), w (O,
// C/Groups, KH, KW), bias (O) or nil; the result is (N, O, OH, OW) with
// OH = (H + 2*PadH - KH)/StrideH + 1.
// With a bias on a backend with backend.ConvEpilogue the bias is added in
// the convolution's epilogue.
func Conv2D(x, w, bias *Tensor, o ConvOpts) *Tensor {
	d := x.dev
	if _, ok := d.be.(backend.ConvEpilogue); ok && bias != nil && !d.composeFused {
		return ConvEpilogue(x, w, nil, bias, o, ActIdentity)
	}
	p := o.params(x, w)
	y := d.alloc([]int{p.N, p.O, p.OH(), p.OW()})
	d.be.Conv2D(y.buf(), x.buf(), w.buf(), p)
	y = record(y, "conv2d", []*Tensor{x, w}, func(g *Tensor) []*Tensor {
		var gx, gw *Tensor
		if x.RequiresGrad() {
			gx = d.alloc(x.shape)
			d.be.Conv2DGradInput(gx.buf(), g.buf(), w.buf(), p)
		}
		if w.RequiresGrad() {
			gw = d.alloc(w.shape)
			d.be.Conv2DGradWeight(gw.buf(), x.buf(), g.buf(), p)
		}
		return []*Tensor{gx, gw}
	})
	if bias != nil {
		if bias.Numel() != p.O {
			panic(fmt.Sprintf("nn: Conv2D: bias %v for %d output channels", bias.shape, p.O))
		}
		y = Add(y, Reshape(bias, 1, p.O, 1, 1))
	}
	return y
}

func planes(x *Tensor, op string) (n, h, w int) {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("nn: %s: want (..., H, W), got %v", op, x.shape))
	}
	h, w = x.shape[x.Rank()-2], x.shape[x.Rank()-1]
	return x.Numel() / max(h*w, 1), h, w
}

func withHW(shape []int, h, w int) []int {
	out := append([]int(nil), shape...)
	out[len(out)-2], out[len(out)-1] = h, w
	return out
}

// ResizeNearest resizes the last two axes of x (..., H, W) to (oh, ow) by
// nearest-neighbour sampling, as PyTorch's interpolate(mode="nearest").
func ResizeNearest(x *Tensor, oh, ow int) *Tensor {
	n, h, w := planes(x, "ResizeNearest")
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("nn: ResizeNearest %v to %dx%d", x.shape, oh, ow))
	}
	if oh == h && ow == w {
		return x
	}
	p := backend.Resize{Planes: n, H: h, W: w, OH: oh, OW: ow}
	d := x.dev
	y := d.alloc(withHW(x.shape, oh, ow))
	d.be.Resize(y.buf(), x.buf(), p)
	return record(y, "resize", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := d.alloc(x.shape)
		d.be.ResizeGrad(gx.buf(), g.buf(), p)
		return []*Tensor{gx}
	})
}

// Upsample2x doubles the last two axes by nearest-neighbour repetition.
func Upsample2x(x *Tensor) *Tensor {
	_, h, w := planes(x, "Upsample2x")
	return ResizeNearest(x, 2*h, 2*w)
}

func pool(op backend.PoolOp, x *Tensor, k, stride, pad int) *Tensor {
	n, h, w := planes(x, "Pool2D")
	if stride == 0 {
		stride = k
	}
	p := backend.Pool{Planes: n, H: h, W: w, K: k, Stride: stride, Pad: pad}
	if k <= 0 || h+2*pad < k || w+2*pad < k || pad*2 > k {
		panic(fmt.Sprintf("nn: Pool2D: window %d (stride %d, pad %d) on %v", k, stride, pad, x.shape))
	}
	d := x.dev
	y := d.alloc(withHW(x.shape, p.OH(), p.OW()))
	d.be.Pool2D(op, y.buf(), x.buf(), p)
	return record(y, "pool2d", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := d.alloc(x.shape)
		d.be.Pool2DGrad(op, gx.buf(), x.buf(), y.buf(), g.buf(), p)
		return []*Tensor{gx}
	})
}

// AvgPool2D averages k x k windows of the last two axes (stride 0 means k;
// padded positions count as zeros, PyTorch's count_include_pad=True).
func AvgPool2D(x *Tensor, k, stride, pad int) *Tensor {
	return pool(backend.AvgPool, x, k, stride, pad)
}

// MaxPool2D takes the maximum of k x k windows (stride 0 means k).
func MaxPool2D(x *Tensor, k, stride, pad int) *Tensor {
	return pool(backend.MaxPool, x, k, stride, pad)
}

// AvgPool2x2 halves the last two axes by averaging 2x2 blocks (odd sizes floor).
func AvgPool2x2(x *Tensor) *Tensor { return AvgPool2D(x, 2, 2, 0) }

// OneHot expands an index map idx (N, ...) holding class indices as floats
// into (N, C, ...); indices outside [0, C) (an ignore index) give all zeros.
// It is not differentiable.
func OneHot(idx *Tensor, c int) *Tensor {
	if idx.Rank() < 1 {
		panic(fmt.Sprintf("nn: OneHot of %v", idx.shape))
	}
	n := idx.shape[0]
	inner := idx.Numel() / max(n, 1)
	out := append([]int{n, c}, idx.shape[1:]...)
	y := idx.dev.alloc(out)
	idx.dev.be.OneHot(y.buf(), idx.buf(), backend.OneHot{N: n, C: c, Inner: inner})
	return y
}

// Embedding gathers rows of table (V, D) by the indices idx (any shape,
// float-coded integers in [0, V)); the result is (idx..., D). Implemented as
// OneHot(idx) @ table, so the gradient reaches table.
func Embedding(idx, table *Tensor) *Tensor {
	if table.Rank() != 2 {
		panic(fmt.Sprintf("nn: Embedding: table %v is not (V, D)", table.shape))
	}
	v, dd := table.shape[0], table.shape[1]
	n := idx.Numel()
	oh := Reshape(OneHot(Reshape(idx, 1, n), v), v, n)
	y := MatMul(oh, table, true, false)
	return Reshape(y, append(idx.Shape(), dd)...)
}
