package transfer

import (
	"fmt"

	"catsynth/models/gan"
	"catsynth/nn"
)

// Segmenter is the source discriminator used as the source-class
// segmenter of the segmentation estimator (affinity.Segmenter): its N+1
// logits with the "fake" channel 0 dropped, (B, S, H, W). OASIS's
// discriminator is trained as exactly such a segmenter on real images.
type Segmenter struct {
	D *gan.Discriminator
	// Size is the side the source was trained at; the estimators should
	// feed images of that size (InputSize).
	Size int
}

// NewSegmenter loads src's discriminator on dev (eval mode).
func NewSegmenter(dev *nn.Device, src *Source) (*Segmenter, error) {
	d, err := src.LoadDiscriminator(dev)
	if err != nil {
		return nil, err
	}
	return &Segmenter{D: d, Size: src.G.H}, nil
}

// InputSize is the square image side the segmenter works best at.
func (s *Segmenter) InputSize() int { return s.Size }

// Segment returns source-class logits (B, S, H, W) for images
// (B, 3, H, W) in [-1, 1]; sides must be multiples of 2^NumBlocks.
func (s *Segmenter) Segment(images *nn.Tensor) (out *nn.Tensor, err error) {
	if images.Rank() != 4 || images.Dim(1) != 3 {
		return nil, fmt.Errorf("transfer: segmenter input %v, want (B, 3, H, W)", images.Shape())
	}
	if err := s.D.Config.CheckSize(images.Dim(2), images.Dim(3)); err != nil {
		return nil, err
	}
	err = nn.Catch(func() {
		logits := s.D.Forward(images)
		out = nn.Narrow(logits, 1, 1, logits.Dim(1)-1)
	})
	return out, err
}

// Release frees the discriminator.
func (s *Segmenter) Release() { s.D.Release() }
