package gpu

// Convolutions as implicit GEMMs (no im2col buffer): the operand files
// shaders/conv_{fwd,dgrad,wgrad}_io.wgsl gather A and B on the fly and the
// GEMM variants of matmul.go do the arithmetic, one GEMM batch item per
// group. Depthwise convolutions (Groups == C) run direct kernels
// (shaders/conv_depthwise.wgsl) unless CATSYNTH_GPU_VARIANT forces a GEMM
// variant.

import (
	"fmt"

	"catsynth/nn/backend"
)

// Indices of the conv words of Params (shaders/matmul_common.wgsl).
const (
	pImgs, pC, pH, pW, pO = 11, 12, 13, 14, 15
	pKH, pKW, pOH, pOW    = 16, 17, 18, 19
	pSH, pSW, pPH, pPW    = 20, 21, 22, 23
	pCG, pOG, pKHW, pOHW  = 24, 25, 26, 27
	pHP, pWP, pKHP, pKWP  = 31, 32, 33, 34
	depthwiseFile         = "conv_depthwise.wgsl"
	depthwiseWG           = 64 // WG in conv_depthwise.wgsl
)

// checkConv panics unless p is a valid convolution whose buffers have the
// sizes it needs: shape mistakes are programmer errors at this level (nn
// checks user-facing shapes before calling a backend).
func checkConv(op string, p backend.Conv, x, w, y *Buffer) {
	ok := p.N >= 0 && p.C > 0 && p.H > 0 && p.W > 0 && p.O > 0 && p.KH > 0 && p.KW > 0 &&
		p.StrideH > 0 && p.StrideW > 0 && p.PadH >= 0 && p.PadW >= 0 && p.Groups > 0 &&
		p.C%p.Groups == 0 && p.O%p.Groups == 0
	if !ok || p.H+2*p.PadH < p.KH || p.W+2*p.PadW < p.KW {
		panic(fmt.Sprintf("gpu: %s: invalid convolution %+v", op, p))
	}
	need := func(what string, b *Buffer, n int) {
		if b.n < n {
			panic(fmt.Sprintf("gpu: %s: %s holds %d values, %+v needs %d", op, what, b.n, p, n))
		}
	}
	need("x", x, p.N*p.C*p.H*p.W)
	need("w", w, p.O*(p.C/p.Groups)*p.KH*p.KW)
	need("y", y, p.N*p.O*p.OH()*p.OW())
}

// convParams fills the conv words of a Params block.
func convParams(p backend.Conv) [nParams]uint32 {
	var u [nParams]uint32
	oh, ow := p.OH(), p.OW()
	u[pImgs], u[pC], u[pH], u[pW], u[pO] = uint32(p.N), uint32(p.C), uint32(p.H), uint32(p.W), uint32(p.O)
	u[pKH], u[pKW], u[pOH], u[pOW] = uint32(p.KH), uint32(p.KW), uint32(oh), uint32(ow)
	u[pSH], u[pSW] = uint32(int32(p.StrideH)), uint32(int32(p.StrideW))
	u[pPH], u[pPW] = uint32(int32(p.PadH)), uint32(int32(p.PadW))
	u[pCG], u[pOG] = uint32(p.C/p.Groups), uint32(p.O/p.Groups)
	u[pKHW], u[pOHW] = uint32(p.KH*p.KW), uint32(oh*ow)
	u[pHP], u[pWP] = uint32(ceilDiv(p.H, p.StrideH)), uint32(ceilDiv(p.W, p.StrideW))
	u[pKHP], u[pKWP] = uint32(ceilDiv(p.KH, p.StrideH)), uint32(ceilDiv(p.KW, p.StrideW))
	return u
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// useDepthwise reports whether p runs the direct depthwise kernels.
func useDepthwise(p backend.Conv) bool {
	if p.Groups != p.C || p.Groups == 1 {
		return false
	}
	f := forcedVariant()
	return f == "" || f == "dw"
}

// conv2d computes y = conv(x, w) (cross-correlation, no bias); see backend.Conv.
// As a GEMM per group g: y_g (O/G x N*OH*OW) = w_g (O/G x C/G*KH*KW) * im2col(x_g).
func (b *Backend) conv2d(y, x, w *Buffer, p backend.Conv) {
	b.conv2dWith(y, x, w, p, nil)
}

// conv2dWith is conv2d whose GEMM kernel applies the epilogue epi (nil for
// none; depthwise convolutions take none, see Conv2DEpilogue).
func (b *Backend) conv2dWith(y, x, w *Buffer, p backend.Conv, epi *convEpilogue) {
	checkConv("Conv2D", p, x, w, y)
	if p.N == 0 {
		return
	}
	cg, og := p.C/p.Groups, p.O/p.Groups
	if useDepthwise(p) {
		b.depthwise("dw_fwd", p, p.N*p.O*p.OH()*p.OW(), 2*p.KH*p.KW, x, w, y)
		return
	}
	g := &gemmCall{op: opConvFwd, batch: p.Groups, M: og, N: p.N * p.OH() * p.OW(), K: cg * p.KH * p.KW,
		params: convParams(p), in0: x, in1: w, out: y, outLen: p.N * p.O * p.OH() * p.OW(), epi: epi}
	b.gemm(g)
}

// conv2dGradInput computes dx (overwritten) from dy and w. As a GEMM per
// group and stride phase (ih mod SH, iw mod SW): dx_g,phase (C/G x N*HP*WP) =
// w_g,phase^T (C/G x O/G*KHP*KWP) * B, where B gathers the dy values that the
// phase's kernel taps send to its input pixels (shaders/conv_dgrad_io.wgsl);
// HP = ceil(H/SH), KHP = ceil(KH/SH), likewise for widths.
func (b *Backend) conv2dGradInput(dx, dy, w *Buffer, p backend.Conv) {
	checkConv("Conv2DGradInput", p, dx, w, dy)
	if p.N == 0 {
		return
	}
	cg, og := p.C/p.Groups, p.O/p.Groups
	if useDepthwise(p) {
		b.depthwise("dw_dgrad", p, p.N*p.C*p.H*p.W, 2*p.KH*p.KW*og, dy, w, dx)
		return
	}
	g := &gemmCall{op: opConvDgrad, batch: p.Groups * p.StrideH * p.StrideW, M: cg,
		N:      p.N * ceilDiv(p.H, p.StrideH) * ceilDiv(p.W, p.StrideW),
		K:      og * ceilDiv(p.KH, p.StrideH) * ceilDiv(p.KW, p.StrideW),
		params: convParams(p), in0: dy, in1: w, out: dx, outLen: p.N * p.C * p.H * p.W}
	b.gemm(g)
}

// conv2dGradWeight computes dw (overwritten) from x and dy. As a GEMM per
// group reducing over N*OH*OW: dw_g (O/G x C/G*KH*KW) = dy_g (O/G x N*OH*OW) * im2col(x_g)^T.
func (b *Backend) conv2dGradWeight(dw, x, dy *Buffer, p backend.Conv) {
	checkConv("Conv2DGradWeight", p, x, dw, dy)
	cg, og := p.C/p.Groups, p.O/p.Groups
	if p.N == 0 {
		b.Fill(dw, p.O*cg*p.KH*p.KW, 0)
		return
	}
	if useDepthwise(p) {
		b.depthwise("dw_wgrad", p, p.O*p.KH*p.KW, 2*p.N*p.OH()*p.OW(), x, dy, dw)
		return
	}
	g := &gemmCall{op: opConvWgrad, batch: p.Groups, M: og, N: cg * p.KH * p.KW, K: p.N * p.OH() * p.OW(),
		params: convParams(p), in0: x, in1: dy, out: dw, outLen: p.O * cg * p.KH * p.KW}
	b.gemm(g)
}

// depthwise records the direct depthwise kernel entry over n outputs, each
// costing perOut flops, in dispatches of at most pieceWork flops. dw_wgrad
// runs one workgroup per output; the others one invocation per output.
func (b *Backend) depthwise(entry string, p backend.Conv, n, perOut int, in0, in1, out *Buffer) {
	k := b.kernelFiles([]string{"matmul_common.wgsl", depthwiseFile}, entry, 2, 1, nil)
	u := convParams(p)
	step := max(depthwiseWG, int(b.pieceWork()/float64(max(perOut, 1)))/depthwiseWG*depthwiseWG)
	wg := depthwiseWG
	if entry == "dw_wgrad" {
		wg = 1
	}
	for off := 0; off < n; off += step {
		cnt := min(step, n-off)
		u[pWgOffset], u[pWgEnd] = uint32(off), uint32(off+cnt)
		words := u
		b.dispatchWork(k, b.charge(float64(cnt)*float64(perOut)), words[:], groups1D(cnt, wg), in0, in1, out)
	}
}
