package models

import "catsynth/nn"

// Source is a trained model together with what finetuning it needs beyond
// the model file (a GAN's discriminator): the training-state file that
// `catsynth train` writes beside a model, opened by OpenSource.
type Source interface {
	// Kind is the kind of the model the source trains.
	Kind() string
	// Classes names its S label classes.
	Classes() []string
	// Size is its training size.
	Size() (h, w int)
	// Steps is how many training steps it had.
	Steps() int
	// NewFinetuner builds the finetuner spec describes, with the source's
	// weights (spec.Scratch: fresh ones of the same architecture).
	NewFinetuner(dev *nn.Device, spec FinetuneSpec) (Finetuner, error)
	// Segmenter returns the source-class segmenter the segmentation
	// estimator runs on target images, or an error when the family has
	// none.
	Segmenter(dev *nn.Device) (Segmenter, error)
}

// Segmenter labels images with the source classes: logits (B, S, H, W)
// for images (B, 3, H, W) in [-1, 1].
type Segmenter interface {
	InputSize() int
	Segment(images *nn.Tensor) (*nn.Tensor, error)
	Release()
}

// FinetuneSpec says what a finetuning run trains; transfer decides it
// (the label layer, the parameter partition), the family runs it.
type FinetuneSpec struct {
	// Target names the T target classes of the label maps in batches.
	Target []string
	// Scratch builds the network for the T target classes with random
	// weights instead of loading the source (no label layer then).
	Scratch bool
	// NewLayer, when non-nil, registers the label layer's parameters under
	// ps (the network's own parameters, so that they are checkpointed and
	// averaged with it) and returns the layer put in front of the network.
	NewLayer func(ps *nn.Params) (LabelLayer, error)
	// IsLayerParam tells the label layer's parameters from the network's
	// (they are not loaded from the source, and train at LRLayer).
	IsLayerParam func(name string) bool
	// FreezeNet keeps the network's own parameters fixed, except, with
	// TrainLabelPath, those of the layers that turn the label map into
	// modulation (a GAN's SPADE/CLADE convolutions): the page's light
	// finetuning.
	FreezeNet, TrainLabelPath bool
	// TrainCritic trains the family's other networks (a GAN's
	// discriminator) and keeps a weight average; false freezes them.
	TrainCritic bool
	// SourceHead keeps the critic's source-class output and reads it
	// through the label layer (class affinity transfer); false gives it a
	// new output for the T target classes.
	SourceHead bool
	// RampEMA ramps the average's decay up as min(decay, (1+k)/(10+k)) at
	// step k, so that a few hundred steps are not averaged away.
	RampEMA bool
	// LRLayer is the learning rate of the label layer's parameters.
	LRLayer float32
	// Seed draws the random parts; Config holds the hyperparameters.
	Config TrainConfig
}

// Finetuner trains a network behind a label layer on target images: a
// family's training step, driven by transfer.
type Finetuner interface {
	// Net is the network being trained; Layer the label layer in front of
	// it (nil for Scratch).
	Net() Model
	Layer() LabelLayer
	// Step runs one iteration on a batch of target images and target label
	// maps; a non-finite loss returns an error wrapping ErrNonFinite with
	// the weights as before the step.
	Step(b Batch) (Losses, error)
	// Steps counts the steps done; SetSteps sets it for a resumed run (and
	// restarts the random stream there).
	Steps() int
	SetSteps(k int)
	// Averaged runs f with the averaged weights (when kept) in the
	// network's parameters and eval mode; both are restored afterwards.
	Averaged(f func() error) error
	// State are the tensors a resumed run needs, under the family's state
	// names; StateMeta the metadata ResumeFinetuner reads back.
	State() []*nn.Param
	StateMeta() (map[string]string, error)
	// TrainableCount is the number of scalars trained in the network
	// (label layer included) and in the critic.
	TrainableCount() (net, critic int)
	Release()
}
