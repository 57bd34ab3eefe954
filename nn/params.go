package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Param is a named tensor of a model: a trainable parameter or a buffer
// (non-trainable state such as batch-norm running statistics or spectral-norm
// vectors). Names are PyTorch's dotted state_dict keys ("body.0.conv_0.weight").
type Param struct {
	Name      string
	T         *Tensor
	Trainable bool
}

type paramStore struct {
	dev      *Device
	rng      *rand.Rand
	list     []*Param
	byName   map[string]*Param
	training bool
	// owned releases device state that layers keep beside the registered
	// tensors (SpectralNorm's eval weight); Release runs them.
	owned []func()
}

// Params is a view of a model's parameter registry under a name prefix.
// Sub returns a child view; all views share one registry, one random source
// for initialization, and one train/eval mode.
type Params struct {
	s      *paramStore
	prefix string
}

// NewParams creates an empty registry on dev. Initializers draw from a
// generator seeded with seed, so models built in the same order with the same
// seed get identical weights. The registry starts in training mode.
func NewParams(dev *Device, seed uint64) *Params {
	return &Params{s: &paramStore{
		dev:      dev,
		rng:      rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		byName:   map[string]*Param{},
		training: true,
	}}
}

// Device returns the registry's device.
func (p *Params) Device() *Device { return p.s.dev }

// Rand returns the registry's random source (used by initializers).
func (p *Params) Rand() *rand.Rand { return p.s.rng }

// Prefix is the view's dotted prefix ("" at the root).
func (p *Params) Prefix() string { return p.prefix }

// Sub returns the child view name (dotted names nest: Sub("body.0")).
func (p *Params) Sub(name string) *Params {
	return &Params{s: p.s, prefix: p.FullName(name)}
}

// FullName joins the view's prefix and a local name with a dot.
func (p *Params) FullName(name string) string {
	if p.prefix == "" {
		return name
	}
	return p.prefix + "." + name
}

// Training reports the registry's mode (batch-norm statistics, spectral-norm
// power iteration and dropout-like behaviour depend on it).
func (p *Params) Training() bool { return p.s.training }

// SetTraining switches the whole registry between training and eval mode.
func (p *Params) SetTraining(on bool) { p.s.training = on }

func (p *Params) register(name string, shape []int, init Init, trainable bool) *Tensor {
	full := p.FullName(name)
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		panic(fmt.Sprintf("nn: bad parameter name %q", full))
	}
	if _, dup := p.s.byName[full]; dup {
		panic(fmt.Sprintf("nn: parameter %q registered twice", full))
	}
	t := p.s.dev.allocUnscoped(shape)
	t.Upload(init(p.s.rng, shape))
	t.requiresGrad = trainable
	prm := &Param{Name: full, T: t, Trainable: trainable}
	p.s.list = append(p.s.list, prm)
	p.s.byName[full] = prm
	return t
}

// New registers a trainable parameter name (under the view's prefix) of the
// given shape, initialized by init. It lives until Release.
func (p *Params) New(name string, init Init, shape ...int) *Tensor {
	return p.register(name, shape, init, true)
}

// NewBuffer registers non-trainable state saved in checkpoints.
func (p *Params) NewBuffer(name string, init Init, shape ...int) *Tensor {
	return p.register(name, shape, init, false)
}

// Get looks up a parameter by its name relative to the view.
func (p *Params) Get(name string) (*Param, bool) {
	prm, ok := p.s.byName[p.FullName(name)]
	return prm, ok
}

// All returns the parameters and buffers under the view's prefix, in
// registration order.
func (p *Params) All() []*Param {
	var out []*Param
	for _, prm := range p.s.list {
		if p.prefix == "" || strings.HasPrefix(prm.Name, p.prefix+".") {
			out = append(out, prm)
		}
	}
	return out
}

// Trainable returns the trainable tensors under the view's prefix.
func (p *Params) Trainable() []*Tensor {
	var out []*Tensor
	for _, prm := range p.All() {
		if prm.Trainable {
			out = append(out, prm.T)
		}
	}
	return out
}

// Count is the number of trainable scalars under the view's prefix.
func (p *Params) Count() int {
	n := 0
	for _, t := range p.Trainable() {
		n += t.Numel()
	}
	return n
}

// ZeroGrad drops the gradients of every trainable tensor under the prefix.
func (p *Params) ZeroGrad() {
	for _, t := range p.Trainable() {
		t.ZeroGrad()
	}
}

// own registers f to free state a layer keeps outside the registry when
// the registry is released.
func (p *Params) own(f func()) { p.s.owned = append(p.s.owned, f) }

// Release frees every tensor of the registry (all prefixes) and what its
// layers keep beside them (SpectralNorm's cached eval weight).
func (p *Params) Release() {
	for _, f := range p.s.owned {
		f()
	}
	p.s.owned = nil
	for _, prm := range p.s.list {
		prm.T.Release()
	}
	p.s.list = nil
	p.s.byName = map[string]*Param{}
}

// Prefixed returns params renamed with prefix (same tensors): how a state
// file stores several networks side by side ("netG.", "ema.").
func Prefixed(prefix string, params []*Param) []*Param {
	out := make([]*Param, len(params))
	for i, p := range params {
		out[i] = &Param{Name: prefix + p.Name, T: p.T, Trainable: p.Trainable}
	}
	return out
}
