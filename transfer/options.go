// Package transfer adapts a trained source model (any family behind the
// models contract; today the GAN of models/gan) to a target class vocabulary with class affinity transfer (Careil et al., CVPR 2023;
// docs/TRANSFER.md): a T x S affinity matrix A is put in front of every
// input of the generator that sees labels, the discriminator learns the
// target vocabulary (a new T+1 head, or the source head read through A), and
// the model is finetuned on a few target images. The baselines of the paper
// (training from scratch, plain finetuning with a new random first layer) and
// an affinity-only mode (only A, and optionally the SPADE/CLADE convolutions,
// are trained, with the GAN losses and the source discriminator frozen)
// share the same code. The page's light finetuning is another method (A
// trained against an L1 loss, package app), since it has no discriminator.
//
// The adapted network is exported as an ordinary model file: A (or the
// finetune baseline's input layer) is folded into the convolutions that read
// the label map, which is exact because those layers are linear in the map
// (see Fold), so `catsynth generate` runs it on target label maps unchanged.
//
// Dimension letters: B batch, T target classes, S source classes, Z noise
// size, H, W pixels.
package transfer

import (
	"encoding/json"
	"fmt"
	"math"

	"catsynth/models"
)

// Init values: where the weights come from.
const (
	// InitCAT starts from the source weights with the affinity layer A.
	InitCAT = "cat"
	// InitFinetune starts from the source weights with a new, randomly
	// initialised, unconstrained T -> S input layer instead of A (the
	// paper's plain finetuning baseline).
	InitFinetune = "finetune"
	// InitScratch trains the same architecture, built for T classes, from
	// random weights on the target images only.
	InitScratch = "scratch"
)

// Head values: how the discriminator speaks the target vocabulary.
const (
	// HeadReinit replaces the source head (S+1 outputs) by a new, randomly
	// initialised T+1 head; the rest of D keeps the source weights.
	HeadReinit = "reinit"
	// HeadAffinity keeps the source head and reads it through A: a real
	// pixel of target class t has the soft target A[t, :] over the source
	// classes (fake stays channel 0), the soft-label N+1 cross-entropy.
	HeadAffinity = "affinity"
)

// A values: how CAT's label layer uses the affinity matrix.
const (
	// AFree (the default for CAT) starts a free T x S input layer from A:
	// the finetune baseline's unconstrained layer, initialised with the
	// estimate instead of at random and trained at LRA. The source head
	// cannot be read through it, so the head defaults to HeadReinit. On a
	// shifted domain with a weak source (source64 on street) a soft A kept
	// a distribution lost the layout within 50 steps while this variant
	// learnt like finetune (docs/TRANSFER.md, "The default A variant"); on
	// an unseen domain with the 32 px source ASoftmax did better.
	AFree = "free"
	// AFrozen keeps A fixed: every row stays the estimate's distribution
	// over source classes.
	AFrozen = "frozen"
	// ASoftmax trains A as a row softmax of logits at LRA, so its rows stay
	// distributions.
	ASoftmax = "softmax"
)

// Train values: which parameters are trained.
const (
	// TrainAll trains G (and A unless it is AFrozen), D and the EMA of G.
	TrainAll = "all"
	// TrainAffinity trains only A (ASoftmax, its default there) and, with
	// Options.TrainSPADE, the SPADE/CLADE convolutions that read the label
	// map; D stays frozen (so the head must be HeadAffinity) and no EMA is
	// kept. (The page trains A another way: see package app.)
	TrainAffinity = "affinity"
)

// Options configure a transfer. The zero value is CAT with A as the start
// of a free input layer (AFree), a re-initialised discriminator head,
// everything trained, and the family's default hyperparameters.
type Options struct {
	Init  string `json:"init"`  // InitCAT (default), InitFinetune, InitScratch
	Head  string `json:"head"`  // HeadReinit (default, forced for the baselines and AFree), HeadAffinity (default for AFrozen and ASoftmax)
	Train string `json:"train"` // TrainAll (default), TrainAffinity
	// A (CAT only) says how the label layer uses A: AFree (default with
	// TrainAll), AFrozen, ASoftmax (default with TrainAffinity). State
	// files written before this field read train_a / free_a instead (see
	// UnmarshalJSON).
	A string `json:"a,omitempty"`
	// TrainSPADE (TrainAffinity only) also trains the SPADE/CLADE
	// scale/shift convolutions (mlp_shared, mlp_gamma, mlp_beta).
	TrainSPADE bool `json:"train_spade"`
	// Temperature of the trainable A's softmax (0 means 1).
	Temperature float64 `json:"temperature"`
	// LRA is the Adam learning rate of A's logits and of the finetune
	// baseline's input layer (0 means 5e-3: A's logits span about
	// [-14, 0], so the generator's 1e-4 would not move them in a few
	// hundred steps).
	LRA float32 `json:"lr_a"`
	// Config holds batch size, learning rates, LabelMix, EMA decay and seed.
	// The EMA decay ramps up as min(EMADecay, (1+k)/(10+k)) at step k, so
	// that a few hundred finetuning steps are not averaged away.
	Config models.TrainConfig `json:"config"`
}

// withDefaults fills the zero fields; the baselines always get a new head.
func (o Options) withDefaults() Options {
	if o.Init == "" {
		o.Init = InitCAT
	}
	if o.Train == "" {
		o.Train = TrainAll
	}
	if o.A == "" && o.Init == InitCAT {
		o.A = AFree
		if o.Train == TrainAffinity {
			o.A = ASoftmax
		}
	}
	if o.Head == "" {
		o.Head = HeadReinit
		if o.Init == InitCAT && o.A != AFree {
			o.Head = HeadAffinity
		}
	}
	if o.Temperature == 0 {
		o.Temperature = 1
	}
	if o.LRA == 0 {
		o.LRA = 5e-3
	}
	return o
}

// Validate reports a contradictory combination (after defaults).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch o.Init {
	case InitCAT, InitFinetune, InitScratch:
	default:
		return fmt.Errorf("transfer: init %q: want %s, %s or %s", o.Init, InitCAT, InitFinetune, InitScratch)
	}
	switch o.Head {
	case HeadReinit, HeadAffinity:
	default:
		return fmt.Errorf("transfer: head %q: want %s or %s", o.Head, HeadReinit, HeadAffinity)
	}
	switch o.Train {
	case TrainAll, TrainAffinity:
	default:
		return fmt.Errorf("transfer: train %q: want %s or %s", o.Train, TrainAll, TrainAffinity)
	}
	if o.Init != InitCAT {
		if o.Head == HeadAffinity {
			return fmt.Errorf("transfer: init %s has no affinity matrix to read the source head through: use head %s", o.Init, HeadReinit)
		}
		if o.A != "" {
			return fmt.Errorf("transfer: init %s has no affinity matrix to use as %s", o.Init, o.A)
		}
		if o.Train == TrainAffinity {
			return fmt.Errorf("transfer: affinity-only training needs init %s", InitCAT)
		}
	}
	switch o.A {
	case "", AFrozen, ASoftmax:
	case AFree:
		switch {
		case o.Head == HeadAffinity:
			return fmt.Errorf("transfer: the source head cannot be read through a free A (its rows are not distributions): use head %s, or A %s or %s", HeadReinit, AFrozen, ASoftmax)
		case o.Train == TrainAffinity:
			return fmt.Errorf("transfer: affinity-only training reads the frozen source head through A, which a free A cannot give: use A %s", ASoftmax)
		}
	default:
		return fmt.Errorf("transfer: A %q: want %s, %s or %s", o.A, AFree, AFrozen, ASoftmax)
	}
	if o.TrainSPADE && o.Train != TrainAffinity {
		return fmt.Errorf("transfer: TrainSPADE only applies to affinity-only training (everything is trained already)")
	}
	if o.Train == TrainAffinity {
		if o.Head != HeadAffinity {
			return fmt.Errorf("transfer: affinity-only training keeps the discriminator frozen, so it must keep the source head read through A (head %s)", HeadAffinity)
		}
		if o.A == AFrozen && !o.TrainSPADE {
			return fmt.Errorf("transfer: affinity-only training with a frozen A and frozen SPADE convolutions trains nothing: train A (%s), or the SPADE convolutions", ASoftmax)
		}
	}
	if !(o.Temperature > 0) || !(o.LRA > 0) || math.IsInf(o.Temperature, 0) || math.IsInf(float64(o.LRA), 0) {
		return fmt.Errorf("transfer: temperature %v and lr_a %v must be positive", o.Temperature, o.LRA)
	}
	return nil
}

// UnmarshalJSON reads Options, including those of state files and benchmark
// results written before the A field: there "train_a" true meant ASoftmax,
// "free_a" true AFree, and neither (for CAT) AFrozen, the default then.
func (o *Options) UnmarshalJSON(b []byte) error {
	type plain Options
	var x struct {
		plain
		TrainA *bool `json:"train_a"`
		FreeA  *bool `json:"free_a"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*o = Options(x.plain)
	if o.A != "" || (x.TrainA == nil && x.FreeA == nil) {
		return nil
	}
	switch {
	case x.FreeA != nil && *x.FreeA:
		o.A = AFree
	case x.TrainA != nil && *x.TrainA:
		o.A = ASoftmax
	case o.Init == "" || o.Init == InitCAT:
		o.A = AFrozen
	}
	return nil
}
