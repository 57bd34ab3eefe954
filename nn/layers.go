package nn

import "fmt"

// Layers register their tensors under the names PyTorch's modules use
// ("weight", "bias", "running_mean", ...) in the view they are given, so a
// model built with the same view names as its PyTorch original loads the
// converted state_dict. Train/eval behaviour follows the registry's mode
// (Params.SetTraining).

// Conv2dConfig describes a convolution layer. Zero values: square kernel
// (KW = KH), stride 1, no padding, one group, PyTorch's default init.
type Conv2dConfig struct {
	In, Out      int
	KH, KW       int
	Opts         ConvOpts
	Bias         bool
	SpectralNorm bool    // weight_orig/weight_u/weight_v instead of weight
	Init         Init    // weight init; nil = PyTorch default
	PadMode      PadMode // how Opts' padding is filled; "" = zeros
}

// Conv2d is a 2D convolution layer: x (N, In, H, W) -> (N, Out, OH, OW).
type Conv2d struct {
	W, B *Tensor       // W is nil when SN is set
	SN   *SpectralNorm // spectral-norm parametrization, or nil
	Opts ConvOpts
	Pad  PadMode // PadZeros (or empty): Conv2D pads; else PadInput does
}

// NewConv2d registers a square-kernel convolution under ps ("weight", "bias").
func NewConv2d(ps *Params, in, out, k, stride, pad int, bias bool) *Conv2d {
	return NewConv2dConfig(ps, Conv2dConfig{In: in, Out: out, KH: k, Opts: ConvOpts{Stride: stride, Pad: pad}, Bias: bias})
}

// NewSNConv2d is NewConv2d with spectral normalization of the weight.
func NewSNConv2d(ps *Params, in, out, k, stride, pad int, bias bool) *Conv2d {
	return NewConv2dConfig(ps, Conv2dConfig{In: in, Out: out, KH: k, Opts: ConvOpts{Stride: stride, Pad: pad}, Bias: bias, SpectralNorm: true})
}

// NewConv2dConfig registers a convolution layer described by c under ps.
func NewConv2dConfig(ps *Params, c Conv2dConfig) *Conv2d {
	if c.KW == 0 {
		c.KW = c.KH
	}
	g := max(c.Opts.Groups, 1)
	if c.In <= 0 || c.Out <= 0 || c.KH <= 0 || c.In%g != 0 || c.Out%g != 0 {
		panic(fmt.Sprintf("nn: NewConv2d %q: bad config %+v", ps.Prefix(), c))
	}
	init := c.Init
	if init == nil {
		init = torchDefaultWeight
	}
	shape := []int{c.Out, c.In / g, c.KH, c.KW}
	if _, err := ParsePadMode(string(c.PadMode)); err != nil {
		panic(fmt.Sprintf("nn: NewConv2d %q: %v", ps.Prefix(), err))
	}
	l := &Conv2d{Opts: c.Opts, Pad: c.PadMode}
	if c.SpectralNorm {
		l.SN = NewSpectralNorm(ps, init, shape...)
	} else {
		l.W = ps.New("weight", init, shape...)
	}
	if c.Bias {
		fanIn, _ := Fans(shape)
		l.B = ps.New("bias", torchDefaultBias(fanIn), c.Out)
	}
	return l
}

// Weight returns the effective weight (spectrally normalized when SN is set).
func (l *Conv2d) Weight() *Tensor {
	if l.SN != nil {
		return l.SN.Weight()
	}
	return l.W
}

// PadInput returns x with the layer's border already filled when its
// padding mode is not zeros, and the options to convolve it with (Opts
// without padding then); for zero padding x and Opts unchanged.
func (l *Conv2d) PadInput(x *Tensor) (*Tensor, ConvOpts) {
	if l.Pad == "" || l.Pad == PadZeros {
		return x, l.Opts
	}
	o := l.Opts
	ph, pw := o.padding()
	o.Pad, o.PadH, o.PadW = 0, 0, 0
	return PadEdges(x, l.Pad, ph, pw), o
}

// Forward applies the convolution.
func (l *Conv2d) Forward(x *Tensor) *Tensor {
	x, o := l.PadInput(x)
	return Conv2D(x, l.Weight(), l.B, o)
}

// ForwardAct applies the convolution, its bias and act as one op where the
// backend fuses them (see ConvEpilogue).
func (l *Conv2d) ForwardAct(x *Tensor, act Activation) *Tensor {
	x, o := l.PadInput(x)
	return ConvEpilogue(x, l.Weight(), nil, l.B, o, act)
}

// LinearLayer is a fully connected layer: x (..., In) -> (..., Out), weight
// (Out, In) as PyTorch stores it.
type LinearLayer struct {
	W, B *Tensor
	SN   *SpectralNorm
}

// NewLinear registers a linear layer under ps ("weight", "bias").
func NewLinear(ps *Params, in, out int, bias bool) *LinearLayer {
	return newLinear(ps, in, out, bias, false)
}

// NewSNLinear is NewLinear with spectral normalization of the weight.
func NewSNLinear(ps *Params, in, out int, bias bool) *LinearLayer {
	return newLinear(ps, in, out, bias, true)
}

func newLinear(ps *Params, in, out int, bias, sn bool) *LinearLayer {
	l := &LinearLayer{}
	if sn {
		l.SN = NewSpectralNorm(ps, torchDefaultWeight, out, in)
	} else {
		l.W = ps.New("weight", torchDefaultWeight, out, in)
	}
	if bias {
		l.B = ps.New("bias", torchDefaultBias(in), out)
	}
	return l
}

// Forward applies the layer.
func (l *LinearLayer) Forward(x *Tensor) *Tensor {
	w := l.W
	if l.SN != nil {
		w = l.SN.Weight()
	}
	return Linear(x, w, l.B)
}

// BatchNorm2d is batch normalization without affine parameters (as OASIS's
// SPADE uses it), with running statistics registered as PyTorch names them:
// "running_mean", "running_var", "num_batches_tracked".
type BatchNorm2d struct {
	RunningMean, RunningVar, NumBatches *Tensor
	Momentum, Eps                       float32
	ps                                  *Params
	batches                             int
}

// NewBatchNorm2d registers the running statistics of c channels.
func NewBatchNorm2d(ps *Params, c int) *BatchNorm2d {
	return &BatchNorm2d{
		RunningMean: ps.NewBuffer("running_mean", ZerosInit, c),
		RunningVar:  ps.NewBuffer("running_var", OnesInit, c),
		NumBatches:  ps.NewBuffer("num_batches_tracked", ZerosInit),
		Momentum:    0.1, Eps: 1e-5, ps: ps,
	}
}

// Forward normalizes x (N, C, ...) with batch statistics in training mode
// (updating the running ones) and running statistics in eval mode.
func (l *BatchNorm2d) Forward(x *Tensor) *Tensor {
	training := l.ps.Training()
	if training {
		l.batches++
		l.NumBatches.Upload([]float32{float32(l.batches)})
	}
	return BatchNorm(x, l.RunningMean, l.RunningVar, training, l.Momentum, l.Eps)
}

// GroupNormLayer is GroupNorm with optional affine "weight" and "bias" (C).
type GroupNormLayer struct {
	Groups int
	W, B   *Tensor
	Eps    float32
}

// NewGroupNorm registers a group norm over c channels (affine: weight 1, bias 0).
func NewGroupNorm(ps *Params, groups, c int, affine bool) *GroupNormLayer {
	l := &GroupNormLayer{Groups: groups, Eps: 1e-5}
	if affine {
		l.W = ps.New("weight", OnesInit, c)
		l.B = ps.New("bias", ZerosInit, c)
	}
	return l
}

// Forward applies the norm.
func (l *GroupNormLayer) Forward(x *Tensor) *Tensor { return GroupNorm(x, l.Groups, l.W, l.B, l.Eps) }

// LayerNormLayer is LayerNorm over the trailing shape, with optional affine
// "weight" and "bias" of that shape.
type LayerNormLayer struct {
	NDims int
	W, B  *Tensor
	Eps   float32
}

// NewLayerNorm registers a layer norm over normalized shape (PyTorch's
// normalized_shape).
func NewLayerNorm(ps *Params, affine bool, shape ...int) *LayerNormLayer {
	l := &LayerNormLayer{NDims: len(shape), Eps: 1e-5}
	if affine {
		l.W = ps.New("weight", OnesInit, shape...)
		l.B = ps.New("bias", ZerosInit, shape...)
	}
	return l
}

// Forward applies the norm.
func (l *LayerNormLayer) Forward(x *Tensor) *Tensor { return LayerNorm(x, l.NDims, l.W, l.B, l.Eps) }

// EmbeddingLayer maps class indices to vectors: "weight" (V, D), N(0, 1)
// initialized as PyTorch's nn.Embedding.
type EmbeddingLayer struct{ W *Tensor }

// NewEmbedding registers a table of v vectors of size d.
func NewEmbedding(ps *Params, v, d int) *EmbeddingLayer {
	return &EmbeddingLayer{W: ps.New("weight", Normal(0, 1), v, d)}
}

// Forward gathers rows: idx (any shape) -> (idx..., D).
func (l *EmbeddingLayer) Forward(idx *Tensor) *Tensor { return Embedding(idx, l.W) }
