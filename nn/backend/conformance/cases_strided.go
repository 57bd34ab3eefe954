package conformance

import (
	"fmt"
	"strings"

	"catsynth/nn/backend"
)

// copyPattern is a strided copy between buffers of the given lengths.
type copyPattern struct {
	name           string
	p              backend.Strided
	srcLen, dstLen int
}

func copyPatterns() []copyPattern {
	return []copyPattern{
		// NCHW (2,3,4,5) -> NHWC: walk the destination order with the source's strides.
		{"permute_nchw_nhwc", backend.Strided{Shape: []int{2, 4, 5, 3},
			SrcStrides: []int{60, 5, 1, 20}, DstStrides: []int{60, 15, 3, 1}}, 120, 120},
		// (2,3,3,4) into channels [2,5) of a (2,7,3,4) tensor.
		{"concat_at_offset", backend.Strided{Shape: []int{2, 3, 3, 4},
			SrcStrides: []int{36, 12, 4, 1}, DstStrides: []int{84, 12, 4, 1}, DstOffset: 24}, 72, 168},
		// rows 1..3, columns 2,4,6,8 of a 5x9 matrix.
		{"slice_step", backend.Strided{Shape: []int{3, 4},
			SrcStrides: []int{9, 2}, DstStrides: []int{4, 1}, SrcOffset: 11}, 45, 12},
		// split: channel 1 of (2,3,5) into a (2,5) buffer at an offset.
		{"split_channel", backend.Strided{Shape: []int{2, 5},
			SrcStrides: []int{15, 1}, DstStrides: []int{5, 1}, SrcOffset: 5, DstOffset: 3}, 30, 13},
		{"expand_rows", backend.Strided{Shape: []int{3, 4},
			SrcStrides: []int{0, 1}, DstStrides: []int{4, 1}}, 4, 12},
		{"transpose_2d", backend.Strided{Shape: []int{17, 13},
			SrcStrides: []int{1, 17}, DstStrides: []int{13, 1}}, 221, 221},
		// reverse the axes of a contiguous (2,2,3,2,1,3) tensor.
		{"rank6_reverse", backend.Strided{Shape: []int{3, 1, 2, 3, 2, 2},
			SrcStrides: []int{1, 3, 3, 6, 18, 36}, DstStrides: []int{24, 24, 12, 4, 2, 1}}, 72, 72},
		{"contiguous_long", backend.Strided{Shape: []int{4099},
			SrcStrides: []int{1}, DstStrides: []int{1}, SrcOffset: 2, DstOffset: 1}, 4101, 4101},
		{"scalar", backend.Strided{Shape: []int{}, SrcStrides: []int{}, DstStrides: []int{},
			SrcOffset: 3, DstOffset: 1}, 5, 4},
	}
}

// reducePattern is a reduction of a shape over some axes.
type reducePattern struct {
	shape []int
	axes  []bool
}

func (r reducePattern) name() string {
	var s []string
	for k, d := range r.shape {
		if r.axes[k] {
			s = append(s, fmt.Sprintf("[%d]", d))
		} else {
			s = append(s, fmt.Sprint(d))
		}
	}
	return strings.Join(s, "x")
}

func reducePatterns() []reducePattern {
	T, F := true, false
	return []reducePattern{
		{[]int{1037}, []bool{T}},
		{[]int{4, 9}, []bool{F, T}},
		{[]int{4, 9}, []bool{T, F}},
		{[]int{2, 3, 4, 5}, []bool{T, F, T, T}}, // batch-norm statistics
		{[]int{2, 3, 4, 5}, []bool{F, F, T, T}}, // instance-norm statistics
		{[]int{3, 4, 5}, []bool{T, F, T}},
		{[]int{2, 3, 4}, []bool{F, F, F}},
		{[]int{5, 1, 7}, []bool{F, T, F}},
		{[]int{2, 3, 2, 3, 2, 2}, []bool{T, F, T, F, T, F}},
		{[]int{3, 130}, []bool{F, T}},
	}
}

func stridedCases() []Case {
	var cs []Case
	for _, c := range copyPatterns() {
		cs = append(cs, Case{Name: "copy/" + c.name, run: func(e *env) []output {
			src, init := e.normal(c.srcLen), e.normal(c.dstLen)
			dst := e.upload(init)
			e.b.Copy(dst, e.upload(src), c.p)
			want := f64(init)
			refCopy(want, f64(src), c.p)
			return []output{{name: "dst", got: e.download(dst, c.dstLen), want: want}}
		}})
	}
	return cs
}

func reduceCases() []Case {
	var cs []Case
	for _, op := range []backend.ReduceOp{backend.Sum, backend.MaxReduce} {
		for _, r := range reducePatterns() {
			cs = append(cs, Case{Name: fmt.Sprintf("reduce/%v/%s", op, r.name()), run: func(e *env) []output {
				p := backend.Reduction{Shape: r.shape, Axes: r.axes}
				x := e.normal(prod(r.shape))
				want, scale := refReduce(op, f64(x), p)
				dst := e.alloc(len(want))
				e.b.Reduce(op, dst, e.upload(x), p)
				tol := 0.0
				if op == backend.Sum {
					tol = 1e-5
				}
				return []output{{name: "dst", got: e.download(dst, len(want)), want: want, scale: scale, tol: tol}}
			}})
		}
	}
	return cs
}
