package gpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"catsynth/nn/backend"
)

// Benchmarks of the GEMM kernels, reported in GFLOP/s. Each iteration waits
// for the device (a one-value download), so the time is the kernel's plus
// one submit/sync round trip. The first call (outside the timer) autotunes;
// CATSYNTH_GPU_VARIANT=vN benchmarks one variant. On a software adapter the
// shapes over 5 GFLOP skip (see benchGPU), so
//
//	go test ./nn/gpu -run '^$' -bench 'MatMul|Conv3x3'
//
// runs the small ones there and everything on a GPU (scripts/gpu-check.sh).

// benchBigEnv names the environment variable that runs the big shapes on a
// software adapter too (minutes per iteration on lavapipe).
const benchBigEnv = "CATSYNTH_GPU_BENCH_ALL"

// benchGPU times run on be, which must leave its result in out, and reports
// flops per iteration as GFLOP/s. Shapes over 5 GFLOP are skipped on
// software adapters unless CATSYNTH_GPU_BENCH_ALL=1.
func benchGPU(b *testing.B, be *Backend, out *Buffer, flops float64, run func()) {
	if be.software && flops > 5e9 && os.Getenv(benchBigEnv) != "1" {
		b.Skipf("%.0f GFLOP per iteration on a software adapter (set %s=1 to run)", flops/1e9, benchBigEnv)
	}
	one := make([]float32, 1)
	run() // warmup, autotune and compile
	if err := be.Download(out, one); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		run()
		if err := be.Download(out, one); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchBuf allocates n random values on be, freed when the benchmark ends.
func benchBuf(b *testing.B, be *Backend, r *rand.Rand, n int) *Buffer {
	x, err := be.alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	be.Upload(x, mmRandn(r, n))
	b.Cleanup(func() { be.Free(x) })
	return x
}

func BenchmarkMatMul(b *testing.B) {
	for _, n := range []int{256, 1024, 4096} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			be := openGPU(b)
			r := rand.New(rand.NewPCG(1, 1))
			x, y, z := benchBuf(b, be, r, n*n), benchBuf(b, be, r, n*n), benchBuf(b, be, r, n*n)
			p := backend.MatMul{Batch: 1, M: n, N: n, K: n, StrideA: n * n, StrideB: n * n, StrideC: n * n}
			benchGPU(b, be, z, p.Flops(), func() { be.matmul(z, x, y, p) })
			b.Logf("%s: variant %s", be.Name(), tunedName(be, &gemmCall{op: opMatMul, batch: 1, M: n, N: n, K: n}))
		})
	}
}

// tunedName says which variant runs g on be (forced, cached or heuristic).
func tunedName(be *Backend, g *gemmCall) string {
	if f := forcedVariant(); f != "" {
		return f + " (forced)"
	}
	tuneCache.Lock()
	defer tuneCache.Unlock()
	if v, ok := tuneCache.m[be.Name()+tuneVersion][tuneKey(g)]; ok {
		return v + " (tuned)"
	}
	return be.heuristic(g).name + " (heuristic)"
}
