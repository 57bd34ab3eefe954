package models

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"catsynth/nn"
)

// MetaKind is the checkpoint metadata key naming what a file holds (a
// family's model kind, its training state kind, or transfer's state).
const MetaKind = "catsynth_kind"

// MetaStep is the metadata key of the training steps done.
const MetaStep = "step"

// A Family builds and loads the models of one kind. Families register
// themselves (Register) from their package's init, so that a program
// chooses models by the kind in a file, not by importing a family.
type Family interface {
	// Kind is the kind of the family's model files ("oasis-generator").
	Kind() string
	// StateKind is the kind of its training-state files.
	StateKind() string
	// Inspect describes the model a model file holds from its metadata,
	// before anything is allocated (so that device limits can be checked).
	Inspect(ck *nn.Checkpoint) (Spec, error)
	// Load builds the model a model file describes and loads its weights,
	// in eval mode.
	Load(dev *nn.Device, ck *nn.Checkpoint) (Model, error)
	// OpenSource reads a training-state file for finetuning (see Source).
	OpenSource(ck *nn.Checkpoint) (Source, error)
	// ResumeFinetuner rebuilds a finetuner from a state file written with
	// its State and StateMeta; the caller loads State's tensors from it.
	ResumeFinetuner(dev *nn.Device, ck *nn.Checkpoint, spec FinetuneSpec) (Finetuner, error)
}

var (
	familiesMu sync.Mutex
	families   []Family
)

// Register adds a family. Model files without a kind (converted official
// checkpoints carry none) go to the family that says it reads them
// (ReadsUnkinded), else to the first one registered.
func Register(f Family) {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	for _, g := range families {
		if g.Kind() == f.Kind() {
			panic("models: family " + f.Kind() + " registered twice")
		}
	}
	families = append(families, f)
}

// Families lists the registered families' kinds.
func Families() []string {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	var out []string
	for _, f := range families {
		out = append(out, f.Kind())
	}
	return out
}

// familyFor finds the family whose model (state: training state) kind is
// kind; "" is the kind of files without one (see Register).
func familyFor(kind string, state bool) (Family, error) {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	if len(families) == 0 {
		return nil, fmt.Errorf("models: no model family is linked into this program")
	}
	if kind == "" && !state {
		for _, f := range families {
			if u, ok := f.(interface{ ReadsUnkinded() bool }); ok && u.ReadsUnkinded() {
				return f, nil
			}
		}
		return families[0], nil
	}
	var kinds []string
	for _, f := range families {
		k := f.Kind()
		if state {
			k = f.StateKind()
		}
		if k == kind {
			return f, nil
		}
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return nil, fmt.Errorf("a %q file, where this program reads %s", kind, strings.Join(kinds, ", "))
}

// Load reads a model file (plain or .zst safetensors) of any registered
// family; see LoadCheckpoint.
func Load(dev *nn.Device, path string) (Conditioned, error) {
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return Conditioned{}, err
	}
	return LoadCheckpoint(dev, ck)
}

// LoadCheckpoint builds the model a checkpoint holds: a family's model
// file, or an adapted model (a network with a fixed label layer in front,
// KindAdapted), in eval mode. A training-state file is refused with a hint.
func LoadCheckpoint(dev *nn.Device, ck *nn.Checkpoint) (Conditioned, error) {
	kind := ck.Metadata[MetaKind]
	if kind == KindAdapted {
		return loadAdapted(dev, ck)
	}
	f, err := modelFamily(ck)
	if err != nil {
		return Conditioned{}, err
	}
	m, err := f.Load(dev, ck)
	if err != nil {
		return Conditioned{}, err
	}
	return Conditioned{Net: m}, nil
}

// ModelSourcer is a family whose model files alone are enough to finetune
// from (a diffusion model has no discriminator: its weights are all a
// finetuner starts from), so a model shipped without a training state can
// still be a transfer source.
type ModelSourcer interface {
	OpenModelSource(ck *nn.Checkpoint) (Source, error)
}

// OpenSource reads a training-state file of any registered family, or a
// model file of a family that finetunes from model files (ModelSourcer).
func OpenSource(ck *nn.Checkpoint) (Source, error) {
	kind := ck.Metadata[MetaKind]
	f, err := familyFor(kind, true)
	if err != nil {
		if kind != "" {
			if mf, err2 := familyFor(kind, false); err2 == nil {
				if ms, ok := mf.(ModelSourcer); ok {
					return ms.OpenModelSource(ck)
				}
			}
		}
		return nil, fmt.Errorf("%s is %v; finetuning needs a training state", ck.Path, err)
	}
	return f.OpenSource(ck)
}

// ResumeFinetuner rebuilds the finetuner of a state file whose network is
// of kind modelKind ("": see Register); see Family.ResumeFinetuner.
func ResumeFinetuner(dev *nn.Device, ck *nn.Checkpoint, modelKind string, spec FinetuneSpec) (Finetuner, error) {
	f, err := familyFor(modelKind, false)
	if err != nil {
		return nil, fmt.Errorf("%s: its network is %v", ck.Path, err)
	}
	return f.ResumeFinetuner(dev, ck, spec)
}

// Spec describes a model file before its weights are allocated.
type Spec struct {
	Kind    string
	Classes []string // the S label channels
	H, W    int      // training size
	// Buffers is Model.LargestBuffer of the model the file builds.
	Buffers func(batch int) (int64, string)
}

// LargestBuffer is Model.LargestBuffer of the model the file builds.
func (s Spec) LargestBuffer(batch int) (int64, string) {
	if s.Buffers == nil {
		return 0, ""
	}
	return s.Buffers(batch)
}

// Inspect describes a model file of any registered family (an adapted
// file: its network) without allocating it.
func Inspect(ck *nn.Checkpoint) (Spec, error) {
	if ck.Metadata[MetaKind] == KindAdapted {
		net, _, _, err := SplitAdapted(ck)
		if err != nil {
			return Spec{}, err
		}
		ck = net
	}
	f, err := modelFamily(ck)
	if err != nil {
		return Spec{}, err
	}
	return f.Inspect(ck)
}

// modelFamily is the family of a model file, or an error that says what
// the file is instead (another family's training state, an unknown kind).
func modelFamily(ck *nn.Checkpoint) (Family, error) {
	f, err := familyFor(ck.Metadata[MetaKind], false)
	if err != nil {
		if sf, serr := familyFor(ck.Metadata[MetaKind], true); serr == nil {
			return nil, fmt.Errorf("%s is a %s training state, not a model file: give the model file written beside it", ck.Path, sf.StateKind())
		}
		return nil, fmt.Errorf("%s is %v", ck.Path, err)
	}
	return f, nil
}
