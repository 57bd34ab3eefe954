package nn

import (
	"math"
	"testing"

	"catsynth/nn/backend"
)

// refConv is a direct float64 convolution (cross-correlation) with bias.
func refConv(x, w, b []float32, p backend.Conv) []float64 {
	oh, ow := p.OH(), p.OW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	y := make([]float64, p.N*p.O*oh*ow)
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					if b != nil {
						s = float64(b[o])
					}
					for c := 0; c < cg; c++ {
						for ki := 0; ki < p.KH; ki++ {
							for kj := 0; kj < p.KW; kj++ {
								hi, wj := i*p.StrideH-p.PadH+ki, j*p.StrideW-p.PadW+kj
								if hi < 0 || hi >= p.H || wj < 0 || wj >= p.W {
									continue
								}
								xv := x[((n*p.C+g*cg+c)*p.H+hi)*p.W+wj]
								wv := w[((o*cg+c)*p.KH+ki)*p.KW+kj]
								s += float64(xv) * float64(wv)
							}
						}
					}
					y[((n*p.O+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y
}

var convCases = []struct {
	n, c, h, w, o, kh, kw int
	opts                  ConvOpts
	bias                  bool
}{
	{1, 2, 5, 5, 3, 3, 3, ConvOpts{Pad: 1}, true},
	{2, 3, 7, 6, 4, 3, 3, ConvOpts{Stride: 2, Pad: 1}, false},
	{1, 4, 5, 7, 2, 1, 1, ConvOpts{}, true},
	{2, 4, 6, 5, 6, 3, 3, ConvOpts{Pad: 1, Groups: 2}, true},
	{1, 3, 6, 6, 3, 3, 3, ConvOpts{Pad: 1, Groups: 3}, false}, // depthwise
	{1, 2, 7, 9, 3, 2, 4, ConvOpts{StrideH: 1, StrideW: 2, PadH: 0, PadW: 2}, true},
	{1, 1, 4, 4, 2, 4, 4, ConvOpts{}, false},
}

func TestConv2DForward(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range convCases {
		g := max(c.opts.Groups, 1)
		x := randVals(r, c.n*c.c*c.h*c.w, -1, 1)
		w := randVals(r, c.o*(c.c/g)*c.kh*c.kw, -1, 1)
		var b []float32
		var bt *Tensor
		if c.bias {
			b = randVals(r, c.o, -1, 1)
			bt = dev.FromData(b, c.o)
		}
		xt, wt := dev.FromData(x, c.n, c.c, c.h, c.w), dev.FromData(w, c.o, c.c/g, c.kh, c.kw)
		p := c.opts.params(xt, wt)
		y := Conv2D(xt, wt, bt, c.opts)
		if !sameShape(y.Shape(), []int{c.n, c.o, p.OH(), p.OW()}) {
			t.Fatalf("conv %+v: shape %v", c, y.Shape())
		}
		assertClose(t, "conv2d", mustData(t, y), refConv(x, w, b, p), 1e-5, 1e-5)
	}
}

func TestConv2DGrad(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range convCases {
		g := max(c.opts.Groups, 1)
		inputs := []gradInput{randInput(r, -1, 1, c.n, c.c, c.h, c.w), randInput(r, -1, 1, c.o, c.c/g, c.kh, c.kw)}
		if c.bias {
			inputs = append(inputs, randInput(r, -1, 1, c.o))
		}
		opts := c.opts
		gradcheck(t, "conv2d", r, func(xs []*Tensor) *Tensor {
			var b *Tensor
			if len(xs) > 2 {
				b = xs[2]
			}
			return Conv2D(xs[0], xs[1], b, opts)
		}, inputs...)
	}
}

func TestResizeNearest(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range [][4]int{{4, 4, 8, 8}, {3, 5, 6, 10}, {5, 7, 3, 4}, {4, 6, 9, 5}, {2, 2, 2, 2}} {
		h, w, oh, ow := c[0], c[1], c[2], c[3]
		x := randVals(r, 2*3*h*w, -1, 1)
		y := ResizeNearest(dev.FromData(x, 2, 3, h, w), oh, ow)
		want := make([]float64, 0, 6*oh*ow)
		for pl := 0; pl < 6; pl++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					want = append(want, float64(x[pl*h*w+(i*h/oh)*w+j*w/ow]))
				}
			}
		}
		assertClose(t, "resize", mustData(t, y), want, 0, 0)
		gradcheck(t, "resize", r, func(xs []*Tensor) *Tensor { return ResizeNearest(xs[0], oh, ow) }, randInput(r, -1, 1, 1, 2, h, w))
	}
	x := randInput(r, -1, 1, 1, 2, 3, 5)
	gradcheck(t, "upsample2x", r, func(xs []*Tensor) *Tensor { return Upsample2x(xs[0]) }, x)
}

// refPool pools with PyTorch semantics (avg counts padding as zeros).
func refPool(x []float32, planes, h, w, k, s, pad int, isMax bool) []float64 {
	p := backend.Pool{Planes: planes, H: h, W: w, K: k, Stride: s, Pad: pad}
	var out []float64
	for pl := 0; pl < planes; pl++ {
		for i := 0; i < p.OH(); i++ {
			for j := 0; j < p.OW(); j++ {
				acc := 0.0
				if isMax {
					acc = math.Inf(-1)
				}
				for a := 0; a < k; a++ {
					for b := 0; b < k; b++ {
						hi, wj := i*s-pad+a, j*s-pad+b
						if hi < 0 || hi >= h || wj < 0 || wj >= w {
							continue
						}
						v := float64(x[pl*h*w+hi*w+wj])
						if isMax {
							acc = math.Max(acc, v)
						} else {
							acc += v
						}
					}
				}
				if !isMax {
					acc /= float64(k * k)
				}
				out = append(out, acc)
			}
		}
	}
	return out
}

func TestPool2D(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range [][5]int{{6, 6, 2, 2, 0}, {7, 5, 2, 2, 0}, {7, 7, 3, 2, 1}, {5, 6, 3, 1, 1}} {
		h, w, k, s, pad := c[0], c[1], c[2], c[3], c[4]
		for _, isMax := range []bool{false, true} {
			x := randVals(r, 2*h*w, -1, 1)
			xt := dev.FromData(x, 1, 2, h, w)
			var y *Tensor
			if isMax {
				y = MaxPool2D(xt, k, s, pad)
			} else {
				y = AvgPool2D(xt, k, s, pad)
			}
			assertClose(t, "pool", mustData(t, y), refPool(x, 2, h, w, k, s, pad, isMax), 1e-6, 1e-6)
			f := func(xs []*Tensor) *Tensor {
				if isMax {
					return MaxPool2D(xs[0], k, s, pad)
				}
				return AvgPool2D(xs[0], k, s, pad)
			}
			// distinct values (a permutation of a grid) keep max away from ties
			in := gradInput{shape: []int{1, 2, h, w}, vals: make([]float32, 2*h*w)}
			for i, j := range r.Perm(2 * h * w) {
				in.vals[i] = float32(j)*0.1 - 1
			}
			gradcheck(t, "pool", r, f, in)
		}
	}
	y := AvgPool2x2(dev.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 1, 1, 2, 4))
	assertClose(t, "avgpool2x2", mustData(t, y), []float64{3.5, 5.5}, 1e-6, 0)
}

func TestOneHotEmbedding(t *testing.T) {
	dev := testDevice()
	idx := dev.FromData([]float32{0, 2, 255, 1, -1, 2}, 2, 3)
	oh := mustData(t, OneHot(idx, 3))
	want := []float64{
		1, 0, 0, 0, 0, 0, 0, 1, 0, // idx 0, 2, 255
		0, 0, 0, 1, 0, 0, 0, 0, 1, // idx 1, -1, 2
	}
	assertClose(t, "onehot", oh, want, 0, 0)

	r, _ := testRNG(t)
	table := randVals(r, 4*3, -1, 1)
	e := Embedding(dev.FromData([]float32{3, 0, 1, 3}, 2, 2), dev.FromData(table, 4, 3))
	if !sameShape(e.Shape(), []int{2, 2, 3}) {
		t.Fatalf("embedding shape %v", e.Shape())
	}
	var we []float64
	for _, i := range []int{3, 0, 1, 3} {
		we = append(we, to64(table[i*3:i*3+3])...)
	}
	assertClose(t, "embedding", mustData(t, e), we, 0, 0)
	gradcheck(t, "embedding", r, func(xs []*Tensor) *Tensor {
		return Embedding(xs[0].Device().FromData([]float32{3, 0, 1, 3, 2}, 5), xs[0])
	}, randInput(r, -1, 1, 4, 3))
}
