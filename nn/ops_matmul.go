package nn

import (
	"fmt"

	"catsynth/nn/backend"
)

// MatMul returns op(a) @ op(b) over the last two axes, where op transposes
// when the flag is set. a is (..., M, K) (or (..., K, M) with transA), b is
// (..., K, N) (or (..., N, K) with transB). Leading batch axes must be equal,
// or one side's batch must hold a single matrix (it is broadcast). The result
// is (batch..., M, N).
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	if a.Rank() < 2 || b.Rank() < 2 {
		panic(fmt.Sprintf("nn: MatMul needs rank >= 2, got %s", shapesString(a, b)))
	}
	ab, bb := a.shape[:a.Rank()-2], b.shape[:b.Rank()-2]
	na, nb := numel(ab), numel(bb)
	ar, ac := a.shape[a.Rank()-2], a.shape[a.Rank()-1]
	br, bc := b.shape[b.Rank()-2], b.shape[b.Rank()-1]
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if k != kb {
		panic(fmt.Sprintf("nn: MatMul: inner sizes differ: %s (transA=%v transB=%v)", shapesString(a, b), transA, transB))
	}
	var batch []int
	switch {
	case sameShape(ab, bb) || (na == nb && nb == 1):
		batch = ab
		if len(bb) > len(ab) {
			batch = bb
		}
	case na == 1:
		batch = bb
	case nb == 1:
		batch = ab
	default:
		panic(fmt.Sprintf("nn: MatMul: batch axes do not match: %s", shapesString(a, b)))
	}
	nbatch := numel(batch)
	out := append(append([]int(nil), batch...), m, n)
	c := a.dev.alloc(out)
	p := backend.MatMul{Batch: nbatch, M: m, N: n, K: k, TransA: transA, TransB: transB,
		StrideA: m * k, StrideB: k * n, StrideC: m * n}
	if na == 1 {
		p.StrideA = 0
	}
	if nb == 1 {
		p.StrideB = 0
	}
	a.dev.be.MatMul(c.buf(), a.buf(), b.buf(), p)
	return record(c, "matmul", []*Tensor{a, b}, func(g *Tensor) []*Tensor {
		var ga, gb *Tensor
		if a.RequiresGrad() {
			if !transA {
				ga = MatMul(g, b, false, !transB)
			} else {
				ga = MatMul(b, g, transB, true)
			}
			ga = sumBatchTo(ga, a.shape)
		}
		if b.RequiresGrad() {
			if !transB {
				gb = MatMul(a, g, !transA, false)
			} else {
				gb = MatMul(g, a, true, transA)
			}
			gb = sumBatchTo(gb, b.shape)
		}
		return []*Tensor{ga, gb}
	})
}

// sumBatchTo sums a batched matrix gradient over its batch when the operand
// was broadcast (a single matrix), then gives it the operand's shape.
func sumBatchTo(g *Tensor, shape []int) *Tensor {
	if numel(g.shape) == numel(shape) {
		return Reshape(g, shape...)
	}
	r, c := g.shape[g.Rank()-2], g.shape[g.Rank()-1]
	return Reshape(Sum(Reshape(g, g.Numel()/(r*c), r, c), []int{0}, false), shape...)
}

// Linear returns x @ w^T + bias: x (..., In), w (Out, In) as PyTorch stores
// it, bias (Out) or nil; the result is (..., Out).
func Linear(x, w, bias *Tensor) *Tensor {
	if w.Rank() != 2 || x.Rank() < 1 || x.shape[x.Rank()-1] != w.shape[1] {
		panic(fmt.Sprintf("nn: Linear: x %v, w %v (want w (Out, In) with In = x's last axis)", x.shape, w.shape))
	}
	in := w.shape[1]
	lead := x.shape[:x.Rank()-1]
	y := MatMul(Reshape(x, x.Numel()/in, in), w, false, true)
	if bias != nil {
		y = Add(y, bias)
	}
	return Reshape(y, append(append([]int(nil), lead...), w.shape[0])...)
}
