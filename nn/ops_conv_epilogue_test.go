package nn

import "testing"

// epilogueCase is a ConvEpilogue call on inputs x, w and (when shift is
// set) the shift; scale, when set, is a constant (a folded batch norm).
type epilogueCase struct {
	name      string
	x, w      gradInput
	scale     []float32
	shift     *gradInput
	opts      ConvOpts
	act       Activation
	gradcheck bool // smooth, or every z on one side of the kink
}

func (c epilogueCase) inputs() []gradInput {
	in := []gradInput{c.x, c.w}
	if c.shift != nil {
		in = append(in, *c.shift)
	}
	return in
}

func (c epilogueCase) f(xs []*Tensor) *Tensor {
	var scale, shift *Tensor
	if c.scale != nil {
		scale = xs[0].Device().FromData(c.scale, len(c.scale))
	}
	if len(xs) > 2 {
		shift = xs[2]
	}
	return ConvEpilogue(xs[0], xs[1], scale, shift, c.opts, c.act)
}

func epilogueCases(t *testing.T) []epilogueCase {
	r, _ := testRNG(t)
	in := func(lo, hi float64, shape ...int) gradInput { return randInput(r, lo, hi, shape...) }
	sh := func(lo, hi float64, n int) *gradInput { g := in(lo, hi, n); return &g }
	return []epilogueCase{
		{name: "bias_odd_pad1", x: in(-1, 1, 2, 3, 7, 5), w: in(-0.5, 0.5, 4, 3, 3, 3), shift: sh(-1, 1, 4),
			opts: ConvOpts{Pad: 1}, gradcheck: true},
		{name: "scale_shift_groups2_stride2", x: in(-1, 1, 2, 4, 6, 5), w: in(-0.5, 0.5, 6, 2, 3, 3),
			scale: randVals(r, 6, 0.5, 2), shift: sh(-1, 1, 6), opts: ConvOpts{Stride: 2, Pad: 1, Groups: 2}, gradcheck: true},
		{name: "scale_only_relu", x: in(-1, 1, 2, 3, 5, 6), w: in(-0.5, 0.5, 5, 3, 3, 3),
			scale: randVals(r, 5, -2, 2), opts: ConvOpts{Pad: 1}, act: ActReLU},
		{name: "relu_batch1_positive_side", x: in(-1, 1, 1, 3, 6, 5), w: in(-0.05, 0.05, 4, 3, 3, 3), shift: sh(3, 4, 4),
			opts: ConvOpts{Pad: 1}, act: ActReLU, gradcheck: true},
		{name: "leaky_1x1_batch1", x: in(-1, 1, 1, 5, 4, 3), w: in(-0.5, 0.5, 7, 5, 1, 1), shift: sh(-1, 1, 7),
			act: ActLeakyReLU(0.2)},
		{name: "leaky_negative_side", x: in(-1, 1, 2, 3, 5, 5), w: in(-0.05, 0.05, 3, 3, 3, 3), shift: sh(-4, -3, 3),
			opts: ConvOpts{Pad: 1}, act: ActLeakyReLU(0.2), gradcheck: true},
		{name: "leaky_groups3_stride2_odd", x: in(-1, 1, 3, 6, 9, 7), w: in(-0.5, 0.5, 9, 2, 3, 3), shift: sh(-1, 1, 9),
			opts: ConvOpts{Stride: 2, Groups: 3}, act: ActLeakyReLU(0.2)},
		{name: "tanh_stride2_pad1", x: in(-1, 1, 2, 3, 9, 7), w: in(-0.5, 0.5, 3, 3, 3, 3), shift: sh(-1, 1, 3),
			opts: ConvOpts{Stride: 2, Pad: 1}, act: ActTanh, gradcheck: true},
		{name: "tanh_no_shift_5x5", x: in(-1, 1, 1, 2, 8, 9), w: in(-0.3, 0.3, 3, 2, 5, 5),
			opts: ConvOpts{Pad: 2}, act: ActTanh, gradcheck: true},
		{name: "relu6_depthwise", x: in(-3, 3, 2, 4, 5, 5), w: in(-2, 2, 4, 1, 3, 3), scale: randVals(r, 4, 0.5, 3),
			shift: sh(-1, 4, 4), opts: ConvOpts{Pad: 1, Groups: 4}, act: ActReLU6},
		{name: "relu_depthwise_stride2", x: in(-1, 1, 2, 5, 7, 6), w: in(-1, 1, 5, 1, 3, 3), shift: sh(-1, 1, 5),
			opts: ConvOpts{Stride: 2, Pad: 1, Groups: 5}, act: ActReLU},
	}
}

// TestConvEpilogueMatchesComposed compares the fused op with its
// composition from Conv2D, Mul, Add and the activation on the same inputs:
// the output in eval (no tape, where relu6 and a scale fuse too) and the
// output and input gradients with the tape on.
func TestConvEpilogueMatchesComposed(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range epilogueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			run := func(compose, grad bool, weights []float32) (out []float32, grads [][]float32) {
				d := testDevice()
				d.composeFused = compose
				ins := c.inputs()
				xs := make([]*Tensor, len(ins))
				for i, in := range ins {
					xs[i] = d.FromData(in.vals, in.shape...).SetRequiresGrad(grad)
				}
				if !grad {
					d.NoGrad(func() { out = mustData(t, c.f(xs)) })
					return out, nil
				}
				y := c.f(xs)
				out = mustData(t, y)
				SumAll(Mul(y, d.FromData(weights, y.shape...))).Backward()
				for _, x := range xs {
					grads = append(grads, mustData(t, x.Grad()))
				}
				return out, grads
			}
			want, _ := run(true, false, nil)
			got, _ := run(false, false, nil)
			assertClose(t, "eval y", got, to64(want), 1e-5, 1e-5)
			w := randVals(r, len(want), -1, 1)
			wantY, wantG := run(true, true, w)
			gotY, gotG := run(false, true, w)
			assertClose(t, "y", gotY, to64(wantY), 1e-5, 1e-5)
			for i := range wantG {
				assertClose(t, "grad", gotG[i], to64(wantG[i]), 1e-5, 1e-4)
			}
		})
	}
}

// TestConvEpilogueGrad checks the fused op's gradients against finite
// differences where they are meaningful: smooth activations, and relu and
// leaky ReLU with every conv output on one side of the kink (a shift far
// from zero and small weights); the kinked cases near zero are covered by
// the comparison with the composed path above.
func TestConvEpilogueGrad(t *testing.T) {
	r, _ := testRNG(t)
	for _, c := range epilogueCases(t) {
		if c.gradcheck {
			gradcheck(t, c.name, r, c.f, c.inputs()...)
		}
	}
}

// TestConvEpilogueRejects checks that the mistakes a caller can make panic
// with a message (shapes are programmer errors in nn).
func TestConvEpilogueRejects(t *testing.T) {
	d := testDevice()
	x, w := d.Zeros(1, 2, 4, 4), d.Zeros(3, 2, 3, 3)
	for _, c := range []struct {
		name         string
		scale, shift *Tensor
		act          Activation
	}{
		{"shift length", nil, d.Zeros(2), ActIdentity},
		{"scale length", d.Zeros(4), nil, ActIdentity},
		{"leaky slope 0", nil, nil, ActLeakyReLU(0)},
		{"unknown activation", nil, nil, Activation{Kind: 99}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: accepted", c.name)
				}
			}()
			ConvEpilogue(x, w, c.scale, c.shift, ConvOpts{}, c.act)
		}()
	}
}
