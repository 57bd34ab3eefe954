package models

import (
	"context"
	"fmt"
	"image"

	"catsynth/nn"
)

// A LabelLayer maps a target label map (B, T, H, W) to the (B, S, H, W)
// map a network reads: class affinity transfer's A, or finetuning's free
// input layer (package affinity). It is linear per pixel: out[s] =
// sum_t W[t, s] y[t].
type LabelLayer interface {
	Forward(y *nn.Tensor) *nn.Tensor
	// Classes names the T target classes it takes.
	Classes() []string
	// Weights returns W (T x S, row-major) as it is now.
	Weights() ([]float32, error)
}

// Conditioned is a network with an optional label layer in front of
// every input of it that reads labels: what `generate`, the page and a
// transfer run. With a nil Layer label maps use the network's own classes.
type Conditioned struct {
	Net   Model
	Layer LabelLayer
}

// Classes are the classes label maps given to Generate use.
func (c Conditioned) Classes() []string {
	if c.Layer != nil {
		return c.Layer.Classes()
	}
	return c.Net.Classes()
}

// Input turns label maps (B*H*W class indices of Classes, negative for no
// class) into the network's label input (B, S, H, W).
func (c Conditioned) Input(labels []int32, b, h, w int) (*nn.Tensor, error) {
	y, err := OneHotLabels(c.Net.Params().Device(), labels, b, h, w, len(c.Classes()))
	if err != nil || c.Layer == nil {
		return y, err
	}
	return c.Layer.Forward(y), nil
}

// Generate makes one image per seed from label maps (B*H*W indices, B =
// len(seeds)), without gradients, in the network's current mode. Errors:
// a size the network cannot make, unknown class indices, device memory.
func (c Conditioned) Generate(ctx context.Context, labels []int32, h, w int, seeds []uint64, progress func(Progress)) ([]*image.RGBA, error) {
	return c.generate(ctx, labels, len(seeds), h, w, func(src *nn.Tensor) (*nn.Tensor, error) {
		return c.Net.Generate(ctx, src, seeds, progress)
	})
}

// generate runs gen on the network input of b label maps without
// gradients and converts its images.
func (c Conditioned) generate(ctx context.Context, labels []int32, b, h, w int, gen func(src *nn.Tensor) (*nn.Tensor, error)) ([]*image.RGBA, error) {
	if b == 0 {
		return nil, nil
	}
	if err := c.Net.CheckSize(h, w); err != nil {
		return nil, err
	}
	if len(labels) != b*h*w {
		return nil, fmt.Errorf("models: Generate: %d label values for %d maps of %dx%d", len(labels), b, w, h)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dev := c.Net.Params().Device()
	var imgs []*image.RGBA
	var inner error
	var err error
	dev.NoGrad(func() {
		s := dev.Scope()
		defer s.Close()
		err = nn.Catch(func() {
			var src, x *nn.Tensor
			if src, inner = c.Input(labels, b, h, w); inner != nil {
				return
			}
			if x, inner = gen(src); inner != nil {
				return
			}
			imgs, inner = ToImages(x)
		})
	})
	if err == nil {
		err = inner
	}
	return imgs, err
}

// Release frees the network and a layer that holds tensors of its own.
func (c Conditioned) Release() {
	if r, ok := c.Layer.(interface{ Release() }); ok {
		r.Release()
	}
	if c.Net != nil {
		c.Net.Release()
	}
}
