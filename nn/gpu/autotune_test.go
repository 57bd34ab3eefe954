package gpu

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"catsynth/nn/backend"
	"catsynth/nn/cpu"
)

func TestTuneKeyBuckets(t *testing.T) {
	cases := []struct {
		g    gemmCall
		want string
	}{
		{gemmCall{op: opMatMul, batch: 1, M: 1024, N: 1024, K: 1024}, "matmul_io.wgsl/falsefalse/b1/m1024/n1024/k1024/a4"},
		{gemmCall{op: opMatMul, batch: 1, M: 1000, N: 1001, K: 1024}, "matmul_io.wgsl/falsefalse/b1/m1024/n1024/k1024"},
		{gemmCall{op: opMatMul, transB: true, batch: 3, M: 1000, N: 513, K: 1}, "matmul_io.wgsl/falsetrue/b4/m1024/n1024/k1"},
		{gemmCall{op: opConvWgrad, batch: 1, M: 256, N: 2304, K: 65536}, "conv_wgrad_io.wgsl/falsefalse/b1/m256/n4096/k65536"},
	}
	for _, c := range cases {
		if got := tuneKey(&c.g); got != c.want {
			t.Errorf("tuneKey(%+v) = %q, want %q", c.g, got, c.want)
		}
	}
}

func TestForcedVariant(t *testing.T) {
	for _, name := range append(variantNames(), "dw", "") {
		t.Setenv(VariantEnv, name)
		if got := forcedVariant(); got != name {
			t.Errorf("forcedVariant() with %q = %q", name, got)
		}
	}
	t.Setenv(VariantEnv, "v9")
	defer func() {
		if recover() == nil {
			t.Error("an unknown variant name did not panic")
		}
	}()
	forcedVariant()
}

// TestAutotune runs a matmul big enough to be tuned, checks the result, the
// in-memory cache and the file it persists to, and that a fresh process
// (simulated by clearing the memory cache) takes the winner from the file.
func TestAutotune(t *testing.T) {
	be := openGPU(t)
	t.Setenv(VariantEnv, "")
	path := filepath.Join(t.TempDir(), "tune.json")
	oldPath := tunePath
	tunePath = func() string { return path }
	tuneCache.Lock()
	oldM, oldLoaded := tuneCache.m, tuneCache.loaded
	tuneCache.m, tuneCache.loaded = map[string]map[string]string{}, false
	tuneCache.Unlock()
	defer func() {
		tunePath = oldPath
		tuneCache.Lock()
		tuneCache.m, tuneCache.loaded = oldM, oldLoaded
		tuneCache.Unlock()
	}()

	seed := uint64(5)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	p := backend.MatMul{Batch: 1, M: 200, N: 300, K: 300, StrideA: 60000, StrideB: 90000, StrideC: 60000}
	if p.Flops() < tuneMinFlops {
		t.Fatalf("shape too small to be tuned")
	}
	checkMatMul(t, be, cpu.New(), r, p)

	key := tuneKey(&gemmCall{op: opMatMul, batch: 1, M: 200, N: 300, K: 300})
	tuneCache.Lock()
	won := tuneCache.m[be.Name()+tuneVersion][key]
	tuneCache.Unlock()
	if variantByName(won) == nil {
		t.Fatalf("no tuned variant cached for %s (cache: %v)", key, tuneCache.m)
	}
	t.Logf("%s: winner %s", key, won)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]map[string]string
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f[be.Name()+tuneVersion][key] != won {
		t.Fatalf("file holds %q for %s, want %q", f[be.Name()+tuneVersion][key], key, won)
	}

	// A fresh cache loads the file; plant another variant there and check it is used.
	other := "v1"
	if won == "v1" {
		other = "v2"
	}
	f[be.Name()+tuneVersion][key] = other
	data, _ = json.Marshal(f)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tuneCache.Lock()
	tuneCache.m, tuneCache.loaded = map[string]map[string]string{}, false
	tuneCache.Unlock()
	g := &gemmCall{op: opMatMul, batch: 1, M: 200, N: 300, K: 300}
	if v := be.pickGEMM(g); v.name != other {
		t.Fatalf("pickGEMM after reload = %s, want %s from the file", v.name, other)
	}
}

// TestTuneTimesCandidates checks that a tune measures the candidates and
// returns one of them.
func TestTuneTimesCandidates(t *testing.T) {
	be := openGPU(t)
	seed := uint64(6)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 6))
	const m, n, k = 64, 96, 80
	a, bm := mmUpload(t, be, mmRandn(r, m*k)).(*Buffer), mmUpload(t, be, mmRandn(r, k*n)).(*Buffer)
	c := mmUpload(t, be, make([]float32, m*n)).(*Buffer)
	defer func() { be.Free(a); be.Free(bm); be.Free(c) }()
	g := &gemmCall{op: opMatMul, batch: 1, M: m, N: n, K: k, in0: a, in1: bm, out: c, outLen: m * n}
	best, res := be.tune(g)
	if len(res) == 0 || best == nil {
		t.Fatalf("tune measured nothing")
	}
	found := false
	for _, x := range res {
		t.Logf("%s: %.3f GFLOP/s (timed %t)", x.name, x.flops/1e9, x.timed)
		found = found || x.name == best.name
	}
	if !found {
		t.Fatalf("winner %s is not among the measured %v", best.name, res)
	}
}

// TestVariantLimits checks that variants needing more workgroup memory or
// invocations than a device offers are not candidates.
func TestVariantLimits(t *testing.T) {
	cases := []struct {
		name          string
		inv, storage  uint32
		software      bool
		want, notWant []string
	}{
		{"defaults", 256, 16384, false, []string{"v2", "v3", "v4", "v5", "v6", "v7", "v8"}, []string{"v1"}},
		{"8KiB", 256, 8192, false, []string{"v4", "v5", "v7", "v8"}, []string{"v6"}},
		{"128 invocations", 128, 16384, true, []string{"v2", "v3"}, []string{"v4", "v5", "v6", "v7", "v8"}},
	}
	for _, c := range cases {
		b := &Backend{software: c.software}
		b.limits.MaxComputeInvocationsPerWorkgroup = c.inv
		b.limits.MaxComputeWorkgroupStorageSize = c.storage
		b.limits.MaxComputeWorkgroupSizeX, b.limits.MaxComputeWorkgroupSizeY = 256, 256
		got := map[string]bool{}
		for _, v := range b.candidates(&gemmCall{op: opMatMul, M: 64, N: 64, K: 64}) {
			got[v.name] = true
		}
		for _, n := range c.want {
			if !got[n] {
				t.Errorf("%s: %s is not a candidate", c.name, n)
			}
		}
		for _, n := range c.notWant {
			if got[n] {
				t.Errorf("%s: %s is a candidate", c.name, n)
			}
		}
	}
}

// TestVec4Applies checks when the vec4 variants may read a product.
func TestVec4Applies(t *testing.T) {
	v7 := variantByName("v7")
	mm := func(m, n, k int, ta, tb bool, sa, sb int) *gemmCall {
		g := &gemmCall{op: opMatMul, transA: ta, transB: tb, batch: 2, M: m, N: n, K: k}
		g.params[pStrideA], g.params[pStrideB] = uint32(sa), uint32(sb)
		return g
	}
	cases := []struct {
		name string
		g    *gemmCall
		want bool
	}{
		{"aligned", mm(5, 8, 12, false, false, 60, 96), true},
		{"K odd", mm(4, 8, 13, false, false, 52, 104), false},
		{"N odd", mm(4, 9, 12, false, false, 48, 108), false},
		{"transA needs M", mm(6, 8, 12, true, false, 72, 96), false},
		{"transB needs K", mm(5, 7, 12, false, true, 60, 84), true},
		{"stride", mm(4, 8, 12, false, false, 50, 96), false},
		{"conv", &gemmCall{op: opConvFwd, batch: 1, M: 8, N: 8, K: 8}, false},
	}
	for _, c := range cases {
		if got := v7.applies(c.g); got != c.want {
			t.Errorf("%s: applies = %t, want %t", c.name, got, c.want)
		}
	}
}

// TestSplitKHeuristic checks when split-K applies: long K with few output
// tiles on a discrete GPU, never on software adapters or onto gapped outputs.
func TestSplitKHeuristic(t *testing.T) {
	gpu := &Backend{}
	gpu.limits.MaxStorageBufferBindingSize = 1 << 30
	soft := &Backend{software: true}
	soft.limits = gpu.limits
	v5 := variantByName("v5")
	wgrad := &gemmCall{op: opConvWgrad, batch: 1, M: 256, N: 2304, K: 16 * 64 * 64, outLen: 256 * 2304}
	square := &gemmCall{op: opMatMul, batch: 1, M: 4096, N: 4096, K: 4096, outLen: 4096 * 4096}
	gapped := &gemmCall{op: opMatMul, batch: 2, M: 64, N: 64, K: 1 << 16, outLen: 2 * 64 * 64}
	gapped.params[pStrideC] = 64*64 + 5
	cases := []struct {
		name     string
		b        *Backend
		g        *gemmCall
		min, max int
	}{
		{"wgrad on gpu", gpu, wgrad, 2, 32},
		{"wgrad on software", soft, wgrad, 1, 1},
		{"square matmul", gpu, square, 1, 1},
		{"gapped C", gpu, gapped, 1, 1},
	}
	for _, c := range cases {
		if s := c.b.splitK(v5, c.g); s < c.min || s > c.max {
			t.Errorf("%s: splitK = %d, want %d..%d", c.name, s, c.min, c.max)
		}
	}
}
