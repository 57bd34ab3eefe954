package diffusion

import (
	"fmt"
	"math"

	"catsynth/nn"
)

// UNet is SDM's UNetModel: x_t (B, 3, H, W), timesteps (B) and a label map
// (B, S, H, W) -> (B, OutChannels, H, W), epsilon first, then (with a
// learned sigma) the variance interpolation in [-1, 1]. Its parameters live
// in Params under the official names (time_embed.*, input_blocks.*,
// middle_block.*, output_blocks.*, out.*).
type UNet struct {
	Config Config
	Params *nn.Params

	timeEmbed0, timeEmbed2 *nn.LinearLayer
	input                  [][]layer // input_blocks.i, the stem first
	middle                 []layer   // middle_block.{0,1,2}
	output                 [][]layer // output_blocks.i
	outNorm                groupNorm
	outConv                *nn.Conv2d
	// own names the U-Net's parameters (a label layer registered in
	// Params later is not among them).
	own map[string]bool
}

// NewUNet builds a U-Net on dev with weights initialized from seed
// (PyTorch's default init, zero output convs, as the official code).
func NewUNet(dev *nn.Device, cfg Config, seed uint64) (*UNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps := nn.NewParams(dev, seed)
	u := &UNet{Config: cfg, Params: ps}
	if err := nn.Catch(func() { u.build(ps) }); err != nil {
		ps.Release()
		return nil, fmt.Errorf("diffusion: building the U-Net: %w", err)
	}
	u.own = map[string]bool{}
	for _, p := range ps.All() {
		u.own[p.Name] = true
	}
	return u, nil
}

// build follows UNetModel.__init__ module by module.
func (u *UNet) build(ps *nn.Params) {
	cfg := u.Config
	mc := cfg.NumChannels
	ted := 4 * mc
	u.timeEmbed0 = nn.NewLinear(ps.Sub("time_embed.0"), mc, ted, true)
	u.timeEmbed2 = nn.NewLinear(ps.Sub("time_embed.2"), ted, ted, true)

	ch := cfg.ChannelMult[0] * mc
	inputCh := ch
	name := func(kind string, i, j int) *nn.Params { return ps.Sub(fmt.Sprintf("%s.%d.%d", kind, i, j)) }
	u.input = [][]layer{{convLayer{nn.NewConv2d(name("input_blocks", 0, 0), cfg.InChannels, ch, 3, 1, 1, true)}}}
	chans := []int{ch}
	ds := 1
	last := len(cfg.ChannelMult) - 1
	for level, mult := range cfg.ChannelMult {
		for range cfg.NumResBlocks {
			i := len(u.input)
			blk := []layer{newResBlock(name("input_blocks", i, 0), cfg, ch, mult*mc, keepSize)}
			ch = mult * mc
			if cfg.attentionAt(ds) {
				blk = append(blk, newAttention(name("input_blocks", i, 1), cfg, ch))
			}
			u.input = append(u.input, blk)
			chans = append(chans, ch)
		}
		if level != last {
			i := len(u.input)
			if cfg.ResblockUpdown {
				u.input = append(u.input, []layer{newResBlock(name("input_blocks", i, 0), cfg, ch, ch, down)})
			} else {
				op := nn.NewConv2d(name("input_blocks", i, 0).Sub("op"), ch, ch, 3, 2, 1, true)
				u.input = append(u.input, []layer{convLayer{op}})
			}
			chans = append(chans, ch)
			ds *= 2
		}
	}
	u.middle = []layer{
		newSDMResBlock(ps.Sub("middle_block.0"), cfg, ch, ch, keepSize),
		newAttention(ps.Sub("middle_block.1"), cfg, ch),
		newSDMResBlock(ps.Sub("middle_block.2"), cfg, ch, ch, keepSize),
	}
	for level := last; level >= 0; level-- {
		mult := cfg.ChannelMult[level]
		for j := range cfg.NumResBlocks + 1 {
			skip := chans[len(chans)-1]
			chans = chans[:len(chans)-1]
			i := len(u.output)
			blk := []layer{newSDMResBlock(name("output_blocks", i, 0), cfg, ch+skip, mult*mc, keepSize)}
			ch = mult * mc
			if cfg.attentionAt(ds) {
				blk = append(blk, newAttention(name("output_blocks", i, len(blk)), cfg, ch))
			}
			if level > 0 && j == cfg.NumResBlocks {
				if cfg.ResblockUpdown {
					blk = append(blk, newSDMResBlock(name("output_blocks", i, len(blk)), cfg, ch, ch, up))
				} else {
					blk = append(blk, upsample{nn.NewConv2d(name("output_blocks", i, len(blk)).Sub("conv"), ch, ch, 3, 1, 1, true)})
				}
				ds /= 2
			}
			u.output = append(u.output, blk)
		}
	}
	u.outNorm = newGroupNorm(ps.Sub("out.0"), cfg, ch)
	u.outConv = zeroConv(ps.Sub("out.2"), inputCh, cfg.OutChannels())
}

// Release frees the parameters.
func (u *UNet) Release() { u.Params.Release() }

// TimestepEmbedding is the sinusoidal embedding (B, dim) of timesteps:
// [cos(t f_0) .. cos(t f_{h-1}), sin(t f_0) .. sin(t f_{h-1})] with
// f_j = exp(-ln(10000) j / h), h = dim/2 (a zero column when dim is odd).
// It is computed on the host in float32 steps, as PyTorch computes it, so
// that both give the same values.
func TimestepEmbedding(t []float64, dim int) []float32 {
	half := dim / 2
	out := make([]float32, len(t)*dim)
	lnMax := float32(-math.Log(10000))
	for j := range half {
		a := lnMax * float32(j) / float32(half)
		f := float32(math.Exp(float64(a)))
		for b, tv := range t {
			arg := float64(float32(tv) * f)
			out[b*dim+j] = float32(math.Cos(arg))
			out[b*dim+half+j] = float32(math.Sin(arg))
		}
	}
	return out
}

// Forward runs the network on x (B, InChannels, H, W) at timesteps t (B
// values, original-schedule indices; fractions allowed) with the label
// input y (B, S, H, W) (one-hot, or soft from a label layer). H and W must be multiples of Config.Factor().
func (u *UNet) Forward(x *nn.Tensor, t []float64, y *nn.Tensor) *nn.Tensor {
	cfg := u.Config
	src := y
	b := x.Dim(0)
	if x.Rank() != 4 || x.Dim(1) != cfg.InChannels || x.Dim(2)%cfg.Factor() != 0 || x.Dim(3)%cfg.Factor() != 0 {
		panic(fmt.Sprintf("diffusion: UNet.Forward: x %v, want (B, %d, H, W) with H, W multiples of %d", x.Shape(), cfg.InChannels, cfg.Factor()))
	}
	if src.Rank() != 4 || src.Dim(0) != b || src.Dim(1) != cfg.NumClasses || src.Dim(2) != x.Dim(2) || src.Dim(3) != x.Dim(3) {
		panic(fmt.Sprintf("diffusion: UNet.Forward: label map %v for x %v, want (%d, %d, H, W)", src.Shape(), x.Shape(), b, cfg.NumClasses))
	}
	if len(t) != b {
		panic(fmt.Sprintf("diffusion: UNet.Forward: %d timesteps for batch %d", len(t), b))
	}
	dev := x.Device()
	temb := dev.FromData(TimestepEmbedding(t, cfg.NumChannels), b, cfg.NumChannels)
	emb := u.timeEmbed2.Forward(nn.Silu(u.timeEmbed0.Forward(temb)))
	c := &cond{y: src, resized: map[[2]int]*nn.Tensor{}, embAct: nn.Silu(emb)}
	var hs []*nn.Tensor
	h := x
	for _, blk := range u.input {
		for _, l := range blk {
			h = l.forward(h, c)
		}
		hs = append(hs, h)
	}
	for _, l := range u.middle {
		h = l.forward(h, c)
	}
	for _, blk := range u.output {
		h = nn.Concat([]*nn.Tensor{h, hs[len(hs)-1]}, 1)
		hs = hs[:len(hs)-1]
		for _, l := range blk {
			h = l.forward(h, c)
		}
	}
	return u.outConv.Forward(nn.Silu(u.outNorm.Forward(h)))
}
