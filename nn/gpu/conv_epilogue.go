package gpu

// The conv epilogue y = act(conv(x, w)*scale + shift): applied by the
// implicit-GEMM forward kernel's storeC (shaders/conv_fwd_epilogue.wgsl),
// so the bias and activation of a conv cost no dispatch; where the conv
// does not run that kernel (depthwise, split-K) it is one in-place pass
// (shaders/conv_epilogue.wgsl) after it.

import (
	"catsynth/nn/backend"
)

var _ backend.ConvEpilogue = (*Backend)(nil)

// convEpilogue is a checked epilogue with its buffers (nil when unused).
type convEpilogue struct {
	backend.Epilogue
	scale, shift *Buffer
	o, s         int // output channels, pixels per output plane
}

// consts returns the template constants of the epilogue files.
func (e *convEpilogue) consts(into map[string]float64) {
	into["HAS_SCALE"] = boolF(e.Scale)
	into["HAS_SHIFT"] = boolF(e.Shift)
	into["ACT"] = float64(e.Act)
	into["SLOPE"] = float64(e.Slope)
}

// operands returns the scale and shift buffers to bind, with placeholder
// for the missing ones (never read: the kernel's flags are off).
func (e *convEpilogue) operands(placeholder *Buffer) (scale, shift *Buffer) {
	scale, shift = e.scale, e.shift
	if scale == nil {
		scale = placeholder
	}
	if shift == nil {
		shift = placeholder
	}
	return scale, shift
}

// kernelFiles completes the source files, constants, read count and
// buffers of a conv forward GEMM g: the plain bindings, or the epilogue's
// when e is not nil.
func (e *convEpilogue) kernelFiles(files []string, consts map[string]float64, g *gemmCall) ([]string, int, []*Buffer) {
	if e == nil {
		return append(files, "conv_fwd_plain.wgsl"), 2, []*Buffer{g.in0, g.in1, g.out}
	}
	e.consts(consts)
	scale, shift := e.operands(g.in1)
	return append(files, "conv_fwd_epilogue.wgsl", "epilogue_act.wgsl"), 4, []*Buffer{g.in0, g.in1, scale, shift, g.out}
}

// epiPass applies e in place to the first n values of y; x (the conv's
// input, any buffer but y) stands in for a missing scale or shift.
func (b *Backend) epiPass(y, x *Buffer, e *convEpilogue, n int) {
	if n == 0 {
		return
	}
	consts := map[string]float64{}
	e.consts(consts)
	k := b.kernelFiles([]string{"conv_epilogue.wgsl", "epilogue_act.wgsl"}, "epilogue", 2, 1, consts)
	scale, shift := e.operands(x)
	b.dispatch(k, []uint32{uint32(n), uint32(e.o), uint32(e.s), 0}, groups1D(n, wgSize), scale, shift, y)
}

// Conv2DEpilogue implements backend.ConvEpilogue.
func (b *Backend) Conv2DEpilogue(y, x, w, scale, shift backend.Buffer, p backend.Conv, e backend.Epilogue) {
	e.Check("gpu: Conv2DEpilogue")
	by, bx, bw := b.buf(y), b.buf(x), b.buf(w)
	checkConv("Conv2DEpilogue", p, bx, bw, by)
	epi := &convEpilogue{Epilogue: e, o: p.O, s: p.OH() * p.OW()}
	if e.Scale {
		epi.scale = b.buf(scale)
		checkLen("Conv2DEpilogue", "scale", epi.scale, p.O)
	}
	if e.Shift {
		epi.shift = b.buf(shift)
		checkLen("Conv2DEpilogue", "shift", epi.shift, p.O)
	}
	if p.N == 0 {
		return
	}
	if useDepthwise(p) {
		b.conv2d(by, bx, bw, p)
		b.epiPass(by, bx, epi, p.N*p.O*epi.s)
		return
	}
	b.conv2dWith(by, bx, bw, p, epi)
}
