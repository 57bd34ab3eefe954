package nn

import "fmt"

// SPADE is spatially-adaptive normalization (Park et al. 2019, as OASIS
// uses it): parameter-free batch norm of x (B, C, h, w), then a per-pixel
// scale and shift predicted from a conditioning map seg (B, L, h, w),
// already resized to x's size:
//
//	out = bn(x) * (1 + gamma(seg)) + beta(seg)
//
// In the SPADE form gamma and beta are k x k convs over a shared hidden map
// relu(mlp_shared.0(seg)); in the CLADE form they are 1x1 convs of seg
// itself, which for a one-hot or soft label map is a per-class (weighted)
// scale and shift.
//
// Names: first_norm.{running_mean,running_var,num_batches_tracked},
// mlp_shared.0.{weight,bias} (SPADE only), mlp_gamma.{weight,bias},
// mlp_beta.{weight,bias}.
type SPADE struct {
	Norm            *BatchNorm2d
	Shared          *Conv2d // nil for CLADE
	Gamma, Beta     *Conv2d
	normNC, labelNC int
}

// SPADEConfig sizes a SPADE layer.
type SPADEConfig struct {
	NormNC  int  // C, the channels normalised
	LabelNC int  // L, the channels of the conditioning map
	Hidden  int  // width of the shared conv (SPADE form)
	Kernel  int  // kernel of the SPADE form's convs
	CLADE   bool // the 1x1 form without a hidden map
}

// NewSPADE registers a SPADE (or CLADE) layer under ps.
func NewSPADE(ps *Params, c SPADEConfig) *SPADE {
	s := &SPADE{Norm: NewBatchNorm2d(ps.Sub("first_norm"), c.NormNC), normNC: c.NormNC, labelNC: c.LabelNC}
	if c.CLADE {
		s.Gamma = NewConv2d(ps.Sub("mlp_gamma"), c.LabelNC, c.NormNC, 1, 1, 0, true)
		s.Beta = NewConv2d(ps.Sub("mlp_beta"), c.LabelNC, c.NormNC, 1, 1, 0, true)
		return s
	}
	k := c.Kernel
	s.Shared = NewConv2d(ps.Sub("mlp_shared.0"), c.LabelNC, c.Hidden, k, 1, k/2, true)
	s.Gamma = NewConv2d(ps.Sub("mlp_gamma"), c.Hidden, c.NormNC, k, 1, k/2, true)
	s.Beta = NewConv2d(ps.Sub("mlp_beta"), c.Hidden, c.NormNC, k, 1, k/2, true)
	return s
}

// LabelConvNames are the (relative) names of the conv weights that read the
// conditioning map: what a linear map of the labels folds into.
func (s *SPADE) LabelConvNames() []string {
	if s.Shared != nil {
		return []string{"mlp_shared.0.weight"}
	}
	return []string{"mlp_gamma.weight", "mlp_beta.weight"}
}

// Forward normalizes x (B, C, h, w) conditioned on seg (B, L, h, w).
func (s *SPADE) Forward(x, seg *Tensor) *Tensor { return s.ForwardAct(x, seg, ActIdentity) }

// ForwardAct is act(Forward(x, seg)) as one modulation op (see
// ModulateWith): in eval mode the batch norm (running statistics), the
// modulation and act are one pass; in training the batch-statistics
// normalisation stays its own op and the modulation carries act.
func (s *SPADE) ForwardAct(x, seg *Tensor, act Activation) *Tensor {
	if seg.Dim(1) != s.labelNC || seg.Dim(2) != x.Dim(2) || seg.Dim(3) != x.Dim(3) {
		panic(fmt.Sprintf("nn: SPADE: x %v with seg %v (want %d channels at x's size)", x.Shape(), seg.Shape(), s.labelNC))
	}
	// The gamma and beta convolutions' biases go to the modulation.
	o := ModulateOpts{Offset: 1, GammaBias: s.Gamma.B, BetaBias: s.Beta.B, Act: act}
	n := s.Norm
	if n.ps.Training() {
		x = n.Forward(x)
	} else {
		o.Mean, o.Var, o.Eps = n.RunningMean, n.RunningVar, n.Eps
	}
	a := seg
	if s.Shared != nil {
		a = s.Shared.ForwardAct(seg, ActReLU) // the ReLU rides in the conv epilogue
	}
	gamma := Conv2D(a, s.Gamma.Weight(), nil, s.Gamma.Opts)
	beta := Conv2D(a, s.Beta.Weight(), nil, s.Beta.Opts)
	return ModulateWith(x, gamma, beta, o)
}
