//go:build amd64 && !purego

package cpu

import xcpu "golang.org/x/sys/cpu"

// avx2Kernel is the 6x16 AVX2+FMA micro-kernel of gemm_amd64.s: twelve YMM
// accumulators (6 rows x 2 vectors of 8), two B vectors and a broadcast A.
var avx2Kernel = microKernel{name: "avx2fma6x16", mr: 6, nr: 16, kc: 256, mc: 144, fn: kernelAVX2}

// avx512Kernel is the 14x32 AVX-512 micro-kernel of gemm_avx512_amd64.s:
// 28 ZMM accumulators (14 rows x 2 vectors of 16), twice the FLOPs per
// instruction of the AVX2 one. Its 32-wide B strip (kc*128 bytes) stays in
// the 48 KiB L1 next to an A strip; the MC x KC block of A stays in L2.
var avx512Kernel = microKernel{name: "avx512x14x32", mr: 14, nr: 32, kc: 256, mc: 196, fn: kernelAVX512,
	fnSet: kernelAVX512Set, fnOff: kernelAVX512Off, fnOffSet: kernelAVX512OffSet,
	edgeRows: 8, fnOffEdge: kernelAVX512OffEdge, rowsA: &avx512RowsKernel}

// avx512RowsKernel is the 12x32 AVX-512 micro-kernel of
// gemm_avx512_rows_amd64.s, which reads the rows of A where they lie: one
// general register per row, hence 12 rows rather than 14. avx512Kernel
// hands it the products whose A is given by row offsets.
var avx512RowsKernel = microKernel{name: "avx512x12x32rows", mr: 12, nr: 32, kc: 256, mc: 192, fnRows: kernelAVX512Rows}

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

// kernel6x16 computes c[i*ldc+j] += sum_p a[6p+i]*b[16p+j], i < 6, j < 16,
// p < k (k >= 1). ldc is in elements.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int)

// kernel14x32 computes c[i*ldc+j] += sum_p a[14p+i]*b[32p+j], i < 14,
// j < 32, p < k (k >= 1), or sets c to the sum when set != 0. ldc is in
// elements.
//
//go:noescape
func kernel14x32(k int, a, b, c *float32, ldc int, set int)

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

func kernelAVX512(k int, a, b, c []float32, ldc int) {
	if k <= 0 {
		return
	}
	_ = a[14*k-1]
	_ = b[32*k-1]
	_ = c[13*ldc+31]
	kernel14x32(k, &a[0], &b[0], &c[0], ldc, 0)
}

func kernelAVX512Set(k int, a, b, c []float32, ldc int) {
	_ = a[14*k-1]
	_ = b[32*k-1]
	_ = c[13*ldc+31]
	kernel14x32(k, &a[0], &b[0], &c[0], ldc, 1)
}

// kernel14x32off is kernel14x32 with row p of B at b[off[p]:], unpacked.
//
//go:noescape
func kernel14x32off(k int, a, b *float32, off *int, c *float32, ldc int, set int)

// kernelAVX512Off checks A, C and off; the B bounds are sgemmPacked's.
func kernelAVX512Off(k int, a, b []float32, off []int, c []float32, ldc int) {
	if k <= 0 {
		return
	}
	_ = a[14*k-1]
	_ = off[k-1]
	_ = c[13*ldc+31]
	kernel14x32off(k, &a[0], &b[0], &off[0], &c[0], ldc, 0)
}

func kernelAVX512OffSet(k int, a, b []float32, off []int, c []float32, ldc int) {
	_ = a[14*k-1]
	_ = off[k-1]
	_ = c[13*ldc+31]
	kernel14x32off(k, &a[0], &b[0], &off[0], &c[0], ldc, 1)
}

// kernel12x32rows computes c[i*ldc+j] += sum_p a[off[i]+p]*b[32p+j],
// i < 12, j < 32, p < k (k >= 1), reading the rows of A in place.
//
//go:noescape
func kernel12x32rows(k int, a *float32, off *int, b, c *float32, ldc int)

// kernelAVX512Rows checks off, B and C; the A bounds are sgemmPacked's.
func kernelAVX512Rows(k int, a []float32, off []int, b, c []float32, ldc int) {
	if k <= 0 {
		return
	}
	_ = off[11]
	_ = b[32*k-1]
	_ = c[11*ldc+31]
	kernel12x32rows(k, &a[0], &off[0], &b[0], &c[0], ldc)
}

// kernel8x32off is kernel14x32off for the first 8 rows of the A strip.
//
//go:noescape
func kernel8x32off(k int, a, b *float32, off *int, c *float32, ldc int, set int)

func kernelAVX512OffEdge(k int, a, b []float32, off []int, c []float32, ldc int, set bool) {
	if k <= 0 {
		return
	}
	_ = a[14*k-1]
	_ = off[k-1]
	_ = c[7*ldc+31]
	s := 0
	if set {
		s = 1
	}
	kernel8x32off(k, &a[0], &b[0], &off[0], &c[0], ldc, s)
}
