package cpu

import (
	"fmt"

	"catsynth/nn/backend"
)

// rows walks the rows of a strided index space for up to three operands: the
// last axis is the row, which callers loop over themselves with the operands'
// last strides; rows visits the offsets of each row's first element.
type rows struct {
	rank    int // rank of the space (>= 1)
	shape   [backend.MaxRank]int
	strides [3][backend.MaxRank]int
	nops    int
	idx     [backend.MaxRank]int // index of the current row (last axis unused)
	base    [3]int
	off     [3]int // offsets of the current row's first element
}

// newRows prepares a walk over shape (rank 0 is treated as one element) for
// operands with the given base offsets and strides.
func newRows(shape []int, base []int, strides ...[]int) *rows {
	if len(shape) > backend.MaxRank {
		panic(fmt.Sprintf("cpu: rank %d exceeds backend.MaxRank %d", len(shape), backend.MaxRank))
	}
	r := &rows{rank: len(shape), nops: len(strides)}
	if r.rank == 0 {
		r.rank = 1
		r.shape[0] = 1
	}
	copy(r.shape[:], shape)
	for k, s := range strides {
		if len(s) != len(shape) {
			panic(fmt.Sprintf("cpu: %d strides for a rank-%d shape", len(s), len(shape)))
		}
		copy(r.strides[k][:], s)
		r.base[k] = base[k]
	}
	return r
}

// rowLen is the length of a row (the last axis).
func (r *rows) rowLen() int { return r.shape[r.rank-1] }

// numRows is the number of rows.
func (r *rows) numRows() int {
	n := 1
	for k := 0; k < r.rank-1; k++ {
		n *= r.shape[k]
	}
	return n
}

// stride is operand k's stride along the row.
func (r *rows) stride(k int) int { return r.strides[k][r.rank-1] }

// seek positions the walk at row number i (row-major over the outer axes).
func (r *rows) seek(i int) {
	for d := r.rank - 2; d >= 0; d-- {
		r.idx[d] = i % r.shape[d]
		i /= r.shape[d]
	}
	for k := 0; k < r.nops; k++ {
		o := r.base[k]
		for d := 0; d < r.rank-1; d++ {
			o += r.idx[d] * r.strides[k][d]
		}
		r.off[k] = o
	}
}

// next advances to the following row.
func (r *rows) next() {
	for d := r.rank - 2; d >= 0; d-- {
		r.idx[d]++
		for k := 0; k < r.nops; k++ {
			r.off[k] += r.strides[k][d]
		}
		if r.idx[d] < r.shape[d] {
			return
		}
		for k := 0; k < r.nops; k++ {
			r.off[k] -= r.idx[d] * r.strides[k][d]
		}
		r.idx[d] = 0
	}
}

// span returns the smallest and one past the largest offset that an operand
// with this base and strides touches over shape; ok is false for an empty shape.
func span(shape []int, base int, strides []int) (lo, hi int, ok bool) {
	lo, hi = base, base
	for k, n := range shape {
		if n == 0 {
			return 0, 0, false
		}
		if s := strides[k] * (n - 1); s < 0 {
			lo += s
		} else {
			hi += s
		}
	}
	return lo, hi + 1, true
}

// checkSpan panics unless every offset an operand touches lies within a buffer of n values.
func checkSpan(what string, shape []int, base int, strides []int, n int) {
	if len(strides) != len(shape) {
		panic(fmt.Sprintf("cpu: %s: %d strides for a rank-%d shape", what, len(strides), len(shape)))
	}
	lo, hi, ok := span(shape, base, strides)
	if ok && (lo < 0 || hi > n) {
		panic(fmt.Sprintf("cpu: %s: shape %v strides %v offset %d reaches [%d, %d) outside a buffer of %d",
			what, shape, strides, base, lo, hi, n))
	}
}

// numel is the product of shape (1 for rank 0).
func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("cpu: negative dimension in shape %v", shape))
		}
		n *= s
	}
	return n
}

// contiguous returns the row-major strides of shape.
func contiguous(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = acc
		acc *= shape[k]
	}
	return s
}

// Copy implements backend.Backend: a general strided copy.
func (be *Backend) Copy(dst, src backend.Buffer, p backend.Strided) {
	d, s := data(dst), data(src)
	checkSpan("Copy src", p.Shape, p.SrcOffset, p.SrcStrides, len(s))
	checkSpan("Copy dst", p.Shape, p.DstOffset, p.DstStrides, len(d))
	total := numel(p.Shape)
	if total == 0 {
		return
	}
	proto := newRows(p.Shape, []int{p.DstOffset, p.SrcOffset}, p.DstStrides, p.SrcStrides)
	n, nr := proto.rowLen(), proto.numRows()
	ds, ss := proto.stride(0), proto.stride(1)
	parallelFor(nr, max(1, elemGrain/max(n, 1)), func(lo, hi int) {
		r := *proto
		r.seek(lo)
		for i := lo; i < hi; i++ {
			do, so := r.off[0], r.off[1]
			if ds == 1 && ss == 1 {
				copy(d[do:do+n], s[so:so+n])
			} else {
				for j := 0; j < n; j++ {
					d[do+j*ds] = s[so+j*ss]
				}
			}
			r.next()
		}
	})
}
