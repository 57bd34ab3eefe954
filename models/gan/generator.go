package gan

import (
	"fmt"
	"math/rand/v2"

	"catsynth/nn"
)

// SPADE is OASIS's spatially-adaptive normalization: parameter-free batch
// norm of x (B, C, h, w), then a per-pixel scale and shift predicted from the
// conditioning map seg (B, S+Z, h, w) (already resized to x's size):
//
//	out = bn(x) * (1 + gamma(seg)) + beta(seg)
//
// With NormSPADE, gamma and beta are 3x3 convs over a shared hidden map
// relu(mlp_shared.0(seg)); with NormCLADE they are 1x1 convs of seg itself,
// which for a one-hot or soft label map is a per-class (affinity-weighted)
// scale and shift, plus a linear term in z.
//
// Names: first_norm.{running_mean,running_var,num_batches_tracked},
// mlp_shared.0.{weight,bias} (SPADE only), mlp_gamma.{weight,bias},
// mlp_beta.{weight,bias}.
type SPADE struct {
	Norm            *nn.BatchNorm2d
	Shared          *nn.Conv2d // nil for CLADE
	Gamma, Beta     *nn.Conv2d
	normNC, labelNC int
}

// NewSPADE registers a SPADE (or CLADE) layer for normNC channels
// conditioned on labelNC channels under ps.
func NewSPADE(ps *nn.Params, cfg GeneratorConfig, normNC, labelNC int) *SPADE {
	cfg = cfg.withDefaults()
	s := &SPADE{Norm: nn.NewBatchNorm2d(ps.Sub("first_norm"), normNC), normNC: normNC, labelNC: labelNC}
	k := cfg.SPADEKernel
	if cfg.Norm == NormCLADE {
		s.Gamma = nn.NewConv2d(ps.Sub("mlp_gamma"), labelNC, normNC, 1, 1, 0, true)
		s.Beta = nn.NewConv2d(ps.Sub("mlp_beta"), labelNC, normNC, 1, 1, 0, true)
		return s
	}
	s.Shared = nn.NewConv2d(ps.Sub("mlp_shared.0"), labelNC, cfg.SPADEHidden, k, 1, k/2, true)
	s.Gamma = nn.NewConv2d(ps.Sub("mlp_gamma"), cfg.SPADEHidden, normNC, k, 1, k/2, true)
	s.Beta = nn.NewConv2d(ps.Sub("mlp_beta"), cfg.SPADEHidden, normNC, k, 1, k/2, true)
	return s
}

// Forward normalizes x (B, C, h, w) conditioned on seg (B, S+Z, h, w).
func (s *SPADE) Forward(x, seg *nn.Tensor) *nn.Tensor {
	if seg.Dim(1) != s.labelNC || seg.Dim(2) != x.Dim(2) || seg.Dim(3) != x.Dim(3) {
		panic(fmt.Sprintf("gan: SPADE: x %v with seg %v (want %d channels at x's size)", x.Shape(), seg.Shape(), s.labelNC))
	}
	normalized := s.Norm.Forward(x)
	a := seg
	if s.Shared != nil {
		a = nn.Relu(s.Shared.Forward(seg))
	}
	gamma := s.Gamma.Forward(a)
	beta := s.Beta.Forward(a)
	return nn.Add(nn.Mul(normalized, nn.AddScalar(gamma, 1)), beta)
}

// ResBlock is OASIS's ResnetBlock_with_SPADE(fin, fout):
//
//	x_s = conv_s(norm_s(x))  when fin != fout, else x
//	dx  = conv_0(lrelu(norm_0(x)));  dx = conv_1(lrelu(norm_1(dx)))
//	out = x_s + dx
//
// conv_0 (fin -> min(fin, fout), 3x3), conv_1 (-> fout, 3x3) and conv_s
// (1x1, no bias) are spectrally normalized; lrelu has slope 0.2.
type ResBlock struct {
	Conv0, Conv1, ConvS *nn.Conv2d
	Norm0, Norm1, NormS *SPADE
}

// NewResBlock registers a block under ps ("body.i").
func NewResBlock(ps *nn.Params, cfg GeneratorConfig, fin, fout, labelNC int) *ResBlock {
	mid := min(fin, fout)
	b := &ResBlock{
		Conv0: nn.NewSNConv2d(ps.Sub("conv_0"), fin, mid, 3, 1, 1, true),
		Conv1: nn.NewSNConv2d(ps.Sub("conv_1"), mid, fout, 3, 1, 1, true),
	}
	if fin != fout {
		b.ConvS = nn.NewSNConv2d(ps.Sub("conv_s"), fin, fout, 1, 1, 0, false)
	}
	b.Norm0 = NewSPADE(ps.Sub("norm_0"), cfg, fin, labelNC)
	b.Norm1 = NewSPADE(ps.Sub("norm_1"), cfg, mid, labelNC)
	if fin != fout {
		b.NormS = NewSPADE(ps.Sub("norm_s"), cfg, fin, labelNC)
	}
	return b
}

const slope = 0.2 // LeakyReLU slope everywhere in OASIS

// Forward runs the block on x (B, fin, h, w) with seg at x's size.
func (b *ResBlock) Forward(x, seg *nn.Tensor) *nn.Tensor {
	xs := x
	if b.ConvS != nil {
		xs = b.ConvS.Forward(b.NormS.Forward(x, seg))
	}
	dx := b.Conv0.Forward(nn.LeakyRelu(b.Norm0.Forward(x, seg), slope))
	dx = b.Conv1.Forward(nn.LeakyRelu(b.Norm1.Forward(dx, seg), slope))
	return nn.Add(xs, dx)
}

// Generator is the OASIS generator. Its parameters live in Params under
// the official names (fc.*, body.i.*, conv_img.*).
type Generator struct {
	Config  GeneratorConfig
	Params  *nn.Params
	FC      *nn.Conv2d
	Body    []*ResBlock
	ConvImg *nn.Conv2d

	// LabelMap, when set, maps the label input y (B, T, H, W) to the soft
	// source map (B, S, H, W) the network is conditioned on; nil is the
	// identity (T = S). It is applied once per Forward and its result enters
	// every place the label map does (fc and every SPADE), which is where
	// class affinity transfer puts its T x S affinity layer.
	LabelMap func(y *nn.Tensor) *nn.Tensor
	// InputNC is T, the label classes LabelMap takes (used by Generate to
	// check label maps); 0 means S.
	InputNC int
}

// NewGenerator builds a generator on dev with weights initialized from seed
// (PyTorch's default init; the official code uses the same).
func NewGenerator(dev *nn.Device, cfg GeneratorConfig, seed uint64) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ps := nn.NewParams(dev, seed)
	g := &Generator{Config: cfg, Params: ps}
	err := nn.Catch(func() {
		ws := cfg.widths()
		labelNC := cfg.LabelNC + cfg.ZDim
		g.FC = nn.NewConv2d(ps.Sub("fc"), labelNC, ws[0], 3, 1, 1, true)
		for i := range cfg.NumBlocks {
			g.Body = append(g.Body, NewResBlock(ps.Sub(fmt.Sprintf("body.%d", i)), cfg, ws[i], ws[i+1], labelNC))
		}
		g.ConvImg = nn.NewConv2d(ps.Sub("conv_img"), ws[len(ws)-1], 3, 3, 1, 1, true)
	})
	if err != nil {
		ps.Release()
		return nil, fmt.Errorf("gan: building generator: %w", err)
	}
	return g, nil
}

// Release frees the generator's parameters.
func (g *Generator) Release() { g.Params.Release() }

// Noise draws B noise vectors z (B, Z) from N(0, 1) with a generator seeded
// by seed, on the host, so that a seed gives the same z on every backend.
func Noise(dev *nn.Device, b, zdim int, seed uint64) *nn.Tensor {
	return dev.FromData(noiseValues(b*zdim, seed), b, zdim)
}

func noiseValues(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// Forward maps the label input y (B, T, H, W) and noise z (B, Z) (nil when
// ZDim is 0) to images (B, 3, H, W) in [-1, 1]. H and W must pass
// Config.CheckSize (callers check user input with it first). BatchNorm and
// spectral norm follow g.Params' training mode.
func (g *Generator) Forward(y, z *nn.Tensor) *nn.Tensor {
	c := g.Config
	src := y
	if g.LabelMap != nil {
		src = g.LabelMap(y)
	}
	if src.Rank() != 4 || src.Dim(1) != c.LabelNC {
		panic(fmt.Sprintf("gan: Generator.Forward: label map %v, want (B, %d, H, W)", src.Shape(), c.LabelNC))
	}
	bsz, h, w := src.Dim(0), src.Dim(2), src.Dim(3)
	if err := c.CheckSize(h, w); err != nil {
		panic(err.Error())
	}
	seg := src
	if c.ZDim > 0 {
		if z == nil || z.Rank() != 2 || z.Dim(0) != bsz || z.Dim(1) != c.ZDim {
			panic(fmt.Sprintf("gan: Generator.Forward: z %v, want (%d, %d)", shapeOf(z), bsz, c.ZDim))
		}
		zmap := nn.Expand(nn.Reshape(z, bsz, c.ZDim, 1, 1), bsz, c.ZDim, h, w)
		seg = nn.Concat([]*nn.Tensor{zmap, src}, 1) // z first, as OASIS
	}
	// The conditioning map at each resolution, resized once per forward.
	segAt := map[[2]int]*nn.Tensor{{h, w}: seg}
	at := func(hh, ww int) *nn.Tensor {
		k := [2]int{hh, ww}
		if s, ok := segAt[k]; ok {
			return s
		}
		s := nn.ResizeNearest(seg, hh, ww)
		segAt[k] = s
		return s
	}
	f := c.Factor()
	x := g.FC.Forward(at(h/f, w/f))
	for i, blk := range g.Body {
		x = blk.Forward(x, at(x.Dim(2), x.Dim(3)))
		if i < len(g.Body)-1 {
			x = nn.Upsample2x(x)
		}
	}
	return nn.Tanh(g.ConvImg.Forward(nn.LeakyRelu(x, slope)))
}

func shapeOf(t *nn.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape()
}
