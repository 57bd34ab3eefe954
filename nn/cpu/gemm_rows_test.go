package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// TestGemmRowOffsetA checks C (+)= A * op(B) with A given by row offsets
// into one slice (a convolution's column matrix on the padded grid), with
// every kernel, against refGemm on A copied out. Rows overlap, as the rows
// of a 3x3 convolution do; the values no row covers are NaN, so a kernel
// reading outside its rows poisons C. Sizes cover full and ragged 12- and
// 14-row strips and 32-wide strips, K below the 4-step unroll, several KC
// blocks and parallel tiles.
func TestGemmRowOffsetA(t *testing.T) {
	seed := int64(23)
	t.Logf("seed %d, tolerance 1e-5 * sum|a*b| per element", seed)
	sizes := [][3]int{ // m, n, k
		{1, 1, 1}, {12, 32, 1}, {12, 32, 3}, {12, 32, 4}, {13, 33, 5}, {11, 31, 7}, {24, 64, 259},
		{25, 65, 513}, {45, 40, 91}, {200, 64, 600}, {100, 7, 300}, {3, 200, 41},
	}
	for _, kern := range kernels() {
		for _, sz := range sizes {
			for _, transB := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					m, n, k := sz[0], sz[1], sz[2]
					name := fmt.Sprintf("%s/%dx%dx%d/tB=%v/acc=%v", kern.name, m, n, k, transB, acc)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewSource(seed + int64(m*10007+n*101+k)))
						// Row offsets in a slice twice the rows' span, so rows
						// overlap, and some leave gaps.
						size := 2*k + m
						off := make([]int, m)
						base := make([]float32, size)
						for i := range base {
							base[i] = float32(math.NaN())
						}
						for i := range off {
							off[i] = rng.Intn(size - k + 1)
							for p := 0; p < k; p++ {
								base[off[i]+p] = float32(rng.NormFloat64())
							}
						}
						a := make([]float32, m*k)
						for i := range off {
							copy(a[i*k:], base[off[i]:off[i]+k])
						}
						rb, cb := k, n
						if transB {
							rb, cb = n, k
						}
						ldb, ldc := cb+3, n+3
						b := randSlice(rng, rb*ldb)
						c := randSlice(rng, m*ldc)
						want, scale := refGemm(false, transB, m, n, k, a, k, b, ldb, c, ldc, acc)
						pad := append([]float32(nil), c...)
						sgemmPacked(kern, false, m, n, k, base, 0, off, bSource{pack: matrixPacker(transB, b, ldb)}, c, ldc, acc)
						bad := 0
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								got := c[i*ldc+j]
								if j >= n {
									if got != pad[i*ldc+j] {
										t.Fatalf("padding C[%d][%d] changed", i, j)
									}
									continue
								}
								w, s := want[i*n+j], scale[i*n+j]
								if !(math.Abs(float64(got)-w) <= 1e-5*s+1e-30) {
									if bad++; bad <= 3 {
										t.Errorf("C[%d][%d] = %v, want %v", i, j, got, w)
									}
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestGemmRowOffsetABounds checks that an A row reaching past the slice
// is refused with the sizes, not read by the in-place kernel.
func TestGemmRowOffsetABounds(t *testing.T) {
	for _, kern := range kernels() {
		t.Run(kern.name, func(t *testing.T) {
			m, n, k := 13, 32, 40
			base := make([]float32, 100)
			off := make([]int, m)
			off[m-1] = len(base) - k + 1 // one value past the end
			b := make([]float32, k*n)
			c := make([]float32, m*n)
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic for an A row past the end")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, "100") {
					t.Fatalf("panic %q does not name the slice's length", msg)
				}
			}()
			sgemmPacked(kern, false, m, n, k, base, 0, off, bSource{pack: matrixPacker(false, b, n)}, c, n, false)
		})
	}
}
