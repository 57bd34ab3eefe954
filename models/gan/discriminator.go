package gan

import (
	"fmt"

	"catsynth/nn"
)

// DBlock is OASIS's residual_block_D(fin, fout, up_or_down, first). All its
// convs are spectrally normalized 3x3 (conv_s: 1x1, with bias). Names
// follow the official nn.Sequential indices:
//
//	first down block: conv1.0 = conv
//	other down:       conv1 = [LeakyReLU, conv]            -> conv1.1
//	up:               conv1 = [LeakyReLU, Upsample, conv]  -> conv1.2
//	conv2 = [LeakyReLU, conv] -> conv2.1;  conv_s when fin != fout.
//
// Down blocks end in 2x2 average pooling; up blocks start with nearest x2.
type DBlock struct {
	Conv1, Conv2, ConvS *nn.Conv2d
	Up, First           bool
}

// NewDBlock registers a block under ps ("body_down.i" or "body_up.i").
func NewDBlock(ps *nn.Params, fin, fout int, up, first bool) *DBlock {
	b := &DBlock{Up: up, First: first}
	idx := "conv1.1"
	switch {
	case first:
		idx = "conv1.0"
	case up:
		idx = "conv1.2"
	}
	b.Conv1 = nn.NewSNConv2d(ps.Sub(idx), fin, fout, 3, 1, 1, true)
	b.Conv2 = nn.NewSNConv2d(ps.Sub("conv2.1"), fout, fout, 3, 1, 1, true)
	if fin != fout {
		b.ConvS = nn.NewSNConv2d(ps.Sub("conv_s"), fin, fout, 1, 1, 0, true)
	}
	return b
}

// Forward runs the block: down blocks halve, up blocks double h and w.
func (b *DBlock) Forward(x *nn.Tensor) *nn.Tensor {
	// shortcut
	xs := x
	switch {
	case b.First: // pool, then conv_s (OASIS's order for the first block)
		xs = nn.AvgPool2x2(xs)
		if b.ConvS != nil {
			xs = b.ConvS.Forward(xs)
		}
	case b.Up:
		xs = nn.Upsample2x(xs)
		if b.ConvS != nil {
			xs = b.ConvS.Forward(xs)
		}
	default:
		if b.ConvS != nil {
			xs = b.ConvS.Forward(xs)
		}
		xs = nn.AvgPool2x2(xs)
	}
	// residual
	dx := x
	if !b.First {
		dx = nn.LeakyRelu(dx, slope)
	}
	if b.Up {
		dx = nn.Upsample2x(dx)
	}
	dx = b.Conv1.Forward(dx)
	dx = b.Conv2.Forward(nn.LeakyRelu(dx, slope))
	if !b.Up {
		dx = nn.AvgPool2x2(dx)
	}
	return nn.Add(xs, dx)
}

// Discriminator is the OASIS U-Net segmenter: images (B, 3, H, W) ->
// logits (B, N+1, H, W), channel 0 meaning "fake" and c+1 meaning class c.
// Names: body_down.i.*, body_up.i.*, layer_up_last.{weight,bias}.
type Discriminator struct {
	Config   DiscriminatorConfig
	Params   *nn.Params
	Down, Up []*DBlock
	Last     *nn.Conv2d
}

// NewDiscriminator builds a discriminator on dev, initialized from seed.
func NewDiscriminator(dev *nn.Device, cfg DiscriminatorConfig, seed uint64) (*Discriminator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps := nn.NewParams(dev, seed)
	d := &Discriminator{Config: cfg, Params: ps}
	err := nn.Catch(func() { d.build(ps) })
	if err != nil {
		ps.Release()
		return nil, fmt.Errorf("gan: building discriminator: %w", err)
	}
	return d, nil
}

func (d *Discriminator) build(ps *nn.Params) {
	ch := d.Config.widths()
	nb := d.Config.NumBlocks
	for i := range nb {
		d.Down = append(d.Down, NewDBlock(ps.Sub(fmt.Sprintf("body_down.%d", i)), ch[i], ch[i+1], false, i == 0))
	}
	last := len(ch) - 1
	d.Up = append(d.Up, NewDBlock(ps.Sub("body_up.0"), ch[last], ch[last-1], true, false))
	for i := 1; i < nb-1; i++ {
		d.Up = append(d.Up, NewDBlock(ps.Sub(fmt.Sprintf("body_up.%d", i)), 2*ch[last-i], ch[last-1-i], true, false))
	}
	d.Up = append(d.Up, NewDBlock(ps.Sub(fmt.Sprintf("body_up.%d", nb-1)), 2*ch[1], d.Config.Channels, true, false))
	d.Last = nn.NewConv2d(ps.Sub("layer_up_last"), d.Config.Channels, d.Config.NumClasses+1, 1, 1, 0, true)
}

// Release frees the discriminator's parameters.
func (d *Discriminator) Release() { d.Params.Release() }

// Forward returns the N+1 logits (B, N+1, H, W) of images x (B, 3, H, W);
// H and W must pass Config.CheckSize.
func (d *Discriminator) Forward(x *nn.Tensor) *nn.Tensor {
	if x.Rank() != 4 || x.Dim(1) != 3 {
		panic(fmt.Sprintf("gan: Discriminator.Forward: x %v, want (B, 3, H, W)", x.Shape()))
	}
	if err := d.Config.CheckSize(x.Dim(2), x.Dim(3)); err != nil {
		panic(err.Error())
	}
	enc := make([]*nn.Tensor, len(d.Down))
	for i, b := range d.Down {
		x = b.Forward(x)
		enc[i] = x
	}
	x = d.Up[0].Forward(x)
	for i := 1; i < len(d.Down); i++ {
		x = d.Up[i].Forward(nn.Concat([]*nn.Tensor{enc[len(enc)-1-i], x}, 1))
	}
	return d.Last.Forward(x)
}
