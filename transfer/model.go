package transfer

import (
	"fmt"
	"strings"

	"catsynth/affinity"
	"catsynth/models"
	"catsynth/nn"
)

// InputPrefix names the free input layer's parameters ("input.weight",
// shape (T, S)) inside the network's parameters.
const InputPrefix = affinity.FreePrefix

// Model is a source model being adapted to T target classes: the family's
// finetuner (the network and what its training needs, e.g. a GAN's
// discriminator) with the label layer transfer chose in front of it.
//
// The network keeps the source architecture: it reads S source channels,
// and the label layer (A for CAT, a free T x S layer for finetune) turns
// the target one-hot map (B, T, H, W) into them, in front of every input
// that reads labels. For scratch the network is built for T channels and
// has no layer. The layer's parameters live in the network's parameters
// (affinity.weight or affinity.logits, input.weight), so they are
// checkpointed and averaged with it.
type Model struct {
	Dev     *nn.Device
	Options Options
	Target  []string // the T target class names
	Source  []string // the S source class names (scratch: nil)
	Tuner   models.Finetuner
	Layer   *affinity.Layer     // CAT
	Input   *affinity.FreeLayer // finetune, and CAT with a free A
	InitA   *affinity.Matrix
	// Kind is the network's model kind.
	Kind string
}

// New builds a transfer model from a source: CAT needs A (T x S, in the
// order of target and src.Classes(); see affinity.Matrix.Reorder); the
// baselines ignore it. Weights come from the source (the network from its
// averaged weights), unless o.Init is InitScratch. Random parts are drawn
// from o.Config.Seed.
func New(dev *nn.Device, src models.Source, target []string, A *affinity.Matrix, o Options) (*Model, error) {
	m, spec, err := prepare(src.Kind(), src.Classes(), target, A, o)
	if err != nil {
		return nil, err
	}
	t, err := src.NewFinetuner(dev, spec)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	m.Dev, m.Tuner = dev, t
	return m, nil
}

// checkTarget refuses empty, blank or duplicate target class names.
func checkTarget(target []string) error {
	if len(target) == 0 {
		return fmt.Errorf("transfer: no target classes")
	}
	seen := map[string]int{}
	for i, n := range target {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("transfer: target class %d has an empty name", i)
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("transfer: target class %q is listed twice (classes %d and %d)", n, j, i)
		}
		seen[n] = i
	}
	return nil
}

// prepare checks the inputs and says what the family's finetuner is to
// train: the label layer (built inside the network's parameters), the
// parameter partition, the critic's head and the hyperparameters.
func prepare(kind string, source, target []string, A *affinity.Matrix, o Options) (*Model, models.FinetuneSpec, error) {
	var spec models.FinetuneSpec
	if err := o.Validate(); err != nil {
		return nil, spec, err
	}
	o = o.withDefaults()
	if err := checkTarget(target); err != nil {
		return nil, spec, err
	}
	T, S := len(target), len(source)
	m := &Model{Options: o, Target: append([]string(nil), target...), Kind: kind}
	if o.Init != InitScratch {
		m.Source = append([]string(nil), source...)
	}
	if o.Init == InitCAT {
		if A == nil {
			return nil, spec, fmt.Errorf("transfer: CAT needs an affinity matrix")
		}
		if A.T() != T || A.S() != S {
			return nil, spec, fmt.Errorf("transfer: affinity matrix is %d x %d, but there are %d target and %d source classes", A.T(), A.S(), T, S)
		}
		if err := A.CheckClasses(target, source); err != nil {
			return nil, spec, fmt.Errorf("transfer: affinity matrix does not match the classes: %w", err)
		}
		if _, err := A.Validate(); err != nil {
			return nil, spec, err
		}
		m.InitA = A.Clone()
	}
	spec = models.FinetuneSpec{
		Target:       m.Target,
		Scratch:      o.Init == InitScratch,
		IsLayerParam: isLabelMapParam,
		TrainCritic:  o.Train == TrainAll,
		SourceHead:   o.Head == HeadAffinity,
		RampEMA:      true,
		LRLayer:      o.LRA,
		Config:       o.Config,
	}
	if o.Train == TrainAffinity {
		spec.FreezeNet, spec.TrainLabelPath = true, o.TrainSPADE
	}
	switch {
	case o.Init == InitCAT && o.A == AFree:
		spec.NewLayer = func(ps *nn.Params) (models.LabelLayer, error) {
			err := nn.Catch(func() { m.Input = affinity.NewFreeLayerFrom(ps.Sub(InputPrefix), m.InitA) })
			return m.Input, err
		}
	case o.Init == InitCAT:
		spec.NewLayer = func(ps *nn.Params) (models.LabelLayer, error) {
			var lerr error
			err := nn.Catch(func() {
				m.Layer, lerr = affinity.NewLayer(ps.Sub(affinity.ParamPrefix), m.InitA, affinity.LayerOptions{Train: o.A == ASoftmax, Temperature: o.Temperature})
			})
			if err == nil {
				err = lerr
			}
			return m.Layer, err
		}
	case o.Init == InitFinetune:
		spec.NewLayer = func(ps *nn.Params) (models.LabelLayer, error) {
			err := nn.Catch(func() { m.Input = affinity.NewFreeLayer(ps.Sub(InputPrefix), m.Target, S, nil) })
			return m.Input, err
		}
	}
	return m, spec, nil
}

// isLabelMapParam reports whether a network parameter belongs to the
// label-map layer (A or the free input layer) rather than the source
// network.
func isLabelMapParam(name string) bool {
	return strings.HasPrefix(name, affinity.ParamPrefix+".") || strings.HasPrefix(name, InputPrefix+".")
}

// TrainableCount is the number of scalars trained in the network (the
// label layer included) and in the critic.
func (m *Model) TrainableCount() (net, critic int) { return m.Tuner.TrainableCount() }

// Steps is the number of finetuning steps done.
func (m *Model) Steps() int { return m.Tuner.Steps() }

// Net is the network being adapted.
func (m *Model) Net() models.Model { return m.Tuner.Net() }

// Release frees every tensor of the model.
func (m *Model) Release() {
	if m.Tuner != nil {
		m.Tuner.Release()
	}
}

// Matrix returns the current A (CAT; nil otherwise), from the averaged
// weights when an average is kept.
func (m *Model) Matrix() (*affinity.Matrix, error) {
	if m.Layer == nil {
		return nil, nil
	}
	var A *affinity.Matrix
	err := m.Tuner.Averaged(func() error {
		var err error
		A, err = m.Layer.Matrix()
		return err
	})
	return A, err
}
