package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// kernels is every micro-kernel this machine can run: the portable one and
// any assembly ones, so both paths are tested on amd64. A kernel that hands
// row-offset A to an in-place kernel also appears without it (name suffix
// "-packA"), so the packing path it replaces stays tested.
func kernels() []microKernel {
	ks := append([]microKernel{goKernel}, archKernels...)
	for _, k := range archKernels {
		if k.rowsA != nil {
			k.name += "-packA"
			k.rowsA = nil
			ks = append(ks, k)
		}
	}
	return ks
}

// refGemm is C = op(A) op(B) (+ C0) in float64, with sum |terms| per element.
func refGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	c0 []float32, ldc int, acc bool) (want, scale []float64) {
	want, scale = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			if acc {
				s, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
			}
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				mag += math.Abs(float64(av) * float64(bv))
			}
			want[i*n+j], scale[i*n+j] = s, mag
		}
	}
	return want, scale
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestGemmKernels(t *testing.T) {
	seed := int64(7)
	t.Logf("seed %d, kernels %d, tolerance 1e-5 * sum|a*b| per element", seed, len(kernels()))
	sizes := [][3]int{ // m, n, k
		{1, 1, 1}, {3, 3, 3}, {1, 17, 5}, {17, 1, 65}, {17, 17, 17}, {6, 16, 1}, {65, 33, 129},
		{129, 65, 3}, {7, 130, 300}, {300, 19, 40}, {5, 2100, 3}, {64, 64, 64}, {13, 47, 513},
		// Full and ragged 14x32 tiles, K across several KC blocks, long thin products.
		{14, 32, 1}, {28, 64, 257}, {15, 33, 31}, {43, 95, 700}, {1, 33, 4097}, {70, 2050, 9},
	}
	for _, kern := range kernels() {
		for _, sz := range sizes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, acc := range []bool{false, true} {
					m, n, k := sz[0], sz[1], sz[2]
					name := fmt.Sprintf("%s/%dx%dx%d/tA=%v/tB=%v/acc=%v", kern.name, m, n, k, tr[0], tr[1], acc)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewSource(seed + int64(m*10007+n*101+k)))
						// Leading dimensions padded by 3 so row strides differ from widths.
						ra, ca := m, k
						if tr[0] {
							ra, ca = k, m
						}
						rb, cb := k, n
						if tr[1] {
							rb, cb = n, k
						}
						lda, ldb, ldc := ca+3, cb+3, n+3
						a, b := randSlice(rng, ra*lda), randSlice(rng, rb*ldb)
						c := randSlice(rng, m*ldc)
						want, scale := refGemm(tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc, acc)
						pad := append([]float32(nil), c...)
						sgemmWith(kern, tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc, acc)
						bad := 0
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								got := c[i*ldc+j]
								if j >= n { // the padding must be untouched
									if got != pad[i*ldc+j] {
										t.Fatalf("padding C[%d][%d] changed", i, j)
									}
									continue
								}
								w, s := want[i*n+j], scale[i*n+j]
								if math.Abs(float64(got)-w) > 1e-5*s+1e-30 {
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
