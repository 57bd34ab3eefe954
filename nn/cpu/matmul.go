package cpu

import (
	"fmt"

	"catsynth/nn/backend"
)

// MatMul implements backend.Backend: C_b = op(A_b) * op(B_b) for each batch
// item b, with A_b at b*StrideA (likewise B, C; stride 0 broadcasts).
func (be *Backend) MatMul(c, a, b backend.Buffer, p backend.MatMul) {
	if p.Batch < 0 || p.M < 0 || p.N < 0 || p.K < 0 {
		panic(fmt.Sprintf("cpu: MatMul with negative size %+v", p))
	}
	if p.Batch == 0 || p.M == 0 || p.N == 0 {
		return
	}
	if p.StrideC == 0 && p.Batch > 1 {
		panic(fmt.Sprintf("cpu: MatMul with StrideC 0 and Batch %d would overwrite C", p.Batch))
	}
	as := need(a, (p.Batch-1)*p.StrideA+p.M*p.K, "MatMul A")
	bs := need(b, (p.Batch-1)*p.StrideB+p.K*p.N, "MatMul B")
	cs := need(c, (p.Batch-1)*p.StrideC+p.M*p.N, "MatMul C")
	lda, ldb := p.K, p.N
	if p.TransA {
		lda = p.M
	}
	if p.TransB {
		ldb = p.K
	}
	one := func(i int) {
		sgemm(p.TransA, p.TransB, p.M, p.N, p.K, as[i*p.StrideA:], lda, bs[i*p.StrideB:], ldb,
			cs[i*p.StrideC:], p.N, false)
	}
	if p.M*p.N*p.K >= gemmParallel || p.Batch == 1 {
		// Each product is big enough to parallelise itself.
		for i := 0; i < p.Batch; i++ {
			one(i)
		}
		return
	}
	grain := max(1, gemmParallel/max(1, p.M*p.N*p.K))
	parallelFor(p.Batch, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			one(i)
		}
	})
}
