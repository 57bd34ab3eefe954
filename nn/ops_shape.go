package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// Reshape returns a view with a new shape and the same elements (free: no
// copy). One axis may be -1 and is inferred.
func Reshape(x *Tensor, shape ...int) *Tensor {
	shape = append([]int(nil), shape...)
	infer, known := -1, 1
	for i, s := range shape {
		if s == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("nn: Reshape %v to %v: two -1 axes", x.shape, shape))
			}
			infer = i
			continue
		}
		known *= s
	}
	if infer >= 0 && known > 0 {
		shape[infer] = x.Numel() / known
	}
	if numel(shape) != x.Numel() {
		panic(fmt.Sprintf("nn: Reshape %v to %v: element counts differ", x.shape, shape))
	}
	if sameShape(shape, x.shape) {
		return x
	}
	y := x.dev.view(x, shape)
	return record(y, "reshape", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{Reshape(g, x.shape...)}
	})
}

// Flatten reshapes x to (x.Dim(0), rest).
func Flatten(x *Tensor) *Tensor { return Reshape(x, x.shape[0], -1) }

// Permute reorders axes: result axis i is x's axis perm[i] (a copy).
func Permute(x *Tensor, perm ...int) *Tensor {
	r := x.Rank()
	if len(perm) != r {
		panic(fmt.Sprintf("nn: Permute %v by %v: wrong length", x.shape, perm))
	}
	seen := make([]bool, r)
	out := make([]int, r)
	src := make([]int, r)
	cs := contiguousStrides(x.shape)
	inv := make([]int, r)
	for i, p := range perm {
		p = normAxis(p, r, "Permute")
		if seen[p] {
			panic(fmt.Sprintf("nn: Permute %v by %v: repeated axis", x.shape, perm))
		}
		seen[p] = true
		out[i], src[i], inv[p] = x.shape[p], cs[p], i
	}
	y := x.dev.alloc(out)
	sh, st := collapse(out, src, contiguousStrides(out))
	if len(sh) > backend.MaxRank {
		panic(fmt.Sprintf("nn: Permute %v by %v: rank above %d", x.shape, perm, backend.MaxRank))
	}
	x.dev.be.Copy(y.buf(), x.buf(), backend.Strided{Shape: sh, SrcStrides: st[0], DstStrides: st[1]})
	return record(y, "permute", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{Permute(g, inv...)}
	})
}

// Transpose swaps axes a and b (a copy).
func Transpose(x *Tensor, a, b int) *Tensor {
	perm := make([]int, x.Rank())
	for i := range perm {
		perm[i] = i
	}
	a, b = normAxis(a, x.Rank(), "Transpose"), normAxis(b, x.Rank(), "Transpose")
	perm[a], perm[b] = perm[b], perm[a]
	return Permute(x, perm...)
}

// copyBlock copies src, viewed as (outer, n, inner), into dst viewed as
// (outer, dn, inner) at offset off along the middle axis (or the reverse when
// fromDst: dst's block at off into src-shaped dst).
func copyBlock(dst, src *Tensor, outer, n, inner, dn, off int, fromDst bool) {
	ss := []int{n * inner, inner, 1}
	ds := []int{dn * inner, inner, 1}
	p := backend.Strided{Shape: []int{outer, n, inner}, SrcStrides: ss, DstStrides: ds, DstOffset: off * inner}
	if fromDst {
		p = backend.Strided{Shape: []int{outer, n, inner}, SrcStrides: ds, DstStrides: ss, SrcOffset: off * inner}
	}
	if outer*n*inner == 0 {
		return
	}
	dst.dev.be.Copy(dst.buf(), src.buf(), p)
	dst.written()
}

func outerInner(shape []int, axis int) (outer, inner int) {
	return numel(shape[:axis]), numel(shape[axis+1:])
}

// Narrow returns x[..., start:start+length, ...] along axis (a copy).
func Narrow(x *Tensor, axis, start, length int) *Tensor {
	ax := normAxis(axis, x.Rank(), "Narrow")
	if start < 0 || length < 0 || start+length > x.shape[ax] {
		panic(fmt.Sprintf("nn: Narrow %v axis %d [%d, %d)", x.shape, axis, start, start+length))
	}
	out := x.Shape()
	out[ax] = length
	y := x.dev.alloc(out)
	outer, inner := outerInner(x.shape, ax)
	copyBlock(y, x, outer, length, inner, x.shape[ax], start, true)
	return record(y, "narrow", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := x.dev.Zeros(x.shape...)
		copyBlock(gx, g, outer, length, inner, x.shape[ax], start, false)
		return []*Tensor{gx}
	})
}

// Concat joins tensors along axis; all other axes must agree.
func Concat(ts []*Tensor, axis int) *Tensor {
	if len(ts) == 0 {
		panic("nn: Concat of no tensors")
	}
	ax := normAxis(axis, ts[0].Rank(), "Concat")
	out := ts[0].Shape()
	out[ax] = 0
	for _, t := range ts {
		ok := t.Rank() == len(out)
		for i := 0; ok && i < len(out); i++ {
			ok = i == ax || t.shape[i] == out[i]
		}
		if !ok {
			panic(fmt.Sprintf("nn: Concat on axis %d: shapes %s", axis, shapesString(ts...)))
		}
		out[ax] += t.shape[ax]
	}
	y := ts[0].dev.alloc(out)
	outer, inner := outerInner(out, ax)
	off := 0
	offs := make([]int, len(ts))
	for i, t := range ts {
		offs[i] = off
		copyBlock(y, t, outer, t.shape[ax], inner, out[ax], off, false)
		off += t.shape[ax]
	}
	return record(y, "concat", ts, func(g *Tensor) []*Tensor {
		gs := make([]*Tensor, len(ts))
		for i, t := range ts {
			if t.RequiresGrad() {
				gs[i] = Narrow(g, ax, offs[i], t.shape[ax])
			}
		}
		return gs
	})
}

// Split cuts x along axis into pieces of the given sizes (which must add up
// to the axis length).
func Split(x *Tensor, axis int, sizes ...int) []*Tensor {
	ax := normAxis(axis, x.Rank(), "Split")
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != x.shape[ax] {
		panic(fmt.Sprintf("nn: Split %v axis %d into %v", x.shape, axis, sizes))
	}
	out := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		out[i] = Narrow(x, ax, off, s)
		off += s
	}
	return out
}
