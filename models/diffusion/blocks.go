package diffusion

import (
	"math"

	"catsynth/nn"
)

// The U-Net's building blocks, following guided_diffusion/unet.py of the
// official SDM code: ResBlock (encoder, plain group norms), SDMResBlock
// (middle and decoder, SPADE group norms), AttentionBlock, Downsample and
// Upsample. Each registers its tensors under the official module names.

// normEps is PyTorch's GroupNorm default.
const normEps = 1e-5

// cond holds what blocks read besides their input: the label map, resized
// once per resolution and forward, and the timestep embedding (B, E) with
// its SiLU (every block's emb_layers starts with one).
type cond struct {
	y       *nn.Tensor
	resized map[[2]int]*nn.Tensor
	embAct  *nn.Tensor
}

// labels returns the label map at h x w (nearest, as F.interpolate).
func (c *cond) labels(h, w int) *nn.Tensor {
	k := [2]int{h, w}
	if s, ok := c.resized[k]; ok {
		return s
	}
	s := nn.ResizeNearest(c.y, h, w)
	c.resized[k] = s
	return s
}

// layer is one module of a TimestepEmbedSequential.
type layer interface {
	forward(x *nn.Tensor, c *cond) *nn.Tensor
}

// norm is a group norm that may read the label map.
type norm interface {
	apply(x *nn.Tensor, c *cond) *nn.Tensor
}

// groupNorm is GroupNorm32 with affine weight and bias.
type groupNorm struct{ *nn.GroupNormLayer }

func newGroupNorm(ps *nn.Params, cfg Config, ch int) groupNorm {
	return groupNorm{nn.NewGroupNorm(ps, cfg.groups(ch), ch, true)}
}

func (g groupNorm) apply(x *nn.Tensor, _ *cond) *nn.Tensor { return g.Forward(x) }

// spadeGroupNorm is SPADEGroupNorm(norm_nc, label_nc): group norm without
// affine parameters, then x*(1+gamma)+beta with gamma, beta =
// conv3x3(relu(conv3x3(label map at x's size))). Names: mlp_shared.0,
// mlp_gamma, mlp_beta (the norm itself has none).
type spadeGroupNorm struct {
	groups              int
	shared, gamma, beta *nn.Conv2d
}

func newSPADEGroupNorm(ps *nn.Params, cfg Config, ch int) *spadeGroupNorm {
	hid := cfg.SPADEHidden
	return &spadeGroupNorm{
		groups: cfg.groups(ch),
		shared: nn.NewConv2d(ps.Sub("mlp_shared.0"), cfg.NumClasses, hid, 3, 1, 1, true),
		gamma:  nn.NewConv2d(ps.Sub("mlp_gamma"), hid, ch, 3, 1, 1, true),
		beta:   nn.NewConv2d(ps.Sub("mlp_beta"), hid, ch, 3, 1, 1, true),
	}
}

func (s *spadeGroupNorm) apply(x *nn.Tensor, c *cond) *nn.Tensor {
	n := nn.GroupNorm(x, s.groups, nil, nil, normEps)
	a := nn.Relu(s.shared.Forward(c.labels(x.Dim(2), x.Dim(3))))
	// The gamma and beta convolutions' biases go to the modulation.
	gamma := nn.Conv2D(a, s.gamma.Weight(), nil, s.gamma.Opts)
	beta := nn.Conv2D(a, s.beta.Weight(), nil, s.beta.Opts)
	return nn.ModulateBias(n, gamma, beta, s.gamma.B, s.beta.B, 1)
}

// Resampling of a residual block.
const (
	keepSize = iota
	down     // 2x2 average pooling of both paths (Downsample, use_conv=False)
	up       // nearest 2x upsampling of both paths (Upsample, use_conv=False)
)

// resBlock is ResBlock or SDMResBlock (they differ in their norms and
// names only):
//
//	h = conv(resample(silu(in_norm(x))));  x = resample(x)
//	h = out_norm(h)*(1+scale)+shift          (use_scale_shift_norm)
//	  | out_norm(h + emb)                    (otherwise)
//	out = skip(x) + zero_conv(silu(h))
//
// with (scale, shift) = emb_layers.1(silu(emb)) per channel. Dropout is
// left out: every SDM config trains with dropout 0.
type resBlock struct {
	inNorm, outNorm norm
	inConv, outConv *nn.Conv2d
	emb             *nn.LinearLayer
	skip            *nn.Conv2d // skip_connection when the width changes
	resample        int
	scaleShift      bool
	out             int
}

// zeroConv is zero_module(conv3x3): weight and bias start at zero, so a
// fresh block is the identity (and a fresh model outputs 0).
func zeroConv(ps *nn.Params, in, out int) *nn.Conv2d {
	l := nn.NewConv2dConfig(ps, nn.Conv2dConfig{In: in, Out: out, KH: 3, Opts: nn.ConvOpts{Pad: 1}, Bias: true, Init: nn.ZerosInit})
	l.B.Upload(make([]float32, out))
	return l
}

func newBlockTail(ps *nn.Params, cfg Config, b *resBlock, in, out int, inConv, embName, outConv string) *resBlock {
	b.out, b.scaleShift = out, cfg.UseScaleShiftNorm
	b.inConv = nn.NewConv2d(ps.Sub(inConv), in, out, 3, 1, 1, true)
	embOut := out
	if cfg.UseScaleShiftNorm {
		embOut = 2 * out
	}
	b.emb = nn.NewLinear(ps.Sub(embName), 4*cfg.NumChannels, embOut, true)
	b.outConv = zeroConv(ps.Sub(outConv), out, out)
	if in != out {
		b.skip = nn.NewConv2d(ps.Sub("skip_connection"), in, out, 1, 1, 0, true)
	}
	return b
}

// newResBlock registers an encoder ResBlock: in_layers.{0 (GN), 2 (conv)},
// emb_layers.1, out_layers.{0 (GN), 3 (zero conv)}, skip_connection.
func newResBlock(ps *nn.Params, cfg Config, in, out, resample int) *resBlock {
	b := &resBlock{resample: resample,
		inNorm:  newGroupNorm(ps.Sub("in_layers.0"), cfg, in),
		outNorm: newGroupNorm(ps.Sub("out_layers.0"), cfg, out)}
	return newBlockTail(ps, cfg, b, in, out, "in_layers.2", "emb_layers.1", "out_layers.3")
}

// newSDMResBlock registers an SDMResBlock: in_norm.*, in_layers.1,
// emb_layers.1, out_norm.*, out_layers.2 (zero conv), skip_connection.
func newSDMResBlock(ps *nn.Params, cfg Config, in, out, resample int) *resBlock {
	b := &resBlock{resample: resample,
		inNorm:  newSPADEGroupNorm(ps.Sub("in_norm"), cfg, in),
		outNorm: newSPADEGroupNorm(ps.Sub("out_norm"), cfg, out)}
	return newBlockTail(ps, cfg, b, in, out, "in_layers.1", "emb_layers.1", "out_layers.2")
}

func (b *resBlock) forward(x *nn.Tensor, c *cond) *nn.Tensor {
	h := nn.Silu(b.inNorm.apply(x, c))
	switch b.resample {
	case down:
		h, x = nn.AvgPool2x2(h), nn.AvgPool2x2(x)
	case up:
		h, x = nn.Upsample2x(h), nn.Upsample2x(x)
	}
	h = b.inConv.Forward(h)
	e := b.emb.Forward(c.embAct)
	e = nn.Reshape(e, e.Dim(0), e.Dim(1), 1, 1)
	if b.scaleShift {
		ss := nn.Split(e, 1, b.out, b.out)
		h = nn.Modulate(b.outNorm.apply(h, c), ss[0], ss[1], 1)
	} else {
		h = b.outNorm.apply(nn.Add(h, e), c)
	}
	h = b.outConv.Forward(nn.Silu(h))
	if b.skip != nil {
		x = b.skip.Forward(x)
	}
	return nn.Add(x, h)
}

// attention is AttentionBlock with QKVAttentionLegacy: norm (GN), qkv and
// proj_out (zero-initialised) as 1-d convs with weights (3C, C, 1) and
// (C, C, 1). Heads split before q, k, v: the qkv channels are ordered
// head-major, [q_h k_h v_h] per head.
type attention struct {
	norm         groupNorm
	qkvW, qkvB   *nn.Tensor
	projW, projB *nn.Tensor
	heads        int
}

// torchConvWeight is PyTorch's default conv/linear weight init:
// U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform_ with a = sqrt(5)).
var torchConvWeight = nn.KaimingUniform(nn.Gain("leaky_relu", math.Sqrt(5)))

func newAttention(ps *nn.Params, cfg Config, ch int) *attention {
	b := 1 / math.Sqrt(float64(ch))
	return &attention{
		norm:  newGroupNorm(ps.Sub("norm"), cfg, ch),
		qkvW:  ps.New("qkv.weight", torchConvWeight, 3*ch, ch, 1),
		qkvB:  ps.New("qkv.bias", nn.Uniform(-b, b), 3*ch),
		projW: ps.New("proj_out.weight", nn.ZerosInit, ch, ch, 1),
		projB: ps.New("proj_out.bias", nn.ZerosInit, ch),
		heads: ch / cfg.NumHeadChannels,
	}
}

// conv1x1 applies a 1-d convolution of kernel 1: x (B, I, T), w (O, I, 1),
// bias (O) -> (B, O, T).
func conv1x1(x, w, bias *nn.Tensor) *nn.Tensor {
	o, i := w.Dim(0), w.Dim(1)
	return nn.Add(nn.MatMul(nn.Reshape(w, o, i), x, false, false), nn.Reshape(bias, o, 1))
}

func (a *attention) forward(x *nn.Tensor, _ *cond) *nn.Tensor {
	b, ch, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	t := h * w
	xf := nn.Reshape(x, b, ch, t)
	qkv := conv1x1(a.norm.Forward(xf), a.qkvW, a.qkvB)
	hc := ch / a.heads
	parts := nn.Split(nn.Reshape(qkv, b*a.heads, 3*hc, t), 1, hc, hc, hc)
	scale := float32(1 / math.Sqrt(math.Sqrt(float64(hc))))
	q, k, v := nn.MulScalar(parts[0], scale), nn.MulScalar(parts[1], scale), parts[2]
	weight := nn.Softmax(nn.MatMul(q, k, true, false), -1) // (B*heads, T, T): [t, s] = q_t . k_s
	att := nn.MatMul(v, weight, false, true)               // (B*heads, hc, T): [c, t] = sum_s v[c, s] w[t, s]
	out := conv1x1(nn.Reshape(att, b, ch, t), a.projW, a.projB)
	return nn.Reshape(nn.Add(xf, out), b, ch, h, w)
}

// convLayer is a plain conv in a block (the stem, Downsample's op).
type convLayer struct{ *nn.Conv2d }

func (l convLayer) forward(x *nn.Tensor, _ *cond) *nn.Tensor { return l.Forward(x) }

// upsample is Upsample(use_conv=True): nearest 2x, then conv3x3 ("conv").
type upsample struct{ conv *nn.Conv2d }

func (u upsample) forward(x *nn.Tensor, _ *cond) *nn.Tensor { return u.conv.Forward(nn.Upsample2x(x)) }
