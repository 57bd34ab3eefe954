package gan

import (
	"fmt"

	"catsynth/nn"
)

// newSPADE registers a SPADE (or CLADE) layer of cfg's form for normNC
// channels conditioned on labelNC channels under ps (nn.SPADE).
func newSPADE(ps *nn.Params, cfg GeneratorConfig, normNC, labelNC int) *nn.SPADE {
	cfg = cfg.withDefaults()
	return nn.NewSPADE(ps, nn.SPADEConfig{NormNC: normNC, LabelNC: labelNC, Hidden: cfg.SPADEHidden,
		Kernel: cfg.SPADEKernel, CLADE: cfg.Norm == NormCLADE, PadMode: cfg.padMode()})
}

// conv3x3 registers one of the generator's 3x3 convolutions (padding 1
// filled as cfg.Padding says), spectrally normalised when sn.
func conv3x3(ps *nn.Params, cfg GeneratorConfig, in, out int, sn bool) *nn.Conv2d {
	return nn.NewConv2dConfig(ps, nn.Conv2dConfig{In: in, Out: out, KH: 3, Opts: nn.ConvOpts{Pad: 1},
		Bias: true, SpectralNorm: sn, PadMode: cfg.padMode()})
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
	Norm0, Norm1, NormS *nn.SPADE
}

// NewResBlock registers a block under ps ("body.i").
func NewResBlock(ps *nn.Params, cfg GeneratorConfig, fin, fout, labelNC int) *ResBlock {
	mid := min(fin, fout)
	b := &ResBlock{
		Conv0: conv3x3(ps.Sub("conv_0"), cfg, fin, mid, true),
		Conv1: conv3x3(ps.Sub("conv_1"), cfg, mid, fout, true),
	}
	if fin != fout {
		b.ConvS = nn.NewSNConv2d(ps.Sub("conv_s"), fin, fout, 1, 1, 0, false)
	}
	b.Norm0 = newSPADE(ps.Sub("norm_0"), cfg, fin, labelNC)
	b.Norm1 = newSPADE(ps.Sub("norm_1"), cfg, mid, labelNC)
	if fin != fout {
		b.NormS = newSPADE(ps.Sub("norm_s"), cfg, fin, labelNC)
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
	// The leaky ReLUs ride in the SPADE modulations (one op each).
	lrelu := nn.ActLeakyReLU(slope)
	dx := b.Conv0.Forward(b.Norm0.ForwardAct(x, seg, lrelu))
	dx = b.Conv1.Forward(b.Norm1.ForwardAct(dx, seg, lrelu))
	return nn.Add(xs, dx)
}

// Generator is the OASIS generator. Its parameters live in Params() under
// the official names (fc.*, body.i.*, conv_img.*). It implements
// models.Model: it reads S label channels, and a label layer (class
// affinity transfer's A) goes in front of it as a models.Conditioned.
type Generator struct {
	Config  GeneratorConfig
	FC      *nn.Conv2d
	Body    []*ResBlock
	ConvImg *nn.Conv2d
	ps      *nn.Params
}

// NewGenerator builds a generator on dev with weights initialized from seed
// (PyTorch's default init; the official code uses the same).
func NewGenerator(dev *nn.Device, cfg GeneratorConfig, seed uint64) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ps := nn.NewParams(dev, seed)
	g := &Generator{Config: cfg, ps: ps}
	err := nn.Catch(func() {
		ws := cfg.widths()
		labelNC := cfg.LabelNC + cfg.ZDim
		g.FC = conv3x3(ps.Sub("fc"), cfg, labelNC, ws[0], false)
		for i := range cfg.NumBlocks {
			g.Body = append(g.Body, NewResBlock(ps.Sub(fmt.Sprintf("body.%d", i)), cfg, ws[i], ws[i+1], labelNC))
		}
		g.ConvImg = conv3x3(ps.Sub("conv_img"), cfg, ws[len(ws)-1], 3, false)
	})
	if err != nil {
		ps.Release()
		return nil, fmt.Errorf("gan: building generator: %w", err)
	}
	return g, nil
}

// Params are the generator's parameters.
func (g *Generator) Params() *nn.Params { return g.ps }

// Release frees the generator's parameters.
func (g *Generator) Release() { g.ps.Release() }

// Forward maps the label map src (B, S, H, W), one-hot or soft, and noise
// z (B, Z), or (B, Z, H, W) per pixel (nil when ZDim is 0; see Noise), to
// images (B, 3, H, W) in [-1, 1]. The map
// enters fc and every SPADE. H and W must pass Config.CheckSize (callers
// check user input with it first). BatchNorm and spectral norm follow the
// parameters' training mode.
func (g *Generator) Forward(src, z *nn.Tensor) *nn.Tensor {
	c := g.Config
	if src.Rank() != 4 || src.Dim(1) != c.LabelNC {
		panic(fmt.Sprintf("gan: Generator.Forward: label map %v, want (B, %d, H, W)", src.Shape(), c.LabelNC))
	}
	bsz, h, w := src.Dim(0), src.Dim(2), src.Dim(3)
	if err := c.CheckSize(h, w); err != nil {
		panic(err.Error())
	}
	seg := src
	if c.ZDim > 0 {
		perPixel := z != nil && z.Rank() == 4 && z.Dim(0) == bsz && z.Dim(1) == c.ZDim && z.Dim(2) == h && z.Dim(3) == w
		if !perPixel && (z == nil || z.Rank() != 2 || z.Dim(0) != bsz || z.Dim(1) != c.ZDim) {
			panic(fmt.Sprintf("gan: Generator.Forward: z %v, want (%d, %d) or (%d, %d, %d, %d)", shapeOf(z), bsz, c.ZDim, bsz, c.ZDim, h, w))
		}
		zmap := z
		if !perPixel {
			zmap = nn.Expand(nn.Reshape(z, bsz, c.ZDim, 1, 1), bsz, c.ZDim, h, w)
		}
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
	return g.ConvImg.ForwardAct(nn.LeakyRelu(x, slope), nn.ActTanh)
}

func shapeOf(t *nn.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape()
}
