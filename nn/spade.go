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
//
// In eval mode, when no gradient is wanted, gamma and beta are computed by
// one convolution with 2C outputs (a wider GEMM and one dispatch instead
// of two) whose weight is a cached concatenation of mlp_gamma.weight and
// mlp_beta.weight (see jointWeight); the parameters stay two tensors under
// their official names.
type SPADE struct {
	Norm            *BatchNorm2d
	Shared          *Conv2d // nil for CLADE
	Gamma, Beta     *Conv2d
	normNC, labelNC int
	ps              *Params

	// joint is the eval-mode weight [2C, hidden, k, k]: mlp_gamma.weight
	// then mlp_beta.weight along the output channels (see jointWeight).
	joint derivedCache
}

// SPADEConfig sizes a SPADE layer.
type SPADEConfig struct {
	NormNC  int     // C, the channels normalised
	LabelNC int     // L, the channels of the conditioning map
	Hidden  int     // width of the shared conv (SPADE form)
	Kernel  int     // kernel of the SPADE form's convs
	CLADE   bool    // the 1x1 form without a hidden map
	PadMode PadMode // the SPADE form's k x k convs' padding ("" = zeros)
}

// NewSPADE registers a SPADE (or CLADE) layer under ps.
func NewSPADE(ps *Params, c SPADEConfig) *SPADE {
	s := &SPADE{Norm: NewBatchNorm2d(ps.Sub("first_norm"), c.NormNC), normNC: c.NormNC, labelNC: c.LabelNC, ps: ps}
	ps.own(s.Release)
	if c.CLADE {
		s.Gamma = NewConv2d(ps.Sub("mlp_gamma"), c.LabelNC, c.NormNC, 1, 1, 0, true)
		s.Beta = NewConv2d(ps.Sub("mlp_beta"), c.LabelNC, c.NormNC, 1, 1, 0, true)
		return s
	}
	conv := func(name string, in, out int) *Conv2d {
		return NewConv2dConfig(ps.Sub(name), Conv2dConfig{In: in, Out: out, KH: c.Kernel,
			Opts: ConvOpts{Pad: c.Kernel / 2}, Bias: true, PadMode: c.PadMode})
	}
	s.Shared = conv("mlp_shared.0", c.LabelNC, c.Hidden)
	s.Gamma = conv("mlp_gamma", c.Hidden, c.NormNC)
	s.Beta = conv("mlp_beta", c.Hidden, c.NormNC)
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
	// gamma and beta share their input and options, so one border fill
	// serves both.
	a, co := s.Gamma.PadInput(a)
	if w := s.jointWeight(); w != nil {
		return ModulateJoint(x, Conv2D(a, w, nil, co), o)
	}
	gamma := Conv2D(a, s.Gamma.Weight(), nil, co)
	beta := Conv2D(a, s.Beta.Weight(), nil, co)
	return ModulateWith(x, gamma, beta, o)
}

// jointWeight returns a view of the cached joint gamma/beta weight
// [2C, hidden, k, k] in eval mode when no gradient is wanted for the two
// weights (autograd off, or neither requires one), and nil otherwise
// (training mode, which releases the cache; a gradient wanted; spectrally
// normalised or grouped weights; the two convs' options differing): there
// gamma and beta stay two convolutions, whose gradients reach the two
// parameters directly.
//
// The cache is rebuilt whenever the Version of either weight or of the
// cache itself differs from the one it was built from, or a weight's
// shape changed. Every in-place write in package nn (Upload, CopyFrom,
// optimizer steps, EMA Update and Swap, checkpoint loading) gives the
// tensor a new Version (see Tensor.Version), so a stale weight cannot be
// used. As SpectralNorm's eval weight, a returned view is a snapshot:
// while one from an earlier call is alive, a rebuild goes to a new buffer.
func (s *SPADE) jointWeight() *Tensor {
	if s.ps.Training() {
		s.Release() // stale from the first optimizer step on
		return nil
	}
	g, b := s.Gamma, s.Beta
	if g.SN != nil || b.SN != nil || g.Opts != b.Opts || g.Pad != b.Pad || g.Opts.Groups > 1 {
		return nil
	}
	d := g.W.dev
	if d.GradEnabled() && (g.W.RequiresGrad() || b.W.RequiresGrad()) {
		return nil
	}
	if !sameShape(g.W.shape[1:], b.W.shape[1:]) {
		panic(fmt.Sprintf("nn: SPADE: gamma weight %v and beta weight %v", g.W.shape, b.W.shape))
	}
	shape := append([]int{g.W.shape[0] + b.W.shape[0]}, g.W.shape[1:]...)
	return s.joint.get(shape, []*Tensor{g.W, b.W}, func(dst *Tensor) {
		inner := numel(g.W.shape[1:])
		copyBlock(dst, g.W, 1, g.W.shape[0], inner, shape[0], 0, false)
		copyBlock(dst, b.W, 1, b.W.shape[0], inner, shape[0], g.W.shape[0], false)
	})
}

// Release frees the cached joint weight (views of it handed out stay valid
// until released). The registry's Release calls it; a later eval forward
// builds the cache again.
func (s *SPADE) Release() { s.joint.release() }
