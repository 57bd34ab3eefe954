package linalg

// syrkBlock is the width of the column blocks Syrk computes below the
// diagonal.
const syrkBlock = 256

// Syrk computes the symmetric N x N matrix C = alpha A A^T (trans false, A
// stored N x K) or C = alpha A^T A (trans true, A stored K x N), both
// triangles of C written. It computes the lower triangle by column blocks
// through the GEMM (about half the work of a full product) and mirrors it,
// so C is exactly symmetric.
func Syrk(trans bool, n, k int, alpha float64, a []float64, lda int, c []float64, ldc int) {
	syrk(kernel, trans, n, k, alpha, a, lda, c, ldc)
}

func syrk(kn microKernel, trans bool, n, k int, alpha float64, a []float64, lda int, c []float64, ldc int) {
	syrkLower(kn, trans, n, k, alpha, a, lda, 0, c, ldc)
	for i := range n {
		for j := i + 1; j < n; j++ {
			c[i*ldc+j] = c[j*ldc+i]
		}
	}
}

// syrkLower sets the lower triangle of C to alpha op(A) op(A)^T + beta C as
// Syrk does, block column by block column; the upper triangle of each
// diagonal block is written too and the rest of the upper triangle is left
// alone.
func syrkLower(kn microKernel, trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if n == 0 {
		return
	}
	checkMat("C", c, n, n, ldc)
	for j0 := 0; j0 < n; j0 += syrkBlock {
		w := min(syrkBlock, n-j0)
		cb := c[j0*ldc+j0:]
		if trans {
			// C[j0:, j0:j0+w] = A[:, j0:]^T A[:, j0:j0+w].
			gemm(kn, true, false, n-j0, w, k, alpha, a[j0:], lda, a[j0:], lda, beta, cb, ldc)
		} else {
			// C[j0:, j0:j0+w] = A[j0:, :] A[j0:j0+w, :]^T.
			gemm(kn, false, true, n-j0, w, k, alpha, a[j0*lda:], lda, a[j0*lda:], lda, beta, cb, ldc)
		}
	}
}
