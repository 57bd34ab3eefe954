package keras

import (
	"math"
)

// A float64 reference of the Keras layers (channels_last, one image),
// written from Keras/TensorFlow semantics and independent of the importer's
// layout conversions: the importer's output must match it.

type img struct {
	h, w, c int
	d       []float64 // (H, W, C)
}

func newImg(h, w, c int) img { return img{h, w, c, make([]float64, h*w*c)} }

func (m img) at(y, x, c int) float64 { return m.d[(y*m.w+x)*m.c+c] }

// tfPad returns TensorFlow's padding (before) and output size of one axis.
func tfPad(in, k, s int, same bool) (before, out int) {
	if !same {
		return 0, (in-k)/s + 1
	}
	out = (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return total / 2, out
}

func refZeroPad(x img, t, b, l, r int) img {
	y := newImg(x.h+t+b, x.w+l+r, x.c)
	for i := range x.h {
		for j := range x.w {
			for c := range x.c {
				y.d[((i+t)*y.w+j+l)*y.c+c] = x.at(i, j, c)
			}
		}
	}
	return y
}

// refConv is Conv2D (depthwise when mult > 0: kernel (KH, KW, C, mult)).
func refConv(x img, k Weight, bias []float32, s int, same bool, mult int) img {
	kh, kw := k.Shape[0], k.Shape[1]
	pt, oh := tfPad(x.h, kh, s, same)
	pl, ow := tfPad(x.w, kw, s, same)
	out := k.Shape[3]
	if mult > 0 {
		out = x.c * mult
	}
	y := newImg(oh, ow, out)
	for i := range oh {
		for j := range ow {
			for o := range out {
				acc := 0.0
				if bias != nil {
					acc = float64(bias[o])
				}
				for a := range kh {
					for b := range kw {
						yy, xx := i*s+a-pt, j*s+b-pl
						if yy < 0 || yy >= x.h || xx < 0 || xx >= x.w {
							continue
						}
						if mult > 0 {
							c := o / mult
							acc += x.at(yy, xx, c) * float64(k.Data[((a*kw+b)*x.c+c)*mult+o%mult])
							continue
						}
						for c := range x.c {
							acc += x.at(yy, xx, c) * float64(k.Data[((a*kw+b)*x.c+c)*out+o])
						}
					}
				}
				y.d[(i*ow+j)*out+o] = acc
			}
		}
	}
	return y
}

func refBN(x img, gamma, beta, mean, variance []float32, eps float64) img {
	y := newImg(x.h, x.w, x.c)
	for i, v := range x.d {
		c := i % x.c
		g, b := 1.0, 0.0
		if gamma != nil {
			g = float64(gamma[c])
		}
		if beta != nil {
			b = float64(beta[c])
		}
		y.d[i] = (v-float64(mean[c]))/math.Sqrt(float64(variance[c])+eps)*g + b
	}
	return y
}

func refMap(x img, f func(float64) float64) img {
	y := newImg(x.h, x.w, x.c)
	for i, v := range x.d {
		y.d[i] = f(v)
	}
	return y
}

func relu(v float64) float64  { return math.Max(v, 0) }
func relu6(v float64) float64 { return math.Min(math.Max(v, 0), 6) }

func refAdd(a, b img) img {
	y := newImg(a.h, a.w, a.c)
	for i := range a.d {
		y.d[i] = a.d[i] + b.d[i]
	}
	return y
}

func refConcat(a, b img) img {
	y := newImg(a.h, a.w, a.c+b.c)
	for i := range a.h {
		for j := range a.w {
			for c := range y.c {
				if c < a.c {
					y.d[(i*y.w+j)*y.c+c] = a.at(i, j, c)
				} else {
					y.d[(i*y.w+j)*y.c+c] = b.at(i, j, c-a.c)
				}
			}
		}
	}
	return y
}

// refPool is Keras pooling: max ignores padding, average divides by the
// number of real pixels in the window.
func refPool(x img, k, s int, same, isMax bool) img {
	pt, oh := tfPad(x.h, k, s, same)
	pl, ow := tfPad(x.w, k, s, same)
	y := newImg(oh, ow, x.c)
	for i := range oh {
		for j := range ow {
			for c := range x.c {
				acc, n := 0.0, 0
				if isMax {
					acc = math.Inf(-1)
				}
				for a := range k {
					for b := range k {
						yy, xx := i*s+a-pt, j*s+b-pl
						if yy < 0 || yy >= x.h || xx < 0 || xx >= x.w {
							continue
						}
						if isMax {
							acc = math.Max(acc, x.at(yy, xx, c))
						} else {
							acc += x.at(yy, xx, c)
						}
						n++
					}
				}
				if !isMax {
					acc /= float64(n)
				}
				y.d[(i*ow+j)*x.c+c] = acc
			}
		}
	}
	return y
}

func refGAP(x img) []float64 {
	out := make([]float64, x.c)
	for i, v := range x.d {
		out[i%x.c] += v / float64(x.h*x.w)
	}
	return out
}

// refDense is x (In) @ kernel (In, Out) + bias.
func refDense(x []float64, k Weight, bias []float32) []float64 {
	in, out := k.Shape[0], k.Shape[1]
	y := make([]float64, out)
	for o := range out {
		y[o] = float64(bias[o])
		for i := range in {
			y[o] += x[i] * float64(k.Data[i*out+o])
		}
	}
	return y
}

func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	y := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		y[i] = math.Exp(v - m)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}
