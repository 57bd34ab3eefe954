package transfer

import (
	"context"
	"image"

	"catsynth/models"
)

// T is the number of target classes.
func (m *Model) T() int { return len(m.Target) }

// Step runs one finetuning iteration (the family's step: for the GAN, the
// generator and label-layer update, the discriminator update and the EMA
// when the critic trains) on a batch of target images and target label
// maps (labels in [0, T) or negative = unlabelled). A non-finite loss stops
// the step before the optimizer step it would feed and returns an error
// wrapping models.ErrNonFinite.
func (m *Model) Step(b models.Batch) (models.Losses, error) { return m.Tuner.Step(b) }

// Conditioned is the network with the label layer in front (scratch: the
// network alone).
func (m *Model) Conditioned() models.Conditioned {
	c := models.Conditioned{Net: m.Tuner.Net()}
	if m.Options.Init != InitScratch {
		c.Layer = m.Tuner.Layer()
	}
	return c
}

// Generate makes one image per seed from target label maps (B*H*W indices
// in [0, T) or negative) with the averaged weights (when kept) in eval
// mode; the training weights and mode are restored afterwards.
func (m *Model) Generate(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	var imgs []*image.RGBA
	err := m.Tuner.Averaged(func() error {
		var err error
		imgs, err = m.Conditioned().Generate(context.Background(), labels, h, w, seeds, nil)
		return err
	})
	return imgs, err
}
