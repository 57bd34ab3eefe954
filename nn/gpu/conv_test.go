package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// refConv runs the float64 reference of the three convolution primitives
// by direct loops over every (output, tap) pair. It returns y, dx and dw
// (from x, w and dy) and, for each, the sums of |terms| that scale the
// float32 rounding error.
func refConv(p backend.Conv, x, w, dy []float32) (y, ym, dx, dxm, dw, dwm []float64) {
	oh, ow := p.OH(), p.OW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	y = make([]float64, p.N*p.O*oh*ow)
	ym = make([]float64, len(y))
	dx = make([]float64, p.N*p.C*p.H*p.W)
	dxm = make([]float64, len(dx))
	dw = make([]float64, len(w))
	dwm = make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					yi := ((n*p.O+o)*oh+i)*ow + j
					for c := 0; c < cg; c++ {
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								ih, iw := i*p.StrideH-p.PadH+kh, j*p.StrideW-p.PadW+kw
								if ih < 0 || iw < 0 || ih >= p.H || iw >= p.W {
									continue
								}
								xi := ((n*p.C+g*cg+c)*p.H+ih)*p.W + iw
								wi := ((o*cg+c)*p.KH+kh)*p.KW + kw
								xv, wv, gv := float64(x[xi]), float64(w[wi]), float64(dy[yi])
								y[yi] += xv * wv
								ym[yi] += math.Abs(xv * wv)
								dx[xi] += gv * wv
								dxm[xi] += math.Abs(gv * wv)
								dw[wi] += gv * xv
								dwm[wi] += math.Abs(gv * xv)
							}
						}
					}
				}
			}
		}
	}
	return
}

func conv(n, c, h, w, o, kh, kw, sh, sw, ph, pw, g int) backend.Conv {
	return backend.Conv{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw,
		StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, Groups: g}
}

// convCases cover 1x1, 3x3, 5x5, 7x1 and 1x7 kernels, strides 1-3 (also
// uneven), paddings, groups and depthwise (with a channel multiplier).
var convCases = []struct {
	name string
	p    backend.Conv
}{
	{"3x3", conv(2, 3, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1)},
	{"3x3/stride2", conv(2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 1)},
	{"1x1", conv(1, 5, 4, 5, 3, 1, 1, 1, 1, 0, 0, 1)},
	{"1x1/stride2", conv(2, 5, 7, 7, 4, 1, 1, 2, 2, 0, 0, 1)},
	{"5x5/pad2", conv(1, 3, 9, 10, 4, 5, 5, 1, 1, 2, 2, 1)},
	{"7x1", conv(1, 4, 11, 5, 3, 7, 1, 1, 1, 3, 0, 1)},
	{"1x7", conv(2, 2, 5, 12, 3, 1, 7, 1, 1, 0, 3, 1)},
	{"4x4/stride3x2/nopad", conv(1, 3, 13, 10, 2, 4, 4, 3, 2, 0, 0, 1)},
	{"3x3/stride2/uncovered", conv(1, 2, 8, 8, 3, 3, 3, 2, 2, 0, 0, 1)}, // no tap reaches row/col 7
	{"3x3/groups2", conv(2, 4, 6, 5, 6, 3, 3, 1, 1, 1, 1, 2)},
	{"depthwise3x3", conv(2, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 6)},
	{"depthwise3x3/mult2", conv(1, 3, 6, 5, 6, 3, 3, 1, 1, 1, 1, 3)},
	{"depthwise5x5/stride2", conv(2, 4, 9, 8, 4, 5, 5, 2, 2, 2, 2, 4)},
	{"wide", conv(1, 70, 5, 5, 130, 3, 3, 1, 1, 1, 1, 1)}, // several tiles in M and K
}

func TestConvVariants(t *testing.T) {
	be := openGPU(t)
	ref := cpu.New()
	seed := uint64(1126)
	t.Logf("seed %d", seed)
	for _, name := range append(variantNames(), "dw") {
		t.Run(name, func(t *testing.T) {
			t.Setenv(VariantEnv, name)
			r := rand.New(rand.NewPCG(seed, 3))
			for _, c := range convCases {
				checkConv3(t, c.name, be, ref, r, c.p)
			}
		})
	}
}

// checkConv3 checks Conv2D, Conv2DGradInput and Conv2DGradWeight of p on
// the GPU and CPU backends against refConv.
func checkConv3(t *testing.T, name string, be *Backend, ref mmDev, r *rand.Rand, p backend.Conv) {
	t.Helper()
	x := mmRandn(r, p.N*p.C*p.H*p.W)
	w := mmRandn(r, p.O*p.C/p.Groups*p.KH*p.KW)
	dy := mmRandn(r, p.N*p.O*p.OH()*p.OW())
	y, ym, dx, dxm, dw, dwm := refConv(p, x, w, dy)
	for _, d := range []mmDev{be, ref} {
		what := fmt.Sprintf("%s %+v on %s", name, p, d.Name())
		gx, gw, gdy := mmUpload(t, d, x), mmUpload(t, d, w), mmUpload(t, d, dy)
		// Outputs start as NaN: every value must be overwritten.
		nan := float32(math.NaN())
		gy := mmUpload(t, d, fill(len(y), nan))
		gdx := mmUpload(t, d, fill(len(dx), nan))
		gdw := mmUpload(t, d, fill(len(dw), nan))
		d.Conv2D(gy, gx, gw, p)
		d.Conv2DGradInput(gdx, gdy, gw, p)
		d.Conv2DGradWeight(gdw, gx, gdy, p)
		compare(t, "Conv2D "+what, mmDownload(t, d, gy, len(y)), y, ym)
		compare(t, "Conv2DGradInput "+what, mmDownload(t, d, gdx, len(dx)), dx, dxm)
		compare(t, "Conv2DGradWeight "+what, mmDownload(t, d, gdw, len(dw)), dw, dwm)
		for _, b := range []backend.Buffer{gx, gw, gdy, gy, gdx, gdw} {
			d.Free(b)
		}
	}
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestConvDepthwiseSplit forces tiny dispatch pieces on the direct
// depthwise kernels so that their element offsets are exercised.
func TestConvDepthwiseSplit(t *testing.T) {
	be := openGPU(t)
	seed := uint64(99)
	t.Logf("seed %d", seed)
	old := pieceWorkLimit
	pieceWorkLimit = 3000
	defer func() { pieceWorkLimit = old }()
	t.Setenv(VariantEnv, "dw")
	r := rand.New(rand.NewPCG(seed, 4))
	checkConv3(t, "depthwise/split", be, cpu.New(), r, conv(2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 8))
}
