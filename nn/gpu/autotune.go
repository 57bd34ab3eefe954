package gpu

// Autotuning of the GEMM variants (matmul.go). On the first call in a shape
// bucket (op, transposes, and batch, M, N, K each rounded up to a power of
// two) the variants that fit the device are timed on that call's own buffers
// (one warmup, then a few repetitions, each ended by a sync) and the fastest
// is cached per adapter in memory and, natively, in a JSON file under
// os.UserCacheDir()/catsynth. The whole tune is capped in time, and small
// problems skip it and take a heuristic choice.

import (
	"fmt"
	"math/bits"
	"os"
	"sync"
	"time"
)

// VariantEnv names the environment variable that forces one kernel variant
// ("v1".."v8", or "dw" for the direct depthwise convolution kernels) wherever
// it applies (v7, v8: aligned matmuls only); tests use it to check every
// variant. Elsewhere the autotuned choice runs. An unknown name panics (it
// is a developer setting).
const VariantEnv = "CATSYNTH_GPU_VARIANT"

// Tuning limits.
const (
	// tuneMinFlops: smaller problems run the heuristic choice untimed (their
	// timings would be dominated by dispatch and sync overhead).
	tuneMinFlops = 1 << 24
	// tuneMaxTime caps one tune; variants not reached keep untimed.
	tuneMaxTime = 3 * time.Second
	// tuneReps is the number of timed repetitions after the warmup.
	tuneReps = 3
	// tuneWorkSoftware bounds the flops of one timed run on software
	// adapters: the tuner runs the first workgroups of a bigger GEMM only
	// (throughput per workgroup is what it compares; slow variants there
	// would otherwise take seconds each).
	tuneWorkSoftware = 2e8
)

// tuneVersion tags the adapter keys of the tune cache; bump it when the
// variants change, so that old winners in a cache file are ignored.
const tuneVersion = " #lab1"

// tuneCache maps adapter name (+ tuneVersion) -> bucket key -> variant name.
// It is shared by every Backend of the process (the best variant depends on
// the adapter, not on the Backend) and loaded from the cache file on first use.
var tuneCache = struct {
	sync.Mutex
	m      map[string]map[string]string
	loaded bool
}{m: map[string]map[string]string{}}

// tunePath returns the file the autotune results persist to ("" disables
// persistence). Tests replace it.
var tunePath = defaultTunePath

// forcedVariant returns the variant named by VariantEnv, or "" when unset.
func forcedVariant() string {
	v := os.Getenv(VariantEnv)
	if v == "" {
		return ""
	}
	if v == "dw" {
		return v
	}
	for _, g := range gemmVariants {
		if g.name == v {
			return v
		}
	}
	panic(fmt.Sprintf("gpu: %s=%q names no kernel variant (v1..v%d, dw)", VariantEnv, v, len(gemmVariants)))
}

func pow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// tuneKey is the shape bucket of g. Alignment is part of it (the vec4
// variants apply to aligned matmuls only).
func tuneKey(g *gemmCall) string {
	key := fmt.Sprintf("%s/%t%t/b%d/m%d/n%d/k%d", g.op, g.transA, g.transB,
		pow2(g.batch), pow2(g.M), pow2(g.N), pow2(g.K))
	if g.vec4OK() {
		key += "/a4"
	}
	return key
}

func variantByName(name string) *gemmVariant {
	for _, v := range gemmVariants {
		if v.name == name {
			return v
		}
	}
	return nil
}

// candidates lists the variants that fit the device and apply to g, the
// likely winner first. The naive v1 is the lab's baseline, never a
// candidate: it is never the fastest, and on software adapters it is slow
// enough to push one submission towards lavapipe's ~5 s limit.
func (b *Backend) candidates(g *gemmCall) []*gemmVariant {
	order := []string{"v7", "v5", "v6", "v8", "v4", "v3", "v2"}
	if b.software {
		order = []string{"v3", "v2", "v4", "v5", "v6", "v7", "v8"}
	}
	var out []*gemmVariant
	for _, n := range order {
		if v := variantByName(n); b.fits(v) && v.applies(g) {
			out = append(out, v)
		}
	}
	return out
}

// heuristic picks a variant without timing: register blocking on software
// adapters and for thin problems, big tiles for big ones.
func (b *Backend) heuristic(g *gemmCall) *gemmVariant {
	c := b.candidates(g)
	if b.software || g.M*g.N*g.batch < 64*64*64 {
		for _, v := range c {
			if v.name == "v2" {
				return v
			}
		}
	}
	if g.M < 128 || g.N < 128 {
		for _, v := range c {
			if v.name == "v4" {
				return v
			}
		}
	}
	return c[0]
}

// pickGEMM returns the variant to run g with: the forced one, the cached
// winner of g's bucket, the heuristic for small problems, or the winner of a
// tune run now on g's buffers.
func (b *Backend) pickGEMM(g *gemmCall) *gemmVariant {
	if f := forcedVariant(); f != "" {
		if v := variantByName(f); v != nil && v.applies(g) {
			if !b.fits(v) {
				panic(fmt.Sprintf("gpu: %s=%s does not fit this device's limits", VariantEnv, f))
			}
			return v
		}
	}
	if g.flops() < tuneMinFlops || (b.software && !tuneSoftware) {
		return b.heuristic(g)
	}
	adapter, key := b.name+tuneVersion, tuneKey(g)
	tuneCache.Lock()
	if !tuneCache.loaded {
		tuneCache.loaded = true
		loadTuneFile(tunePath(), tuneCache.m)
	}
	name := tuneCache.m[adapter][key]
	tuneCache.Unlock()
	if v := variantByName(name); v != nil && b.fits(v) && v.applies(g) {
		return v
	}
	v, _ := b.tune(g)
	tuneCache.Lock()
	if tuneCache.m[adapter] == nil {
		tuneCache.m[adapter] = map[string]string{}
	}
	tuneCache.m[adapter][key] = v.name
	saveTuneFile(tunePath(), tuneCache.m)
	tuneCache.Unlock()
	return v
}

// tuneResult is the measured speed of one variant.
type tuneResult struct {
	name  string
	flops float64 // per second
	timed bool    // false: only the warmup ran (clearly slower than the best)
}

// tune times the candidates on g (whose output it overwrites, as the call
// itself would) and returns the fastest with every measurement.
func (b *Backend) tune(g *gemmCall) (*gemmVariant, []tuneResult) {
	cands := b.candidates(g)
	if b.software {
		part := *g
		part.maxWork = tuneWorkSoftware
		g = &part
	}
	one := make([]float32, 1)
	wait := func() { _ = b.Download(g.out, one) }
	wait() // queued work of earlier calls must not count
	start := time.Now()
	var best *gemmVariant
	var bestRate float64
	var res []tuneResult
	for _, v := range cands {
		if best != nil && time.Since(start) > tuneMaxTime {
			break
		}
		work := g.work(v)
		t0 := time.Now()
		b.runGEMM(v, g) // warmup, includes compiling
		wait()
		warm := time.Since(t0)
		if best != nil && work/warm.Seconds() < bestRate/4 && warm > 100*time.Millisecond {
			res = append(res, tuneResult{v.name, work / warm.Seconds(), false})
			continue // clearly slower: not worth the repetitions
		}
		reps := tuneReps
		if warm > 300*time.Millisecond {
			reps = 1
		}
		t0 = time.Now()
		for range reps {
			b.runGEMM(v, g)
		}
		wait()
		rate := work * float64(reps) / time.Since(t0).Seconds()
		res = append(res, tuneResult{v.name, rate, true})
		if best == nil || rate > bestRate {
			best, bestRate = v, rate
		}
	}
	return best, res
}
