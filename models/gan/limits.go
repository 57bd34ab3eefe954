package gan

import "fmt"

// LargestBuffer estimates the largest single buffer (bytes) a forward and
// backward pass of generator c on batch images of c's size needs, and names
// it: the activations and SPADE hidden maps at each resolution, the
// conditioning map (label channels plus noise) at full size, and the
// weights. nn/gpu runs convolutions as implicit GEMMs, so no im2col buffer
// is counted.
func LargestBuffer(c GeneratorConfig, batch int) (bytes int64, what string) {
	hidden := int64(c.SPADEHidden)
	if hidden == 0 {
		hidden = 128
	}
	k := int64(c.SPADEKernel)
	if k == 0 {
		k = 3
	}
	nb := c.NumBlocks
	if nb < 1 || nb > MaxGeneratorBlocks {
		return 0, ""
	}
	ws := baseChannels[len(baseChannels)-1-nb:]
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
		if c.Norm != NormCLADE {
			consider(px*hidden, "the SPADE hidden map of "+at)
			consider(hidden*max(fin, fout)*k*k, "a SPADE weight of "+at)
		}
		consider(fin*min(fin, fout)*9, "the conv_0 weight of "+at)
	}
	return bytes, what
}
