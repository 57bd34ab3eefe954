package backend

import "fmt"

// Fused is implemented by backends that have fused normalisation and
// modulation kernels. Package nn uses them when the backend has them and
// composes the same functions from the primitives otherwise, so a backend
// may leave them out; the composition stays the reference they are tested
// against. Each replaces a chain of six to ten dispatches and as many full
// passes over the activations with one.
type Fused interface {
	// Normalize computes the mean and biased variance of every statistics
	// group of x (see Norm) into mean and variance (p.Stats() values each)
	// and writes y = (x - mean) * rsqrt(variance + p.Eps).
	Normalize(y, mean, variance, x Buffer, p Norm)
	// NormalizeWith writes y = (x - mean) * rsqrt(variance + p.Eps) with the
	// statistics given (batch norm in eval mode, from the running ones).
	NormalizeWith(y, x, mean, variance Buffer, p Norm)
	// NormalizeGrad computes dx (overwritten) of y = Normalize(x) from dy,
	// x and the mean and variance Normalize wrote for x:
	// dx = r * (dy - mean(dy) - xhat * mean(dy * xhat)) per group, with
	// r = rsqrt(variance + eps) and xhat = (x - mean) * r.
	NormalizeGrad(dx, dy, x, mean, variance Buffer, p Norm)
	// UpdateRunning updates running statistics in place from the batch ones
	// (as PyTorch's batch norm): run = (1 - p.Momentum) * run + p.Momentum * stat,
	// with the variance made unbiased (times Count/(Count-1)).
	UpdateRunning(runMean, runVar, mean, variance Buffer, p Norm)

	// Modulate writes y = x * (gamma + p.Offset) + beta, gamma and beta
	// laid out as p.Per says. With p.Bias, gbias and bbias (C values each)
	// are added to gamma and beta per channel first (the biases of the
	// convolutions that predict them); otherwise they are nil.
	Modulate(y, x, gamma, beta, gbias, bbias Buffer, p Modulation)
	// ModulateGrad computes, all overwritten, dx = dy * (gamma + p.Offset)
	// (gamma with gbias added under p.Bias; gbias nil otherwise),
	// dgamma = dy * x and dbeta = dy, the last two summed over the axes
	// gamma and beta broadcast along. The biases' gradients are dgamma and
	// dbeta summed per channel, left to the caller.
	ModulateGrad(dx, dgamma, dbeta, dy, x, gamma, gbias Buffer, p Modulation)
}

// Norm describes a normalisation of a contiguous x viewed as (N, C, S),
// S being the product of the spatial axes. The channels fall into Groups
// groups of C/Groups consecutive channels; a statistics group is one
// channel group of one sample (group and instance norm), or of every sample
// together when AcrossBatch is set (batch norm, with Groups = C).
// Statistics are indexed n*Groups + g, or g across the batch.
type Norm struct {
	N, C, S     int
	Groups      int
	AcrossBatch bool
	Eps         float32
	Momentum    float32 // UpdateRunning only
}

// Stats is the number of statistics groups.
func (p Norm) Stats() int {
	if p.AcrossBatch {
		return p.Groups
	}
	return p.N * p.Groups
}

// Count is the number of values of x in one statistics group.
func (p Norm) Count() int {
	n := p.C / p.Groups * p.S
	if p.AcrossBatch {
		n *= p.N
	}
	return n
}

// Segments describes where a statistics group's values lie: Segs runs of
// SegLen consecutive values, SegStride apart, the first of group k at
// Base(k). Kernels walk groups with it.
func (p Norm) Segments() (segs, segLen, segStride int) {
	segLen = p.C / p.Groups * p.S
	if p.AcrossBatch {
		return p.N, segLen, p.C * p.S
	}
	return 1, segLen, 0
}

// Base is the offset of the first value of statistics group k.
func (p Norm) Base(k int) int {
	cg := p.C / p.Groups
	if p.AcrossBatch {
		return k * cg * p.S
	}
	n, g := k/p.Groups, k%p.Groups
	return (n*p.C + g*cg) * p.S
}

// Check panics with a message naming op when p is not a valid layout.
func (p Norm) Check(op string) {
	if p.N < 0 || p.C <= 0 || p.S < 0 || p.Groups <= 0 || p.C%p.Groups != 0 || p.Eps < 0 {
		panic(fmt.Sprintf("%s: bad normalisation %+v", op, p))
	}
}

// ModPer says how gamma and beta of a modulation are laid out.
type ModPer int

// The layouts of gamma and beta.
const (
	PerElement       ModPer = iota // (N, C, S), as x (SPADE, CLADE)
	PerSampleChannel               // (N, C) (diffusion's scale-shift norm)
	PerChannel                     // (C) (a norm's affine weight and bias)
)

// Modulation describes y = x * (gamma + Offset) + beta over a contiguous x
// viewed as (N, C, S); gamma and beta share the layout Per.
type Modulation struct {
	N, C, S int
	Per     ModPer
	Offset  float32
	Bias    bool // per-channel biases of gamma and beta (PerElement only)
}

// ParamLen is the number of values gamma and beta hold.
func (p Modulation) ParamLen() int {
	switch p.Per {
	case PerSampleChannel:
		return p.N * p.C
	case PerChannel:
		return p.C
	}
	return p.N * p.C * p.S
}

// Check panics with a message naming op when p is not a valid layout.
func (p Modulation) Check(op string) {
	if p.N < 0 || p.C < 0 || p.S < 0 || p.Per < PerElement || p.Per > PerChannel || p.Bias && p.Per != PerElement {
		panic(fmt.Sprintf("%s: bad modulation %+v", op, p))
	}
}

// ActivatedModulation is implemented by backends whose modulation kernel
// can also normalise x per channel with given statistics before it (batch
// norm in eval mode, from the running statistics) and apply an activation
// after it: SPADE's norm, modulation and leaky ReLU in one pass and one dispatch
// instead of three. Package nn composes the same function from
// NormalizeWith, Modulate and the element-wise activation when a backend
// lacks it; that composition is the reference. Only the per-element layout
// (p.Per == PerElement, SPADE and CLADE) is covered.
type ActivatedModulation interface {
	// ModulateAct writes y = act(xn * (gamma + p.Offset) + beta), with
	// p.Bias's per-channel biases added to gamma and beta as in Modulate,
	// xn = (x - mean[c]) * rsqrt(variance[c] + a.Eps) under a.Norm (mean
	// and variance C values each; nil otherwise) and xn = x otherwise.
	// Under a.Joint gamma holds gamma and beta as one (N, 2C, S) buffer
	// and beta is not read.
	ModulateAct(y, x, mean, variance, gamma, beta, gbias, bbias Buffer, p Modulation, a ModAct)
	// ModulateActGrad is ModulateGrad of the activated modulation without
	// the normalisation (a.Norm must be false: the caller hands the
	// normalised x and scales dx by rsqrt(variance + eps) itself): from the
	// forward's output y, dz = dy * act'(y) (as Epilogue.Derivative), then
	// dx = dz * (gamma + p.Offset) (gamma with gbias added under p.Bias),
	// dgamma = dz * x and dbeta = dz, all overwritten.
	ModulateActGrad(dx, dgamma, dbeta, dy, y, x, gamma, gbias Buffer, p Modulation, a ModAct)
}

// ModAct is what ModulateAct adds to a modulation: a per-channel
// normalisation before it (Norm, with Eps), an activation after it (Act
// and Slope as in Epilogue) and where gamma and beta lie (Joint). The zero
// value is the plain modulation with gamma and beta in buffers of their
// own.
type ModAct struct {
	Norm  bool
	Eps   float32
	Act   Activation
	Slope float32
	// Joint says that gamma and beta are the two channel halves of one
	// (N, 2C, S) buffer, passed as gamma (beta is not read and may be
	// nil): per sample the C gamma channels, then the C beta channels, as
	// one convolution with 2C outputs writes them (SPADE's gamma and beta
	// convs computed as one; see Modulation.JointRow). Forward only: the
	// gradient keeps separate buffers.
	Joint bool
}

// JointRow is, for row r = n*C + c of x viewed as (N*C, S), the offsets of
// that row's gamma and beta in a joint (N, 2C, S) buffer (ModAct.Joint).
func (p Modulation) JointRow(r int) (gamma, beta int) {
	n := r / p.C
	gamma = (r + n*p.C) * p.S
	return gamma, gamma + p.C*p.S
}

// Epilogue is the activation of a as an Epilogue (for Apply and
// Derivative).
func (a ModAct) Epilogue() Epilogue { return Epilogue{Act: a.Act, Slope: a.Slope} }

// Check panics with a message naming op when a is not valid for p, or a
// gradient (grad) is asked with the normalisation.
func (a ModAct) Check(op string, p Modulation, grad bool) {
	p.Check(op)
	a.Epilogue().Check(op)
	if p.Per != PerElement || a.Eps < 0 || grad && (a.Norm || a.Joint) {
		panic(fmt.Sprintf("%s: bad fused modulation %+v with %+v (per-element only; no normalisation or joint gamma and beta in the gradient)", op, p, a))
	}
}
