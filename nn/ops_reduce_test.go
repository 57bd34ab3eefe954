package nn

import (
	"math"
	"testing"
)

// refReduce reduces x (shape) over axes in float64, keepdim style output order.
func refReduce(x []float32, shape []int, axes []int, isMax bool) []float64 {
	flags := reduceAxes("ref", len(shape), axes)
	out := reducedShape(shape, flags, true)
	res := make([]float64, numel(out))
	for i := range res {
		if isMax {
			res[i] = math.Inf(-1)
		}
	}
	os := contiguousStrides(out)
	idx := make([]int, len(shape))
	for i := range x {
		o := 0
		for k := range idx {
			if !flags[k] {
				o += idx[k] * os[k]
			}
		}
		if isMax {
			res[o] = math.Max(res[o], float64(x[i]))
		} else {
			res[o] += float64(x[i])
		}
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return res
}

var reduceCases = []struct {
	shape []int
	axes  []int
}{
	{[]int{3, 4, 5}, []int{1}},
	{[]int{3, 4, 5}, []int{0, 2}},
	{[]int{3, 4, 5}, nil},
	{[]int{2, 3, 1, 5}, []int{-1}},
	{[]int{2, 1, 3, 2, 2, 1, 3, 2}, []int{0, 3, 6}},
}

func TestReduce(t *testing.T) {
	r, _ := testRNG(t)
	dev := testDevice()
	for _, c := range reduceCases {
		x := randVals(r, numel(c.shape), -1, 1)
		xt := dev.FromData(x, c.shape...)
		s := Sum(xt, c.axes, false)
		assertClose(t, "sum", mustData(t, s), refReduce(x, c.shape, c.axes, false), 1e-5, 1e-5)
		sk := Sum(xt, c.axes, true)
		if sk.Rank() != len(c.shape) {
			t.Errorf("keepdim sum rank %d, want %d", sk.Rank(), len(c.shape))
		}
		m := MaxReduce(xt, c.axes, true)
		assertClose(t, "max", mustData(t, m), refReduce(x, c.shape, c.axes, true), 0, 0)
		mean := Mean(xt, c.axes, false)
		want := refReduce(x, c.shape, c.axes, false)
		for i := range want {
			want[i] *= float64(mean.Numel()) / float64(len(x))
		}
		assertClose(t, "mean", mustData(t, mean), want, 1e-5, 1e-5)
		axes := c.axes
		gradcheck(t, "sum", r, func(xs []*Tensor) *Tensor { return Sum(xs[0], axes, true) }, randInput(r, -1, 1, c.shape...))
		gradcheck(t, "mean", r, func(xs []*Tensor) *Tensor { return Mean(xs[0], axes, false) }, randInput(r, -1, 1, c.shape...))
	}
}

func TestVar(t *testing.T) {
	dev := testDevice()
	x := dev.FromData([]float32{1, 2, 3, 4, 2, 2, 2, 6}, 2, 4)
	assertClose(t, "var", mustData(t, Var(x, []int{1}, false, false)), []float64{1.25, 3}, 1e-6, 0)
	assertClose(t, "var unbiased", mustData(t, Var(x, []int{1}, false, true)), []float64{5.0 / 3, 4}, 1e-6, 0)
	r, _ := testRNG(t)
	gradcheck(t, "var", r, func(xs []*Tensor) *Tensor { return Var(xs[0], []int{0, 2}, true, true) }, randInput(r, -1, 1, 3, 2, 4))
}

func TestExpand(t *testing.T) {
	dev := testDevice()
	x := dev.FromData([]float32{1, 2, 3}, 3, 1)
	assertClose(t, "expand", mustData(t, Expand(x, 2, 3, 2)), []float64{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, 0, 0)
	r, _ := testRNG(t)
	gradcheck(t, "expand", r, func(xs []*Tensor) *Tensor { return Expand(xs[0], 2, 3, 4, 5) }, randInput(r, -1, 1, 3, 1, 5))
}
