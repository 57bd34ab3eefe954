//go:build amd64 && !purego

package cpu

import xcpu "golang.org/x/sys/cpu"

// avx2Kernel is the 6x16 AVX2+FMA micro-kernel of gemm_amd64.s: twelve YMM
// accumulators (6 rows x 2 vectors of 8), two B vectors and a broadcast A.
var avx2Kernel = microKernel{name: "avx2fma6x16", mr: 6, nr: 16, fn: kernelAVX2}

// archKernels lists the micro-kernels this CPU can run besides goKernel.
var archKernels []microKernel

func init() {
	if xcpu.X86.HasAVX2 && xcpu.X86.HasFMA {
		archKernels = append(archKernels, avx2Kernel)
		kernel = avx2Kernel
	}
}

// kernel6x16 computes c[i*ldc+j] += sum_p a[6p+i]*b[16p+j], i < 6, j < 16,
// p < k (k >= 1). ldc is in elements.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int)

func kernelAVX2(k int, a, b, c []float32, ldc int) {
	if k <= 0 {
		return
	}
	// Bounds checks the assembly cannot do.
	_ = a[6*k-1]
	_ = b[16*k-1]
	_ = c[5*ldc+15]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc)
}
