package nn

import "testing"

func TestReshapeIsView(t *testing.T) {
	dev := testDevice()
	live := dev.LiveBuffers()
	x := dev.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := Reshape(x, -1, 2)
	if !sameShape(y.Shape(), []int{3, 2}) || dev.LiveBuffers() != live+1 {
		t.Fatalf("reshape: shape %v, %d new buffers", y.Shape(), dev.LiveBuffers()-live)
	}
	x.Release()
	assertClose(t, "view after releasing base", mustData(t, y), []float64{1, 2, 3, 4, 5, 6}, 0, 0)
	y.Release()
	if dev.LiveBuffers() != live {
		t.Errorf("buffers leaked: %d", dev.LiveBuffers()-live)
	}
}

func TestPermute(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	shape := []int{2, 3, 4, 5}
	perm := []int{2, 0, 3, 1}
	x := randVals(r, numel(shape), -1, 1)
	y := Permute(dev.FromData(x, shape...), perm...)
	out := []int{4, 2, 5, 3}
	if !sameShape(y.Shape(), out) {
		t.Fatalf("shape %v", y.Shape())
	}
	xs := contiguousStrides(shape)
	var want []float64
	for a := 0; a < 4; a++ {
		for b := 0; b < 2; b++ {
			for c := 0; c < 5; c++ {
				for d := 0; d < 3; d++ {
					want = append(want, float64(x[b*xs[0]+d*xs[1]+a*xs[2]+c*xs[3]]))
				}
			}
		}
	}
	assertClose(t, "permute", mustData(t, y), want, 0, 0)
	gradcheck(t, "permute", r, func(xs []*Tensor) *Tensor { return Permute(xs[0], perm...) }, randInput(r, -1, 1, shape...))
	gradcheck(t, "transpose", r, func(xs []*Tensor) *Tensor { return Transpose(xs[0], 0, -1) }, randInput(r, -1, 1, 3, 2, 4))
}

func TestConcatSplit(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for axis := 0; axis < 3; axis++ {
		a := randVals(r, 2*3*4, -1, 1)
		bShape := []int{2, 3, 4}
		bShape[axis] = 5
		b := randVals(r, numel(bShape), -1, 1)
		at, bt := dev.FromData(a, 2, 3, 4), dev.FromData(b, bShape...)
		y := Concat([]*Tensor{at, bt}, axis)
		// reference: walk output indices
		out := y.Shape()
		os := contiguousStrides(out)
		want := make([]float64, y.Numel())
		as, bs := contiguousStrides([]int{2, 3, 4}), contiguousStrides(bShape)
		for i := range want {
			idx := []int{i / os[0], i / os[1] % out[1], i % out[2]}
			if idx[axis] < []int{2, 3, 4}[axis] {
				want[i] = float64(a[idx[0]*as[0]+idx[1]*as[1]+idx[2]*as[2]])
			} else {
				idx[axis] -= []int{2, 3, 4}[axis]
				want[i] = float64(b[idx[0]*bs[0]+idx[1]*bs[1]+idx[2]*bs[2]])
			}
		}
		assertClose(t, "concat", mustData(t, y), want, 0, 0)
		parts := Split(y, axis, []int{2, 3, 4}[axis], 5)
		assertClose(t, "split a", mustData(t, parts[0]), to64(a), 0, 0)
		assertClose(t, "split b", mustData(t, parts[1]), to64(b), 0, 0)
		ax := axis
		gradcheck(t, "concat", r, func(xs []*Tensor) *Tensor { return Concat(xs, ax) },
			randInput(r, -1, 1, 2, 3, 4), randInput(r, -1, 1, bShape...))
		gradcheck(t, "narrow", r, func(xs []*Tensor) *Tensor { return Narrow(xs[0], ax, 1, 2) }, randInput(r, -1, 1, 3, 4, 5))
	}
}
