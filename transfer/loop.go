package transfer

import (
	"context"
	"image"

	"catsynth/models"
)

// Run finetunes m until o.Steps steps are done, drawing batches from next,
// with the shared training loop (models.Train; o.ModelPath is the adapted
// model, an ordinary model file, o.StatePath the transfer state for
// resuming): sample grids of the label maps, the real images and samples
// with seeds 1.. and 1001..; atomic checkpoints; on cancellation a
// checkpoint is written and ctx.Err() returned; a non-finite loss stops
// without writing, so the last checkpoint on disk is the last good one.
func Run(ctx context.Context, m *Model, next func() (models.Batch, error), sample models.Batch, trace []models.Losses, o models.LoopOptions) ([]models.Losses, error) {
	return models.Train(ctx, m, next, sample, trace, o)
}

// StepsDone implements models.Learner.
func (m *Model) StepsDone() int { return m.Tuner.Steps() }

// Sample implements models.Learner with the weights SaveModel writes.
func (m *Model) Sample(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	return m.Generate(labels, h, w, seeds)
}
