package nn

import (
	"fmt"
	"strings"
	"testing"
)

// TestPadEdges checks PadEdges against an index-by-index reference and its
// gradient against finite differences, for each mode and several widths.
func TestPadEdges(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	cases := []struct {
		mode   PadMode
		ph, pw int
	}{
		{PadReflect, 1, 1}, {PadReflect, 2, 1}, {PadReflect, 0, 3},
		{PadReplicate, 1, 1}, {PadReplicate, 3, 2}, {PadReplicate, 2, 0},
	}
	const n, c, h, w = 2, 3, 4, 5
	for _, tc := range cases {
		x := randVals(r, n*c*h*w, -1, 1)
		y := PadEdges(dev.FromData(x, n, c, h, w), tc.mode, tc.ph, tc.pw)
		oh, ow := h+2*tc.ph, w+2*tc.pw
		if !sameShape(y.Shape(), []int{n, c, oh, ow}) {
			t.Fatalf("%s (%d, %d): shape %v", tc.mode, tc.ph, tc.pw, y.Shape())
		}
		// src maps a padded index to the input index it shows.
		src := func(i, size int) int {
			for i < 0 || i >= size {
				switch {
				case tc.mode == PadReplicate && i < 0:
					i = 0
				case tc.mode == PadReplicate:
					i = size - 1
				case i < 0:
					i = -i
				default:
					i = 2*(size-1) - i
				}
			}
			return i
		}
		var want []float64
		for b := range n * c {
			for yy := range oh {
				for xx := range ow {
					want = append(want, float64(x[(b*h+src(yy-tc.ph, h))*w+src(xx-tc.pw, w)]))
				}
			}
		}
		name := string(tc.mode)
		assertClose(t, name, mustData(t, y), want, 0, 0)
		gradcheck(t, name, r, func(xs []*Tensor) *Tensor { return PadEdges(xs[0], tc.mode, tc.ph, tc.pw) },
			randInput(r, -1, 1, n, c, h, w))
		// The composition from Narrow and Concat (a backend without the
		// kernel) is the same function with the same gradient.
		dy := randVals(r, n*c*oh*ow, -1, 1)
		grads := map[bool][]float32{}
		for _, compose := range []bool{false, true} {
			dev.composeFused = compose
			xt := dev.FromData(x, n, c, h, w).SetRequiresGrad(true)
			yt := PadEdges(xt, tc.mode, tc.ph, tc.pw)
			assertClose(t, fmt.Sprintf("%s composed=%v", name, compose), mustData(t, yt), want, 0, 0)
			SumAll(Mul(yt, dev.FromData(dy, n, c, oh, ow))).Backward()
			grads[compose] = mustData(t, xt.Grad())
		}
		dev.composeFused = false
		assertClose(t, name+" gradient, kernel vs composed", grads[false], to64(grads[true]), 1e-6, 1e-6)
	}
}

// TestPaddedConvFlatStaysFlat: a padded convolution of a constant input is
// constant with reflect or replicate padding and not with zeros, which is
// what keeps a generator from reading position from its borders.
func TestPaddedConvFlatStaysFlat(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	ps := NewParams(dev, r.Uint64())
	defer ps.Release()
	for _, mode := range []PadMode{PadZeros, PadReflect, PadReplicate} {
		l := NewConv2dConfig(ps.Sub(string(mode)), Conv2dConfig{In: 2, Out: 3, KH: 3, Opts: ConvOpts{Pad: 1}, Bias: true, PadMode: mode})
		flat := dev.Full(0.7, 1, 2, 6, 6)
		out := mustData(t, l.Forward(flat))
		spread := 0.0
		for i := range out {
			spread = max(spread, float64(abs32(out[i]-out[(i/36)*36])))
		}
		t.Logf("%s: largest difference within a channel %.3g", mode, spread)
		if flatOut := spread < 1e-6; flatOut != (mode != PadZeros) {
			t.Errorf("%s padding: spread %.3g over a constant input", mode, spread)
		}
		if sh := l.Forward(flat).Shape(); !sameShape(sh, []int{1, 3, 6, 6}) {
			t.Errorf("%s: output %v", mode, sh)
		}
	}
	if _, err := ParsePadMode("circular"); err == nil || !strings.Contains(err.Error(), "unknown padding") {
		t.Errorf("circular: %v", err)
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
