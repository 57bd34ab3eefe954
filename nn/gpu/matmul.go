package gpu

// The GEMM kernel lab: matmul and the three convolutions are all computed by
// one family of GEMM kernel bodies (shaders/matmul_{naive,regblock,tiled}.wgsl)
// combined with an operand file that says how A and B are read and C is
// written (shaders/matmul_io.wgsl, shaders/conv_*_io.wgsl). A kernel is
// matmul_common.wgsl + an operand file + a body, compiled per (operand file,
// variant, constants). Which variant runs is decided per shape bucket by the
// autotuner (autotune.go). Tests force each variant in turn (matmul_test.go,
// conv_test.go); benchmarks are in matmul_bench_test.go and conv_bench_test.go.
//
// Variants (llm.c style, numbered):
//
//	v1  naive: one output per invocation, 8x8 invocations.
//	v2  register-blocked, 4x4 outputs per invocation, 16x4 invocations (16x64
//	    tile), no workgroup memory: for software adapters.
//	v3  register-blocked, 8x4 outputs per invocation, 8x8 invocations (64x32).
//	v4  workgroup-memory tiles 64x64, BK 16, 4x4 per invocation (256 inv.).
//	v5  workgroup-memory tiles 128x128, BK 8, 8x8 per invocation (256 inv.).
//	v6  workgroup-memory tiles 128x128, BK 16, 8x8 per invocation (16 KiB).
//	v7  v5 staging tiles with vec4 loads (matmul only, lengths, strides
//	    multiple of 4).
//	v8  v4 staging tiles with vec4 loads (same conditions).

import (
	"fmt"

	"catsynth/nn/backend"
)

// gemmVariant is one GEMM kernel body with its template constants.
type gemmVariant struct {
	name     string
	body     string             // shaders/ file
	consts   map[string]float64 // template constants of the body
	bm, bn   int                // output tile of one workgroup
	threads  int                // invocations per workgroup
	wgX, wgY int                // workgroup size
	shared   int                // workgroup memory bytes
	stage    string             // staging file of a tiled body, "" for none
	vec4     bool               // reads matmul operands as vec4 (matmul_io4.wgsl)
}

func tiled(name string, bm, bn, bk, tm, tn int) *gemmVariant {
	return &gemmVariant{
		name: name, body: "matmul_tiled.wgsl", bm: bm, bn: bn,
		consts: map[string]float64{
			"BM": float64(bm), "BN": float64(bn), "BK": float64(bk), "TM": float64(tm), "TN": float64(tn),
			"ACC_N": float64(tm * tn / 4), "AS_N": float64(bk * bm), "BS_N": float64(bk * bn),
		},
		threads: (bm / tm) * (bn / tn), wgX: bn / tn, wgY: bm / tm, shared: 4 * bk * (bm + bn),
		stage: "matmul_stage.wgsl",
	}
}

// tiled4 is tiled with vec4 loads of the matmul operands.
func tiled4(name string, bm, bn, bk, tm, tn int) *gemmVariant {
	v := tiled(name, bm, bn, bk, tm, tn)
	v.stage, v.vec4 = "matmul_stage4.wgsl", true
	return v
}

// regBlocked is a register-blocked variant (shaders/matmul_regblock.wgsl): each of
// wgX x wgY invocations computes tm x 4 outputs.
func regBlocked(name string, wgX, wgY, tm int) *gemmVariant {
	return &gemmVariant{
		name: name, body: "matmul_regblock.wgsl", bm: wgY * tm, bn: wgX * 4,
		consts:  map[string]float64{"WG_X": float64(wgX), "WG_Y": float64(wgY), "TM": float64(tm)},
		threads: wgX * wgY, wgX: wgX, wgY: wgY,
	}
}

// gemmVariants lists every GEMM variant in lab order.
var gemmVariants = []*gemmVariant{
	{name: "v1", body: "matmul_naive.wgsl", bm: 8, bn: 8, threads: 64, wgX: 8, wgY: 8,
		consts: map[string]float64{"BM": 8, "BN": 8}},
	regBlocked("v2", 16, 4, 4),
	regBlocked("v3", 8, 8, 8),
	tiled("v4", 64, 64, 16, 4, 4),
	tiled("v5", 128, 128, 8, 8, 8),
	tiled("v6", 128, 128, 16, 8, 8),
	tiled4("v7", 128, 128, 8, 8, 8),
	tiled4("v8", 64, 64, 16, 4, 4),
}

// gemmOp names the operand file of a GEMM-shaped kernel.
type gemmOp string

const (
	opMatMul    gemmOp = "matmul_io.wgsl"
	opConvFwd   gemmOp = "conv_fwd_io.wgsl"
	opConvDgrad gemmOp = "conv_dgrad_io.wgsl"
	opConvWgrad gemmOp = "conv_wgrad_io.wgsl"
)

// Indices of the Params words (shaders/matmul_common.wgsl) set per dispatch.
const (
	pM, pN, pK, pBatch           = 0, 1, 2, 3
	pTilesM, pTilesN             = 4, 5
	pWgOffset, pWgEnd            = 6, 7
	pStrideA, pStrideB, pStrideC = 8, 9, 10
	pKOff, pCOff, pKFull         = 28, 29, 30
	nParams                      = 36
)

// gemmCall is one GEMM-shaped problem: batch products C (M x N) = A (M x K) * B (K x N)
// with operands read as the op's operand file says.
type gemmCall struct {
	op             gemmOp
	transA, transB bool // matmul only
	batch, M, N, K int
	params         [nParams]uint32 // op-specific words filled; tiling words set by run
	in0, in1, out  *Buffer
	outLen         int // values of out written (its contiguous extent)
	// maxWork, when positive, stops after the workgroups that fit in this
	// many flops (the tuner times part of a big GEMM on slow adapters).
	maxWork float64
	// epi, for opConvFwd, is the epilogue its storeC applies, or nil.
	epi *convEpilogue
}

func (g *gemmCall) flops() float64 {
	return 2 * float64(g.batch) * float64(g.M) * float64(g.N) * float64(g.K)
}

// work is the flops a run of g with v does: all of them, or those of the
// first workgroups that fit in maxWork (counting edge tiles as full).
func (g *gemmCall) work(v *gemmVariant) float64 {
	if g.maxWork <= 0 {
		return g.flops()
	}
	perWG := 2 * float64(v.bm) * float64(v.bn) * float64(max(g.K, 1))
	total := ((g.M + v.bm - 1) / v.bm) * ((g.N + v.bn - 1) / v.bn) * g.batch
	return float64(min(total, max(1, int(g.maxWork/perWG)))) * perWG
}

// applies reports whether v can run g: the vec4 variants read matmul
// operands 4 at a time, which needs the contiguous dimensions and batch
// strides of A and B to be multiples of 4.
func (v *gemmVariant) applies(g *gemmCall) bool {
	return !v.vec4 || g.vec4OK()
}

// vec4OK reports whether g is a matmul whose A and B may be read as vec4s.
func (g *gemmCall) vec4OK() bool {
	if g.op != opMatMul {
		return false
	}
	lenA, lenB := g.K, g.N
	if g.transA {
		lenA = g.M
	}
	if g.transB {
		lenB = g.K
	}
	return lenA%4 == 0 && lenB%4 == 0 && g.params[pStrideA]%4 == 0 && g.params[pStrideB]%4 == 0
}

// fits reports whether the device can run v.
func (b *Backend) fits(v *gemmVariant) bool {
	lim := b.limits
	inv, shared := int(lim.MaxComputeInvocationsPerWorkgroup), int(lim.MaxComputeWorkgroupStorageSize)
	sx, sy := int(lim.MaxComputeWorkgroupSizeX), int(lim.MaxComputeWorkgroupSizeY)
	if inv == 0 { // unknown limits: the WebGPU defaults
		inv, shared, sx, sy = 256, 16384, 256, 256
	}
	return v.threads <= inv && v.shared <= shared && v.wgX <= sx && v.wgY <= sy
}

// pieceWorkLimit overrides pieceWork when positive (tests use tiny pieces).
var pieceWorkLimit float64

// pieceWork is the most flops one dispatch of a heavy kernel may carry:
// lavapipe kills submissions over ~5 s, and the recorder's budget submits
// between dispatches, not inside one.
func (b *Backend) pieceWork() float64 {
	if pieceWorkLimit > 0 {
		return pieceWorkLimit
	}
	if b.software {
		return 1.25e8
	}
	return 1e11
}

// softwareCharge multiplies the flops a GEMM dispatch charges to the
// recorder's submission budget on software adapters. The ~5 s lavapipe
// limit (one submission running longer kills the process) seems to apply to the host's wait for all queued work,
// and under CPU contention lavapipe falls to 0.1-0.5 GFLOP/s on these
// kernels (seen on 2 shared cores, with crashes of heavy benchmarks), so a
// budget sized for 1-10 GFLOP/s is too much there.
const softwareCharge = 4

// charge is the budget charge of a GEMM-shaped dispatch of the given flops.
func (b *Backend) charge(flops float64) float64 {
	if b.software {
		return flops * softwareCharge
	}
	return flops
}

// splitKForce, when positive, replaces the split-K heuristic (tests).
var splitKForce int

// splitK returns into how many K ranges g is split when run with v: on a
// discrete GPU a GEMM with few output tiles and a long K (conv grad-weight,
// deep layers at low resolution) leaves most compute units idle, so its K
// is cut into ranges computed side by side into a scratch buffer and summed.
// Software adapters have few cores and never split.
func (b *Backend) splitK(v *gemmVariant, g *gemmCall) int {
	if g.op == opMatMul && g.batch > 1 && g.params[pStrideC] != uint32(g.M*g.N) {
		return 1 // the summing Reduce writes C contiguously
	}
	if splitKForce > 0 {
		return min(splitKForce, max(g.K, 1))
	}
	if b.software {
		return 1
	}
	const targetTiles, minChunk, maxSplit = 256, 1024, 32
	tiles := ((g.M + v.bm - 1) / v.bm) * ((g.N + v.bn - 1) / v.bn) * g.batch
	if tiles >= targetTiles/2 {
		return 1
	}
	s := min((targetTiles+tiles-1)/tiles, g.K/minChunk, maxSplit)
	scratch := float64(s) * float64(g.outLen) * 4
	if s < 2 || scratch > 256<<20 || scratch > float64(b.bindingLimit()) {
		return 1
	}
	return s
}

// runGEMM records g with variant v, split-K as splitK says.
func (b *Backend) runGEMM(v *gemmVariant, g *gemmCall) {
	if g.batch == 0 || g.M == 0 || g.N == 0 {
		return
	}
	if s := b.splitK(v, g); s > 1 && g.epi != nil {
		// The parts are plain convolutions summed by a Reduce; the epilogue
		// follows as its own pass.
		plain := *g
		plain.epi = nil
		b.runGEMM(v, &plain)
		b.epiPass(g.out, g.in0, g.epi, g.outLen)
		return
	} else if s > 1 {
		chunk := (g.K + s - 1) / s
		chunk = (chunk + 3) &^ 3      // k offsets stay multiples of 4 (vec4 loads)
		s = (g.K + chunk - 1) / chunk // no empty range
		n := g.outLen
		scratch, err := b.alloc(s * n)
		if err == nil {
			for i := 0; i < s; i++ {
				part := *g
				part.K = min(chunk, g.K-i*chunk)
				part.params[pKOff], part.params[pCOff] = uint32(i*chunk), uint32(i*n)
				part.out = scratch
				b.runGEMMPart(v, &part, g.K)
			}
			b.Reduce(backend.Sum, g.out, scratch, backend.Reduction{Shape: []int{s, n}, Axes: []bool{true, false}})
			b.Free(scratch)
			return
		}
	}
	b.runGEMMPart(v, g, g.K)
}

// runGEMMPart records g (K of kFull, from params[pKOff]) with variant v,
// split into dispatches of at most pieceWork flops, each over a folded 2D
// grid of workgroups.
func (b *Backend) runGEMMPart(v *gemmVariant, g *gemmCall, kFull int) {
	consts := map[string]float64{}
	for k, x := range v.consts {
		consts[k] = x
	}
	if g.op == opMatMul {
		consts["TRANS_A"] = boolF(g.transA)
		consts["TRANS_B"] = boolF(g.transB)
	}
	files := []string{"matmul_common.wgsl", string(g.op), v.body}
	if v.vec4 {
		files[1] = "matmul_io4.wgsl"
	}
	if v.stage != "" {
		files = append(files, v.stage)
	}
	reads, bufs := 2, []*Buffer{g.in0, g.in1, g.out}
	if g.op == opConvFwd {
		files, reads, bufs = g.epi.kernelFiles(files, consts, g)
	}
	k := b.kernelFiles(files, "main", reads, 1, consts)
	tilesM := (g.M + v.bm - 1) / v.bm
	tilesN := (g.N + v.bn - 1) / v.bn
	total := tilesM * tilesN * g.batch
	perWG := 2 * float64(v.bm) * float64(v.bn) * float64(max(g.K, 1))
	if g.maxWork > 0 {
		total = min(total, max(1, int(g.maxWork/perWG)))
	}
	step := max(1, int(b.pieceWork()/perWG))
	u := g.params
	u[pM], u[pN], u[pK], u[pBatch] = uint32(g.M), uint32(g.N), uint32(g.K), uint32(g.batch)
	u[pTilesM], u[pTilesN] = uint32(tilesM), uint32(tilesN)
	u[pKFull] = uint32(kFull)
	for off := 0; off < total; off += step {
		cnt := min(step, total-off)
		u[pWgOffset], u[pWgEnd] = uint32(off), uint32(off+cnt)
		words := u // a copy per dispatch
		b.dispatchWork(k, b.charge(float64(cnt)*perWG), words[:], groups1D(cnt, 1), bufs...)
	}
}

func boolF(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// matmul computes batched C = op(A) * op(B); see backend.MatMul. Buffer
// sizes too small for p are programmer errors and panic.
func (b *Backend) matmul(c, a, bm *Buffer, p backend.MatMul) {
	if p.Batch < 0 || p.M < 0 || p.N < 0 || p.K < 0 || p.StrideA < 0 || p.StrideB < 0 || p.StrideC < 0 {
		panic(fmt.Sprintf("gpu: MatMul: negative size in %+v", p))
	}
	if p.Batch == 0 || p.M == 0 || p.N == 0 {
		return
	}
	need := func(what string, buf *Buffer, stride, size int) {
		if n := (p.Batch-1)*stride + size; buf.n < n {
			panic(fmt.Sprintf("gpu: MatMul: %s holds %d values, %+v needs %d", what, buf.n, p, n))
		}
	}
	need("A", a, p.StrideA, p.M*p.K)
	need("B", bm, p.StrideB, p.K*p.N)
	need("C", c, p.StrideC, p.M*p.N)
	g := &gemmCall{
		op: opMatMul, transA: p.TransA, transB: p.TransB,
		batch: p.Batch, M: p.M, N: p.N, K: p.K,
		in0: a, in1: bm, out: c, outLen: p.Batch * p.M * p.N,
	}
	g.params[pStrideA], g.params[pStrideB], g.params[pStrideC] = uint32(p.StrideA), uint32(p.StrideB), uint32(p.StrideC)
	b.gemm(g)
}

// gemm runs g with the variant the autotuner picks for its shape bucket.
func (b *Backend) gemm(g *gemmCall) {
	if g.batch == 0 || g.M == 0 || g.N == 0 {
		return
	}
	v := b.pickGEMM(g)
	b.runGEMM(v, g)
}
