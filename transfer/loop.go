package transfer

import (
	"context"
	"image"

	"catsynth/models/gan"
)

// LoopOptions configures Run: the GAN's training-loop options (ModelPath is
// the adapted generator, a normal gan model file; StatePath the transfer
// state for resuming). Zero intervals mean "only at the end".
type LoopOptions = gan.LoopOptions

// Run finetunes m until o.Steps steps are done, drawing batches from next,
// with the GAN's training loop (gan.Train): sample grids of the label maps,
// the real images and samples with seeds 1.. and 1001..; atomic
// checkpoints; on cancellation a checkpoint is written and ctx.Err()
// returned; a non-finite loss stops without writing, so the last checkpoint
// on disk is the last good one.
func Run(ctx context.Context, m *Model, next func() (gan.Batch, error), sample gan.Batch, trace []gan.Losses, o LoopOptions) ([]gan.Losses, error) {
	return gan.Train(ctx, m, next, sample, trace, o)
}

// StepsDone implements gan.Learner.
func (m *Model) StepsDone() int { return m.Steps }

// Sample implements gan.Learner with the weights SaveModel writes.
func (m *Model) Sample(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	return m.Generate(labels, h, w, seeds)
}
