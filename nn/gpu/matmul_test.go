package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

// The GEMM kernel lab's tests: every variant, forced in turn through
// CATSYNTH_GPU_VARIANT, against a float64 reference and the CPU backend.

// mmDev is the part of backend.Backend these tests use, met by the GPU and
// CPU backends.
type mmDev interface {
	Name() string
	Alloc(n int) (backend.Buffer, error)
	Free(b backend.Buffer)
	Upload(dst backend.Buffer, src []float32)
	Download(src backend.Buffer, dst []float32) error
	MatMul(c, a, b backend.Buffer, p backend.MatMul)
	Conv2D(y, x, w backend.Buffer, p backend.Conv)
	Conv2DGradInput(dx, dy, w backend.Buffer, p backend.Conv)
	Conv2DGradWeight(dw, x, dy backend.Buffer, p backend.Conv)
}

// variantNames is every GEMM variant name, for forcing each in turn.
func variantNames() []string {
	var out []string
	for _, v := range gemmVariants {
		out = append(out, v.name)
	}
	return out
}

func mmRandn(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// mmUpload allocates a buffer on d holding v.
func mmUpload(t testing.TB, d mmDev, v []float32) backend.Buffer {
	t.Helper()
	buf, err := d.Alloc(max(len(v), 1))
	if err != nil {
		t.Fatal(err)
	}
	d.Upload(buf, v)
	return buf
}

func mmDownload(t testing.TB, d mmDev, buf backend.Buffer, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := d.Download(buf, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// refMatMul is the float64 reference of backend.MatMul. It also returns, per
// output, the sum of |a*b| terms, which scales the float32 rounding error.
func refMatMul(p backend.MatMul, a, b []float32) (c, mag []float64) {
	c = make([]float64, (p.Batch-1)*p.StrideC+p.M*p.N)
	mag = make([]float64, len(c))
	for bt := 0; bt < p.Batch; bt++ {
		for m := 0; m < p.M; m++ {
			for n := 0; n < p.N; n++ {
				var s, g float64
				for k := 0; k < p.K; k++ {
					ai := bt*p.StrideA + m*p.K + k
					if p.TransA {
						ai = bt*p.StrideA + k*p.M + m
					}
					bi := bt*p.StrideB + k*p.N + n
					if p.TransB {
						bi = bt*p.StrideB + n*p.K + k
					}
					x := float64(a[ai]) * float64(b[bi])
					s += x
					g += math.Abs(x)
				}
				c[bt*p.StrideC+m*p.N+n] = s
				mag[bt*p.StrideC+m*p.N+n] = g
			}
		}
	}
	return c, mag
}

// compare checks got against want within float32 accumulation error.
func compare(t *testing.T, what string, got []float32, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := range want {
		tol := 1e-5*mag[i] + 1e-6
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			if bad < 3 {
				t.Errorf("%s: [%d] = %g, want %g (tol %g)", what, i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(want))
	}
}

// matmulCases are small odd shapes; bcastA/bcastB set a zero batch stride.
var matmulCases = []struct {
	p              backend.MatMul
	bcastA, bcastB bool
}{
	{p: backend.MatMul{Batch: 1, M: 1, N: 1, K: 1}},
	{p: backend.MatMul{Batch: 1, M: 7, N: 5, K: 3}},
	{p: backend.MatMul{Batch: 2, M: 33, N: 65, K: 17}},
	{p: backend.MatMul{Batch: 1, M: 130, N: 129, K: 37}},
	{p: backend.MatMul{Batch: 1, M: 3, N: 200, K: 1}},
	{p: backend.MatMul{Batch: 1, M: 9, N: 11, K: 0}},
	{p: backend.MatMul{Batch: 2, M: 36, N: 68, K: 20}}, // multiples of 4: the vec4 variants run
	{p: backend.MatMul{Batch: 1, M: 132, N: 136, K: 44}},
	{p: backend.MatMul{Batch: 3, M: 12, N: 8, K: 24}, bcastA: true},
	{p: backend.MatMul{Batch: 3, M: 13, N: 9, K: 70}, bcastA: true},
	{p: backend.MatMul{Batch: 3, M: 5, N: 31, K: 19}, bcastB: true},
}

func TestMatMulVariants(t *testing.T) {
	be := openGPU(t)
	ref := cpu.New()
	seed := uint64(20261126)
	t.Logf("seed %d", seed)
	for _, name := range variantNames() {
		t.Run(name, func(t *testing.T) {
			t.Setenv(VariantEnv, name)
			r := rand.New(rand.NewPCG(seed, 1))
			for _, c := range matmulCases {
				for tr := 0; tr < 4; tr++ {
					p := c.p
					p.TransA, p.TransB = tr&1 != 0, tr&2 != 0
					p.StrideA, p.StrideB, p.StrideC = p.M*p.K, p.K*p.N, p.M*p.N+3 // a gap in C
					if c.bcastA {
						p.StrideA = 0
					}
					if c.bcastB {
						p.StrideB = 0
					}
					checkMatMul(t, be, ref, r, p)
				}
			}
		})
	}
}

func checkMatMul(t *testing.T, be *Backend, ref mmDev, r *rand.Rand, p backend.MatMul) {
	t.Helper()
	a := mmRandn(r, (p.Batch-1)*p.StrideA+p.M*p.K)
	bm := mmRandn(r, (p.Batch-1)*p.StrideB+p.K*p.N)
	nc := (p.Batch-1)*p.StrideC + p.M*p.N
	want, mag := refMatMul(p, a, bm)
	what := fmt.Sprintf("%+v", p)
	for _, impl := range []mmDev{be, ref} {
		ga, gb := mmUpload(t, impl, a), mmUpload(t, impl, bm)
		gc := mmUpload(t, impl, make([]float32, nc))
		impl.MatMul(gc, ga, gb, p)
		got := mmDownload(t, impl, gc, nc)
		for bt := 0; bt < p.Batch; bt++ { // the gaps between C items stay untouched
			for i := p.M * p.N; i < p.StrideC && bt < p.Batch-1; i++ {
				if v := got[bt*p.StrideC+i]; v != 0 {
					t.Fatalf("%s on %s: wrote %g into the gap at %d", what, impl.Name(), v, bt*p.StrideC+i)
				}
			}
		}
		compare(t, what+" on "+impl.Name(), got, want, mag)
		impl.Free(ga)
		impl.Free(gb)
		impl.Free(gc)
	}
}

// TestMatMulSplitAndFold forces tiny dispatch pieces and a workgroup grid
// beyond 32768 along x, so that piece offsets and grid folding are exercised.
func TestMatMulSplitAndFold(t *testing.T) {
	be := openGPU(t)
	seed := uint64(7)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	old := pieceWorkLimit
	pieceWorkLimit = 2 * 8 * 8 * 40 * 5 // five v1 workgroups per dispatch
	defer func() { pieceWorkLimit = old }()
	t.Setenv(VariantEnv, "v1")
	checkMatMul(t, be, cpu.New(), r, backend.MatMul{Batch: 2, M: 30, N: 17, K: 40, StrideA: 1200, StrideB: 680, StrideC: 510})
	pieceWorkLimit = old
	// 40000 workgroups of v1 (8x8 outputs, K = 1).
	checkMatMul(t, be, cpu.New(), r, backend.MatMul{Batch: 625, M: 64, N: 64, K: 1, StrideA: 64, StrideB: 64, StrideC: 4096})
}

// TestSplitK forces split-K (several GEMMs over K ranges summed by Reduce)
// on matmul and convolution cases for a register-blocked and a tiled variant.
func TestSplitK(t *testing.T) {
	be := openGPU(t)
	ref := cpu.New()
	seed := uint64(31)
	t.Logf("seed %d", seed)
	old := splitKForce
	defer func() { splitKForce = old }()
	for _, name := range []string{"v2", "v4"} {
		for _, s := range []int{2, 3, 7} {
			t.Run(fmt.Sprintf("%s/split%d", name, s), func(t *testing.T) {
				t.Setenv(VariantEnv, name)
				splitKForce = s
				r := rand.New(rand.NewPCG(seed, uint64(s)))
				for tr := 0; tr < 4; tr++ {
					p := backend.MatMul{Batch: 2, M: 19, N: 23, K: 45, TransA: tr&1 != 0, TransB: tr&2 != 0,
						StrideA: 19 * 45, StrideB: 45 * 23, StrideC: 19 * 23}
					checkMatMul(t, be, ref, r, p)
				}
				checkMatMul(t, be, ref, r, backend.MatMul{Batch: 1, M: 5, N: 4, K: 5, StrideA: 25, StrideB: 20, StrideC: 20})
				for _, c := range convCases {
					checkConv3(t, c.name, be, ref, r, c.p)
				}
			})
		}
	}
}
