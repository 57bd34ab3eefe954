package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// PadMode is how a convolution fills the border it reads beyond its input.
type PadMode string

// Padding modes (the names are PyTorch's padding_mode values).
const (
	// PadZeros reads zeros beyond the border (the default when empty). The
	// border is then visible to the network everywhere its receptive field
	// reaches one, which lets a generator lock texture to positions
	// (docs/GAN.md, "Stripes").
	PadZeros PadMode = "zeros"
	// PadReflect mirrors the input about its edge pixel (x[1], x[0] | x[0],
	// x[1], ...), so a constant input stays constant up to the border.
	PadReflect PadMode = "reflect"
	// PadReplicate repeats the edge pixel.
	PadReplicate PadMode = "replicate"
)

// ParsePadMode checks a padding mode name ("" means PadZeros).
func ParsePadMode(s string) (PadMode, error) {
	switch m := PadMode(s); m {
	case "", PadZeros:
		return PadZeros, nil
	case PadReflect, PadReplicate:
		return m, nil
	}
	return "", fmt.Errorf("unknown padding %q (want %q, %q or %q)", s, PadZeros, PadReflect, PadReplicate)
}

// PadEdges pads the last two axes of x (N, C, H, W) by ph rows and pw
// columns on each side with mode's border values (PadReflect or
// PadReplicate; zero padding belongs to Conv2D itself). On a backend with
// backend.EdgePad it is one dispatch forward and one backward; otherwise
// (and under the device's composeFused, for tests) it is composed of
// Narrow and Concat, whose gradient folds the border's gradient back onto
// the edge pixels it was copied from, the same function.
func PadEdges(x *Tensor, mode PadMode, ph, pw int) *Tensor {
	if x.Rank() != 4 || ph < 0 || pw < 0 {
		panic(fmt.Sprintf("nn: PadEdges %v by (%d, %d)", x.shape, ph, pw))
	}
	checkPadAxis(x, mode, 2, ph)
	checkPadAxis(x, mode, 3, pw)
	if ph == 0 && pw == 0 {
		return x
	}
	bm := backend.PadReflect
	if mode == PadReplicate {
		bm = backend.PadReplicate
	}
	p := backend.Pad{Planes: x.shape[0] * x.shape[1], H: x.shape[2], W: x.shape[3], PadH: ph, PadW: pw, Mode: bm}
	d := x.dev
	f, ok := d.be.(backend.EdgePad)
	if !ok || d.composeFused {
		return padAxis(padAxis(x, p, 3, pw), p, 2, ph)
	}
	y := d.alloc(withHW(x.shape, p.OH(), p.OW()))
	f.PadEdges(y.buf(), x.buf(), p)
	return record(y, "pad_edges", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := d.alloc(x.shape)
		f.PadEdgesGrad(gx.buf(), g.buf(), p)
		return []*Tensor{gx}
	})
}

// checkPadAxis panics unless axis ax of x can be padded by p in mode.
func checkPadAxis(x *Tensor, mode PadMode, ax, p int) {
	n := x.shape[ax]
	switch mode {
	case PadReflect:
		if p >= n && p > 0 {
			panic(fmt.Sprintf("nn: reflect padding %d needs more than %d pixels on axis %d of %v", p, p, ax, x.shape))
		}
	case PadReplicate:
		if n < 1 && p > 0 {
			panic(fmt.Sprintf("nn: replicate padding of an empty axis %d of %v", ax, x.shape))
		}
	default:
		panic(fmt.Sprintf("nn: PadEdges mode %q", mode))
	}
}

// padAxis pads axis ax of x by pad on each side, each border pixel a
// Narrow of the one p.Source says it shows.
func padAxis(x *Tensor, p backend.Pad, ax, pad int) *Tensor {
	if pad == 0 {
		return x
	}
	n := x.shape[ax]
	parts := make([]*Tensor, 0, 2*pad+1)
	for o := range pad {
		parts = append(parts, Narrow(x, ax, p.Source(o, n, pad), 1))
	}
	parts = append(parts, x)
	for o := n + pad; o < n+2*pad; o++ {
		parts = append(parts, Narrow(x, ax, p.Source(o, n, pad), 1))
	}
	return Concat(parts, ax)
}
