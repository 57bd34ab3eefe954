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
		{gemmCall{op: opMatMul, batch: 1, M: 1024, N: 1024, K: 1024}, "matmul_io.wgsl/falsefalse/b1/m1024/n1024/k1024"},
		{gemmCall{op: opMatMul, transB: true, batch: 3, M: 1000, N: 513, K: 0}, "matmul_io.wgsl/falsetrue/b4/m1024/n1024/k1"},
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
	g := &gemmCall{op: opMatMul, batch: 1, M: m, N: n, K: k, in0: a, in1: bm, out: c}
	best, res := be.tune(g)
	if len(res) == 0 || best == nil {
		t.Fatalf("tune measured nothing")
	}
	found := false
	for _, x := range res {
		t.Logf("%s: %v", x.name, x.per)
		found = found || x.name == best.name
	}
	if !found {
		t.Fatalf("winner %s is not among the measured %v", best.name, res)
	}
}
