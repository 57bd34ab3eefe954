// Package seg is the segmenter used to score generated images: a small U-Net
// that labels an image, its training loop (class-balanced cross-entropy), and
// mIoU from a confusion matrix. A segmenter trained on real images of a
// domain labels generated images; comparing its labels with the label maps
// the images were generated from measures how well a generator follows its
// input. Its mIoU on real held-out images is the ceiling of that score.
package seg

import (
	"fmt"

	"catsynth/nn"
)

// Config describes a segmenter; it is stored as JSON in the checkpoint's
// "config" metadata so that Load can rebuild the network.
type Config struct {
	// Classes is the number of output classes C.
	Classes int `json:"classes"`
	// Widths are the channel counts of the U-Net levels, finest first
	// (default 32, 64, 128). Each level after the first halves the
	// resolution, so inputs must be divisible by 2^(len(Widths)-1).
	Widths []int `json:"widths"`
	// Groups is the GroupNorm group count (default 8; must divide every width).
	Groups int `json:"groups"`
	// Size is the square input size in pixels the network was trained at;
	// Predict resizes images to it (default 64).
	Size int `json:"size"`
	// Slope is the LeakyReLU negative slope (default 0.2).
	Slope float32 `json:"slope"`
}

func (c Config) withDefaults() Config {
	if len(c.Widths) == 0 {
		c.Widths = []int{32, 64, 128}
	}
	if c.Groups == 0 {
		c.Groups = 8
	}
	if c.Size == 0 {
		c.Size = 64
	}
	if c.Slope == 0 {
		c.Slope = 0.2
	}
	return c
}

// Check reports what is wrong with c (after defaults).
func (c Config) Check() error {
	c = c.withDefaults()
	if c.Classes < 1 {
		return fmt.Errorf("seg: %d classes", c.Classes)
	}
	for _, w := range c.Widths {
		if w < 1 || w%c.Groups != 0 {
			return fmt.Errorf("seg: width %d is not a positive multiple of %d groups", w, c.Groups)
		}
	}
	if m := 1 << (len(c.Widths) - 1); c.Size < m || c.Size%m != 0 {
		return fmt.Errorf("seg: size %d is not a multiple of %d (%d levels)", c.Size, m, len(c.Widths))
	}
	return nil
}

// block is conv3x3-GroupNorm-LeakyReLU twice.
type block struct {
	c1, c2 *nn.Conv2d
	n1, n2 *nn.GroupNormLayer
	slope  float32
}

func newBlock(ps *nn.Params, in, out, groups int, slope float32) *block {
	return &block{
		c1:    nn.NewConv2d(ps.Sub("conv1"), in, out, 3, 1, 1, false),
		n1:    nn.NewGroupNorm(ps.Sub("norm1"), groups, out, true),
		c2:    nn.NewConv2d(ps.Sub("conv2"), out, out, 3, 1, 1, false),
		n2:    nn.NewGroupNorm(ps.Sub("norm2"), groups, out, true),
		slope: slope,
	}
}

func (b *block) forward(x *nn.Tensor) *nn.Tensor {
	x = nn.LeakyRelu(b.n1.Forward(b.c1.Forward(x)), b.slope)
	return nn.LeakyRelu(b.n2.Forward(b.c2.Forward(x)), b.slope)
}

// Net is a U-Net: an encoder of len(Widths) blocks separated by 2x2 average
// pooling, a decoder that upsamples (nearest, 2x), concatenates the skip
// connection of the same level and applies a block, and a 1x1 convolution to
// C class logits. Parameter names: enc.L.*, dec.L.*, head.*.
type Net struct {
	Config Config
	Params *nn.Params
	enc    []*block
	dec    []*block // dec[l] produces level l from level l+1 and skip l
	head   *nn.Conv2d
}

// New builds a segmenter with weights drawn from seed on dev.
func New(dev *nn.Device, cfg Config, seed uint64) (*Net, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ps := nn.NewParams(dev, seed)
	n := &Net{Config: cfg, Params: ps}
	err := nn.Catch(func() {
		in := 3
		for l, w := range cfg.Widths {
			n.enc = append(n.enc, newBlock(ps.Sub(fmt.Sprintf("enc.%d", l)), in, w, cfg.Groups, cfg.Slope))
			in = w
		}
		n.dec = make([]*block, len(cfg.Widths)-1)
		for l := len(cfg.Widths) - 2; l >= 0; l-- {
			w := cfg.Widths[l]
			n.dec[l] = newBlock(ps.Sub(fmt.Sprintf("dec.%d", l)), cfg.Widths[l+1]+w, w, cfg.Groups, cfg.Slope)
		}
		n.head = nn.NewConv2d(ps.Sub("head"), cfg.Widths[0], cfg.Classes, 1, 1, 0, true)
	})
	if err != nil {
		ps.Release()
		return nil, err
	}
	return n, nil
}

// Forward maps images x (N, 3, H, W) in [-1, 1] to logits (N, C, H, W).
// H and W must be multiples of 2^(levels-1) (a programmer error otherwise:
// Predict checks user input).
func (n *Net) Forward(x *nn.Tensor) *nn.Tensor {
	skips := make([]*nn.Tensor, len(n.enc))
	for l, b := range n.enc {
		if l > 0 {
			x = nn.AvgPool2x2(x)
		}
		x = b.forward(x)
		skips[l] = x
	}
	for l := len(n.dec) - 1; l >= 0; l-- {
		x = n.dec[l].forward(nn.Concat([]*nn.Tensor{nn.Upsample2x(x), skips[l]}, 1))
	}
	return n.head.Forward(x)
}

// Release frees the network's parameters.
func (n *Net) Release() { n.Params.Release() }
