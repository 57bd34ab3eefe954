package cpu

import (
	"math"
	"math/rand"
	"testing"

	"catsynth/nn/backend"
)

// refConv64 is the direct float64 convolution and both gradients, with the
// sum of |terms| per output element for the tolerance.
func refConv64(p backend.Conv, x, w, dy []float32) (y, ys, dx, dxs, dw, dws []float64) {
	oh, ow := p.OH(), p.OW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	y, ys = make([]float64, p.N*p.O*oh*ow), make([]float64, p.N*p.O*oh*ow)
	dx, dxs = make([]float64, p.N*p.C*p.H*p.W), make([]float64, p.N*p.C*p.H*p.W)
	dw, dws = make([]float64, len(w)), make([]float64, len(w))
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			gr := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					yi := ((n*p.O+o)*oh+i)*ow + j
					for c := 0; c < cg; c++ {
						ci := gr*cg + c
						for kh := 0; kh < p.KH; kh++ {
							ih := i*p.StrideH - p.PadH + kh
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := j*p.StrideW - p.PadW + kw
								if iw < 0 || iw >= p.W {
									continue
								}
								xi := ((n*p.C+ci)*p.H+ih)*p.W + iw
								wi := ((o*cg+c)*p.KH+kh)*p.KW + kw
								xv, wv, dv := float64(x[xi]), float64(w[wi]), float64(dy[yi])
								y[yi] += xv * wv
								ys[yi] += math.Abs(xv * wv)
								dx[xi] += wv * dv
								dxs[xi] += math.Abs(wv * dv)
								dw[wi] += xv * dv
								dws[wi] += math.Abs(xv * dv)
							}
						}
					}
				}
			}
		}
	}
	return
}

// TestConvKernels checks the implicit-GEMM convolution and both gradients
// against refConv64 with every micro-kernel, at shapes large enough for
// several KC blocks, row blocks of A, parallel tiles and ragged edges (the
// conformance suite covers the small ones).
func TestConvKernels(t *testing.T) {
	seed := int64(11)
	t.Logf("seed %d, tolerance 1e-5 * sum|terms| per element", seed)
	c := func(n, ch, h, w, o, kh, kw, sh, sw, ph, pw, g int) backend.Conv {
		return backend.Conv{N: n, C: ch, H: h, W: w, O: o, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
			PadH: ph, PadW: pw, Groups: g}
	}
	cases := []struct {
		name string
		p    backend.Conv
	}{
		{"3x3_c64_32x32", c(1, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1)},
		{"3x3_ragged", c(2, 19, 13, 37, 23, 3, 3, 1, 1, 1, 1, 1)},
		{"3x3_o200_nopad", c(1, 3, 21, 40, 200, 3, 3, 1, 1, 0, 0, 1)},
		{"5x5_stride2", c(1, 8, 17, 9, 30, 5, 5, 2, 2, 2, 2, 1)},
		{"4x4_stride2_groups2", c(2, 12, 16, 16, 18, 4, 4, 2, 2, 1, 1, 2)},
		{"1x1_stride2", c(1, 40, 11, 12, 33, 1, 1, 2, 2, 0, 0, 1)},
		{"1x1", c(2, 70, 9, 31, 45, 1, 1, 1, 1, 0, 0, 1)},
		{"3x1_width1", c(1, 30, 50, 1, 20, 3, 1, 1, 1, 1, 0, 1)},
		{"3x3_pad2", c(1, 16, 10, 10, 16, 3, 3, 1, 1, 2, 2, 1)},
		// Stride-1 shapes for the grad-weight kernel that reads col(x) in
		// place: col(x) rows (Cg*9) that are not a multiple of its 12-row
		// strip, output channels not a multiple of 32, padded-grid pixels
		// below its 4-step unroll, groups, batch 1.
		{"3x3_rows45_o40", c(2, 5, 7, 11, 40, 3, 3, 1, 1, 1, 1, 1)},
		{"3x3_1x1_image", c(3, 13, 1, 1, 7, 3, 3, 1, 1, 1, 1, 1)},
		{"3x3_groups3", c(2, 24, 9, 6, 36, 3, 3, 1, 1, 1, 1, 3)},
		{"3x3_odd_batch1", c(1, 7, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1)},
		{"2x2_nopad_o65", c(1, 9, 12, 10, 65, 2, 2, 1, 1, 0, 0, 1)},
		// Batches the stride-1 grad-weight shares out over two workers:
		// evenly with groups, and unevenly (9 items).
		{"3x3_groups2_batch2", c(2, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 2)},
		{"3x3_batch9", c(9, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1)},
	}
	saved := kernel
	defer func() { kernel = saved }()
	be := New()
	for _, kern := range kernels() {
		for ci, tc := range cases {
			t.Run(kern.name+"/"+tc.name, func(t *testing.T) {
				kernel = kern
				p := tc.p
				rng := rand.New(rand.NewSource(seed + int64(ci)))
				x := randSlice(rng, p.N*p.C*p.H*p.W)
				w := randSlice(rng, p.O*p.C/p.Groups*p.KH*p.KW)
				dy := randSlice(rng, p.N*p.O*p.OH()*p.OW())
				y, ys, dx, dxs, dw, dws := refConv64(p, x, w, dy)
				gy, gdx, gdw := &Buffer{make([]float32, len(y))}, &Buffer{make([]float32, len(x))}, &Buffer{make([]float32, len(w))}
				be.Conv2D(gy, &Buffer{x}, &Buffer{w}, p)
				be.Conv2DGradInput(gdx, &Buffer{dy}, &Buffer{w}, p)
				be.Conv2DGradWeight(gdw, &Buffer{x}, &Buffer{dy}, p)
				for _, r := range []struct {
					name        string
					got         []float32
					want, scale []float64
				}{{"y", gy.data, y, ys}, {"dx", gdx.data, dx, dxs}, {"dw", gdw.data, dw, dws}} {
					bad := 0
					for i, g := range r.got {
						if math.Abs(float64(g)-r.want[i]) > 1e-5*r.scale[i]+1e-30 {
							if bad++; bad <= 3 {
								t.Errorf("%s[%d] = %v, want %v", r.name, i, g, r.want[i])
							}
						}
					}
					if bad > 0 {
						t.Errorf("%s: %d of %d wrong", r.name, bad, len(r.got))
					}
				}
			})
		}
	}
}
