package webapp

import (
	"fmt"

	"catsynth/models/gan"
)

// DefaultBindingLimit is WebGPU's default maxStorageBufferBindingSize
// (128 MiB): nn/gpu requests its device with default limits on js, so this
// is the largest tensor the page's GPU backend can bind, whatever the
// adapter allows.
const DefaultBindingLimit = 128 << 20

// generatorBase mirrors gan's width table ([16,16,16,8,4,2,1] x ch; fc
// outputs the first of the last NumBlocks+1 entries).
var generatorBase = []int{16, 16, 16, 8, 4, 2, 1}

// LargestBuffer estimates the largest single buffer (bytes) a forward and
// backward pass of generator c on batch images of c's size needs, and names
// it: the activations and SPADE hidden maps at each resolution, the
// conditioning map (label channels plus noise) at full size, and the
// weights. nn/gpu runs convolutions as implicit GEMMs, so no im2col buffer
// is counted.
func LargestBuffer(c gan.GeneratorConfig, batch int) (bytes int64, what string) {
	hidden := int64(c.SPADEHidden)
	if hidden == 0 {
		hidden = 128
	}
	k := int64(c.SPADEKernel)
	if k == 0 {
		k = 3
	}
	nb := c.NumBlocks
	if nb < 1 || nb > len(generatorBase)-1 {
		return 0, ""
	}
	ws := generatorBase[len(generatorBase)-1-nb:]
	seg := int64(c.LabelNC + c.ZDim)
	f := 1 << (nb - 1)
	b := int64(batch)
	consider := func(n int64, name string) {
		if n*4 > bytes {
			bytes, what = n*4, name
		}
	}
	consider(b*int64(c.H*c.W)*seg, fmt.Sprintf("the conditioning map (%d label and noise channels at %dx%d)", seg, c.W, c.H))
	for i := range nb {
		h, w := int64(c.H/f<<i), int64(c.W/f<<i)
		fin, fout := int64(ws[i]*c.Channels), int64(ws[i+1]*c.Channels)
		px := b * h * w
		at := fmt.Sprintf("block %d at %dx%d", i, w, h)
		consider(px*max(fin, fout), "the activations of "+at)
		if i < nb-1 {
			consider(4*px*fout, "the upsampled activations after "+at)
		}
		if c.Norm != gan.NormCLADE {
			consider(px*hidden, "the SPADE hidden map of "+at)
			consider(hidden*max(fin, fout)*k*k, "a SPADE weight of "+at)
		}
		consider(fin*min(fin, fout)*9, "the conv_0 weight of "+at)
	}
	return bytes, what
}

// CheckLimits fails with a message naming the limit when generator c at
// batch size batch needs a buffer over limit bytes (0: no check).
func CheckLimits(c gan.GeneratorConfig, batch int, limit int64) error {
	if limit <= 0 {
		return nil
	}
	need, what := LargestBuffer(c, batch)
	if need > limit {
		return fmt.Errorf("the model is too large for this GPU: %s needs %.1f MiB, over the device limit maxStorageBufferBindingSize = %.1f MiB (%d bytes); use a smaller model or the CPU backend",
			what, float64(need)/(1<<20), float64(limit)/(1<<20), limit)
	}
	return nil
}
