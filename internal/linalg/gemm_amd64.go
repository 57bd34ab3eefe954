//go:build amd64 && !purego

package linalg

import xcpu "golang.org/x/sys/cpu"

// avx2Kernel is the 6x8 AVX2+FMA micro-kernel of gemm_amd64.s: twelve YMM
// accumulators (6 rows x 2 vectors of 4 float64).
var avx2Kernel = microKernel{name: "avx2fma6x8", mr: 6, nr: 8, kc: 256, mc: 144, fn: kernelAVX2}

// avx512Kernel is the 14x16 AVX-512 micro-kernel of gemm_avx512_amd64.s: 28
// ZMM accumulators (14 rows x 2 vectors of 8 float64). Its B strip (KC x 16,
// 32 KiB) stays in the 48 KiB L1; the 168 x 256 block of A (336 KiB) in L2.
var avx512Kernel = microKernel{name: "avx512x14x16", mr: 14, nr: 16, kc: 256, mc: 168, fn: kernelAVX512}

// archKernels lists the micro-kernels this CPU can run besides goKernel,
// the preferred (widest) last.
var archKernels []microKernel

func init() {
	if xcpu.X86.HasAVX2 && xcpu.X86.HasFMA {
		archKernels = append(archKernels, avx2Kernel)
	}
	if xcpu.X86.HasAVX512F {
		archKernels = append(archKernels, avx512Kernel)
	}
	kernel = chooseKernel(archKernels)
}

// kernel6x8 computes c[i*ldc+j] += sum_p a[6p+i]*b[8p+j], i < 6, j < 8,
// p < k (k >= 1). ldc is in elements.
//
//go:noescape
func kernel6x8(k int, a, b, c *float64, ldc int)

// kernel14x16 computes c[i*ldc+j] += sum_p a[14p+i]*b[16p+j], i < 14,
// j < 16, p < k (k >= 1). ldc is in elements.
//
//go:noescape
func kernel14x16(k int, a, b, c *float64, ldc int)

func kernelAVX2(k int, a, b, c []float64, ldc int) {
	if k <= 0 {
		return
	}
	// Bounds checks the assembly cannot do.
	_ = a[6*k-1]
	_ = b[8*k-1]
	_ = c[5*ldc+7]
	kernel6x8(k, &a[0], &b[0], &c[0], ldc)
}

func kernelAVX512(k int, a, b, c []float64, ldc int) {
	if k <= 0 {
		return
	}
	_ = a[14*k-1]
	_ = b[16*k-1]
	_ = c[13*ldc+15]
	kernel14x16(k, &a[0], &b[0], &c[0], ldc)
}
