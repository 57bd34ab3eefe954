package cpu

import (
	"fmt"
	"math/bits"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The GEMM follows the BLIS structure: op(B) is packed into a KC x NC panel
// of NR-wide column strips (kept in L2/L3), op(A) into MR-tall row strips of
// KC values per row (streamed through L2), and a register-blocked micro-kernel
// multiplies one MR x KC strip by one KC x NR strip into an MR x NR tile of C.
// Edge tiles are computed into a zeroed scratch tile and added back, so the
// micro-kernel only ever sees full tiles. Work is split over the tiles.

// microKernel computes c[i*ldc+j] += sum_p a[p*mr+i] * b[p*nr+j] for
// i < mr, j < nr, p < k, reading packed strips a (k*mr) and b (k*nr).
// kc and mc are its cache blocking: a kc x nr strip of B stays in L1, an
// mc x kc block of A in L2, and the kc x gemmNC panel of B in L2/L3.
type microKernel struct {
	name   string
	mr, nr int
	kc, mc int
	fn     func(k int, a, b, c []float32, ldc int)
	// fnOff, where the kernel has one, is fn with B unpacked: row p of the
	// strip is b[off[p]:][:nr]. The caller guarantees those bounds.
	fnOff func(k int, a, b []float32, off []int, c []float32, ldc int)
	// fnOffSet is fnOff storing over C, as fnSet is fn.
	fnOffSet func(k int, a, b []float32, off []int, c []float32, ldc int)
	// fnOffEdge, where the kernel has one, is fnOff (or fnOffSet when set)
	// for the first edgeRows rows of the A strip only: the last strip, when
	// it has that many rows or fewer, skips the FMAs of the padding rows.
	edgeRows  int
	fnOffEdge func(k int, a, b []float32, off []int, c []float32, ldc int, set bool)
	// fnSet, where the kernel has one, is fn storing the product over C
	// (k >= 1), which spares the first KC block clearing C beforehand.
	fnSet func(k int, a, b, c []float32, ldc int)
	// rowsA, where the kernel has one, is the kernel sgemmPacked switches
	// to when A is given by row offsets and B is packed (a convolution's
	// weight gradient): its fnRows reads the rows of A where they lie, so
	// A, the large operand of that thin product, is never packed.
	rowsA *microKernel
	// fnRows is fn with A unpacked: row i of the strip is a[off[i]:][:k].
	// The caller guarantees those bounds.
	fnRows func(k int, a []float32, off []int, b, c []float32, ldc int)
}

const (
	gemmNC = 2048
	// gemmSmall is the m*n*k below which a plain loop beats packing.
	gemmSmall = 16 * 16 * 16
	// gemmParallel is the m*n*k above which the tiles are shared out.
	gemmParallel = 64 * 64 * 64
)

// kernel is the micro-kernel in use: the assembly one where the CPU supports
// it (see gemm_amd64.go), else the portable Go one.
var kernel = goKernel

// goKernel is the portable micro-kernel: 4x4 scalar accumulators, which the
// Go compiler keeps in registers.
var goKernel = microKernel{name: "go4x4", mr: 4, nr: 4, kc: 256, mc: 144, fn: kernelGo4x4}

// kernelEnv names the environment variable that forces a micro-kernel by
// name, so that every path can be exercised (and compared) on one machine.
const kernelEnv = "CATSYNTH_GEMM_KERNEL"

// chooseKernel returns the kernel named by $CATSYNTH_GEMM_KERNEL, else the
// last (preferred) of arch, else goKernel. An unknown or unsupported name
// panics listing the choices: a silent fallback would test the wrong path.
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
		panic(fmt.Sprintf("cpu: %s=%q: this CPU has kernels %s", kernelEnv, want, strings.Join(names, ", ")))
	}
	return all[len(all)-1]
}

func kernelGo4x4(k int, a, b, c []float32, ldc int) {
	a, b = a[:4*k], b[:4*k]
	_ = c[3*ldc+3]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < 4*k; p += 4 {
		ap, bp := a[p:p+4:p+4], b[p:p+4:p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0 := ap[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := ap[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := ap[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := ap[3]
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

// scratch keeps packing buffers between calls, one free list per
// power-of-two capacity: with a single list, a request would often draw a
// buffer too small for it, drop it and allocate afresh. Not a sync.Pool:
// the garbage collector empties those at every cycle, and a training step
// that allocates a few megabytes runs a cycle every few GEMMs, so nearly
// every call allocated its buffers again. A list holds at most
// scratchKeep(class) buffers, so what stays is bounded by the largest
// GEMMs' working set.
var scratch struct {
	mu   sync.Mutex
	free [bits.UintSize][]*[]float32
}

// scratchKeep is how many free buffers of capacity 2^class are kept: a few
// per worker for small ones, two for those of 16 MB and more.
func scratchKeep(class int) int {
	if class >= 22 { // 4M values, 16 MB
		return 2
	}
	return 4 * workers()
}

func getScratch(n int) *[]float32 {
	class := bits.Len(uint(max(n, 1) - 1))
	scratch.mu.Lock()
	if l := scratch.free[class]; len(l) > 0 {
		p := l[len(l)-1]
		l[len(l)-1] = nil
		scratch.free[class] = l[:len(l)-1]
		scratch.mu.Unlock()
		*p = (*p)[:n]
		return p
	}
	scratch.mu.Unlock()
	s := make([]float32, n, 1<<class)
	return &s
}

func putScratch(p *[]float32) {
	c := cap(*p)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	class := bits.Len(uint(c - 1))
	scratch.mu.Lock()
	if len(scratch.free[class]) < scratchKeep(class) {
		scratch.free[class] = append(scratch.free[class], p)
	}
	scratch.mu.Unlock()
}

// sgemm computes C = op(A) * op(B), or C += op(A) * op(B) when acc, for
// row-major C (m x n, row stride ldc). A is m x k (row stride lda), or k x m
// when transA; B is k x n (row stride ldb), or n x k when transB.
func sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	c []float32, ldc int, acc bool) {
	sgemmWith(kernel, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, acc)
}

func sgemmWith(kern microKernel, transA, transB bool, m, n, k int, a []float32, lda int,
	b []float32, ldb int, c []float32, ldc int, acc bool) {
	if m*n*k <= gemmSmall && m > 0 && n > 0 && k > 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		gemmNaive(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	sgemmPacked(kern, transA, m, n, k, a, lda, nil, bSource{pack: matrixPacker(transB, b, ldb)}, c, ldc, acc)
}

// stripPacker packs rows [pc, pc+kc) and columns [j0, j0+w) of op(B) into
// dst, a kc x nr row-major strip, with zeros in columns [w, nr). Packing
// through a function lets a convolution read its column matrix straight
// from the image (implicit GEMM) instead of materialising it first.
type stripPacker func(dst []float32, pc, kc, j0, w, nr int)

// matrixPacker packs from a stored matrix B (k x n, or n x k when trans).
func matrixPacker(trans bool, b []float32, ldb int) stripPacker {
	if trans {
		return func(dst []float32, pc, kc, j0, w, nr int) {
			j := 0
			// Eight columns at a time, so that each step writes 32
			// contiguous bytes.
			for ; j+8 <= w; j += 8 {
				row := func(i int) []float32 { return b[(j0+j+i)*ldb+pc:][:kc] }
				packT8(dst[j:], row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7), kc, nr)
			}
			for ; j < nr; j++ {
				if j >= w {
					for p := 0; p < kc; p++ {
						dst[p*nr+j] = 0
					}
					continue
				}
				src := b[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kc]
				for p, v := range src {
					dst[p*nr+j] = v
				}
			}
		}
	}
	return func(dst []float32, pc, kc, j0, w, nr int) {
		for p := 0; p < kc; p++ {
			row := dst[p*nr : p*nr+nr]
			copy(row, b[(pc+p)*ldb+j0:(pc+p)*ldb+j0+w])
			clear(row[w:])
		}
	}
}

// bSource is where the GEMM's B comes from: strips packed by pack, or, when
// pack is nil, a matrix whose row p is rows[off[p]:] with unit column
// stride, which a kernel with fnOff reads in place without packing.
type bSource struct {
	pack stripPacker
	rows []float32
	off  []int
}

// aSource is where the micro-kernel's A strips come from: the packed
// strips, or, with a kernel that has fnRows, row i of A at rows[off[i]:].
type aSource struct {
	packed []float32
	rows   []float32
	off    []int
}

// sgemmPacked is C (+)= op(A) * B where B comes from src. When
// aOff is not nil, A is not transposed and its row i starts at a[aOff[i]]
// (lda unused): a convolution's column matrix on the padded grid.
func sgemmPacked(kern microKernel, transA bool, m, n, k int, a []float32, lda int, aOff []int,
	src bSource, c []float32, ldc int, acc bool) {
	sgemmPackedOn(m*n*k >= gemmParallel && workers() > 1, kern, transA, m, n, k, a, lda, aOff, src, c, ldc, acc)
}

// sgemmPackedOn is sgemmPacked sharing its tiles out over the workers when
// parallel, else on the caller's goroutine only: for callers that run
// several products at once.
func sgemmPackedOn(parallel bool, kern microKernel, transA bool, m, n, k int, a []float32, lda int,
	aOff []int, src bSource, c []float32, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 && !acc {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	if k == 0 {
		return
	}
	if aOff != nil && kern.rowsA != nil && src.pack != nil {
		kern = *kern.rowsA
	}
	inPlaceA := aOff != nil && kern.fnRows != nil
	if inPlaceA {
		lo, hi := slices.Min(aOff[:m]), slices.Max(aOff[:m])
		if lo < 0 || hi+k > len(a) {
			panic(fmt.Sprintf("cpu: gemm A rows span [%d, %d), have %d values", lo, hi+k, len(a)))
		}
	}
	mr, nr := kern.mr, kern.nr
	if src.pack == nil {
		if kern.fnOff == nil {
			src.pack = offsetPacker(false, src.rows, src.off)
		} else {
			// The kernel reads full nr-wide rows, past n on the last strip.
			top := (n+nr-1)/nr*nr + slices.Max(src.off[:k])
			if top > len(src.rows) {
				panic(fmt.Sprintf("cpu: gemm B rows need %d values, have %d", top, len(src.rows)))
			}
		}
	}
	// The first KC block overwrites C where the kernel can store; else C
	// is cleared and every block accumulates.
	set := !acc && (src.pack != nil && kern.fnSet != nil || src.pack == nil && kern.fnOffSet != nil)
	if !acc && !set {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	mStrips := (m + mr - 1) / mr
	// Equal KC blocks: k = 576 runs as 3 x 192, not 256 + 256 + 64.
	blocks := (k + kern.kc - 1) / kern.kc
	kcMax := (k + blocks - 1) / blocks
	as := aSource{rows: a, off: aOff}
	if !inPlaceA {
		apBuf := getScratch(mStrips * mr * kcMax)
		defer putScratch(apBuf)
		as = aSource{packed: *apBuf}
	}
	bpBuf := getScratch((gemmNC + nr) * kcMax)
	defer putScratch(bpBuf)
	bp := *bpBuf
	for pc := 0; pc < k; pc += kcMax {
		kc := min(kcMax, k-pc)
		if !inPlaceA {
			packA(transA, a, lda, aOff, pc, kc, m, mr, as.packed, parallel)
		}
		for jc := 0; jc < n; jc += gemmNC {
			nc := min(gemmNC, n-jc)
			macroKernel(kern, pc, kc, m, jc, nc, as, bp, src, c[jc:], ldc, set && pc == 0, parallel)
		}
	}
}

// packA packs rows [0, m) and columns [pc, pc+kc) of op(A) into MR-tall strips,
// zero-padding the last strip.
func packA(trans bool, a []float32, lda int, aOff []int, pc, kc, m, mr int, ap []float32, parallel bool) {
	strips := (m + mr - 1) / mr
	run := func(lo, hi int) {
		var rows [32][]float32
		for s := lo; s < hi; s++ {
			dst := ap[s*mr*kc : (s+1)*mr*kc]
			h := min(mr, m-s*mr)
			if h < mr {
				clear(dst)
			}
			if trans {
				// Column p of the strip is a contiguous run of op(A)'s row pc+p.
				for p := 0; p < kc; p++ {
					copy(dst[p*mr:p*mr+h], a[(pc+p)*lda+s*mr:])
				}
				continue
			}
			// Walk the h rows together so the writes are sequential.
			for i := 0; i < h; i++ {
				o := (s*mr + i) * lda
				if aOff != nil {
					o = aOff[s*mr+i]
				}
				rows[i] = a[o+pc : o+pc+kc]
			}
			if h == 14 {
				pack14(dst, rows[:14], kc)
				continue
			}
			for p := 0; p < kc; p++ {
				d := dst[p*mr : p*mr+h]
				for i := range d {
					d[i] = rows[i][p]
				}
			}
		}
	}
	if parallel {
		parallelFor(strips, 4, run)
	} else {
		run(0, strips)
	}
}

// packT8 writes the kc values of rows r0..r7 as columns 0..7 of dst, a
// strip with row stride nr.
func packT8(dst, r0, r1, r2, r3, r4, r5, r6, r7 []float32, kc, nr int) {
	r0, r1, r2, r3, r4, r5, r6, r7 = r0[:kc], r1[:kc], r2[:kc], r3[:kc], r4[:kc], r5[:kc], r6[:kc], r7[:kc]
	for p := 0; p < kc; p++ {
		d := dst[p*nr : p*nr+8 : p*nr+8]
		d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p], r7[p]
	}
}

// pack14 interleaves 14 rows of kc values into dst (kc x 14), the AVX-512
// kernel's A strip, with the rows in locals so the loop has no bounds checks.
func pack14(dst []float32, rows [][]float32, kc int) {
	r0, r1, r2, r3, r4, r5, r6 := rows[0][:kc], rows[1][:kc], rows[2][:kc], rows[3][:kc], rows[4][:kc], rows[5][:kc], rows[6][:kc]
	r7, r8, r9, r10, r11, r12, r13 := rows[7][:kc], rows[8][:kc], rows[9][:kc], rows[10][:kc], rows[11][:kc], rows[12][:kc], rows[13][:kc]
	dst = dst[:14*kc]
	for p := 0; p < kc; p++ {
		d := dst[p*14 : p*14+14 : p*14+14]
		d[0], d[1], d[2], d[3], d[4], d[5], d[6] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p]
		d[7], d[8], d[9], d[10], d[11], d[12], d[13] = r7[p], r8[p], r9[p], r10[p], r11[p], r12[p], r13[p]
	}
}

// macroKernel multiplies the m x kc block of A (columns [pc, pc+kc)) by rows
// [pc, pc+kc) and columns [jc, jc+nc) of B into C (c points at column jc).
// When one task covers all of A, each task packs its own B strips just
// before using them, while they are hot in L1; otherwise the panel is packed
// first and shared.
func macroKernel(kern microKernel, pc, kc, m, jc, nc int, a aSource, bp []float32, src bSource,
	c []float32, ldc int, set, parallel bool) {
	mr, nr := kern.mr, kern.nr
	mStrips, nStrips := (m+mr-1)/mr, (nc+nr-1)/nr
	rowsPer := max(1, kern.mc/mr) // strips of A per task: one L2-sized block
	rowChunks := (mStrips + rowsPer - 1) / rowsPer
	colChunks := 1
	nw := 1
	if parallel {
		nw = workers()
		if rowChunks < 4*nw {
			colChunks = min(nStrips, (4*nw+rowChunks-1)/rowChunks)
		}
	}
	tasks := rowChunks * colChunks
	strip := func(js int) []float32 { return bp[js*nr*kc : (js+1)*nr*kc] }
	pack := func(js int) { src.pack(strip(js), pc, kc, jc+js*nr, min(nr, nc-js*nr), nr) }
	direct := src.pack == nil
	lazy := rowChunks == 1 || direct
	if !lazy {
		if parallel {
			parallelFor(nStrips, 4, func(lo, hi int) {
				for js := lo; js < hi; js++ {
					pack(js)
				}
			})
		} else {
			for js := 0; js < nStrips; js++ {
				pack(js)
			}
		}
	}
	// edge says whether row strip is is short enough for fnOffEdge.
	edge := func(is int) bool { return kern.fnOffEdge != nil && m-is*mr <= kern.edgeRows }
	var next atomic.Int64
	work := func() {
		var tmp []float32 // edge tiles, drawn from the scratch lists on first use
		var tmpBuf *[]float32
		var rowOff []int // the strip's row offsets, for fnRows
		if a.off != nil {
			rowOff = make([]int, mr)
		}
		defer func() {
			if tmpBuf != nil {
				putScratch(tmpBuf)
			}
		}()
		for {
			t := int(next.Add(1)) - 1
			if t >= tasks {
				return
			}
			rc, cc := t/colChunks, t%colChunks
			r0, r1 := rc*rowsPer, min(mStrips, (rc+1)*rowsPer)
			s0, s1 := nStrips*cc/colChunks, nStrips*(cc+1)/colChunks
			for js := s0; js < s1; js++ {
				var bs []float32
				if !direct {
					if lazy {
						pack(js)
					}
					bs = strip(js)
				}
				j0 := js * nr
				w := min(nr, nc-j0)
				mul := func(is int, ct []float32, ldc int) {
					if a.off != nil {
						// Rows past m repeat the last row: readable, and
						// their sums land in the discarded part of tmp.
						i0, h := is*mr, min(mr, m-is*mr)
						for t := range rowOff {
							rowOff[t] = a.off[i0+min(t, h-1)] + pc
						}
						kern.fnRows(kc, a.rows, rowOff, bs, ct, ldc)
						return
					}
					as := a.packed[is*mr*kc : (is+1)*mr*kc]
					switch {
					case direct && edge(is):
						kern.fnOffEdge(kc, as, src.rows[jc+j0:], src.off[pc:pc+kc], ct, ldc, set)
					case direct && set:
						kern.fnOffSet(kc, as, src.rows[jc+j0:], src.off[pc:pc+kc], ct, ldc)
					case direct:
						kern.fnOff(kc, as, src.rows[jc+j0:], src.off[pc:pc+kc], ct, ldc)
					case set:
						kern.fnSet(kc, as, bs, ct, ldc)
					default:
						kern.fn(kc, as, bs, ct, ldc)
					}
				}
				for is := r0; is < r1; is++ {
					i0 := is * mr
					h := min(mr, m-i0)
					if (h == mr || direct && edge(is) && h == kern.edgeRows) && w == nr {
						mul(is, c[i0*ldc+j0:], ldc)
						continue
					}
					if tmp == nil {
						tmpBuf = getScratch(mr * nr)
						tmp = *tmpBuf
					}
					t := tmp
					clear(t)
					mul(is, t, nr)
					for i := 0; i < h; i++ {
						row := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+w]
						if set {
							copy(row, t[i*nr:])
							continue
						}
						for j := range row {
							row[j] += t[i*nr+j]
						}
					}
				}
			}
		}
	}
	if nw <= 1 || tasks == 1 {
		work()
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < min(nw, tasks); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
}

// gemmNaive is C += op(A) op(B) by plain loops, for tiny products.
func gemmNaive(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	c []float32, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if transB {
				for j := range crow {
					crow[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j := range crow {
					crow[j] += av * brow[j]
				}
			}
		}
	}
}
