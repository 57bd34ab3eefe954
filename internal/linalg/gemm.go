// Package linalg holds the float64 dense kernels eval needs at feature
// sizes where gonum's portable BLAS is the bottleneck: a cache-blocked GEMM
// with SIMD micro-kernels, a symmetric rank-k product on top of it and the
// eigenvalues of a symmetric matrix. Matrices are row-major slices with a
// leading dimension (the distance between rows, in elements).
package linalg

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// microKernel computes one MR x NR tile of C: c[i*ldc+j] += sum_p
// a[mr*p+i]*b[nr*p+j] for i < mr, j < nr, p < k, from an A strip packed
// column by column and a B strip packed row by row.
type microKernel struct {
	name   string
	mr, nr int
	kc, mc int // K and M block sizes: an MC x KC block of A stays in L2
	fn     func(k int, a, b, c []float64, ldc int)
}

// nc is the N block size: a KC x NC panel of B (4 MiB at KC 256).
const nc = 2048

// maxWorkers is the number of goroutines one product uses at most.
const maxWorkers = 2

// kernelEnv names the environment variable that forces a micro-kernel by
// name (for benchmarks); the tests force each kernel themselves.
const kernelEnv = "CATSYNTH_LINALG_KERNEL"

// goKernel is the portable 4x4 micro-kernel.
var goKernel = microKernel{name: "go4x4", mr: 4, nr: 4, kc: 256, mc: 128, fn: kernelGo4x4}

// kernel is the micro-kernel Gemm uses.
var kernel microKernel

// chooseKernel returns the kernel named by kernelEnv, or else the last
// (widest) of arch, or else goKernel.
func chooseKernel(arch []microKernel) microKernel {
	all := append([]microKernel{goKernel}, arch...)
	if want := os.Getenv(kernelEnv); want != "" {
		names := make([]string, len(all))
		for i, k := range all {
			if k.name == want {
				return k
			}
			names[i] = k.name
		}
		panic(fmt.Sprintf("linalg: %s=%q: this CPU has kernels %s", kernelEnv, want, strings.Join(names, ", ")))
	}
	return all[len(all)-1]
}

// KernelName names the micro-kernel in use (for benchmark reports).
func KernelName() string { return kernel.name }

// Gemm computes C = alpha op(A) op(B) + beta C for row-major matrices, where
// op(A) is M x K (A itself when tA is false, else A^T with A stored K x M)
// and op(B) is K x N likewise; C is M x N. With beta 0, C is only written
// (its old values, even NaNs, are ignored). It panics on slices too short for
// the given sizes and leading dimensions.
func Gemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemm(kernel, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemm(kn microKernel, tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("linalg: Gemm sizes %d x %d x %d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMat("C", c, m, n, ldc)
	if k > 0 {
		if tA {
			checkMat("A", a, k, m, lda)
		} else {
			checkMat("A", a, m, k, lda)
		}
		if tB {
			checkMat("B", b, n, k, ldb)
		} else {
			checkMat("B", b, k, n, ldb)
		}
	}
	if beta != 1 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	mr, nr := kn.mr, kn.nr
	workers := min(runtime.GOMAXPROCS(0), maxWorkers)
	// Enough M blocks for every worker, each a whole number of strips.
	mc := kn.mc
	if per := roundUp((m+workers-1)/workers, mr); per < mc {
		mc = per
	}
	blocks := (m + mc - 1) / mc
	workers = min(workers, blocks)
	bpBuf := getBuf(roundUp(min(nc, n), nr) * min(kn.kc, k))
	defer bufPool.Put(bpBuf)
	bp := *bpBuf
	aps := make([][]float64, workers)
	for w := range aps {
		buf := getBuf(mc * min(kn.kc, k))
		defer bufPool.Put(buf)
		aps[w] = *buf
	}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kn.kc {
			kb := min(kn.kc, k-pc)
			packB(bp, tB, b, ldb, pc, jc, kb, nb, nr)
			var next atomic.Int64
			run := func(ap []float64) {
				for {
					blk := int(next.Add(1)) - 1
					if blk >= blocks {
						return
					}
					ic := blk * mc
					mb := min(mc, m-ic)
					packA(ap, tA, a, lda, ic, pc, mb, kb, mr, alpha)
					macro(kn, mb, nb, kb, ap, bp, c[ic*ldc+jc:], ldc)
				}
			}
			if workers == 1 {
				run(aps[0])
				continue
			}
			var wg sync.WaitGroup
			for w := 1; w < workers; w++ {
				wg.Go(func() { run(aps[w]) })
			}
			run(aps[0])
			wg.Wait()
		}
	}
}

// bufPool keeps packing buffers (*[]float64) between products, so that a
// factorisation's many products do not each fault in fresh pages.
var bufPool sync.Pool

// getBuf returns a pooled buffer of n values (contents undefined).
func getBuf(n int) *[]float64 {
	if p, ok := bufPool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

// checkMat panics unless s holds an r x c matrix with leading dimension ld.
func checkMat(name string, s []float64, r, c, ld int) {
	if ld < max(c, 1) {
		panic(fmt.Sprintf("linalg: %s has leading dimension %d < %d columns", name, ld, c))
	}
	if r > 0 && len(s) < (r-1)*ld+c {
		panic(fmt.Sprintf("linalg: %s holds %d values, a %d x %d matrix with leading dimension %d needs %d", name, len(s), r, c, ld, (r-1)*ld+c))
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies alpha op(A)[ic:ic+mb, pc:pc+kb] into strips of mr rows, each
// column by column (ap[s*mr*kb + p*mr + i]), padding the last strip with
// zeros.
func packA(ap []float64, tA bool, a []float64, lda, ic, pc, mb, kb, mr int, alpha float64) {
	if tail := mb % mr; tail != 0 {
		s := mb - tail
		clear(ap[s*kb : s*kb+mr*kb])
	}
	if tA {
		// Row p of A holds column p of op(A): read it contiguously.
		for p := range kb {
			off := (pc+p)*lda + ic
			src := a[off : off+mb]
			for s := 0; s < mb; s += mr {
				d := ap[s*kb+p*mr : s*kb+p*mr+min(mr, mb-s)]
				for i := range d {
					d[i] = alpha * src[s+i]
				}
			}
		}
		return
	}
	for s := 0; s < mb; s += mr {
		dst := ap[s*kb : s*kb+mr*kb]
		for i := range min(mr, mb-s) {
			r := ic + s + i
			for p, v := range a[r*lda+pc : r*lda+pc+kb] {
				dst[p*mr+i] = alpha * v
			}
		}
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into strips of nr columns, each
// row by row (bp[s*kb + p*nr + j]), padding the last strip with zeros.
func packB(bp []float64, tB bool, b []float64, ldb, pc, jc, kb, nb, nr int) {
	for s := 0; s < nb; s += nr {
		cols := min(nr, nb-s)
		dst := bp[s*kb : s*kb+nr*kb]
		if cols < nr {
			clear(dst)
		}
		if tB {
			// Row j of B holds column j of op(B): read it contiguously.
			for j := range cols {
				off := (jc+s+j)*ldb + pc
				for p, v := range b[off : off+kb] {
					dst[p*nr+j] = v
				}
			}
			continue
		}
		for p := range kb {
			off := (pc+p)*ldb + jc + s
			copy(dst[p*nr:p*nr+cols], b[off:off+cols])
		}
	}
}

// macro multiplies a packed mb x kb block of A by a packed kb x nb panel of
// B into C (at c[0], leading dimension ldc), tile by tile; partial tiles go
// through a scratch tile.
func macro(kn microKernel, mb, nb, kb int, ap, bp, c []float64, ldc int) {
	mr, nr := kn.mr, kn.nr
	var tile []float64
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		bs := bp[jr*kb : jr*kb+nr*kb]
		for ir := 0; ir < mb; ir += mr {
			rows := min(mr, mb-ir)
			as := ap[ir*kb : ir*kb+mr*kb]
			if rows == mr && cols == nr {
				kn.fn(kb, as, bs, c[ir*ldc+jr:], ldc)
				continue
			}
			if tile == nil {
				tile = make([]float64, mr*nr)
			} else {
				clear(tile)
			}
			kn.fn(kb, as, bs, tile, nr)
			for i := range rows {
				dst := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+cols]
				for j := range dst {
					dst[j] += tile[i*nr+j]
				}
			}
		}
	}
}

func kernelGo4x4(k int, a, b, c []float64, ldc int) {
	a, b = a[:4*k], b[:4*k]
	_ = c[3*ldc+3]
	var c00, c01, c02, c03, c10, c11, c12, c13 float64
	var c20, c21, c22, c23, c30, c31, c32, c33 float64
	for p := 0; p < 4*k; p += 4 {
		ap, bq := a[p:p+4:p+4], b[p:p+4:p+4]
		b0, b1, b2, b3 := bq[0], bq[1], bq[2], bq[3]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r := c[0:4:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
	r = c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r[0] += c20
	r[1] += c21
	r[2] += c22
	r[3] += c23
	r = c[3*ldc : 3*ldc+4 : 3*ldc+4]
	r[0] += c30
	r[1] += c31
	r[2] += c32
	r[3] += c33
}
